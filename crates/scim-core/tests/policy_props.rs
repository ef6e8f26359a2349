//! Property tests of the policy rules: a simulated store and worker run random event
//! sequences through the lifecycle and check that the job table always agrees with the state;
//! local accounts are never changed by provider or mapping events; and entitlements never give
//! a Domain Admin roles and don't depend on the order groups are listed in; and they ask only
//! about the organizations they say they consult.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use scim_core::policy::{
    AdminTier, AdminTiers, BlockReason, DeactivationReason, EntitlementRules, JobAction,
    LifecycleEvent, LifecycleState, OrgCatalog, OrgMapping, Origin, PolicyEvent, PolicySettings,
    RoleMapping, UserLifecycle, decide,
};
use scim_core::schema::SchemaRegistry;
use serde_json::json;

/// One step of a simulation: an event, time passing, or the worker running due jobs.
#[derive(Debug, Clone)]
enum Step {
    Event(LifecycleEvent),
    Wait(i64),
    Worker,
}

fn event() -> impl Strategy<Value = LifecycleEvent> {
    prop_oneof![
        any::<bool>().prop_map(LifecycleEvent::ProviderSetActive),
        Just(LifecycleEvent::ProviderDelete),
        Just(LifecycleEvent::AdminDeactivate),
        Just(LifecycleEvent::AdminReactivate),
        Just(LifecycleEvent::AdminBlock),
        Just(LifecycleEvent::LegalHoldSet),
        Just(LifecycleEvent::LegalHoldReleased),
        any::<bool>().prop_map(|mapped| LifecycleEvent::UnmappedChanged { mapped }),
        Just(LifecycleEvent::JobDue),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => event().prop_map(Step::Event),
        2 => (0i64..40).prop_map(Step::Wait),
        2 => Just(Step::Worker),
    ]
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Whether a reason to deactivate remains, as the rules define it.
fn wants_out(u: &UserLifecycle, s: &PolicySettings) -> bool {
    !u.provider_active || (s.deactivate_unmapped && !u.mapped)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The store keeps one job per user and applies each decision's job action; the worker
    /// sends `JobDue` for due jobs. At every step the job table matches the state exactly.
    #[test]
    fn the_job_table_always_matches_the_state(
        delay_min in 0u64..30,
        unmapped_rule in any::<bool>(),
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let settings = PolicySettings {
            deactivation_delay_secs: delay_min * 60,
            deactivate_unmapped: unmapped_rule,
            ..PolicySettings::default()
        };
        let mut now = start();
        let mut user = UserLifecycle {
            state: LifecycleState::Active,
            origin: Origin::Provisioned,
            legal_hold: false,
            provider_active: true,
            mapped: true,
        };
        let mut job: Option<(DateTime<Utc>, DeactivationReason)> = None;
        for step in steps {
            let event = match step {
                Step::Wait(m) => { now += TimeDelta::minutes(m); continue; }
                Step::Worker => match job {
                    Some((due, _)) if due <= now => LifecycleEvent::JobDue,
                    _ => continue,
                },
                Step::Event(LifecycleEvent::JobDue) if job.is_none() => continue,
                Step::Event(e) => e,
            };
            let d = decide(&user, event, &settings, now).unwrap();
            let before = user;
            let after = d.user;
            match d.job {
                JobAction::Schedule { due, reason } => {
                    prop_assert!(due <= now + TimeDelta::minutes(delay_min as i64));
                    if let Some((old_due, _)) = job {
                        // Re-scheduling an open job never extends it.
                        prop_assert_eq!(due, old_due);
                    }
                    job = Some((due, reason));
                }
                JobAction::Cancel => { prop_assert!(job.is_some()); job = None; }
                JobAction::Keep => prop_assert_eq!(event, LifecycleEvent::JobDue),
                JobAction::None if event == LifecycleEvent::JobDue => job = None,
                JobAction::None => {}
            }
            match after.state {
                LifecycleState::PendingDeactivation { due, reason } => {
                    prop_assert_eq!(job, Some((due, reason)));
                }
                _ => prop_assert_eq!(job, None),
            }
            prop_assert_eq!(d.sign_in_allowed, after.state == LifecycleState::Active);
            // A user on legal hold is never deactivated (an already deactivated user may only
            // have the reason recorded as the administrator's).
            if !matches!(before.state, LifecycleState::Deactivated { .. })
                && matches!(after.state, LifecycleState::Deactivated { .. })
            {
                prop_assert!(!after.legal_hold);
            }
            // Nobody comes back without an administrator or without every reason gone.
            if after.state == LifecycleState::Active && before.state != LifecycleState::Active {
                prop_assert!(event == LifecycleEvent::AdminReactivate || !wants_out(&after, &settings));
            }
            // Losing sign-in is announced as lost access, exactly then.
            let revoked = d.events.iter().any(|e| matches!(e, PolicyEvent::AccessRevoked { .. }));
            prop_assert_eq!(revoked, before.state == LifecycleState::Active && after.state != LifecycleState::Active);
            // Every state change is logged.
            if after.state != before.state {
                prop_assert!(!d.log.is_empty());
            }
            user = after;
        }
    }

    /// Provider events on a local account fail, mapping events leave it unchanged.
    #[test]
    fn a_local_account_is_never_changed_by_the_provider(
        event in event(),
        state in prop_oneof![
            Just(LifecycleState::Active),
            Just(LifecycleState::Deactivated { reason: DeactivationReason::Admin }),
            Just(LifecycleState::Blocked { reason: BlockReason::Admin, cause: DeactivationReason::Admin }),
        ],
        hold in any::<bool>(),
        unmapped_rule in any::<bool>(),
    ) {
        let settings = PolicySettings { deactivate_unmapped: unmapped_rule, ..PolicySettings::default() };
        let user = UserLifecycle { state, origin: Origin::Local, legal_hold: hold, provider_active: true, mapped: true };
        let result = decide(&user, event, &settings, start());
        if event.is_provider_event() {
            prop_assert!(result.is_err());
        } else {
            let d = result.unwrap();
            prop_assert_eq!(d.user.origin, Origin::Local);
            if matches!(event, LifecycleEvent::UnmappedChanged { .. }) {
                prop_assert_eq!(d.user, user);
                prop_assert!(d.events.is_empty() && d.log.is_empty() && d.job == JobAction::None);
            }
        }
    }

    /// Whatever groups a user is in: a Domain Admin has no roles; tiers and roles follow the
    /// mappings; the order and repetition of groups change nothing.
    #[test]
    fn entitlements_respect_admin_precedence_and_ignore_group_order(
        groups in prop::collection::vec(prop::sample::select(vec![
            "DA", "OA", "Eng", "Sales", "eng", "Other", "OrgGroup",
        ]), 0..8),
    ) {
        let settings = PolicySettings {
            org_mapping: OrgMapping::Group { map: BTreeMap::from([("OrgGroup".into(), "Acme".into())]) },
            role_mappings: vec![
                RoleMapping { group: "Eng".into(), roles: vec!["engineer".into()] },
                RoleMapping { group: "Sales".into(), roles: vec!["sales".into()] },
            ],
            default_roles: BTreeMap::from([("Default".into(), vec!["basic".into()]), ("Acme".into(), vec!["acme".into()])]),
            admin_tiers: AdminTiers { domain_admin_groups: vec!["DA".into()], org_admin_groups: vec!["OA".into()] },
            ..PolicySettings::default()
        };
        let rules = EntitlementRules::new(&settings, &SchemaRegistry::standard()).unwrap();
        let orgs = BTreeSet::from(["Default".to_string(), "Acme".to_string()]);
        let doc = json!({"userName": "x"});
        let e = rules.compute(&groups, &doc, &orgs);
        let has = |g: &str| groups.contains(&g);
        let expected_tier = if has("DA") { AdminTier::DomainAdmin } else if has("OA") { AdminTier::OrgAdmin } else { AdminTier::None };
        prop_assert_eq!(e.admin_tier, expected_tier);
        if e.admin_tier == AdminTier::DomainAdmin {
            prop_assert!(e.roles.is_empty());
        } else if has("Eng") || has("Sales") {
            let mut expected = BTreeSet::new();
            if has("Eng") { expected.insert("engineer".to_string()); }
            if has("Sales") { expected.insert("sales".to_string()); }
            prop_assert_eq!(&e.roles, &expected);
        } else {
            let default = if has("OrgGroup") { "acme" } else { "basic" };
            prop_assert_eq!(&e.roles, &BTreeSet::from([default.to_string()]));
        }
        prop_assert_eq!(e.mapped, ["DA", "OA", "Eng", "Sales", "OrgGroup"].iter().any(|g| has(g)));
        let mut reversed = groups.clone();
        reversed.reverse();
        reversed.extend(groups.iter().copied());
        prop_assert_eq!(rules.compute(&reversed, &doc, &orgs), e);
    }
}

/// A catalog of organizations that remembers every name it was asked about.
struct Recording {
    orgs: BTreeSet<String>,
    asked: std::cell::RefCell<BTreeSet<String>>,
}

impl OrgCatalog for Recording {
    fn has(&self, name: &str) -> bool {
        self.asked.borrow_mut().insert(name.to_string());
        self.orgs.contains(name)
    }
}

fn org_mapping() -> impl Strategy<Value = OrgMapping> {
    prop_oneof![
        Just(OrgMapping::Single { org: "Acme".into() }),
        Just(OrgMapping::Group {
            map: BTreeMap::from([
                ("OrgGroup".into(), "Acme".into()),
                ("Other".into(), "Beta".into())
            ]),
        }),
        any::<bool>().prop_map(|create_missing| OrgMapping::Attribute {
            path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization".into(),
            create_missing,
        }),
    ]
}

proptest! {
    /// A user's create reads only the organizations `organizations_consulted` names (not every
    /// organization of the tenant): the rules never ask about any other, so the answer from
    /// those rows alone is the answer from all of them.
    #[test]
    fn the_rules_ask_only_about_the_organizations_they_name(
        mapping in org_mapping(),
        existing in prop::collection::btree_set(prop::sample::select(vec!["Default", "Acme", "Beta", "Gamma"]), 0..4),
        groups in prop::collection::vec(prop::sample::select(vec!["OrgGroup", "Other", "Eng"]), 0..3),
        org in prop::option::of(prop::sample::select(vec!["Acme", "Beta", "Gamma", ""])),
    ) {
        let settings = PolicySettings { org_mapping: mapping, ..PolicySettings::default() };
        let rules = EntitlementRules::new(&settings, &SchemaRegistry::standard()).unwrap();
        let doc = match org {
            Some(o) => json!({"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"organization": o}}),
            None => json!({"userName": "x"}),
        };
        let existing: BTreeSet<String> = existing.into_iter().map(String::from).collect();
        let catalog = Recording { orgs: existing.clone(), asked: Default::default() };
        let full = rules.compute(&groups, &doc, &catalog);
        let consulted: BTreeSet<String> = rules.organizations_consulted(&groups, &doc).into_iter().collect();
        prop_assert!(catalog.asked.borrow().is_subset(&consulted), "asked {:?}, consulted {:?}", catalog.asked.borrow(), consulted);
        let known: BTreeSet<String> = existing.intersection(&consulted).cloned().collect();
        prop_assert_eq!(rules.compute(&groups, &doc, &known), full);
    }
}
