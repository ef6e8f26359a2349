//! The events provisioning raises, with stable string kinds, for the outbox and webhooks.
//!
//! Hosts subscribe to these to act on a user's account: two of them (`access.revoked`,
//! `privileges.decreased`) mean "end this user's sessions", as DivvyCloud terminates sessions
//! when a user "loses all access" or "has a decrease in admin privileges". The kinds are a
//! public contract (webhook receivers switch on them), so they never change once shipped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::entitlements::AdminTier;
use super::lifecycle::{BlockReason, DeactivationReason};

/// Something that happened to a user that a host may need to act on. The user's id is not
/// part of the event: the outbox row carries it, and events are delivered in order per user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum PolicyEvent {
    /// A user was provisioned.
    #[serde(rename = "user.created")]
    UserCreated,
    /// A user's attributes changed.
    #[serde(rename = "user.updated")]
    UserUpdated {
        /// The attributes that changed (top-level, extension ones URN-qualified).
        changed: Vec<String>,
    },
    /// The user will be deactivated at `due` unless the cause goes away first; sign-in is
    /// already refused.
    #[serde(rename = "user.deactivation_scheduled")]
    DeactivationScheduled {
        /// When the deactivation job runs.
        due: DateTime<Utc>,
        /// Why it was scheduled.
        reason: DeactivationReason,
    },
    /// The user was deactivated: the host may now archive the user's data.
    #[serde(rename = "user.deactivated")]
    Deactivated {
        /// What asked for the deactivation.
        reason: DeactivationReason,
    },
    /// The user may sign in again.
    #[serde(rename = "user.reactivated")]
    Reactivated,
    /// The user was blocked: no sign-in, but the data is kept.
    #[serde(rename = "user.blocked")]
    Blocked {
        /// Legal hold (instead of a deactivation) or an administrator.
        reason: BlockReason,
    },
    /// The user lost all access: the host must end the user's sessions.
    #[serde(rename = "access.revoked")]
    AccessRevoked {
        /// Whether sign-in was refused or the entitlements became empty.
        cause: RevocationCause,
    },
    /// The user's admin tier dropped: the host must end the user's sessions.
    #[serde(rename = "privileges.decreased")]
    PrivilegesDecreased {
        /// The tier before.
        from: AdminTier,
        /// The tier after.
        to: AdminTier,
    },
}

/// Why a user lost all access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationCause {
    /// Sign-in is refused (pending deactivation, deactivated or blocked).
    SignInRefused,
    /// The user's mappings give no role and no admin tier any more.
    NoEntitlements,
}

impl PolicyEvent {
    /// Every kind, in the order of the enum: for documentation, subscriptions and tests.
    pub const KINDS: [&'static str; 8] = [
        "user.created",
        "user.updated",
        "user.deactivation_scheduled",
        "user.deactivated",
        "user.reactivated",
        "user.blocked",
        "access.revoked",
        "privileges.decreased",
    ];

    /// The stable kind string stored in the outbox and sent in webhooks.
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyEvent::UserCreated => "user.created",
            PolicyEvent::UserUpdated { .. } => "user.updated",
            PolicyEvent::DeactivationScheduled { .. } => "user.deactivation_scheduled",
            PolicyEvent::Deactivated { .. } => "user.deactivated",
            PolicyEvent::Reactivated => "user.reactivated",
            PolicyEvent::Blocked { .. } => "user.blocked",
            PolicyEvent::AccessRevoked { .. } => "access.revoked",
            PolicyEvent::PrivilegesDecreased { .. } => "privileges.decreased",
        }
    }

    /// Whether the host must end the user's sessions when it receives this event.
    pub fn ends_sessions(&self) -> bool {
        matches!(
            self,
            PolicyEvent::AccessRevoked { .. } | PolicyEvent::PrivilegesDecreased { .. }
        )
    }

    /// The event as JSON: `{"kind": "...", ...fields}`, the same shape serde produces, so a
    /// receiver can deserialize it back into a [`PolicyEvent`]. Times are RFC 3339 UTC.
    pub fn payload(&self) -> Value {
        match self {
            PolicyEvent::UserCreated | PolicyEvent::Reactivated => json!({ "kind": self.kind() }),
            PolicyEvent::UserUpdated { changed } => {
                json!({ "kind": self.kind(), "changed": changed })
            }
            PolicyEvent::DeactivationScheduled { due, reason } => json!({
                "kind": self.kind(),
                "due": due.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "reason": reason.as_str(),
            }),
            PolicyEvent::Deactivated { reason } => {
                json!({ "kind": self.kind(), "reason": reason.as_str() })
            }
            PolicyEvent::Blocked { reason } => {
                json!({ "kind": self.kind(), "reason": reason.as_str() })
            }
            PolicyEvent::AccessRevoked { cause } => {
                json!({ "kind": self.kind(), "cause": cause.as_str() })
            }
            PolicyEvent::PrivilegesDecreased { from, to } => {
                json!({ "kind": self.kind(), "from": from.as_str(), "to": to.as_str() })
            }
        }
    }
}

impl RevocationCause {
    /// The snake_case name used in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationCause::SignInRefused => "sign_in_refused",
            RevocationCause::NoEntitlements => "no_entitlements",
        }
    }
}

/// Appends `more` to `events`, dropping an event whose kind is already there, so a change that
/// both revokes access through entitlements and through a deactivation raises `access.revoked`
/// once. Order is kept: hosts see events in the order they were decided.
pub fn merge_events(events: &mut Vec<PolicyEvent>, more: impl IntoIterator<Item = PolicyEvent>) {
    for e in more {
        if !events.iter().any(|x| x.kind() == e.kind()) {
            events.push(e);
        }
    }
}
