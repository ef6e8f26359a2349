//! What policy asks the sync log to record: an action word and a JSON detail per change.
//!
//! The store's sync log leaves the action vocabulary to policy; these are the words policy
//! decisions use, so the admin API and `scim-server sync-log` can filter on them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A lifecycle or entitlement action, named in the sync log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogAction {
    /// A deactivation job was scheduled (or re-scheduled with the same due time).
    ScheduleDeactivation,
    /// The user was deactivated (or the reason of a deactivation changed).
    Deactivate,
    /// The user may sign in again (a pending job, if any, was cancelled).
    Reactivate,
    /// The user was blocked (legal hold instead of a deactivation, or an administrator).
    Block,
    /// The legal hold flag was set.
    LegalHoldSet,
    /// The legal hold flag was cleared.
    LegalHoldReleased,
    /// Organization, roles, admin tier or mapped status changed. (A new user's first ones are
    /// part of its `create` entry, under `entitlements`.)
    Entitlements,
}

impl LogAction {
    /// The word stored in the sync log's `action` column.
    pub fn as_str(self) -> &'static str {
        match self {
            LogAction::ScheduleDeactivation => "schedule_deactivation",
            LogAction::Deactivate => "deactivate",
            LogAction::Reactivate => "reactivate",
            LogAction::Block => "block",
            LogAction::LegalHoldSet => "legal_hold_set",
            LogAction::LegalHoldReleased => "legal_hold_released",
            LogAction::Entitlements => "entitlements",
        }
    }
}

/// One sync-log entry to write, minus what the caller knows (time, actor, tenant, user id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// What happened.
    pub action: LogAction,
    /// What changed: `{"from": <state>, "to": <state>}` for lifecycle changes, the changed
    /// fields for entitlements. Never a secret.
    pub detail: Value,
}
