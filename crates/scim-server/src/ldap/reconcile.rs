//! Making the tenant match a directory snapshot, through the same store and policy functions
//! as SCIM writes (schema preparation, the tenant's validation rules, the lifecycle policy's
//! decisions, the entitlement recomputation of mapped groups, the sync log and the outbox),
//! with actor `ldap`.
//!
//! Ownership: the sync owns the users whose `externalId` starts with `ldap:` and nothing else.
//! A directory user whose userName another user already holds (local, pushed over SCIM) is
//! skipped with a warning, never taken over; in the SCIM groups named after the directory's
//! groups, only the memberships of owned users are added or removed.
//!
//! What a run does, in this order:
//! 1. each member of a mapped group is created, or updated when its directory attributes
//!    changed, and reactivated (the provider setting `active=true`) when it had left;
//! 2. each mapped group's SCIM group (same displayName; created when missing) gets the owned
//!    members the directory lists, and loses the owned members it no longer lists, which
//!    recomputes their entitlements as a SCIM membership change would;
//! 3. each owned user in no mapped group any more goes down the policy's deactivation path
//!    exactly as if the provider had set `active=false` (sign-in refused at once, the
//!    deactivation itself after the tenant's delay), and comes back in step 1 if they return.
//!
//! An owned user whose entry is still listed but was skipped this time (no userName, an
//! ambiguous memberUid: `Snapshot::unusable`) is left exactly as it was, memberships included.
//!
//! Each user and group change is its own transaction, as a SCIM request would be; the snapshot
//! was read whole before the first one, so every change comes from one consistent answer.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use scim_core::filter::parse_filter;
use scim_core::patch::{Member, MemberOp};
use scim_core::policy::{self, LifecycleEvent, Origin as PolicyOrigin, PolicySettings};
use scim_core::query::ListQuery;
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::{ResourceType, urn};
use scim_store::groups::{self, NewGroup};
use scim_store::ldap_runs::RunCounts;
use scim_store::outbox::{self, NewEvent};
use scim_store::sync_log::{self, NewLogEntry};
use scim_store::users::{self, NewUser, PasswordChange};
use scim_store::{
    Actor, Conn, Origin, StoreError, StoredResource, TenantId, lifecycle as stored_lifecycle,
};
use serde_json::{Map, Value, json};

use super::directory::{DirGroup, DirUser, EXTERNAL_ID_PREFIX, Snapshot};
use super::fields::{apply_fields, member};
use crate::service::entitlements::{GroupWatch, on_user_created};
use crate::service::groups::all_members;
use crate::service::lifecycle::{LifecycleError, effects, handle};
use crate::state::AppState;

/// Every change of a sync is the directory's.
const ACTOR: Actor = Actor::Ldap;
/// Owned users read per page.
const PAGE: u64 = 500;

/// What a reconciliation changed and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Users created, updated, deactivated, reactivated.
    pub counts: RunCounts,
    /// Entries skipped, one sentence each.
    pub warnings: Vec<String>,
}

/// Makes the tenant match `snapshot` (see the module docs), adding what it does to `outcome`.
/// A store error stops the run where it is; the changes already made stand (each was
/// complete), `outcome` counts them, and the next run continues.
pub fn reconcile(
    st: &AppState,
    tenant: &TenantId,
    settings: PolicySettings,
    snapshot: &Snapshot,
    at: DateTime<Utc>,
    outcome: &mut Outcome,
) -> scim_store::Result<()> {
    let mut run = Run {
        st,
        tenant,
        settings,
        at,
        outcome,
    };
    let owned = run.owned_users()?;
    // External id → user id of every owned user the directory lists.
    let mut ids: HashMap<String, String> = HashMap::new();
    for (external_id, user) in &snapshot.users {
        let id = match owned.get(external_id) {
            Some(current) => {
                run.update(current, user)?;
                Some(current.id.clone())
            }
            None => run.create(user)?,
        };
        if let Some(id) = id {
            ids.insert(external_id.clone(), id);
        }
    }
    // The users whose memberships this run manages: every owned user, except those whose
    // entries were read but skipped this time (they stay as they were).
    let mut managed: HashSet<String> = owned
        .iter()
        .filter(|(ext, _)| !snapshot.unusable.contains(*ext))
        .map(|(_, u)| u.id.clone())
        .collect();
    managed.extend(ids.values().cloned());
    for group in &snapshot.groups {
        run.group(group, &ids, &managed)?;
    }
    for (external_id, current) in &owned {
        let listed = snapshot.users.contains_key(external_id);
        if !listed && !snapshot.unusable.contains(external_id) {
            run.departed(current)?;
        }
    }
    Ok(())
}

/// Appends the sync-log entry of a change and pushes its events (the shape SCIM writes
/// record, with actor `ldap`).
#[allow(clippy::too_many_arguments, reason = "one log entry, stated in full")]
fn record(
    c: &mut Conn<'_>,
    tenant: &TenantId,
    at: DateTime<Utc>,
    action: &str,
    resource_type: &str,
    id: &str,
    detail: Value,
    events: &[&str],
) -> scim_store::Result<()> {
    let at = at.naive_utc();
    let entry = NewLogEntry {
        at,
        actor: ACTOR,
        action: action.to_string(),
        resource_type: resource_type.to_string(),
        resource_id: id.to_string(),
        detail: detail.clone(),
    };
    sync_log::append(c, tenant, &entry)?;
    if events.is_empty() {
        return Ok(());
    }
    let user_id = (resource_type == "User").then(|| id.to_string());
    let payload = json!({"resourceType": resource_type, "id": id, "detail": detail});
    let events: Vec<NewEvent> = events
        .iter()
        .map(|kind| NewEvent {
            kind: (*kind).to_string(),
            user_id: user_id.clone(),
            payload: payload.clone(),
            at,
        })
        .collect();
    outbox::push_many(c, tenant, &events).map(|_| ())
}

fn lifecycle_error(e: LifecycleError) -> StoreError {
    match e {
        LifecycleError::Store(e) => e,
        LifecycleError::Policy(e) => StoreError::Invalid(e.to_string()),
    }
}

fn is_active(doc: &Value) -> bool {
    scim_core::resource::active(doc).unwrap_or(true)
}

/// What a user write inside its transaction found.
enum Written {
    /// Done; the user's id.
    Done(String),
    /// Not done, for this reason (a warning).
    Skipped(String),
}

struct Run<'a> {
    st: &'a AppState,
    tenant: &'a TenantId,
    settings: PolicySettings,
    at: DateTime<Utc>,
    outcome: &'a mut Outcome,
}

impl Run<'_> {
    fn warn(&mut self, message: String) {
        tracing::warn!(tenant = %self.tenant, %message, "LDAP sync skipped an entry");
        self.outcome.warnings.push(message);
    }

    fn resource_type(&self, name: &str) -> scim_store::Result<&ResourceType> {
        self.st
            .registry
            .resource_type(name)
            .ok_or_else(|| StoreError::Invalid(format!("the {name} resource type is missing")))
    }

    /// A User document from the directory's values, prepared and checked like a SCIM write
    /// (`current`: the stored document it replaces).
    fn prepare_user(&self, user: &DirUser, current: Option<&Value>) -> Result<Value, String> {
        let mut input = match current {
            Some(Value::Object(m)) => m.clone(),
            _ => {
                let mut m = Map::new();
                m.insert("schemas".into(), json!([urn::USER]));
                m.insert("active".into(), Value::Bool(true));
                m
            }
        };
        apply_fields(&mut input, user);
        let mode = if current.is_some() {
            WriteMode::Replace
        } else {
            WriteMode::Create
        };
        let rt = self.resource_type("User").map_err(|e| e.to_string())?;
        let doc = prepare(&self.st.registry, rt, Value::Object(input), mode, current)
            .map_err(|e| e.to_string())?;
        policy::validate_user(&self.settings.validation, &doc).map_err(|e| e.to_string())?;
        Ok(doc)
    }

    /// Every user this sync owns, by externalId.
    fn owned_users(&self) -> scim_store::Result<BTreeMap<String, StoredResource>> {
        let filter = parse_filter(&format!("externalId sw \"{EXTERNAL_ID_PREFIX}\""))
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut out = BTreeMap::new();
        let mut start = 1;
        loop {
            let query = ListQuery {
                filter: Some(filter.clone()),
                start_index: start,
                count: PAGE,
                ..ListQuery::default()
            };
            let page = self.st.store.read(|c| {
                scim_store::query::list_users(c, &self.st.registry, self.tenant, &query)
            })?;
            let n = u64::try_from(page.resources.len()).unwrap_or(u64::MAX);
            for user in page.resources {
                if let Some(ext) = scim_core::resource::external_id(&user.resource) {
                    out.insert(ext.to_string(), user);
                }
            }
            if n < PAGE {
                return Ok(out);
            }
            start += PAGE;
        }
    }

    /// Creates a directory user the tenant doesn't have; `None` when skipped.
    fn create(&mut self, user: &DirUser) -> scim_store::Result<Option<String>> {
        let doc = match self.prepare_user(user, None) {
            Ok(doc) => doc,
            Err(e) => {
                self.warn(format!("{}: not created: {e}", user.dn));
                return Ok(None);
            }
        };
        let decision = policy::create(
            PolicyOrigin::Provisioned,
            true,
            false,
            &self.settings,
            self.at,
        );
        let new = NewUser {
            id: crate::service::new_id(),
            resource: doc,
            password_hash: None,
            origin: Origin::Provisioned,
            now: self.at.naive_utc(),
        };
        let (registry, tenant, at) = (self.st.registry.clone(), self.tenant.clone(), self.at);
        let (user_name, external_id) = (user.user_name.clone(), user.external_id.clone());
        let written = self.st.store.write(move |c| {
            if users::by_user_name(c, &tenant, &user_name)?.is_some() {
                return Ok(Written::Skipped(format!(
                    "userName {user_name:?} belongs to a user this sync does not own"
                )));
            }
            let stored = users::insert_with_lifecycle(
                c,
                &registry,
                &tenant,
                new,
                &decision.user,
                decision.sign_in_allowed,
            )?;
            effects(c, &tenant, &stored.id, &decision, ACTOR, at)?;
            let given = on_user_created(c, &registry, &tenant, &stored, &decision.user, ACTOR, at)?;
            let detail = json!({"userName": user_name, "externalId": external_id, "active": true});
            let detail = crate::service::users::with_entitlements(&detail, given);
            record(c, &tenant, at, "create", "User", &stored.id, detail, &[])?;
            Ok(Written::Done(stored.id))
        })?;
        match written {
            Written::Done(id) => {
                self.outcome.counts.created += 1;
                Ok(Some(id))
            }
            Written::Skipped(why) => {
                self.warn(format!("{}: not created: {why}", user.dn));
                Ok(None)
            }
        }
    }

    /// Brings an owned user up to date with the directory, and reactivates it when it had
    /// left (the provider setting `active=true`).
    fn update(&mut self, current: &StoredResource, user: &DirUser) -> scim_store::Result<()> {
        let doc = match self.prepare_user(user, Some(&current.resource)) {
            Ok(doc) => doc,
            Err(e) => {
                self.warn(format!("{}: not updated: {e}", user.dn));
                current.resource.clone()
            }
        };
        let returning = !is_active(&current.resource);
        let rt = self.resource_type("User")?;
        let mut changed: Vec<String> =
            scim_core::resource::changed_attributes(&current.resource, &doc, rt)
                .into_iter()
                .collect();
        let update = doc != current.resource;
        if !update && !returning {
            return Ok(());
        }
        if returning {
            changed.push("active".into());
        }
        let (registry, tenant, at) = (self.st.registry.clone(), self.tenant.clone(), self.at);
        let (id, version, user_name) =
            (current.id.clone(), current.version, user.user_name.clone());
        let written = self.st.store.write(move |c| {
            let Some(lc) = stored_lifecycle::load(c, &tenant, &id)? else {
                return Ok(Written::Skipped("the user is gone".into()));
            };
            if lc.origin == PolicyOrigin::Local {
                return Ok(Written::Skipped(
                    "a local account is never changed by a sync".into(),
                ));
            }
            if update {
                if let Some(other) = users::by_user_name(c, &tenant, &user_name)?
                    && other.id != id
                {
                    return Ok(Written::Skipped(format!(
                        "userName {user_name:?} belongs to a user this sync does not own"
                    )));
                }
                let at_n = at.naive_utc();
                users::replace(
                    c,
                    &registry,
                    &tenant,
                    &id,
                    Some(version),
                    doc,
                    PasswordChange::Keep,
                    at_n,
                )?;
            }
            record(
                c,
                &tenant,
                at,
                "update",
                "User",
                &id,
                json!({"changed": changed}),
                &["user.updated"],
            )?;
            if returning {
                handle(
                    c,
                    &registry,
                    &tenant,
                    &id,
                    LifecycleEvent::ProviderSetActive(true),
                    ACTOR,
                    at,
                )
                .map_err(lifecycle_error)?;
            }
            Ok(Written::Done(id))
        });
        match written {
            Ok(Written::Done(_)) => {
                if update {
                    self.outcome.counts.updated += 1;
                }
                if returning {
                    self.outcome.counts.reactivated += 1;
                }
            }
            Ok(Written::Skipped(why)) => self.warn(format!("{}: not updated: {why}", user.dn)),
            Err(StoreError::VersionMismatch { .. }) => self.warn(format!(
                "{}: changed by another writer during the sync; updated by the next run",
                user.dn
            )),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// An owned user in no mapped group: the provider sets `active=false` (the policy
    /// schedules the deactivation after the tenant's delay).
    fn departed(&mut self, current: &StoredResource) -> scim_store::Result<()> {
        if !is_active(&current.resource) {
            return Ok(());
        }
        let (registry, tenant, at) = (self.st.registry.clone(), self.tenant.clone(), self.at);
        let id = current.id.clone();
        let written = self.st.store.write(move |c| {
            let Some(lc) = stored_lifecycle::load(c, &tenant, &id)? else {
                return Ok(Written::Skipped("the user is gone".into()));
            };
            if lc.origin == PolicyOrigin::Local || !lc.provider_active {
                return Ok(Written::Skipped("not an active provisioned user".into()));
            }
            let detail = json!({"changed": ["active"], "reason": "in no mapped LDAP group"});
            record(
                c,
                &tenant,
                at,
                "update",
                "User",
                &id,
                detail,
                &["user.updated"],
            )?;
            handle(
                c,
                &registry,
                &tenant,
                &id,
                LifecycleEvent::ProviderSetActive(false),
                ACTOR,
                at,
            )
            .map_err(lifecycle_error)?;
            Ok(Written::Done(id))
        })?;
        match written {
            Written::Done(_) => self.outcome.counts.deactivated += 1,
            Written::Skipped(why) => {
                let name = scim_core::resource::user_name(&current.resource).unwrap_or_default();
                self.warn(format!(
                    "user {name:?} left the directory's groups but was not deactivated: {why}"
                ));
            }
        }
        Ok(())
    }

    /// Makes the SCIM group named after `group` list exactly the `managed` users the
    /// directory lists (others' memberships are left alone), creating it when missing.
    fn group(
        &mut self,
        group: &DirGroup,
        ids: &HashMap<String, String>,
        managed: &HashSet<String>,
    ) -> scim_store::Result<()> {
        let wanted: BTreeSet<String> = group
            .members
            .iter()
            .filter_map(|ext| ids.get(ext).cloned())
            .collect();
        let name = group.name.clone();
        let existing = self
            .st
            .store
            .read(|c| groups::by_display_name(c, self.tenant, &name))?;
        let (registry, tenant, at) = (self.st.registry.clone(), self.tenant.clone(), self.at);
        let Some(existing) = existing else {
            let rt = self.resource_type("Group")?;
            let input = json!({"schemas": [urn::GROUP], "displayName": name});
            let doc = match prepare(&registry, rt, input, WriteMode::Create, None) {
                Ok(doc) => doc,
                Err(e) => {
                    self.warn(format!("{}: group not created: {e}", group.dn));
                    return Ok(());
                }
            };
            let members: Vec<Member> = wanted.iter().map(|id| member(id)).collect();
            let joined: Vec<String> = wanted.into_iter().collect();
            return self.st.store.write(move |c| {
                let new = NewGroup {
                    id: crate::service::new_id(),
                    resource: doc,
                    members,
                    now: at.naive_utc(),
                };
                let watch = GroupWatch::start(c, &registry, &tenant, &new.id, Some(&name), false)?;
                let stored = groups::insert(c, &registry, &tenant, new)?;
                if let Some(w) = watch {
                    w.finish(c, &registry, &tenant, &joined, ACTOR, at)?;
                }
                let detail = json!({"displayName": name, "members": joined.len()});
                record(
                    c,
                    &tenant,
                    at,
                    "create",
                    "Group",
                    &stored.id,
                    detail,
                    &["group.created"],
                )
            });
        };
        let gid = existing.id.clone();
        let current: HashSet<String> = self
            .st
            .store
            .read(|c| all_members(c, self.tenant, &gid))?
            .into_iter()
            .map(|m| m.value)
            .collect();
        let add: Vec<String> = wanted
            .iter()
            .filter(|id| !current.contains(*id))
            .cloned()
            .collect();
        let remove: Vec<String> = current
            .iter()
            .filter(|id| managed.contains(*id) && !wanted.contains(*id))
            .cloned()
            .collect();
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        let mut ops = Vec::new();
        if !add.is_empty() {
            ops.push(MemberOp::Add(add.iter().map(|id| member(id)).collect()));
        }
        if !remove.is_empty() {
            ops.push(MemberOp::Remove(remove.clone()));
        }
        let touched: Vec<String> = add.iter().chain(&remove).cloned().collect();
        self.st.store.write(move |c| {
            let watch = GroupWatch::start(c, &registry, &tenant, &gid, None, false)?;
            let (_, wrote) = groups::patch_reporting(
                c,
                &registry,
                &tenant,
                &gid,
                None,
                None,
                &ops,
                at.naive_utc(),
            )?;
            if !wrote {
                return Ok(());
            }
            if let Some(w) = watch {
                w.finish(c, &registry, &tenant, &touched, ACTOR, at)?;
            }
            let mut operations = Vec::new();
            if !add.is_empty() {
                operations.push(json!({"add": add}));
            }
            if !remove.is_empty() {
                operations.push(json!({"remove": remove}));
            }
            let detail = json!({"memberOperations": operations});
            record(
                c,
                &tenant,
                at,
                "update",
                "Group",
                &gid,
                detail,
                &["group.updated"],
            )
        })
    }
}
