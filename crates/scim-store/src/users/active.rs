//! The SCIM document's `active`, kept equal to the provider's view of the user: policy may
//! refuse sign-in long before (or without) the provider deactivating, but the resource shows
//! what the provider set, and changes (with a version bump) only when that does.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use scim_core::schema::SchemaRegistry;
use serde_json::Value;

use super::columns::user_type;
use crate::conn::Conn;
use crate::error::Result;
use crate::keyed::cached;
use crate::model::{StoredResource, TenantId};
use crate::search::search_document;
use crate::with_conn;

/// The `active` a document states; a document without one is active (RFC 7643 leaves it to
/// the service provider, and the `active` column has always read it that way).
pub(crate) fn document_active(doc: &Value) -> bool {
    doc.get("active").and_then(Value::as_bool).unwrap_or(true)
}

/// Writes `active` into the stored document, the `active` column and the search document,
/// and bumps the version and `updated_at`: the resource changed. The caller decided a change
/// is needed and holds the row (it updated it earlier in the transaction).
pub(crate) fn set_document_active(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    mut stored: StoredResource,
    active: bool,
    now: NaiveDateTime,
) -> Result<StoredResource> {
    if let Some(obj) = stored.resource.as_object_mut() {
        obj.insert("active".into(), Value::Bool(active));
    }
    let search = search_document(registry, user_type(registry)?, &stored.resource);
    let text = stored.resource.to_string();
    let id = stored.id.as_str();
    let version: i64 = with_conn!(conn, |c| {
        cached!(
            diesel::update(
                users::table
                    .filter(users::tenant_id.eq(tenant.as_str()))
                    .filter(users::id.eq(id)),
            )
            .set((
                users::active.eq(active),
                users::resource.eq(&text),
                users::search.eq(search_value(&search)),
                users::version.eq(users::version + 1),
                users::updated_at.eq(now),
            ))
            .returning(users::version)
        )
        .get_result(&mut **c)?
    });
    stored.version = version;
    stored.updated_at = now;
    Ok(stored)
}
