//! The sync-log entry and outbox events of a change, written in the same transaction as the
//! change itself: a change is never visible without its record, and a record never exists for
//! a change that rolled back.

use scim_store::outbox::{self, NewEvent};
use scim_store::sync_log::{self, NewLogEntry};
use scim_store::{Actor, Conn, TenantId};
use serde_json::{Value, json};

/// One change to record.
pub(crate) struct Change<'a> {
    pub(crate) at: chrono::NaiveDateTime,
    pub(crate) action: &'a str,
    pub(crate) resource_type: &'a str,
    pub(crate) id: &'a str,
    pub(crate) detail: Value,
    /// Event kinds to emit; each event carries the resource id and the detail.
    pub(crate) events: Vec<&'a str>,
}

/// Appends the log entry and pushes the events (actor: the tenant's identity provider).
pub(crate) fn record(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    change: Change<'_>,
) -> scim_store::Result<()> {
    // The detail moves into the entry (a create's is cloned nowhere); events read it there.
    let entry = NewLogEntry {
        at: change.at,
        actor: Actor::Provider,
        action: change.action.to_string(),
        resource_type: change.resource_type.to_string(),
        resource_id: change.id.to_string(),
        detail: change.detail,
    };
    sync_log::append(conn, tenant, &entry)?;
    if change.events.is_empty() {
        return Ok(());
    }
    let user_id = (change.resource_type == "User").then(|| change.id.to_string());
    let events: Vec<NewEvent> = change
        .events
        .iter()
        .map(|kind| NewEvent {
            kind: (*kind).to_string(),
            user_id: user_id.clone(),
            payload: json!({
                "resourceType": change.resource_type,
                "id": change.id,
                "detail": entry.detail,
            }),
            at: change.at,
        })
        .collect();
    outbox::push_many(conn, tenant, &events)?;
    Ok(())
}

/// Records, for each group that held `member` (as the store's delete of it reports them), the
/// membership change that deleting `member` made: the store removes a deleted user or group
/// from every group (and bumps their versions), and the sync log holds every change of a
/// group, not only those a request named. Each entry reads as a PATCH removing the member
/// would, with `cause` saying why.
pub(crate) fn record_member_removed(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    at: chrono::NaiveDateTime,
    member: &str,
    groups: &[String],
) -> scim_store::Result<()> {
    for g in groups {
        let change = Change {
            at,
            action: "update",
            resource_type: "Group",
            id: g,
            detail: json!({
                "changed": [],
                "memberOperations": [{"remove": [member]}],
                "cause": "member deleted",
            }),
            events: vec!["group.updated"],
        };
        record(conn, tenant, change)?;
    }
    Ok(())
}
