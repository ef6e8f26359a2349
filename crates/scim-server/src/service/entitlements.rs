//! Entitlements in the server: a user's organization, roles and admin tier, recomputed when
//! the user is created or their membership of a mapped group changes, and for a whole tenant
//! by "apply mappings". Core decides (`EntitlementRules::reconcile`); this module persists the
//! outcome in the caller's transaction: the stored entitlements, organizations created for the
//! user, the sync-log entries, the outbox events (`access.revoked`, `privileges.decreased`)
//! and, when the mapped status moved, the lifecycle decision (`deactivate_unmapped`).
//!
//! Membership changes recompute with the tenant's current settings, and only for groups the
//! settings name: a push to a group no mapping mentions cannot change anyone's entitlements,
//! so it costs nothing here. Editing the settings alone moves nobody; [`apply_mappings`] does,
//! one transaction per batch of users, so a tenant of any size never holds one long
//! transaction.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use scim_core::policy::{EntitlementRules, Entitlements, MappingInput, MappingOutcome};
use scim_core::schema::SchemaRegistry;
use scim_store::outbox::{self, NewEvent};
use scim_store::sync_log::{self, NewLogEntry};
use scim_store::{
    Actor, Conn, Store, StoreError, TenantId, entitlements, groups, lifecycle as stored_lifecycle,
    members, users,
};
use serde::Serialize;
use serde_json::{Value, json};

use super::groups::all_members;
use super::lifecycle::{apply, policy_settings};
use crate::known_orgs::KnownOrganizations;

/// Users recomputed per transaction by [`apply_mappings`] (the store's page size).
pub const BATCH: usize = 500;

/// The tenant's mapping rules, compiled. A tenant whose organization attribute does not
/// compile is refused with a message that says which setting to fix: recomputing with half
/// the rules would store wrong entitlements.
pub fn rules(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
) -> scim_store::Result<EntitlementRules> {
    compile(&policy_settings(conn, tenant)?, registry)
}

/// Compiles already-read settings into rules (for callers that hold the settings), with the
/// same refusal as [`rules`].
pub fn compile(
    settings: &scim_core::policy::PolicySettings,
    registry: &SchemaRegistry,
) -> scim_store::Result<EntitlementRules> {
    EntitlementRules::new(settings, registry).map_err(|e| {
        StoreError::Invalid(format!(
            "this tenant's mapping settings are invalid (fix them through the admin API): {e}"
        ))
    })
}

/// Whether membership of the group named `name` can change anyone's entitlements: asked of
/// core itself (the group alone gives something no group gives), so it agrees with
/// `EntitlementRules::compute` by construction — a group named by a role mapping, an admin
/// tier or the group organization mapping makes its members mapped, any other is ignored.
pub fn concerns_group(rules: &EntitlementRules, name: &str) -> bool {
    let none = BTreeSet::new();
    rules.compute(&[name], &Value::Null, &none)
        != rules.compute::<&str, _>(&[], &Value::Null, &none)
}

/// What persisting one user's outcome wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Persisted {
    /// The stored entitlements changed (or were computed for the first time).
    changed: bool,
    /// Organizations this user's outcome created.
    organizations_created: Vec<String>,
    /// For a user inserted in this transaction ([`Prior::Inserted`]): the detail its
    /// `entitlements` entry would have had, which its creator folds into the `create` entry
    /// instead (one entry per created user, as a sync log shows it; see [`on_new_user`]).
    initial: Option<Value>,
}

/// What was stored for a user before an outcome is persisted.
#[derive(Debug, Clone, Copy)]
enum Prior {
    /// Its entitlements.
    Stored,
    /// Nothing yet.
    Nothing,
    /// Nothing: the user was inserted in this transaction, its users row saying `mapped`.
    Inserted { mapped: bool },
}

impl Prior {
    fn of(stored: bool) -> Prior {
        if stored {
            Prior::Stored
        } else {
            Prior::Nothing
        }
    }
}

/// Writes one outcome: organization created (logged), entitlements, the `entitlements` log
/// entry (handed back instead for a user inserted in this transaction), the lifecycle
/// decision with its own log and events, then the change's events that the lifecycle did not
/// already raise.
fn persist(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    outcome: &MappingOutcome,
    prior: Prior,
    actor: Actor,
    now: DateTime<Utc>,
) -> scim_store::Result<Persisted> {
    let at = now.naive_utc();
    let first_time = !matches!(prior, Prior::Stored);
    let user_id = outcome.user_id.as_str();
    let log = |conn: &mut Conn<'_>, action: &str, rtype: &str, id: &str, detail: Value| {
        let entry = NewLogEntry {
            at,
            actor,
            action: action.to_string(),
            resource_type: rtype.to_string(),
            resource_id: id.to_string(),
            detail,
        };
        sync_log::append(conn, tenant, &entry).map(|_| ())
    };
    let mut stored = outcome.entitlements.clone();
    let mut created = Vec::new();
    if stored.organization_created {
        created = entitlements::ensure_organizations(conn, tenant, [&stored.organization], at)?;
        for org in &created {
            let detail = json!({"name": org, "namedBy": user_id});
            log(conn, "create", "Organization", org, detail)?;
        }
        stored.organization_created = false;
    }
    let changed = first_time || !outcome.change.is_empty();
    match prior {
        Prior::Inserted { mapped } => {
            entitlements::set_new(conn, tenant, user_id, &stored, mapped, at)?;
        }
        _ if changed => entitlements::set(conn, tenant, user_id, &stored, at)?,
        _ => {}
    }
    let mut initial = None;
    if let Some(record) = outcome.change.log() {
        let mut detail = record.detail;
        if first_time && let Some(org) = detail.get_mut("organization") {
            // Nothing was stored before: the user had no organization, not one named "".
            org["from"] = Value::Null;
        }
        if matches!(prior, Prior::Inserted { .. }) {
            initial = Some(detail);
        } else {
            log(conn, record.action.as_str(), "User", user_id, detail)?;
        }
    }
    let mut raised = 0;
    if let Some(decision) = &outcome.lifecycle {
        apply(conn, registry, tenant, user_id, decision, actor, now)?;
        raised = decision.events.len();
    }
    // `outcome.events` is the lifecycle's events followed by the change's other kinds.
    let rest: Vec<NewEvent> = outcome
        .events
        .iter()
        .skip(raised)
        .map(|e| NewEvent {
            kind: e.kind().to_string(),
            user_id: Some(user_id.to_string()),
            payload: e.payload(),
            at,
        })
        .collect();
    if !rest.is_empty() {
        outbox::push_many(conn, tenant, &rest)?;
    }
    Ok(Persisted {
        changed,
        organizations_created: created,
        initial,
    })
}

/// The organizations, among those `rules` ask about for a user in `groups` with `document`
/// (`EntitlementRules::organizations_consulted`), that exist: what `reconcile` needs of the
/// tenant's organizations for that user, read by key.
fn consulted_orgs(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    rules: &EntitlementRules,
    groups: &[String],
    document: &Value,
) -> scim_store::Result<BTreeSet<String>> {
    let consulted = rules.organizations_consulted(groups, document);
    entitlements::organizations_named(conn, tenant, &consulted)
}

/// The organizations a new user's rules ask about (it is in no group yet), split into those
/// known to exist (`known_orgs`) and those [`on_new_user`] must look up. Worked out on the
/// request's thread, so the SQLite writer only reads the unknown ones, and usually none.
#[derive(Debug, Clone, Default)]
pub struct NewUserOrgs {
    known: BTreeSet<String>,
    unknown: Vec<String>,
}

impl NewUserOrgs {
    /// For a user with `document` under `rules`, in `tenant`, given what `known` holds.
    pub fn plan(
        rules: &EntitlementRules,
        document: &Value,
        known: &KnownOrganizations,
        tenant: &TenantId,
    ) -> NewUserOrgs {
        let consulted = rules.organizations_consulted::<String>(&[], document);
        let known = known.among(tenant, &consulted);
        let unknown = consulted
            .into_iter()
            .filter(|name| !known.contains(name))
            .collect();
        NewUserOrgs { known, unknown }
    }

    /// Every organization the rules ask about is looked up.
    pub fn unknown(rules: &EntitlementRules, document: &Value) -> NewUserOrgs {
        NewUserOrgs {
            known: BTreeSet::new(),
            unknown: rules.organizations_consulted::<String>(&[], document),
        }
    }

    /// Those that exist: the known ones, and the others found by key.
    fn existing(
        &self,
        conn: &mut Conn<'_>,
        tenant: &TenantId,
    ) -> scim_store::Result<BTreeSet<String>> {
        let mut found = entitlements::organizations_named(conn, tenant, &self.unknown)?;
        found.extend(self.known.iter().cloned());
        Ok(found)
    }
}

/// Users [`recompute_users`] recomputes with key lookups of the organizations each one's
/// rules consult (`EntitlementRules::organizations_consulted`); past this many it reads every
/// organization of the tenant once instead.
const LOOKUP_ORGS_UP_TO: usize = 16;

/// Recomputes the users among `ids` (ids that are not users of the tenant, such as nested
/// groups, are skipped) under `rules`, in the caller's transaction. Returns how many changed.
pub fn recompute_users(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    rules: &EntitlementRules,
    ids: &[String],
    actor: Actor,
    now: DateTime<Utc>,
) -> scim_store::Result<usize> {
    let mut seen = HashSet::new();
    let ids: Vec<String> = ids.iter().filter(|i| seen.insert(*i)).cloned().collect();
    if ids.is_empty() {
        return Ok(0);
    }
    let mut groups = members::groups_of(conn, tenant, &ids)?;
    // A few users (a membership PATCH, a user's own write) look up the organizations their
    // rules ask about; more read every organization of the tenant once.
    let mut all_orgs = if ids.len() > LOOKUP_ORGS_UP_TO {
        Some(entitlements::organizations(conn, tenant)?)
    } else {
        None
    };
    let mut changed = 0;
    for id in &ids {
        let Some(user) = users::get(conn, tenant, id)? else {
            continue;
        };
        let Some(lifecycle) = stored_lifecycle::load(conn, tenant, id)? else {
            continue;
        };
        let stored = entitlements::get(conn, tenant, id)?;
        let names: Vec<String> = groups
            .remove(id)
            .unwrap_or_default()
            .into_iter()
            .map(|g| g.display)
            .collect();
        let current = stored.clone().unwrap_or_default();
        let input = MappingInput {
            user_id: id,
            groups: &names,
            document: &user.resource,
            current: &current,
            lifecycle: Some(&lifecycle),
        };
        let looked_up;
        let orgs = match &all_orgs {
            Some(all) => all,
            None => {
                looked_up = consulted_orgs(conn, tenant, rules, &names, &user.resource)?;
                &looked_up
            }
        };
        let outcome = rules.reconcile(&input, orgs, now);
        let done = persist(
            conn,
            registry,
            tenant,
            &outcome,
            Prior::of(stored.is_some()),
            actor,
            now,
        )?;
        // `persist` created it in this transaction, where a later lookup finds it.
        if outcome.entitlements.organization_created
            && let Some(all) = &mut all_orgs
        {
            all.insert(outcome.entitlements.organization.clone());
        }
        changed += usize::from(done.changed);
    }
    Ok(changed)
}

/// Computes and stores the entitlements of a user inserted in this very transaction (no
/// groups yet: the default organization and its default roles, or the organization an
/// attribute names), with the tenant's rules read here. Returns what the user's `create`
/// entry records of them (see [`on_new_user`]).
pub fn on_user_created(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    user: &scim_store::StoredResource,
    lifecycle: &scim_core::policy::UserLifecycle,
    actor: Actor,
    now: DateTime<Utc>,
) -> scim_store::Result<Option<Value>> {
    let rules = rules(conn, registry, tenant)?;
    let given = on_new_user(
        conn,
        registry,
        tenant,
        &rules,
        &user.id,
        &user.resource,
        lifecycle,
        &NewUserOrgs::unknown(&rules, &user.resource),
        actor,
        now,
    )?;
    Ok(given.detail)
}

/// What [`on_new_user`] gave a new user.
#[derive(Debug)]
pub struct NewUserEntitlements {
    /// What the user's `create` entry records of them (`None` when nothing was assigned).
    pub detail: Option<Value>,
    /// The organization the user was given ("" for none). It exists once the transaction
    /// commits: found, or created in it.
    pub organization: String,
}

/// [`on_user_created`] with what the caller already holds: the rules compiled from the
/// settings it read for the create, the document and the lifecycle it inserted. A user
/// created a moment ago is in no group and has no stored entitlements, so the only reads left
/// are of the one or two organizations its rules ask about (not every organization of the
/// tenant, which grew with the tenant) — a create costs the SQLite writer a few inserts and
/// key lookups instead of five reads and a re-parse of the user.
///
/// Returns the detail an `entitlements` entry would have (`None` when nothing was assigned),
/// for the caller's `create` entry (`detail.entitlements`): a created user is one entry in the
/// sync log, with what it was given, and only later changes are `entitlements` entries. (Two
/// entries per create were a third of the pages each create wrote.) An organization the user
/// brought into being is still its own `create Organization` entry.
///
/// `orgs` says which organizations to look up (see [`NewUserOrgs`]): one known to exist is
/// not, where the lookup was one of a create's round trips on PostgreSQL.
#[allow(clippy::too_many_arguments)]
pub fn on_new_user(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    rules: &EntitlementRules,
    user_id: &str,
    document: &Value,
    lifecycle: &scim_core::policy::UserLifecycle,
    orgs: &NewUserOrgs,
    actor: Actor,
    now: DateTime<Utc>,
) -> scim_store::Result<NewUserEntitlements> {
    // A new user is in no group yet.
    let groups: &[String] = &[];
    let orgs = orgs.existing(conn, tenant)?;
    let none = Entitlements::default();
    let input = MappingInput {
        user_id,
        groups,
        document,
        current: &none,
        lifecycle: Some(lifecycle),
    };
    let outcome = rules.reconcile(&input, &orgs, now);
    let prior = Prior::Inserted {
        mapped: lifecycle.mapped,
    };
    let done = persist(conn, registry, tenant, &outcome, prior, actor, now)?;
    Ok(NewUserEntitlements {
        detail: done.initial,
        organization: outcome.entitlements.organization,
    })
}

/// A group write's effect on its members' entitlements, captured before the write by
/// [`GroupWatch::start`] and carried out after it by [`GroupWatch::finish`], both in the
/// write's transaction.
#[derive(Debug)]
pub struct GroupWatch {
    rules: EntitlementRules,
    group_id: String,
    renamed: bool,
    before: Option<HashSet<String>>,
}

/// Every member id of a group (none when it doesn't exist).
fn member_ids(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    group_id: &str,
) -> scim_store::Result<HashSet<String>> {
    Ok(all_members(conn, tenant, group_id)?
        .into_iter()
        .map(|m| m.value)
        .collect())
}

impl GroupWatch {
    /// Call before writing group `group_id` (which may not exist yet). `new_name` is its
    /// displayName after the write when the write sets one; `whole` says the write replaces,
    /// clears or filters the membership, or deletes the group, so the members before are
    /// needed to know who left. `None` when neither the old nor the new name concerns any
    /// mapping: nothing to recompute, nothing read.
    pub fn start(
        conn: &mut Conn<'_>,
        registry: &SchemaRegistry,
        tenant: &TenantId,
        group_id: &str,
        new_name: Option<&str>,
        whole: bool,
    ) -> scim_store::Result<Option<GroupWatch>> {
        let rules = rules(conn, registry, tenant)?;
        let old = groups::get(conn, tenant, group_id)?;
        let old_name = old
            .as_ref()
            .and_then(|g| scim_core::resource::display_name(&g.resource));
        let relevant = old_name
            .into_iter()
            .chain(new_name)
            .any(|n| concerns_group(&rules, n));
        if !relevant {
            return Ok(None);
        }
        let renamed = matches!((old_name, new_name), (Some(o), Some(n)) if o != n);
        let before = if old.is_some() && (whole || renamed) {
            Some(member_ids(conn, tenant, group_id)?)
        } else {
            None
        };
        Ok(Some(GroupWatch {
            rules,
            group_id: group_id.to_string(),
            renamed,
            before,
        }))
    }

    /// Call after the write: recomputes `touched` (the ids the write added or removed by
    /// name), the members who joined or left when the membership was rewritten, and every
    /// member, before and after, when the group was renamed. Returns how many changed.
    pub fn finish(
        self,
        conn: &mut Conn<'_>,
        registry: &SchemaRegistry,
        tenant: &TenantId,
        touched: &[String],
        actor: Actor,
        now: DateTime<Utc>,
    ) -> scim_store::Result<usize> {
        let mut affected: BTreeSet<String> = touched.iter().cloned().collect();
        if let Some(before) = &self.before {
            let after = member_ids(conn, tenant, &self.group_id)?;
            if self.renamed {
                affected.extend(before.union(&after).cloned());
            } else {
                affected.extend(before.symmetric_difference(&after).cloned());
            }
        }
        let ids: Vec<String> = affected.into_iter().collect();
        recompute_users(conn, registry, tenant, &self.rules, &ids, actor, now)
    }
}

/// What an apply-mappings run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Users recomputed (every user of the tenant).
    pub users_examined: usize,
    /// Users whose stored entitlements changed.
    pub users_changed: usize,
    /// Organizations created because an attribute named them.
    pub organizations_created: usize,
}

/// One batch: the report and the last user id, to continue after.
struct Batch {
    report: ApplyReport,
    last: Option<String>,
}

/// "Apply mappings": recomputes every user of the tenant under its current settings, a batch
/// of [`BATCH`] users per transaction (read and written in that transaction, so a batch sees
/// one state of the memberships), recording each change as `actor`; then a summary entry
/// (`apply_mappings` on the tenant) in the sync log.
pub fn apply_mappings(
    store: &Store,
    registry: Arc<SchemaRegistry>,
    tenant: &TenantId,
    actor: Actor,
    now: DateTime<Utc>,
) -> scim_store::Result<ApplyReport> {
    let rules = Arc::new(store.read(|c| rules(c, &registry, tenant))?);
    let mut total = ApplyReport::default();
    let mut after: Option<String> = None;
    loop {
        let (rules, registry, t) = (rules.clone(), registry.clone(), tenant.clone());
        let cursor = after.take();
        let batch = store
            .write(move |c| apply_batch(c, &registry, &t, &rules, cursor.as_deref(), actor, now))?;
        total.users_examined += batch.report.users_examined;
        total.users_changed += batch.report.users_changed;
        total.organizations_created += batch.report.organizations_created;
        match batch.last {
            Some(last) if batch.report.users_examined == BATCH => after = Some(last),
            _ => break,
        }
    }
    let t = tenant.clone();
    store.write(move |c| {
        let entry = NewLogEntry {
            at: now.naive_utc(),
            actor,
            action: "apply_mappings".to_string(),
            resource_type: "Tenant".to_string(),
            resource_id: t.as_str().to_string(),
            detail: json!(total),
        };
        sync_log::append(c, &t, &entry).map(|_| ())
    })?;
    Ok(total)
}

fn apply_batch(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    rules: &EntitlementRules,
    after: Option<&str>,
    actor: Actor,
    now: DateTime<Utc>,
) -> scim_store::Result<Batch> {
    let page = entitlements::users_for_mappings(conn, tenant, after, BATCH)?;
    let orgs = entitlements::organizations(conn, tenant)?;
    let current: Vec<Entitlements> = page
        .iter()
        .map(|r| r.entitlements.clone().unwrap_or_default())
        .collect();
    let inputs: Vec<MappingInput<'_>> = page
        .iter()
        .zip(&current)
        .map(|(r, cur)| MappingInput {
            user_id: &r.user_id,
            groups: &r.groups,
            document: &r.document,
            current: cur,
            lifecycle: Some(&r.lifecycle),
        })
        .collect();
    let mapped = rules.apply_mappings(&inputs, &orgs, now);
    let mut report = ApplyReport {
        users_examined: page.len(),
        ..ApplyReport::default()
    };
    for (row, outcome) in page.iter().zip(&mapped.outcomes) {
        let prior = Prior::of(row.entitlements.is_some());
        let done = persist(conn, registry, tenant, outcome, prior, actor, now)?;
        report.users_changed += usize::from(done.changed);
        report.organizations_created += done.organizations_created.len();
    }
    Ok(Batch {
        report,
        last: page.last().map(|r| r.user_id.clone()),
    })
}
