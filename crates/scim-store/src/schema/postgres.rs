// @generated automatically by Diesel CLI.

diesel::table! {
    api_tokens (id) {
        id -> Text,
        tenant_id -> Text,
        secret_hash -> Text,
        scope -> Text,
        label -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deactivation_jobs (id) {
        id -> Int8,
        tenant_id -> Text,
        user_id -> Text,
        due_at -> Timestamp,
        reason -> Text,
        created_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    group_members (tenant_id, group_id, member_id) {
        tenant_id -> Text,
        group_id -> Text,
        member_id -> Text,
        member_type -> Text,
        display -> Nullable<Text>,
    }
}

diesel::table! {
    groups (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        display_name -> Text,
        display_name_key -> Text,
        external_id -> Nullable<Text>,
        resource -> Text,
        search -> Jsonb,
        version -> Int8,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        member_count -> Int8,
    }
}

diesel::table! {
    ldap_runs (id) {
        id -> Int8,
        tenant_id -> Text,
        started_by -> Text,
        status -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        created -> Int4,
        updated -> Int4,
        deactivated -> Int4,
        reactivated -> Int4,
        error -> Nullable<Text>,
        warnings -> Text,
    }
}

diesel::table! {
    organizations (tenant_id, name) {
        tenant_id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        tenant_id -> Text,
        created_at -> Timestamp,
        kind -> Text,
        user_id -> Nullable<Text>,
        payload -> Text,
        attempts -> Int4,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sync_log (id) {
        id -> Int8,
        tenant_id -> Text,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Text,
        detail -> Text,
    }
}

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        settings -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    user_emails (tenant_id, user_id, position) {
        tenant_id -> Text,
        user_id -> Text,
        position -> Int4,
        value_key -> Text,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
        is_primary -> Bool,
    }
}

diesel::table! {
    user_entitlements (tenant_id, user_id) {
        tenant_id -> Text,
        user_id -> Text,
        organization -> Text,
        roles -> Text,
        admin_tier -> Text,
        mapped -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        user_name -> Text,
        user_name_key -> Text,
        external_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        active -> Bool,
        lifecycle -> Text,
        origin -> Text,
        legal_hold -> Bool,
        password_hash -> Nullable<Text>,
        resource -> Text,
        search -> Jsonb,
        version -> Int8,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        lifecycle_state -> Nullable<Text>,
        provider_active -> Bool,
        mapped -> Bool,
        sign_in_allowed -> Bool,
        deleted_at -> Nullable<Timestamp>,
        purge_after -> Nullable<Timestamp>,
    }
}

diesel::joinable!(api_tokens -> tenants (tenant_id));
diesel::joinable!(deactivation_jobs -> tenants (tenant_id));
diesel::joinable!(groups -> tenants (tenant_id));
diesel::joinable!(ldap_runs -> tenants (tenant_id));
diesel::joinable!(organizations -> tenants (tenant_id));
diesel::joinable!(outbox -> tenants (tenant_id));
diesel::joinable!(sync_log -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    deactivation_jobs,
    group_members,
    groups,
    ldap_runs,
    organizations,
    outbox,
    sync_log,
    tenants,
    user_emails,
    user_entitlements,
    users,
);
