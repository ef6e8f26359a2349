//! The account lifecycle: active, pending deactivation, deactivated, blocked; and the one
//! function, [`decide`], that says what an event does to it.
//!
//! The rules come from the Code42/Incydr and DivvyCloud documents (see `DESIGN.md`,
//! "Provisioning policy"):
//! - a provider deactivation (or DELETE) refuses sign-in **at once** and schedules the
//!   destructive step (`deactivated`, when the host archives data) after the tenant's delay;
//!   undoing it before the due time cancels the job, after it reactivates;
//! - an administrator's deactivation is immediate;
//! - a user on legal hold is never deactivated: at the due time they are `blocked` instead,
//!   and releasing the hold deactivates them if the reason still holds;
//! - with `deactivate_unmapped`, a user in no mapped group goes down the same delayed path and
//!   comes back when they return to one;
//! - local accounts refuse every provider event.
//!
//! Reactivation is decided from facts, not from the last event alone: the input carries the
//! provider's `active` value and whether the user is mapped, and a user is only reactivated
//! automatically when **no** reason to deactivate remains (a user the provider re-activates
//! but who is still unmapped stays pending). Deactivations an administrator asked for are never
//! undone automatically, only by [`LifecycleEvent::AdminReactivate`].
//!
//! Callers must send provider events on **changes** only: `ProviderSetActive` when the
//! provider's `active` value differs from the stored one (Okta's AIW apps PUT the whole user,
//! `active: true` included, on every profile change), `UnmappedChanged` when the mapped status
//! changes.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::events::{PolicyEvent, RevocationCause};
use super::log::{LogAction, LogRecord};
use super::origin::{Origin, local_account_error};
use super::settings::PolicySettings;
use crate::error::Result;

/// Why a user is (to be) deactivated; also the reason stored with a deactivation job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeactivationReason {
    /// The provider set `active` to false.
    ProviderInactive,
    /// The provider deleted the user.
    ProviderDelete,
    /// The user is in no mapped group (with `deactivate_unmapped`).
    Unmapped,
    /// An administrator deactivated (or blocked) the user; never undone automatically.
    Admin,
}

impl DeactivationReason {
    /// The snake_case name stored with jobs and states and sent in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            DeactivationReason::ProviderInactive => "provider_inactive",
            DeactivationReason::ProviderDelete => "provider_delete",
            DeactivationReason::Unmapped => "unmapped",
            DeactivationReason::Admin => "admin",
        }
    }
}

/// Why a user is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// A deactivation was due while the user was on legal hold: the data is retained.
    LegalHold,
    /// An administrator blocked the user (Incydr's manual block of suspended users).
    Admin,
}

impl BlockReason {
    /// The snake_case name used in states and payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockReason::LegalHold => "legal_hold",
            BlockReason::Admin => "admin",
        }
    }
}

/// Where a user account is in its lifecycle. Serialized as
/// `{"state": "pending_deactivation", "due": "...", "reason": "provider_inactive"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LifecycleState {
    /// May sign in.
    Active,
    /// Sign-in refused; a job deactivates the user at `due` unless cancelled.
    PendingDeactivation {
        /// When the job runs.
        due: DateTime<Utc>,
        /// Why it was scheduled.
        reason: DeactivationReason,
    },
    /// Deactivated: the host may have archived the user's data.
    Deactivated {
        /// What asked for it.
        reason: DeactivationReason,
    },
    /// Sign-in refused, data kept.
    Blocked {
        /// Legal hold or administrator.
        reason: BlockReason,
        /// For a legal-hold block, the deactivation it stands in for (applied when the hold is
        /// released); `admin` for an administrator's block.
        cause: DeactivationReason,
    },
}

impl LifecycleState {
    /// One word: `active`, `pending_deactivation`, `deactivated` or `blocked` (what
    /// `scim-server user state` prints).
    pub fn name(&self) -> &'static str {
        match self {
            LifecycleState::Active => "active",
            LifecycleState::PendingDeactivation { .. } => "pending_deactivation",
            LifecycleState::Deactivated { .. } => "deactivated",
            LifecycleState::Blocked { .. } => "blocked",
        }
    }

    /// Sign-in is allowed only while active: it is refused from the moment the provider
    /// deactivates, not from the due time.
    pub fn sign_in_allowed(&self) -> bool {
        matches!(self, LifecycleState::Active)
    }

    /// The due time of a pending deactivation.
    pub fn due(&self) -> Option<DateTime<Utc>> {
        match self {
            LifecycleState::PendingDeactivation { due, .. } => Some(*due),
            _ => None,
        }
    }

    /// The state as JSON, the same shape serde produces (for sync-log details).
    pub fn to_json(&self) -> Value {
        match self {
            LifecycleState::Active => json!({ "state": self.name() }),
            LifecycleState::PendingDeactivation { due, reason } => json!({
                "state": self.name(),
                "due": due.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "reason": reason.as_str(),
            }),
            LifecycleState::Deactivated { reason } => {
                json!({ "state": self.name(), "reason": reason.as_str() })
            }
            LifecycleState::Blocked { reason, cause } => json!({
                "state": self.name(),
                "reason": reason.as_str(),
                "cause": cause.as_str(),
            }),
        }
    }
}

/// Everything the lifecycle rules know about one user: the stored record before an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserLifecycle {
    /// The lifecycle state.
    pub state: LifecycleState,
    /// Provisioned or local.
    pub origin: Origin,
    /// On legal hold: never deactivated, blocked instead.
    pub legal_hold: bool,
    /// The provider's `active` value (false also after a provider DELETE).
    pub provider_active: bool,
    /// In at least one mapped group (from the user's stored entitlements).
    pub mapped: bool,
}

/// Something that happens to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", content = "value", rename_all = "snake_case")]
pub enum LifecycleEvent {
    /// The provider changed `active` (PATCH, PUT or Bulk).
    ProviderSetActive(bool),
    /// The provider deleted the user.
    ProviderDelete,
    /// The user's deactivation job came due (the worker claimed it).
    JobDue,
    /// An administrator deactivated the user: immediate, no delay.
    AdminDeactivate,
    /// An administrator reactivated the user.
    AdminReactivate,
    /// An administrator blocked the user.
    AdminBlock,
    /// An administrator put the user on legal hold.
    LegalHoldSet,
    /// An administrator released the legal hold.
    LegalHoldReleased,
    /// The user's mapped status changed (apply mappings, membership change, LDAP sync).
    UnmappedChanged {
        /// Whether the user is now in a mapped group.
        mapped: bool,
    },
}

impl LifecycleEvent {
    /// Events that come from the tenant's provider, refused on local accounts.
    pub fn is_provider_event(&self) -> bool {
        matches!(
            self,
            LifecycleEvent::ProviderSetActive(_) | LifecycleEvent::ProviderDelete
        )
    }
}

/// What to do with the user's deactivation job (one open job per user at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum JobAction {
    /// Create the job, or replace the open one, with this due time and reason.
    Schedule {
        /// When it runs.
        due: DateTime<Utc>,
        /// Why.
        reason: DeactivationReason,
    },
    /// Cancel the open job.
    Cancel,
    /// Leave the open job as it is (for a claimed job that is not due yet: release it).
    Keep,
    /// Nothing to do (no job, or the claimed job is done: complete it).
    None,
}

/// What an event does to a user: the new record, whether sign-in is allowed, the job change,
/// the events to publish and the sync-log entries to write, all in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The record after the event (state, legal hold, provider `active`, mapped).
    pub user: UserLifecycle,
    /// Whether the user may sign in now.
    pub sign_in_allowed: bool,
    /// The job change.
    pub job: JobAction,
    /// Events for the outbox, in order.
    pub events: Vec<PolicyEvent>,
    /// Sync-log entries, in order.
    pub log: Vec<LogRecord>,
}

impl Decision {
    /// The new lifecycle state.
    pub fn state(&self) -> LifecycleState {
        self.user.state
    }

    /// Whether the state changed (facts like `provider_active` may change without it).
    pub fn state_changed(&self, before: &UserLifecycle) -> bool {
        self.user.state != before.state
    }
}

/// The record of a user being created: by the provider (`Origin::Provisioned`) with its
/// `active` value and mapped status, or locally. A provider user created inactive is
/// deactivated at once (there is nothing yet to protect); one created unmapped while
/// `deactivate_unmapped` is on is scheduled like any other, so the group push that usually
/// follows a create within seconds cancels it. Events: `user.created`, then any scheduling.
pub fn create(
    origin: Origin,
    provider_active: bool,
    mapped: bool,
    settings: &PolicySettings,
    now: DateTime<Utc>,
) -> Decision {
    let user = UserLifecycle {
        state: LifecycleState::Active,
        origin,
        legal_hold: false,
        provider_active,
        mapped,
    };
    let mut step = Step::new(user, settings, now);
    step.events.push(PolicyEvent::UserCreated);
    if origin == Origin::Provisioned {
        if !provider_active {
            step.to(LifecycleState::Deactivated {
                reason: DeactivationReason::ProviderInactive,
            });
            step.log(LogAction::Deactivate);
        } else if settings.deactivate_unmapped && !mapped {
            step.schedule(DeactivationReason::Unmapped);
            // Never had access, so there are no sessions to end.
            step.events
                .retain(|e| !matches!(e, PolicyEvent::AccessRevoked { .. }));
        }
    }
    step.finish()
}

/// What `event` does to `user` at `now`, under the tenant's `settings` (delay and
/// `deactivate_unmapped`). Fails only for provider events on a local account.
pub fn decide(
    user: &UserLifecycle,
    event: LifecycleEvent,
    settings: &PolicySettings,
    now: DateTime<Utc>,
) -> Result<Decision> {
    if user.origin == Origin::Local {
        match event {
            LifecycleEvent::ProviderSetActive(_) => {
                return Err(local_account_error("deactivate or reactivate", None));
            }
            LifecycleEvent::ProviderDelete => return Err(local_account_error("delete", None)),
            // Group mappings govern provisioned users only.
            LifecycleEvent::UnmappedChanged { .. } => {
                return Ok(Step::new(*user, settings, now).finish());
            }
            _ => {}
        }
    }
    let mut step = Step::new(*user, settings, now);
    let state = user.state;
    match event {
        LifecycleEvent::ProviderSetActive(active) => {
            step.user.provider_active = active;
            if active {
                step.reactivate_if_nothing_left();
            } else if state == LifecycleState::Active {
                step.schedule(DeactivationReason::ProviderInactive);
            }
        }
        LifecycleEvent::ProviderDelete => {
            step.user.provider_active = false;
            match state {
                LifecycleState::Active => step.schedule(DeactivationReason::ProviderDelete),
                LifecycleState::PendingDeactivation { due, reason }
                    if reason != DeactivationReason::ProviderDelete =>
                {
                    // The original due time stands: a DELETE never extends the delay.
                    let reason = DeactivationReason::ProviderDelete;
                    step.to(LifecycleState::PendingDeactivation { due, reason });
                    step.job = JobAction::Schedule { due, reason };
                    step.log(LogAction::ScheduleDeactivation);
                }
                _ => {}
            }
        }
        LifecycleEvent::UnmappedChanged { mapped } => {
            step.user.mapped = mapped;
            if settings.deactivate_unmapped {
                if mapped {
                    step.reactivate_if_nothing_left();
                } else if state == LifecycleState::Active {
                    step.schedule(DeactivationReason::Unmapped);
                }
            }
        }
        LifecycleEvent::JobDue => job_due(&mut step),
        LifecycleEvent::AdminDeactivate => admin_deactivate(&mut step),
        LifecycleEvent::AdminReactivate => {
            if state != LifecycleState::Active {
                step.reactivate();
            }
        }
        LifecycleEvent::AdminBlock => {
            if matches!(
                state,
                LifecycleState::Active | LifecycleState::PendingDeactivation { .. }
            ) {
                step.cancel_if_pending();
                step.to(LifecycleState::Blocked {
                    reason: BlockReason::Admin,
                    cause: DeactivationReason::Admin,
                });
                step.events.push(PolicyEvent::Blocked {
                    reason: BlockReason::Admin,
                });
                step.revoke_if_was_active();
                step.log(LogAction::Block);
            }
        }
        LifecycleEvent::LegalHoldSet => {
            if !user.legal_hold {
                step.user.legal_hold = true;
                step.log(LogAction::LegalHoldSet);
            }
        }
        LifecycleEvent::LegalHoldReleased => legal_hold_released(&mut step),
    }
    Ok(step.finish())
}

fn job_due(step: &mut Step<'_>) {
    let LifecycleState::PendingDeactivation { due, reason } = step.before.state else {
        // A stale job (cancelled by a change that raced the claim): complete it, no effect.
        return;
    };
    if step.now < due {
        step.job = JobAction::Keep;
    } else if !step.wants_out() {
        // The reason went away without an event (e.g. the tenant turned off
        // `deactivate_unmapped`): never deactivate without a reason.
        step.reactivate();
        step.job = JobAction::None;
    } else {
        step.deactivate_or_block(reason);
    }
}

fn admin_deactivate(step: &mut Step<'_>) {
    let admin = DeactivationReason::Admin;
    match step.before.state {
        LifecycleState::Active
        | LifecycleState::PendingDeactivation { .. }
        | LifecycleState::Blocked {
            reason: BlockReason::Admin,
            ..
        } => {
            step.cancel_if_pending();
            step.deactivate_or_block(admin);
        }
        LifecycleState::Blocked {
            reason: BlockReason::LegalHold,
            cause,
        } if cause != admin => {
            // Still held; the administrator's deactivation applies when the hold is released.
            step.to(LifecycleState::Blocked {
                reason: BlockReason::LegalHold,
                cause: admin,
            });
            step.log(LogAction::Block);
        }
        LifecycleState::Deactivated { reason } if reason != admin => {
            // Already deactivated; from now on only an administrator may reactivate.
            step.to(LifecycleState::Deactivated { reason: admin });
            step.log(LogAction::Deactivate);
        }
        _ => {}
    }
}

fn legal_hold_released(step: &mut Step<'_>) {
    if !step.before.legal_hold {
        return;
    }
    step.user.legal_hold = false;
    step.log(LogAction::LegalHoldReleased);
    if let LifecycleState::Blocked {
        reason: BlockReason::LegalHold,
        cause,
    } = step.before.state
    {
        if cause == DeactivationReason::Admin || step.wants_out() {
            step.to(LifecycleState::Deactivated { reason: cause });
            step.events.push(PolicyEvent::Deactivated { reason: cause });
            step.log(LogAction::Deactivate);
        } else {
            step.reactivate();
        }
    }
}

/// The decision under construction.
struct Step<'s> {
    before: UserLifecycle,
    user: UserLifecycle,
    settings: &'s PolicySettings,
    now: DateTime<Utc>,
    job: JobAction,
    events: Vec<PolicyEvent>,
    log: Vec<LogRecord>,
    /// The state the next log entry records as "from".
    logged_from: LifecycleState,
}

impl<'s> Step<'s> {
    fn new(user: UserLifecycle, settings: &'s PolicySettings, now: DateTime<Utc>) -> Self {
        Step {
            before: user,
            user,
            settings,
            now,
            job: JobAction::None,
            events: Vec::new(),
            log: Vec::new(),
            logged_from: user.state,
        }
    }

    fn finish(self) -> Decision {
        Decision {
            sign_in_allowed: self.user.state.sign_in_allowed(),
            user: self.user,
            job: self.job,
            events: self.events,
            log: self.log,
        }
    }

    fn to(&mut self, state: LifecycleState) {
        self.user.state = state;
    }

    fn log(&mut self, action: LogAction) {
        let detail = match action {
            LogAction::LegalHoldSet | LogAction::LegalHoldReleased => {
                json!({ "legal_hold": self.user.legal_hold })
            }
            _ => json!({ "from": self.logged_from.to_json(), "to": self.user.state.to_json() }),
        };
        self.logged_from = self.user.state;
        self.log.push(LogRecord { action, detail });
    }

    /// Whether some reason to deactivate the user remains (after this event's facts).
    fn wants_out(&self) -> bool {
        !self.user.provider_active || (self.settings.deactivate_unmapped && !self.user.mapped)
    }

    /// Active → pending at `now + delay`; sign-in is refused at once.
    fn schedule(&mut self, reason: DeactivationReason) {
        let due = due_after(self.now, self.settings.deactivation_delay_secs);
        self.to(LifecycleState::PendingDeactivation { due, reason });
        self.job = JobAction::Schedule { due, reason };
        self.events
            .push(PolicyEvent::DeactivationScheduled { due, reason });
        self.revoke_if_was_active();
        self.log(LogAction::ScheduleDeactivation);
    }

    /// Back to active when no reason to deactivate remains and no administrator asked for it.
    fn reactivate_if_nothing_left(&mut self) {
        let automatic = match self.before.state {
            LifecycleState::Active => false,
            LifecycleState::PendingDeactivation { reason, .. }
            | LifecycleState::Deactivated { reason } => reason != DeactivationReason::Admin,
            LifecycleState::Blocked { reason, cause } => {
                reason == BlockReason::LegalHold && cause != DeactivationReason::Admin
            }
        };
        if automatic && !self.wants_out() {
            self.reactivate();
        }
    }

    fn reactivate(&mut self) {
        self.cancel_if_pending();
        self.to(LifecycleState::Active);
        self.events.push(PolicyEvent::Reactivated);
        self.log(LogAction::Reactivate);
    }

    fn cancel_if_pending(&mut self) {
        if matches!(
            self.before.state,
            LifecycleState::PendingDeactivation { .. }
        ) {
            self.job = JobAction::Cancel;
        }
    }

    /// Deactivated, or blocked when on legal hold ("users are blocked instead").
    fn deactivate_or_block(&mut self, reason: DeactivationReason) {
        if self.user.legal_hold {
            let block = BlockReason::LegalHold;
            self.to(LifecycleState::Blocked {
                reason: block,
                cause: reason,
            });
            self.events.push(PolicyEvent::Blocked { reason: block });
            self.revoke_if_was_active();
            self.log(LogAction::Block);
        } else {
            self.to(LifecycleState::Deactivated { reason });
            self.events.push(PolicyEvent::Deactivated { reason });
            self.revoke_if_was_active();
            self.log(LogAction::Deactivate);
        }
    }

    /// Losing sign-in is losing all access: the host must end the user's sessions.
    fn revoke_if_was_active(&mut self) {
        if self.before.state.sign_in_allowed() && !self.user.state.sign_in_allowed() {
            self.events.push(PolicyEvent::AccessRevoked {
                cause: RevocationCause::SignInRefused,
            });
        }
    }
}

/// `now + delay`, saturating at the largest representable time (the store caps the delay at
/// ten years, so this only guards against a corrupt setting).
pub fn due_after(now: DateTime<Utc>, delay_secs: u64) -> DateTime<Utc> {
    i64::try_from(delay_secs)
        .ok()
        .and_then(TimeDelta::try_seconds)
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
