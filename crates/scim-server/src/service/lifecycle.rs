//! Carrying out the policy's lifecycle decisions: the user's lifecycle columns, the
//! deactivation job, the sync log and the events, in the caller's transaction.

use chrono::{DateTime, Utc};
use scim_core::policy::{
    Decision, JobAction, LifecycleEvent, PolicySettings, UserLifecycle, decide,
};
use scim_core::schema::SchemaRegistry;
use scim_store::outbox::{self, NewEvent};
use scim_store::sync_log::{self, NewLogEntry};
use scim_store::{Actor, Conn, StoreError, StoredResource, TenantId, jobs, lifecycle, tenants};

/// The tenant's rules as the policy reads them.
pub fn policy_settings(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
) -> scim_store::Result<PolicySettings> {
    Ok(tenants::settings(conn, tenant)?.to_policy())
}

/// Writes what a decision says: lifecycle columns, job change, sync-log entries, events.
/// Returns the user's SCIM side as the decision left it, so a request answering with the user
/// need not read it again (on SQLite that read and its JSON parse ran on the
/// one writer thread, ~60 000 instructions per deactivation). Nothing after the lifecycle
/// record touches the user's row: the effects are jobs, sync-log entries and events.
pub fn apply(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    user_id: &str,
    decision: &Decision,
    actor: Actor,
    now: DateTime<Utc>,
) -> scim_store::Result<StoredResource> {
    let stored = lifecycle::save_resource(
        conn,
        registry,
        tenant,
        user_id,
        &decision.user,
        decision.sign_in_allowed,
        now.naive_utc(),
    )?;
    effects(conn, tenant, user_id, decision, actor, now)?;
    Ok(stored)
}

/// The job change, sync-log entries and events of a decision whose lifecycle record is already
/// stored (a user inserted with it).
pub fn effects(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    decision: &Decision,
    actor: Actor,
    now: DateTime<Utc>,
) -> scim_store::Result<()> {
    let at = now.naive_utc();
    match &decision.job {
        JobAction::Schedule { due, reason } => {
            jobs::schedule(conn, tenant, user_id, due.naive_utc(), reason.as_str(), at)?;
        }
        JobAction::Cancel => {
            jobs::cancel(conn, tenant, user_id, at)?;
        }
        JobAction::Keep | JobAction::None => {}
    }
    for record in &decision.log {
        sync_log::append(
            conn,
            tenant,
            &NewLogEntry {
                at,
                actor,
                action: record.action.as_str().to_string(),
                resource_type: "User".to_string(),
                resource_id: user_id.to_string(),
                detail: record.detail.clone(),
            },
        )?;
    }
    if !decision.events.is_empty() {
        let events: Vec<NewEvent> = decision
            .events
            .iter()
            .map(|e| NewEvent {
                kind: e.kind().to_string(),
                user_id: Some(user_id.to_string()),
                payload: e.payload(),
                at,
            })
            .collect();
        outbox::push_many(conn, tenant, &events)?;
    }
    Ok(())
}

/// Loads the user's lifecycle, decides `event` under the tenant's rules and applies the
/// decision; returns it with the user as it left it (see [`apply`]). A policy refusal (a
/// local account) comes back as the core error.
pub fn handle(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    user_id: &str,
    event: LifecycleEvent,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Decision, StoredResource), LifecycleError> {
    let settings = policy_settings(conn, tenant)?;
    handle_with(
        conn, registry, tenant, user_id, event, actor, now, &settings,
    )
}

/// [`handle`] under the settings the request already holds (the instance's cached copy, at
/// most `settings_cache::TTL` old, which the rest of the request was checked against).
/// Reading and parsing the tenant row again inside the write was a tenth of the SQLite
/// writer's time per deactivation.
#[expect(
    clippy::too_many_arguments,
    reason = "handle's arguments and the settings it would read"
)]
pub fn handle_with(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    user_id: &str,
    event: LifecycleEvent,
    actor: Actor,
    now: DateTime<Utc>,
    settings: &PolicySettings,
) -> Result<(Decision, StoredResource), LifecycleError> {
    let decision = load_and_decide(conn, tenant, user_id, None, event, now, settings)?;
    let stored = apply(conn, registry, tenant, user_id, &decision, actor, now)?;
    Ok((decision, stored))
}

/// [`handle_with`] right after the caller stored `written`, the user's document, in the same
/// transaction: a PUT or PATCH whose change of `active` is `event`. `current` is the user's
/// lifecycle record when the caller has it from its own write (`users::Replaced`), else it
/// is read. When the decision leaves the document's `active` as written (it always does for
/// `ProviderSetActive`), only the lifecycle record is stored and `written` is the answer;
/// [`apply`] would read the row back and parse it (4% of the SQLite writer's instructions per
/// deactivation).
#[expect(
    clippy::too_many_arguments,
    reason = "handle_with's arguments, the document just written and its lifecycle record"
)]
pub fn handle_written(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    user_id: &str,
    event: LifecycleEvent,
    actor: Actor,
    now: DateTime<Utc>,
    settings: &PolicySettings,
    written: StoredResource,
    current: Option<UserLifecycle>,
) -> Result<StoredResource, LifecycleError> {
    let decision = load_and_decide(conn, tenant, user_id, current, event, now, settings)?;
    let active = scim_core::resource::active(&written.resource).unwrap_or(true);
    if active != decision.user.provider_active {
        return Ok(apply(
            conn, registry, tenant, user_id, &decision, actor, now,
        )?);
    }
    lifecycle::save_record(
        conn,
        tenant,
        user_id,
        &decision.user,
        decision.sign_in_allowed,
    )?;
    effects(conn, tenant, user_id, &decision, actor, now)?;
    Ok(written)
}

/// What `event` does to the user's lifecycle record: `current` when the caller has it, else
/// the stored one (`NotFound` without such a user).
fn load_and_decide(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_id: &str,
    current: Option<UserLifecycle>,
    event: LifecycleEvent,
    now: DateTime<Utc>,
    settings: &PolicySettings,
) -> Result<Decision, LifecycleError> {
    let current = match current {
        Some(c) => c,
        None => lifecycle::load(conn, tenant, user_id)?.ok_or_else(|| {
            LifecycleError::Store(StoreError::NotFound {
                resource_type: "User",
                id: user_id.to_string(),
            })
        })?,
    };
    decide(&current, event, settings, now).map_err(LifecycleError::Policy)
}

/// A lifecycle step failed in the store or was refused by the policy.
#[derive(Debug)]
pub enum LifecycleError {
    /// The store failed (the transaction rolls back).
    Store(StoreError),
    /// The policy refused the event (a provider event on a local account).
    Policy(scim_core::Error),
}

impl From<StoreError> for LifecycleError {
    fn from(e: StoreError) -> Self {
        LifecycleError::Store(e)
    }
}
