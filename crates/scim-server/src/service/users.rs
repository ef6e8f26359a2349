//! User operations.

use scim_core::patch::{PatchRequest, apply};
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::ResourceType;
use scim_store::members::GroupRef;
use scim_store::users::{self, NewUser, PasswordChange};
use scim_store::{Origin, StoreError, StoredResource, TenantId};
use serde_json::{Value, json};

use super::audit::{Change, record, user_update_events};
use super::{RETRIES, check_version, now, write_error};
use crate::error::ApiError;
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

/// Removes the cleartext password from a prepared document and hashes it (argon2id).
fn take_password(doc: &mut Value) -> Result<Option<String>, ApiError> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(None);
    };
    match obj.remove("password") {
        Some(Value::String(p)) if !p.is_empty() => hash_secret(&Secret::new(p))
            .map(Some)
            .map_err(|e| ApiError::Internal(e.to_string())),
        _ => Ok(None),
    }
}

/// POST /Users.
pub fn create(st: &AppState, tenant: &TenantId, input: Value) -> Result<StoredResource, ApiError> {
    let rt = user_type(st)?;
    let mut doc = prepare(&st.registry, rt, input, WriteMode::Create, None)?;
    let password_hash = take_password(&mut doc)?;
    let new = NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        resource: doc,
        password_hash,
        origin: Origin::Provisioned,
        now: now(st),
    };
    let registry = st.registry.clone();
    let tenant = tenant.clone();
    Ok(st.store.write(move |c| {
        let at = new.now;
        let stored = users::insert(c, &registry, &tenant, new)?;
        let detail = json!({
            "userName": scim_core::resource::user_name(&stored.resource),
            "externalId": scim_core::resource::external_id(&stored.resource),
            "active": scim_core::resource::active(&stored.resource).unwrap_or(true),
        });
        let change = Change {
            at,
            action: "create",
            resource_type: "User",
            id: &stored.id,
            detail,
            events: vec!["user.created"],
        };
        record(c, &tenant, change)?;
        Ok(stored)
    })?)
}

/// GET /Users/{id}: `None` when the tenant has no such user.
pub fn get(st: &AppState, tenant: &TenantId, id: &str) -> Result<Option<UserView>, ApiError> {
    Ok(st.store.read(|c| {
        let Some(stored) = users::get(c, tenant, id)? else {
            return Ok(None);
        };
        let groups = users::groups_of(c, tenant, &[id.to_string()])?
            .remove(id)
            .unwrap_or_default();
        Ok(Some((stored, groups)))
    })?)
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
    update(st, tenant, id, expected, |st, current| {
        let mut doc = prepare(
            &st.registry,
            user_type(st)?,
            input.clone(),
            WriteMode::Replace,
            Some(current),
        )?;
        let hash = take_password(&mut doc)?;
        Ok((doc, hash.map_or(PasswordChange::Keep, PasswordChange::Set)))
    })
}

/// PATCH /Users/{id}.
pub fn patch(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
    request: &PatchRequest,
) -> Result<UserView, ApiError> {
    update(st, tenant, id, expected, |st, current| {
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
        let hash = take_password(&mut doc)?;
        Ok((doc, hash.map_or(PasswordChange::Keep, PasswordChange::Set)))
    })
}

/// Read → compute → write with the version read; retried on a lost race unless the client
/// pinned a version with `If-Match`. A computation that changes nothing writes nothing.
fn update(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
    compute: impl Fn(&AppState, &Value) -> Result<(Value, PasswordChange), ApiError>,
) -> Result<UserView, ApiError> {
    for _ in 0..RETRIES {
        let current = st
            .store
            .read(|c| users::get(c, tenant, id))?
            .ok_or_else(not_found)?;
        check_version(expected, current.version)?;
        let (doc, password) = compute(st, &current.resource)?;
        if doc == current.resource && password == PasswordChange::Keep {
            return get(st, tenant, id)?.ok_or_else(not_found);
        }
        let registry = st.registry.clone();
        let rt = user_type(st)?;
        let mut changed: Vec<String> =
            scim_core::resource::changed_attributes(&current.resource, &doc, rt)
                .into_iter()
                .collect();
        if password != PasswordChange::Keep {
            changed.push("password".to_string());
        }
        let events = user_update_events(&current.resource, &doc);
        let (t, i, version, now) = (tenant.clone(), id.to_string(), current.version, now(st));
        let result = st.store.write(move |c| {
            let stored = users::replace(c, &registry, &t, &i, Some(version), doc, password, now)?;
            let change = Change {
                at: now,
                action: "update",
                resource_type: "User",
                id: &i,
                detail: json!({"changed": changed}),
                events,
            };
            record(c, &t, change)?;
            let groups = users::groups_of(c, &t, std::slice::from_ref(&i))?
                .remove(&i)
                .unwrap_or_default();
            Ok((stored, groups))
        });
        match result {
            Err(StoreError::VersionMismatch { .. }) if expected.is_none() => continue,
            other => return other.map_err(write_error("User")),
        }
    }
    Err(ApiError::Unavailable(1))
}

/// DELETE /Users/{id}.
pub fn delete(
    st: &AppState,
    tenant: &TenantId,
    id: &str,
    expected: Option<i64>,
) -> Result<(), ApiError> {
    let (t, i, now) = (tenant.clone(), id.to_string(), now(st));
    st.store
        .write(move |c| {
            users::delete(c, &t, &i, expected, now)?;
            let change = Change {
                at: now,
                action: "delete",
                resource_type: "User",
                id: &i,
                detail: json!({}),
                events: vec!["user.deleted"],
            };
            record(c, &t, change)
        })
        .map_err(write_error("User"))
}
