//! Applying mappings: recompute a user's entitlements, say what changed, and what that means
//! for the user's sessions and lifecycle.
//!
//! Mappings can be edited at any time; nothing moves until "apply mappings" recomputes every
//! user (Code42's "Apply Org and Role Settings"). A membership change recomputes one user the
//! same way. A change that shrinks access raises the events that end sessions (DivvyCloud:
//! sessions end when "a user loses all access … or has a decrease in admin privileges"), and a
//! change of the mapped status feeds the lifecycle when `deactivate_unmapped` is on.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::entitlements::{AdminTier, EntitlementRules, Entitlements, OrgCatalog};
use super::events::{PolicyEvent, RevocationCause, merge_events};
use super::lifecycle::{Decision, LifecycleEvent, UserLifecycle, decide};
use super::log::{LogAction, LogRecord};

/// What changed between a user's stored entitlements and the recomputed ones.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EntitlementChange {
    /// `(from, to)` when the organization changed.
    pub organization: Option<(String, String)>,
    /// The organization was created for this user (attribute methods).
    pub organization_created: bool,
    /// Roles gained.
    pub roles_added: BTreeSet<String>,
    /// Roles lost.
    pub roles_removed: BTreeSet<String>,
    /// `(from, to)` when the admin tier changed.
    pub admin_tier: Option<(AdminTier, AdminTier)>,
    /// The new mapped status, when it changed.
    pub mapped: Option<bool>,
    /// The user had a role or an admin tier and now has neither: end the user's sessions.
    pub access_revoked: bool,
    /// The admin tier dropped (Domain → Org or none, Org → none): end the user's sessions.
    pub privileges_decreased: bool,
}

/// Compares two entitlements of one user.
pub fn diff(old: &Entitlements, new: &Entitlements) -> EntitlementChange {
    EntitlementChange {
        organization: (old.organization != new.organization)
            .then(|| (old.organization.clone(), new.organization.clone())),
        organization_created: new.organization_created,
        roles_added: new.roles.difference(&old.roles).cloned().collect(),
        roles_removed: old.roles.difference(&new.roles).cloned().collect(),
        admin_tier: (old.admin_tier != new.admin_tier).then_some((old.admin_tier, new.admin_tier)),
        mapped: (old.mapped != new.mapped).then_some(new.mapped),
        access_revoked: old.has_access() && !new.has_access(),
        privileges_decreased: new.admin_tier < old.admin_tier,
    }
}

impl EntitlementChange {
    /// Nothing changed (creating an organization alone is not a change of the user).
    pub fn is_empty(&self) -> bool {
        self.organization.is_none()
            && self.roles_added.is_empty()
            && self.roles_removed.is_empty()
            && self.admin_tier.is_none()
            && self.mapped.is_none()
    }

    /// The events this change raises: `access.revoked` and/or `privileges.decreased`.
    pub fn events(&self) -> Vec<PolicyEvent> {
        let mut events = Vec::new();
        if self.access_revoked {
            events.push(PolicyEvent::AccessRevoked {
                cause: RevocationCause::NoEntitlements,
            });
        }
        if let (true, Some((from, to))) = (self.privileges_decreased, self.admin_tier) {
            events.push(PolicyEvent::PrivilegesDecreased { from, to });
        }
        events
    }

    /// The sync-log entry (`entitlements`) listing only what changed; `None` when nothing did.
    pub fn log(&self) -> Option<LogRecord> {
        if self.is_empty() {
            return None;
        }
        let mut detail = Map::new();
        if let Some((from, to)) = &self.organization {
            let mut org = json!({ "from": from, "to": to });
            if self.organization_created {
                org["created"] = Value::Bool(true);
            }
            detail.insert("organization".into(), org);
        }
        if !self.roles_added.is_empty() || !self.roles_removed.is_empty() {
            detail.insert(
                "roles".into(),
                json!({ "added": self.roles_added, "removed": self.roles_removed }),
            );
        }
        if let Some((from, to)) = self.admin_tier {
            detail.insert(
                "admin_tier".into(),
                json!({ "from": from.as_str(), "to": to.as_str() }),
            );
        }
        if let Some(mapped) = self.mapped {
            detail.insert("mapped".into(), json!({ "from": !mapped, "to": mapped }));
        }
        Some(LogRecord {
            action: LogAction::Entitlements,
            detail: Value::Object(detail),
        })
    }
}

/// One user to recompute.
#[derive(Debug, Clone, Copy)]
pub struct MappingInput<'a> {
    /// The user's id (carried into the outcome).
    pub user_id: &'a str,
    /// displayNames of the groups the user is a member of.
    pub groups: &'a [String],
    /// The stored user document (for attribute-based organizations).
    pub document: &'a Value,
    /// The stored entitlements.
    pub current: &'a Entitlements,
    /// The stored lifecycle record, so a change of the mapped status can move the user;
    /// `None` to recompute entitlements only.
    pub lifecycle: Option<&'a UserLifecycle>,
}

/// What recomputing one user decided; persist all of it in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingOutcome {
    /// The user.
    pub user_id: String,
    /// The new entitlements to store.
    pub entitlements: Entitlements,
    /// What changed.
    pub change: EntitlementChange,
    /// The lifecycle decision, when the mapped status changed (apply its job change too).
    pub lifecycle: Option<Decision>,
    /// Events for the outbox: the lifecycle's, then the entitlement change's, each kind once.
    pub events: Vec<PolicyEvent>,
    /// Sync-log entries: the entitlement change, then the lifecycle's.
    pub log: Vec<LogRecord>,
}

/// The result of applying mappings to a batch of users.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MappingReport {
    /// One outcome per input user, in input order (unchanged users included, with an empty
    /// change, so the store can upsert uniformly).
    pub outcomes: Vec<MappingOutcome>,
    /// Organizations to create before storing the outcomes (each once, even when several
    /// users named it).
    pub organizations_created: BTreeSet<String>,
}

impl EntitlementRules {
    /// Recomputes one user (after a membership or attribute change, or inside
    /// [`apply_mappings`](Self::apply_mappings)). `existing_orgs` are the tenant's
    /// organizations; `now` dates a lifecycle change.
    pub fn reconcile<C: OrgCatalog + ?Sized>(
        &self,
        input: &MappingInput<'_>,
        existing_orgs: &C,
        now: DateTime<Utc>,
    ) -> MappingOutcome {
        let entitlements = self.compute(input.groups, input.document, existing_orgs);
        let change = diff(input.current, &entitlements);
        let lifecycle = input
            .lifecycle
            .filter(|l| l.mapped != entitlements.mapped)
            .and_then(|l| {
                let event = LifecycleEvent::UnmappedChanged {
                    mapped: entitlements.mapped,
                };
                // Never fails: only provider events are refused (on local accounts).
                decide(l, event, self.settings(), now).ok()
            });
        let mut events = lifecycle
            .as_ref()
            .map(|d| d.events.clone())
            .unwrap_or_default();
        merge_events(&mut events, change.events());
        let log = change
            .log()
            .into_iter()
            .chain(lifecycle.iter().flat_map(|d| d.log.iter().cloned()))
            .collect();
        MappingOutcome {
            user_id: input.user_id.to_string(),
            entitlements,
            change,
            lifecycle,
            events,
            log,
        }
    }

    /// "Apply mappings": recomputes every user of a batch. Organizations created for one user
    /// exist for the next, so each is created once.
    pub fn apply_mappings(
        &self,
        users: &[MappingInput<'_>],
        existing_orgs: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> MappingReport {
        let mut known = existing_orgs.clone();
        let mut report = MappingReport::default();
        for input in users {
            let outcome = self.reconcile(input, &known, now);
            if outcome.entitlements.organization_created {
                let org = outcome.entitlements.organization.clone();
                known.insert(org.clone());
                report.organizations_created.insert(org);
            }
            report.outcomes.push(outcome);
        }
        report
    }
}
