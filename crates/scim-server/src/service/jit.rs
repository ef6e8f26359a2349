//! Just-in-time provisioning at SAML login (issue #7): the host's SAML layer, after it has
//! verified an assertion, hands its values here; the user is created or updated and their
//! membership of the tenant's mapped groups set to what the assertion says, through the same
//! store and policy functions as SCIM writes (schema preparation, the tenant's validation
//! rules, the lifecycle policy, the entitlement recomputation, the sync log and the outbox),
//! with actor `jit`.
//!
//! **Nothing here verifies anything.** [`JitAssertion`] must come from an assertion whose
//! signature, audience, issuer, validity window and replay the host has already checked:
//! whoever can call [`jit_login`] (or the admin endpoint in front of it) can create users and
//! give them any mapped group.
//!
//! A login, in one transaction:
//! 1. userName is the assertion's NameID (its email when the NameID is empty);
//! 2. the group values considered are those starting with the tenant's `jit.group_prefix`
//!    (all when none), matched whole (prefix kept) and case-sensitively against the groups
//!    the tenant's mappings name (role mappings, admin tiers, group organization mapping);
//! 3. no mapped group: refused; a known user is also deactivated through the policy when
//!    `jit.deactivate_unmapped_at_login` is on (as if the provider had set `active=false`);
//! 4. a known user that is a local account, or not active (pending deactivation,
//!    deactivated, blocked), is refused and left as it is: a login never re-enables anyone;
//! 5. an unknown user is created (provisioned, `externalId` `jit:<NameID>`); a known one gets
//!    the assertion's name and email when `jit.update_profile_at_login` is on;
//! 6. the user's direct membership of the considered mapped groups is set to the asserted
//!    ones (a mapped group without a SCIM group is created with the mapping's name); other
//!    groups are left alone;
//! 7. the user's entitlements are recomputed (`entitlements::recompute_users`), and the
//!    answer says whether the host must end the user's other sessions: any change of group
//!    membership or entitlements at login ends them.
//!
//! Operator documentation: `docs/jit.md`.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use scim_core::patch::{Member, MemberOp};
use scim_core::policy::{self, EntitlementRules, LifecycleEvent, LifecycleState, Origin as PO};
use scim_core::resource::{WriteMode, prepare};
use scim_core::schema::{SchemaRegistry, urn};
use scim_store::groups::{self, NewGroup};
use scim_store::outbox::{self, NewEvent};
use scim_store::settings::TenantSettings;
use scim_store::sync_log::{self, NewLogEntry};
use scim_store::users::{self, NewUser, PasswordChange};
use scim_store::{
    Actor, Conn, Origin, StoreError, StoredResource, TenantId, entitlements as stored,
    lifecycle as stored_lifecycle, members, tenants,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::entitlements::{concerns_group, recompute_users, rules};
use super::lifecycle::{LifecycleError, effects, handle};
use super::{RETRIES, now};
use crate::error::ApiError;
use crate::state::AppState;

/// Every change of a login is recorded as JIT's.
const ACTOR: Actor = Actor::Jit;
/// The `externalId` prefix of users JIT created.
pub const EXTERNAL_ID_PREFIX: &str = "jit:";

/// The values of a SAML assertion the host has ALREADY VERIFIED (this module checks nothing
/// about where they came from).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JitAssertion {
    /// The assertion's NameID: becomes userName (and `externalId` `jit:<nameId>`). When
    /// empty, the email is used instead.
    #[schema(example = "ana@example.com")]
    pub name_id: String,
    /// The email attribute: the primary work email.
    #[serde(default)]
    pub email: Option<String>,
    /// The first-name attribute: `name.givenName`.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The last-name attribute: `name.familyName`.
    #[serde(default)]
    pub last_name: Option<String>,
    /// The group attribute's values (e.g. Okta's `memberOf`).
    #[serde(default)]
    #[schema(example = json!(["Divvy Engineers"]))]
    pub groups: Vec<String>,
}

/// The entitlements a user has after the login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JitEntitlements {
    /// The user's organization.
    pub organization: String,
    /// The user's roles, by name (empty for a Domain Admin).
    pub roles: Vec<String>,
    /// `none`, `org_admin` or `domain_admin`.
    #[schema(example = "none")]
    pub admin_tier: String,
}

/// An accepted login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JitLogin {
    /// The user's SCIM id.
    pub user_id: String,
    /// The login created the user.
    pub created: bool,
    /// What the user may do now.
    pub entitlements: JitEntitlements,
    /// The login changed the user's group membership or entitlements: the host must end the
    /// user's other sessions (they were granted under the old ones). Always false for a user
    /// this login created, who has no other session.
    pub end_other_sessions: bool,
}

/// What a login came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JitOutcome {
    /// The user may sign in, with these entitlements.
    Accepted(JitLogin),
    /// The user may not sign in; nothing was created or re-enabled.
    Refused {
        /// Why, in a sentence for the operator (never shown as is to the user, who should
        /// only learn that access was refused).
        reason: String,
    },
}

/// Runs one login (see the module docs) for `tenant`. Invalid values (no NameID and no email,
/// a value the tenant's validation rules refuse) are a 400 `invalidValue`.
pub fn jit_login(
    state: &AppState,
    tenant: &TenantId,
    assertion: &JitAssertion,
) -> Result<JitOutcome, ApiError> {
    let user_name = match (assertion.name_id.trim(), non_blank(&assertion.email)) {
        ("", Some(email)) => email.to_string(),
        ("", None) => {
            return Err(scim_core::Error::InvalidValue(
                "the assertion has neither a NameID nor an email".into(),
            )
            .into());
        }
        (name_id, _) => name_id.to_string(),
    };
    for attempt in 1..=RETRIES {
        let (registry, t, a, name) = (
            state.registry.clone(),
            tenant.clone(),
            assertion.clone(),
            user_name.clone(),
        );
        let at = now(state).and_utc();
        let result = state.store.write(move |c| {
            let mut login = Login {
                c,
                registry: &registry,
                tenant: &t,
                at,
            };
            login.run(&a, &name)
        });
        match result {
            // Two first logins of the same user at once: the loser finds the user next time.
            Err(StoreError::Conflict { .. }) | Err(StoreError::VersionMismatch { .. })
                if attempt < RETRIES => {}
            Err(e) => return Err(e.into()),
            Ok(Ok(outcome)) => return Ok(outcome),
            Ok(Err(e)) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable(1))
}

fn non_blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn refused(reason: impl Into<String>) -> JitOutcome {
    JitOutcome::Refused {
        reason: reason.into(),
    }
}

fn member(id: &str) -> Member {
    Member {
        value: id.to_string(),
        display: None,
        kind: Some("User".into()),
    }
}

/// A login's transaction.
struct Login<'a, 'c> {
    c: &'a mut Conn<'c>,
    registry: &'a SchemaRegistry,
    tenant: &'a TenantId,
    at: DateTime<Utc>,
}

/// A transaction's answer: the outcome, or a value the schema or the tenant's rules refuse.
type Step<T> = scim_store::Result<Result<T, scim_core::Error>>;

impl Login<'_, '_> {
    fn run(&mut self, a: &JitAssertion, user_name: &str) -> Step<JitOutcome> {
        let settings = tenants::settings(self.c, self.tenant)?;
        let rules = rules(self.c, self.registry, self.tenant)?;
        let prefix = settings.jit.group_prefix.as_deref();
        let considered = |g: &str| prefix.is_none_or(|p| g.starts_with(p));
        let mapped: BTreeSet<String> = a
            .groups
            .iter()
            .map(|g| g.trim())
            .filter(|g| !g.is_empty() && considered(g) && concerns_group(&rules, g))
            .map(str::to_string)
            .collect();
        let existing = users::by_user_name(self.c, self.tenant, user_name)?;
        if let Some(user) = &existing {
            let Some(lc) = stored_lifecycle::load(self.c, self.tenant, &user.id)? else {
                return Ok(Ok(refused("the user has no lifecycle record")));
            };
            if lc.origin == PO::Local {
                return Ok(Ok(refused(format!(
                    "userName {user_name:?} is a local account; JIT never takes one over"
                ))));
            }
            if lc.state != LifecycleState::Active || !lc.provider_active {
                return Ok(Ok(refused(format!(
                    "user {user_name:?} is {}; a login never re-enables a disabled user",
                    lc.state.name()
                ))));
            }
        }
        if mapped.is_empty() {
            let mut reason = format!("the assertion for {user_name:?} names no mapped group");
            if let Some(user) = &existing
                && settings.jit.deactivate_unmapped_at_login
            {
                self.deactivate(&user.id)?;
                reason.push_str("; the user was deactivated");
            }
            return Ok(Ok(refused(reason)));
        }
        let (id, created) = match &existing {
            None => match self.create(&settings, a, user_name)? {
                Ok(id) => (id, true),
                Err(e) => return Ok(Err(e)),
            },
            Some(user) => {
                if settings.jit.update_profile_at_login
                    && let Err(e) = self.update(&settings, user, a)?
                {
                    return Ok(Err(e));
                }
                (user.id.clone(), false)
            }
        };
        let before = stored::get(self.c, self.tenant, &id)?;
        let moved = self.memberships(&rules, &id, &mapped, considered)?;
        recompute_users(
            self.c,
            self.registry,
            self.tenant,
            &rules,
            std::slice::from_ref(&id),
            ACTOR,
            self.at,
        )?;
        let after = stored::get(self.c, self.tenant, &id)?.unwrap_or_default();
        let changed = before.is_none_or(|b| {
            (b.organization, b.roles, b.admin_tier)
                != (
                    after.organization.clone(),
                    after.roles.clone(),
                    after.admin_tier,
                )
        });
        Ok(Ok(JitOutcome::Accepted(JitLogin {
            user_id: id,
            created,
            entitlements: JitEntitlements {
                organization: after.organization,
                roles: after.roles.into_iter().collect(),
                admin_tier: after.admin_tier.as_str().to_string(),
            },
            end_other_sessions: !created && (moved || changed),
        })))
    }

    /// Appends a sync-log entry with actor `jit` and pushes its events.
    fn record(
        &mut self,
        action: &str,
        resource_type: &str,
        id: &str,
        detail: Value,
        events: &[&str],
    ) -> scim_store::Result<()> {
        let at = self.at.naive_utc();
        let entry = NewLogEntry {
            at,
            actor: ACTOR,
            action: action.to_string(),
            resource_type: resource_type.to_string(),
            resource_id: id.to_string(),
            detail: detail.clone(),
        };
        sync_log::append(self.c, self.tenant, &entry)?;
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
        outbox::push_many(self.c, self.tenant, &events).map(|_| ())
    }

    fn lifecycle(&mut self, id: &str, event: LifecycleEvent) -> scim_store::Result<()> {
        handle(
            self.c,
            self.registry,
            self.tenant,
            id,
            event,
            ACTOR,
            self.at,
        )
        .map(|_| ())
        .map_err(|e| match e {
            LifecycleError::Store(e) => e,
            LifecycleError::Policy(e) => StoreError::Invalid(e.to_string()),
        })
    }

    /// An unmapped known user: the provider's deactivation path (sign-in refused at once,
    /// deactivated after the tenant's delay).
    fn deactivate(&mut self, id: &str) -> scim_store::Result<()> {
        let detail = json!({"changed": ["active"], "reason": "no mapped group at login"});
        self.record("update", "User", id, detail, &["user.updated"])?;
        self.lifecycle(id, LifecycleEvent::ProviderSetActive(false))
    }

    /// A User document with the assertion's values, prepared and checked like a SCIM write.
    fn prepare_user(
        &self,
        settings: &TenantSettings,
        a: &JitAssertion,
        current: Option<&Value>,
        base: Map<String, Value>,
    ) -> Result<Value, scim_core::Error> {
        let mut doc = base;
        profile(&mut doc, a);
        let rt = self
            .registry
            .resource_type("User")
            .ok_or_else(|| scim_core::Error::InvalidValue("no User resource type".into()))?;
        let mode = if current.is_some() {
            WriteMode::Replace
        } else {
            WriteMode::Create
        };
        let doc = prepare(self.registry, rt, Value::Object(doc), mode, current)?;
        policy::validate_user(&settings.validation, &doc)?;
        Ok(doc)
    }

    fn create(
        &mut self,
        settings: &TenantSettings,
        a: &JitAssertion,
        user_name: &str,
    ) -> Step<String> {
        let mut base = Map::new();
        base.insert("schemas".into(), json!([urn::USER]));
        base.insert("userName".into(), json!(user_name));
        base.insert(
            "externalId".into(),
            json!(format!("{EXTERNAL_ID_PREFIX}{user_name}")),
        );
        base.insert("active".into(), Value::Bool(true));
        let doc = match self.prepare_user(settings, a, None, base) {
            Ok(doc) => doc,
            Err(e) => return Ok(Err(e)),
        };
        // Only mapped users get this far: created mapped, nothing to schedule.
        let decision = policy::create(PO::Provisioned, true, true, &settings.to_policy(), self.at);
        let new = NewUser {
            id: crate::service::new_id(),
            resource: doc,
            password_hash: None,
            origin: Origin::Provisioned,
            now: self.at.naive_utc(),
        };
        let user = users::insert_with_lifecycle(
            self.c,
            self.registry,
            self.tenant,
            new,
            &decision.user,
            decision.sign_in_allowed,
        )?;
        effects(self.c, self.tenant, &user.id, &decision, ACTOR, self.at)?;
        let detail = json!({
            "userName": user_name,
            "externalId": format!("{EXTERNAL_ID_PREFIX}{user_name}"),
            "active": true,
        });
        self.record("create", "User", &user.id, detail, &[])?;
        Ok(Ok(user.id))
    }

    fn update(
        &mut self,
        settings: &TenantSettings,
        user: &StoredResource,
        a: &JitAssertion,
    ) -> Step<()> {
        let base = match &user.resource {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        let doc = match self.prepare_user(settings, a, Some(&user.resource), base) {
            Ok(doc) => doc,
            Err(e) => return Ok(Err(e)),
        };
        if doc == user.resource {
            return Ok(Ok(()));
        }
        let changed: Vec<String> = match self.registry.resource_type("User") {
            Some(rt) => scim_core::resource::changed_attributes(&user.resource, &doc, rt)
                .into_iter()
                .collect(),
            None => Vec::new(),
        };
        users::replace(
            self.c,
            self.registry,
            self.tenant,
            &user.id,
            Some(user.version),
            doc,
            PasswordChange::Keep,
            self.at.naive_utc(),
        )?;
        let detail = json!({"changed": changed});
        self.record("update", "User", &user.id, detail, &["user.updated"])?;
        Ok(Ok(()))
    }

    /// Sets the user's direct membership of the considered mapped groups to `wanted`
    /// (creating a missing group); returns whether any membership changed.
    fn memberships(
        &mut self,
        rules: &EntitlementRules,
        id: &str,
        wanted: &BTreeSet<String>,
        considered: impl Fn(&str) -> bool,
    ) -> scim_store::Result<bool> {
        let current = members::groups_of(self.c, self.tenant, &[id.to_string()])?
            .remove(id)
            .unwrap_or_default();
        let mut keep: HashSet<String> = HashSet::new();
        let mut moved = false;
        for name in wanted {
            match groups::by_display_name(self.c, self.tenant, name)? {
                Some(group) => {
                    if !current.iter().any(|g| g.id == group.id) {
                        let ops = [MemberOp::Add(vec![member(id)])];
                        moved |= self.patch(&group.id, &ops, json!({"add": [id]}))?;
                    }
                    keep.insert(group.id);
                }
                None => {
                    self.create_group(name, id)?;
                    moved = true;
                }
            }
        }
        for group in &current {
            let managed = considered(&group.display) && concerns_group(rules, &group.display);
            if managed && !keep.contains(&group.id) {
                let ops = [MemberOp::Remove(vec![id.to_string()])];
                moved |= self.patch(&group.id, &ops, json!({"remove": [id]}))?;
            }
        }
        Ok(moved)
    }

    fn patch(&mut self, gid: &str, ops: &[MemberOp], op: Value) -> scim_store::Result<bool> {
        let (_, wrote) = groups::patch_reporting(
            self.c,
            self.registry,
            self.tenant,
            gid,
            None,
            None,
            ops,
            self.at.naive_utc(),
        )?;
        if wrote {
            let detail = json!({"memberOperations": [op]});
            self.record("update", "Group", gid, detail, &["group.updated"])?;
        }
        Ok(wrote)
    }

    /// Creates the SCIM group a mapping names, with the user as its only member.
    fn create_group(&mut self, name: &str, id: &str) -> scim_store::Result<()> {
        let rt = self
            .registry
            .resource_type("Group")
            .ok_or_else(|| StoreError::Invalid("the Group resource type is missing".into()))?;
        let input = json!({"schemas": [urn::GROUP], "displayName": name});
        let doc = prepare(self.registry, rt, input, WriteMode::Create, None)
            .map_err(|e| StoreError::Invalid(format!("group {name:?}: {e}")))?;
        let new = NewGroup {
            id: crate::service::new_id(),
            resource: doc,
            members: vec![member(id)],
            now: self.at.naive_utc(),
        };
        let group = groups::insert(self.c, self.registry, self.tenant, new)?;
        let detail = json!({"displayName": name, "members": 1});
        self.record("create", "Group", &group.id, detail, &["group.created"])
    }
}

/// Writes the assertion's name and email into a User document; values the assertion lacks
/// are left as they are (a missing attribute never erases one).
fn profile(doc: &mut Map<String, Value>, a: &JitAssertion) {
    let given = non_blank(&a.first_name);
    let family = non_blank(&a.last_name);
    if given.is_some() || family.is_some() {
        let mut name = match doc.remove("name") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if let Some(g) = given {
            name.insert("givenName".into(), json!(g));
        }
        if let Some(f) = family {
            name.insert("familyName".into(), json!(f));
        }
        doc.insert("name".into(), Value::Object(name));
    }
    if let Some(email) = non_blank(&a.email) {
        let others: Vec<Value> = match doc.get("emails") {
            Some(Value::Array(list)) => list
                .iter()
                .filter(|e| {
                    e.get("primary") != Some(&Value::Bool(true))
                        && !e
                            .get("value")
                            .and_then(Value::as_str)
                            .is_some_and(|v| v.eq_ignore_ascii_case(email))
                })
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let primary = match doc.get("emails").and_then(Value::as_array).and_then(|l| {
            l.iter()
                .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        }) {
            // The same address: keep the entry as it is (its type, display).
            Some(e)
                if e.get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v == email) =>
            {
                e.clone()
            }
            _ => json!({"value": email, "type": "work", "primary": true}),
        };
        let mut emails = vec![primary];
        emails.extend(others);
        doc.insert("emails".into(), Value::Array(emails));
    }
}
