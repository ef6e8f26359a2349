//! User operations: core validates and patches, the tenant's policy decides what the
//! provider may do and what a change of `active` means, the store persists it all in one
//! transaction.

use std::sync::Arc;

use actix_web::web;

use chrono::{DateTime, Utc};
use scim_core::patch::{PatchRequest, apply};
use scim_core::policy::{
    self, LifecycleEvent, Origin as PolicyOrigin, PasswordDecision, PolicySettings, ProviderOp,
    check_provider_op, password_decision, validate_user,
};
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::ResourceType;
use scim_store::members::GroupRef;
use scim_store::users::{self, NewUser, PasswordChange};
use scim_store::{
    Actor, Origin, RawResource, StoreError, StoredResource, TenantId, lifecycle as stored_lifecycle,
};
use serde_json::{Value, json};

use super::audit::{Change, record, record_member_removed};
use super::entitlements::{NewUserOrgs, compile, on_new_user};
use super::lifecycle::{LifecycleError, effects, handle, handle_with, handle_written};
use super::{RETRIES, check_version, now, write_error};
use crate::error::ApiError;
use crate::http::blocking;
use crate::secrets::{Secret, hash_secret};
use crate::state::AppState;

/// A user as responses show it: the stored row and its direct groups.
pub type UserView = (StoredResource, Vec<GroupRef>);

/// The User resource type.
pub fn user_type(state: &AppState) -> Result<&ResourceType, ApiError> {
    state
        .registry
        .resource_type("User")
        .ok_or_else(|| ApiError::Internal("the User resource type is not registered".into()))
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such User".into())
}

fn now_utc(st: &AppState) -> DateTime<Utc> {
    now(st).and_utc()
}

/// The tenant's policy settings.
fn settings(st: &AppState, tenant: &TenantId) -> Result<Arc<PolicySettings>, ApiError> {
    st.settings.get(&st.store, tenant)
}

/// Removes the cleartext password from a prepared document and, when the tenant syncs
/// passwords, hashes it (argon2id). The cleartext never reaches the store or a log.
fn take_password(doc: &mut Value, settings: &PolicySettings) -> Result<PasswordChange, ApiError> {
    take_cleartext(doc, settings).map_or(Ok(PasswordChange::Keep), hash_password)
}

/// Removes the cleartext password from a prepared document; returns it only when the tenant
/// keeps it (password sync on), for [`hash_password`], which an async caller runs on a
/// blocking thread.
fn take_cleartext(doc: &mut Value, settings: &PolicySettings) -> Option<Secret> {
    let sent = match doc.as_object_mut()?.remove("password") {
        Some(Value::String(p)) => Some(p),
        _ => None,
    };
    match password_decision(settings, sent.as_deref()) {
        PasswordDecision::Keep => sent.map(Secret::new),
        PasswordDecision::Ignore | PasswordDecision::Absent => None,
    }
}

/// The argon2id hash of a kept password.
fn hash_password(password: Secret) -> Result<PasswordChange, ApiError> {
    hash_secret(&password)
        .map(PasswordChange::Set)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Refuses provider writes to a local account (created in the product, not by the provider).
fn check_origin(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    op: ProviderOp,
) -> Result<(), ApiError> {
    // One read of two columns: the origin, and the userName the refusal names.
    if let Some((origin, user_name)) = st.store.read(|c| users::origin_of(c, tenant, id))? {
        check_provider_op(op, origin.into(), &user_name)?;
    }
    Ok(())
}

fn lifecycle_error(e: LifecycleError) -> StoreError {
    match e {
        LifecycleError::Store(e) => e,
        // Provider events on provisioned users are never refused; if one is, say why.
        LifecycleError::Policy(e) => StoreError::Invalid(e.to_string()),
    }
}

/// POST /Users.
pub fn create(st: &AppState, tenant: &TenantId, input: Value) -> Result<StoredResource, ApiError> {
    let settings = settings(st, tenant)?;
    let mut doc = checked_new(st, &settings, input)?;
    let password = take_password(&mut doc, &settings)?;
    let (job, prepared) = plan_create(st, tenant, doc, password, &settings)?;
    settle_create(st, tenant, st.store.write(job)?, prepared)
}

/// POST /Users for an async handler. With the tenant's settings cached (the common case under
/// load) the create is derived on the caller's thread, and on SQLite only the inserts wait for
/// the writer, through [`scim_store::Store::write_queued`], with no blocking thread held: with
/// one, each create paid two more thread wake-ups. Whatever may block takes a blocking
/// thread as before: reading the settings, hashing a synced password (argon2), and every
/// PostgreSQL write (`write_queued` hands it back).
pub async fn create_queued(
    st: &web::Data<AppState>,
    tenant: &TenantId,
    input: Value,
) -> Result<CreatedUser, ApiError> {
    let Some(settings) = st.settings.cached(tenant) else {
        let (st, tenant) = (st.clone(), tenant.clone());
        return blocking(move || create(&st, &tenant, input))
            .await
            .map(CreatedUser::Parsed);
    };
    let mut doc = checked_new(st, &settings, input)?;
    let password = match take_cleartext(&mut doc, &settings) {
        Some(kept) => blocking(move || hash_password(kept)).await?,
        None => PasswordChange::Keep,
    };
    let (job, prepared) = plan_create(st, tenant, doc, password, &settings)?;
    let outcome = match st.store.write_queued(job) {
        Ok(pending) => pending.await?,
        Err(job) => {
            let st = st.clone();
            blocking(move || Ok(st.store.write(job)?)).await?
        }
    };
    settle(
        st,
        tenant,
        outcome,
        prepared,
        |p| CreatedUser::Text(p.into_raw()),
        |p| CreatedUser::Text(p.to_raw()),
        CreatedUser::Parsed,
    )
}

/// A user an async create left, in the form its answer is cheapest to build from.
pub enum CreatedUser {
    /// Inserted as prepared: its stored text, which the answer copies (`handlers::raw`)
    /// instead of serialising the document a second time.
    Text(scim_store::RawResource),
    /// Brought back from a deletion, or created on the blocking path: the parsed user.
    Parsed(StoredResource),
}

/// A new user's document, prepared by core and checked against the tenant's rules.
fn checked_new(st: &AppState, settings: &PolicySettings, input: Value) -> Result<Value, ApiError> {
    let rt = user_type(st)?;
    let doc = prepare(&st.registry, rt, input, WriteMode::Create, None)?;
    validate_user(&settings.validation, &doc)?;
    Ok(doc)
}

/// What a create's write returns: the new user, or why its userName is held.
type CreateOutcome = Result<Created, Result<(), scim_core::error::Error>>;

/// A create that went through.
enum Created {
    /// As prepared: the caller builds the answer from its own reference to the prepared user,
    /// so the writer thread neither copies the document nor frees it. With the organization
    /// the user was given ("" for none), which exists once the write has committed.
    Inserted { organization: String },
    /// A user the provider had deleted within the deactivation delay, brought back.
    Revived(StoredResource),
}

/// Derives everything a create writes, on the caller's thread, and returns the write itself:
/// the SQLite writer thread, which every write of the process shares, then only runs the
/// inserts. The write touches nothing but its transaction, so the writer may run it twice
/// (`write_queued`). Also returns the prepared user, shared with the write.
#[expect(
    clippy::type_complexity,
    reason = "the write is an unnameable closure (impl FnMut), so no type alias can hold it"
)]
fn plan_create(
    st: &AppState,
    tenant: &TenantId,
    doc: Value,
    password: PasswordChange,
    settings: &PolicySettings,
) -> Result<
    (
        impl FnMut(&mut scim_store::Conn<'_>) -> scim_store::Result<CreateOutcome> + Send + 'static,
        Arc<users::PreparedUser>,
    ),
    ApiError,
> {
    let password_hash = match password {
        PasswordChange::Set(h) => Some(h),
        _ => None,
    };
    let at = now_utc(st);
    let provider_active = scim_core::resource::active(&doc).unwrap_or(true);
    let decision = policy::create(
        PolicyOrigin::Provisioned,
        provider_active,
        false,
        settings,
        at,
    );
    let new = NewUser {
        id: crate::service::new_id(),
        resource: doc,
        password_hash,
        origin: Origin::Provisioned,
        now: at.naive_utc(),
    };
    let prepared = Arc::new(users::prepare_insert(
        &st.registry,
        new,
        &decision.user,
        decision.sign_in_allowed,
    )?);
    let ours = prepared.clone();
    let rules = compile(settings, &st.registry)?;
    let detail = json!({
        "userName": scim_core::resource::user_name(prepared.resource()),
        "externalId": scim_core::resource::external_id(prepared.resource()),
        "active": provider_active,
    });
    // Organizations a committed write showed to exist need no lookup on the writer.
    let orgs = NewUserOrgs::plan(&rules, prepared.resource(), &st.known_orgs, tenant);
    let registry = st.registry.clone();
    let tenant = tenant.clone();
    let job = move |c: &mut scim_store::Conn<'_>| {
        if users::insert_prepared_row(c, &tenant, &prepared)? {
            let id = prepared.id();
            effects(c, &tenant, id, &decision, Actor::Provider, at)?;
            // The new user's organization and default roles (it is in no group yet), which
            // its create entry records.
            let given = on_new_user(
                c,
                &registry,
                &tenant,
                &rules,
                id,
                prepared.resource(),
                &decision.user,
                &orgs,
                Actor::Provider,
                at,
            )?;
            let change = Change {
                at: at.naive_utc(),
                action: "create",
                resource_type: "User",
                id,
                detail: with_entitlements(&detail, given.detail),
                events: vec![],
            };
            record(c, &tenant, change)?;
            return Ok(Ok(Created::Inserted {
                organization: given.organization,
            }));
        }
        // The userName is held: by a user the provider deleted within the deactivation
        // delay, by a local account, or by a live provisioned user.
        Ok(taken(c, &registry, &tenant, &prepared, provider_active, at)?.map(Created::Revived))
    };
    Ok((job, ours))
}

/// A new user's `create` entry detail: `base`, plus what it was given (`entitlements`, shaped
/// like an `entitlements` entry's detail) when anything was.
pub(crate) fn with_entitlements(base: &Value, given: Option<Value>) -> Value {
    let mut detail = base.clone();
    if let (Some(given), Some(obj)) = (given, detail.as_object_mut()) {
        obj.insert("entitlements".into(), given);
    }
    detail
}

/// A create's answer from its write's outcome. The write has dropped its reference to the
/// prepared user by now (the writer drops a job before answering it), so the document is
/// moved, not copied.
fn settle_create(
    st: &AppState,
    tenant: &TenantId,
    outcome: CreateOutcome,
    prepared: Arc<users::PreparedUser>,
) -> Result<StoredResource, ApiError> {
    settle(
        st,
        tenant,
        outcome,
        prepared,
        users::PreparedUser::into_stored,
        |p| p.to_stored(),
        |s| s,
    )
}

/// [`settle_create`] into any form: `owned` takes the prepared user when this is its only
/// reference (the usual case), `shared` copies from it otherwise, `revived` takes a user
/// brought back. A committed insert's organization is noted as existing (`known_orgs`).
fn settle<T>(
    st: &AppState,
    tenant: &TenantId,
    outcome: CreateOutcome,
    prepared: Arc<users::PreparedUser>,
    owned: fn(users::PreparedUser) -> T,
    shared: fn(&users::PreparedUser) -> T,
    revived: fn(StoredResource) -> T,
) -> Result<T, ApiError> {
    match outcome {
        Ok(Created::Inserted { organization }) => {
            st.known_orgs.add(tenant, &organization);
            Ok(Arc::try_unwrap(prepared)
                .map(owned)
                .unwrap_or_else(|p| shared(&p)))
        }
        Ok(Created::Revived(stored)) => Ok(revived(stored)),
        Err(refusal) => Err(refused(refusal)),
    }
}

/// The error of a create whose userName is held (see [`taken`]).
fn refused(refusal: Result<(), scim_core::error::Error>) -> ApiError {
    refusal
        .err()
        .map(ApiError::from)
        .unwrap_or_else(|| ApiError::Internal("local account check".into()))
}

/// A create whose userName is held. A user the provider deleted within the deactivation
/// delay comes back (an unassign/reassign: the account was never destroyed) with its id and
/// data, takes the new document, and its pending deactivation is cancelled. A local account
/// is refused with a clear 409 naming the rule; anyone else is a plain uniqueness conflict.
fn taken(
    c: &mut scim_store::Conn<'_>,
    registry: &scim_core::schema::SchemaRegistry,
    tenant: &TenantId,
    prepared: &users::PreparedUser,
    provider_active: bool,
    at: DateTime<Utc>,
) -> scim_store::Result<Result<StoredResource, Result<(), scim_core::error::Error>>> {
    let user_name = prepared.user_name();
    let existing = users::by_user_name(c, tenant, user_name)?;
    if let Some(existing) = &existing
        && users::unhide(c, tenant, &existing.id)?
    {
        let id = existing.id.clone();
        let password = match prepared.password_hash() {
            Some(h) => PasswordChange::Set(h.to_string()),
            None => PasswordChange::Keep,
        };
        users::replace(
            c,
            registry,
            tenant,
            &id,
            None,
            prepared.resource().clone(),
            password,
            at.naive_utc(),
        )?;
        let (_, stored) = handle(
            c,
            registry,
            tenant,
            &id,
            LifecycleEvent::ProviderSetActive(provider_active),
            Actor::Provider,
            at,
        )
        .map_err(lifecycle_error)?;
        let change = Change {
            at: at.naive_utc(),
            action: "restore",
            resource_type: "User",
            id: &id,
            detail: json!({"userName": user_name, "active": provider_active}),
            events: vec!["user.updated"],
        };
        record(c, tenant, change)?;
        return Ok(Ok(stored));
    }
    if let Some(existing) = &existing
        && let Some(lc) = stored_lifecycle::load(c, tenant, &existing.id)?
        && lc.origin == PolicyOrigin::Local
    {
        return Ok(Err(check_provider_op(
            ProviderOp::Create,
            lc.origin,
            user_name,
        )));
    }
    Err(StoreError::Conflict {
        attribute: "userName",
        value: user_name.to_string(),
    })
}

/// GET /Users/{id}: `None` when the tenant has no such user. The document stays stored text
/// (the response copies it when it can, `handlers::raw`).
pub fn get(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<(RawResource, Vec<GroupRef>)>, ApiError> {
    Ok(st
        .store
        .read(|c| users::get_raw_with_groups(c, tenant, id))?)
}

/// PUT /Users/{id}: readOnly values the client echoes (id, meta, groups) are ignored, as
/// Okta's profile push needs.
pub fn replace(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
    input: &Value,
) -> Result<UserView, ApiError> {
    update(
        st,
        tenant,
        id,
        expected,
        ProviderOp::Replace,
        |st, current| {
            Ok(prepare(
                &st.registry,
                user_type(st)?,
                input.clone(),
                WriteMode::Replace,
                Some(current),
            )?)
        },
    )
}

/// PATCH /Users/{id}.
pub fn patch(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
    request: &PatchRequest,
) -> Result<UserView, ApiError> {
    update(
        st,
        tenant,
        id,
        expected,
        ProviderOp::Modify,
        |st, current| {
            // The stored document has no id; put it back so a pathless value carrying the
            // resource's own id (Okta) is recognised as unchanged.
            let mut with_id = current.clone();
            if let Some(obj) = with_id.as_object_mut() {
                obj.insert("id".into(), Value::String(id.to_string()));
            }
            let mut doc = apply(&st.registry, user_type(st)?, &with_id, request)?.resource;
            if let Some(obj) = doc.as_object_mut() {
                obj.remove("id");
                obj.remove("meta");
            }
            Ok(doc)
        },
    )
}

/// Read → compute → write with the version read; retried on a lost race unless the client
/// pinned a version with `If-Match`. The read also brings the user's origin: `op` on a local
/// account is refused before anything is computed. A computation that changes nothing writes
/// nothing. A change of `active` goes through the tenant's lifecycle policy in the same
/// transaction (deactivation delay, legal hold, events).
fn update(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
    op: ProviderOp,
    compute: impl Fn(&AppState, &Value) -> Result<Value, ApiError>,
) -> Result<UserView, ApiError> {
    let settings = settings(st, tenant)?;
    // Writers of this user in this instance take turns (see `write_locks`); a client that
    // pinned a version with If-Match gets its answer from the version check, not a queue.
    let _turn = match expected {
        None => st.write_locks.turn(tenant, id),
        Some(_) => None,
    };
    for _ in 0..RETRIES {
        let (current, origin) = st
            .store
            .read(|c| users::get_with_origin(c, tenant, id))?
            .ok_or_else(not_found)?;
        let user_name = scim_core::resource::user_name(&current.resource).unwrap_or(id);
        check_provider_op(op, origin.into(), user_name)?;
        check_version(expected, current.version)?;
        let mut doc = compute(st, &current.resource)?;
        validate_user(&settings.validation, &doc)?;
        let password = take_password(&mut doc, &settings)?;
        if doc == current.resource && password == PasswordChange::Keep {
            let (raw, groups) = get(st, tenant, id)?.ok_or_else(not_found)?;
            return Ok((raw.parse()?, groups));
        }
        let rt = user_type(st)?;
        let mut changed: Vec<String> =
            scim_core::resource::changed_attributes(&current.resource, &doc, rt)
                .into_iter()
                .collect();
        if password != PasswordChange::Keep {
            changed.push("password".to_string());
        }
        let by_attribute = matches!(
            settings.org_mapping,
            scim_core::policy::OrgMapping::Attribute { .. }
                | scim_core::policy::OrgMapping::Custom { .. }
        );
        let was = scim_core::resource::active(&current.resource).unwrap_or(true);
        let is = scim_core::resource::active(&doc).unwrap_or(true);
        // The row's columns are derived here, not on the writer thread.
        let prepared = users::prepare_replace(&st.registry, doc)
            .map_err(write_error("User"))?
            .emails_as_in(&current.resource, current.version);
        let registry = st.registry.clone();
        let (t, i, version, at) = (tenant.clone(), id.to_string(), current.version, now_utc(st));
        let policy = settings.clone();
        // The user's groups, for the answer, are read once the change has committed, while
        // it is made durable: never on the writer (`Store::write_overlapped`).
        let groups = || {
            st.store.read(|c| {
                let mut by_user = users::groups_of(c, tenant, &[id.to_string()])?;
                Ok(by_user.remove(id).unwrap_or_default())
            })
        };
        let result = st.store.write_overlapped(
            move |c| {
                let replaced = users::replace_prepared(
                    c,
                    &t,
                    &i,
                    Some(version),
                    prepared,
                    password,
                    at.naive_utc(),
                )?;
                let change = Change {
                    at: at.naive_utc(),
                    action: "update",
                    resource_type: "User",
                    id: &i,
                    detail: json!({"changed": changed}),
                    events: vec!["user.updated"],
                };
                record(c, &t, change)?;
                if by_attribute {
                    // The organization comes from the document: a profile change can move it.
                    let rules = super::entitlements::rules(c, &registry, &t)?;
                    super::entitlements::recompute_users(
                        c,
                        &registry,
                        &t,
                        &rules,
                        std::slice::from_ref(&i),
                        Actor::Provider,
                        at,
                    )?;
                }
                if was == is {
                    return Ok(replaced.stored);
                }
                // Only a real change of `active` is a lifecycle event: Okta's AIW apps PUT the
                // whole user, `active: true` included, on every profile change. It starts from
                // the lifecycle columns the replace returned, unless entitlements were just
                // recomputed, which can change the `mapped` column: then it reads them again.
                let (written, current) = if by_attribute {
                    (replaced.stored, None)
                } else {
                    let (written, current) = replaced.with_lifecycle(c, &t)?;
                    (written, Some(current))
                };
                handle_written(
                    c,
                    &registry,
                    &t,
                    &i,
                    LifecycleEvent::ProviderSetActive(is),
                    Actor::Provider,
                    at,
                    &policy,
                    written,
                    current,
                )
                .map_err(lifecycle_error)
            },
            groups,
        );
        match result {
            Err(StoreError::VersionMismatch { .. }) if expected.is_none() => continue,
            other => {
                let (stored, groups) = other.map_err(write_error("User"))?;
                return Ok((stored, groups?));
            }
        }
    }
    Err(ApiError::Unavailable(1))
}

/// DELETE /Users/{id}: local accounts are refused. A provisioned user disappears from SCIM at
/// once (404 afterwards, out of lists and groups), but nothing is destroyed before the
/// tenant's deactivation delay: the policy schedules the deactivation (keeping an earlier due
/// time if one is pending), and the worker purges the row when it runs.
pub fn delete(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
) -> Result<(), ApiError> {
    check_origin(st, tenant, id, ProviderOp::Delete)?;
    // The request's settings (the cached copy, as a PATCH uses) serve both the purge time and
    // the lifecycle step.
    let policy = settings(st, tenant)?;
    let registry = st.registry.clone();
    let (t, i, at) = (tenant.clone(), id.to_string(), now_utc(st));
    let purge_after = scim_core::policy::due_after(at, policy.deactivation_delay_secs);
    st.store
        .write(move |c| {
            // Hide first: it takes the row (on PostgreSQL, its lock), so the version compared
            // next is the latest, and a write that committed after this request read the user
            // fails this DELETE's If-Match instead of both succeeding. The row may be purged
            // once the tenant's delay has passed (the worker waits out a legal hold or a
            // pending job); a re-create before then restores it.
            let hidden = users::hide(c, &t, &i, at.naive_utc(), purge_after.naive_utc())?;
            if let Some(v) = expected
                && v != hidden.version
            {
                return Err(StoreError::VersionMismatch {
                    current: hidden.version,
                });
            }
            handle_with(
                c,
                &registry,
                &t,
                &i,
                LifecycleEvent::ProviderDelete,
                Actor::Provider,
                at,
                &policy,
            )
            .map_err(lifecycle_error)?;
            let change = Change {
                at: at.naive_utc(),
                action: "delete",
                resource_type: "User",
                id: &i,
                detail: json!({}),
                events: vec!["user.deleted"],
            };
            record(c, &t, change)?;
            record_member_removed(c, &t, at.naive_utc(), &i, &hidden.groups)
        })
        .map_err(write_error("User"))
}
