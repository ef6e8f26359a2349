//! Data-driven tests of entitlement computation (organization methods, roles with defaults,
//! admin-tier precedence, case-sensitive names), the diff and its events, and apply-mappings.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers report a broken fixture by panicking"
)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use scim_core::policy::{
    AdminTier, AdminTiers, DeactivationReason, EntitlementRules, Entitlements, LifecycleState,
    MappingInput, OrgMapping, Origin, PolicySettings, RoleMapping, UserLifecycle, diff,
};
use scim_core::schema::{AttrType, AttributeDef, Schema, SchemaRegistry};
use serde_json::{Value, json};

const C42: &str = "urn:ietf:params:scim:schemas:extension:c42:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn registry() -> SchemaRegistry {
    let mut reg = SchemaRegistry::standard();
    let c42 = Schema {
        id: C42.to_string(),
        name: "Code42".to_string(),
        description: String::new(),
        attributes: vec![AttributeDef::new("c42OrgName", AttrType::String)],
    };
    reg.register_extension(c42, "User", false).unwrap();
    reg
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

fn base() -> PolicySettings {
    PolicySettings {
        role_mappings: vec![
            RoleMapping {
                group: "Engineering".into(),
                roles: vec!["engineer".into(), "viewer".into()],
            },
            RoleMapping {
                group: "Sales".into(),
                roles: vec!["sales".into(), "viewer".into()],
            },
            RoleMapping {
                group: "Empty".into(),
                roles: vec![],
            },
        ],
        default_roles: BTreeMap::from([
            ("Default".into(), vec!["basic".into()]),
            ("Acme".into(), vec!["acme-basic".into()]),
        ]),
        admin_tiers: AdminTiers {
            domain_admin_groups: vec!["Domain Admins".into()],
            org_admin_groups: vec!["Org Admins".into()],
        },
        ..PolicySettings::default()
    }
}

fn with_org(org_mapping: OrgMapping) -> PolicySettings {
    PolicySettings {
        org_mapping,
        ..base()
    }
}

fn attribute(path: &str, create_missing: bool) -> PolicySettings {
    with_org(OrgMapping::Attribute {
        path: path.into(),
        create_missing,
    })
}

fn existing() -> BTreeSet<String> {
    ["Default", "Acme"].into_iter().map(String::from).collect()
}

/// A user document as core stores it (canonical names, extensions under their URN).
fn doc() -> Value {
    json!({
        "userName": "ann@example.com",
        "title": "Dr",
        "addresses": [
            {"type": "home", "locality": "Lyon", "country": "FR"},
            {"type": "work", "locality": "Berlin", "country": "DE", "primary": true},
        ],
        ENTERPRISE: {"department": "  Acme  "},
        C42: {"c42OrgName": "New Co"},
    })
}

fn show(e: &Entitlements) -> String {
    let roles: Vec<_> = e.roles.iter().map(String::as_str).collect();
    format!(
        "org={}{} roles={} tier={} mapped={}",
        e.organization,
        if e.organization_created {
            "+created"
        } else {
            ""
        },
        roles.join(","),
        e.admin_tier.as_str(),
        if e.mapped { "yes" } else { "no" },
    )
}

#[track_caller]
fn check_doc(settings: &PolicySettings, groups: &[&str], user: &Value, expected: &str) {
    let rules = EntitlementRules::new(settings, &registry()).unwrap();
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    assert_eq!(
        show(&rules.compute(&groups, user, &existing())),
        expected,
        "groups {groups:?}"
    );
}

#[track_caller]
fn check(settings: &PolicySettings, groups: &[&str], expected: &str) {
    check_doc(settings, groups, &doc(), expected);
}

#[test]
#[rustfmt::skip]
fn roles_defaults_and_admin_tiers() {
    let s = base();
    check(&s, &[], "org=Default roles=basic tier=none mapped=no");
    check(&s, &["Engineering"], "org=Default roles=engineer,viewer tier=none mapped=yes");
    check(&s, &["Engineering", "Sales"], "org=Default roles=engineer,sales,viewer tier=none mapped=yes");
    check(&s, &["Unmapped group"], "org=Default roles=basic tier=none mapped=no");
    // In a role-mapped group that gives no roles: mapped, and no defaults.
    check(&s, &["Empty"], "org=Default roles= tier=none mapped=yes");
    // Case-sensitive names.
    check(&s, &["engineering"], "org=Default roles=basic tier=none mapped=no");
    check(&s, &["domain admins"], "org=Default roles=basic tier=none mapped=no");
    check(&s, &["ORG ADMINS", "Sales"], "org=Default roles=sales,viewer tier=none mapped=yes");
    // Domain Admin: only that, whatever else the provider says.
    check(&s, &["Domain Admins"], "org=Default roles= tier=domain_admin mapped=yes");
    check(&s, &["Domain Admins", "Org Admins"], "org=Default roles= tier=domain_admin mapped=yes");
    check(&s, &["Engineering", "Org Admins", "Domain Admins", "Sales"], "org=Default roles= tier=domain_admin mapped=yes");
    // Org Admin: may also hold basic roles, and inherits defaults without them.
    check(&s, &["Org Admins", "Sales"], "org=Default roles=sales,viewer tier=org_admin mapped=yes");
    check(&s, &["Org Admins"], "org=Default roles=basic tier=org_admin mapped=yes");
    // Duplicated memberships change nothing.
    check(&s, &["Sales", "Sales"], "org=Default roles=sales,viewer tier=none mapped=yes");
}

#[test]
#[rustfmt::skip]
fn single_and_group_organizations() {
    check(&with_org(OrgMapping::Single { org: "Acme".into() }), &[], "org=Acme roles=acme-basic tier=none mapped=no");
    check(&with_org(OrgMapping::Single { org: "Brand New".into() }), &[], "org=Brand New+created roles= tier=none mapped=no");
    let s = with_org(OrgMapping::Group { map: BTreeMap::from([
        ("Sales".into(), "Acme".into()),
        ("Engineering".into(), "Acme Eng".into()),
        ("Partners".into(), "Partner Org".into()),
    ])});
    check(&s, &[], "org=Default roles=basic tier=none mapped=no");
    check(&s, &["Sales"], "org=Acme roles=sales,viewer tier=none mapped=yes");
    // Several organization groups: the first name in byte order decides.
    check(&s, &["Sales", "Engineering"], "org=Acme Eng+created roles=engineer,sales,viewer tier=none mapped=yes");
    // An organization group alone makes the user mapped, with the organization's defaults.
    check(&s, &["Partners"], "org=Partner Org+created roles= tier=none mapped=yes");
    check(&s, &["sales"], "org=Default roles=basic tier=none mapped=no");
}

#[test]
#[rustfmt::skip]
fn attribute_organizations() {
    let c42 = format!("{C42}:c42OrgName");
    // Created when missing, or default organization when not allowed to create.
    check(&attribute(&c42, true), &[], "org=New Co+created roles= tier=none mapped=no");
    check(&attribute(&c42, false), &[], "org=Default roles=basic tier=none mapped=no");
    check(&attribute(&c42.to_uppercase().replace("C42ORGNAME", "c42orgname"), true), &[], "org=New Co+created roles= tier=none mapped=no");
    check(&attribute("c42OrgName", true), &[], "org=New Co+created roles= tier=none mapped=no");
    // Trimmed, and existing organizations are found.
    check(&attribute("department", false), &[], "org=Acme roles=acme-basic tier=none mapped=no");
    check(&attribute(&format!("{ENTERPRISE}:department"), false), &["Sales"], "org=Acme roles=sales,viewer tier=none mapped=yes");
    // Multi-valued: the primary element first, or the elements a value filter selects.
    check(&attribute("addresses.locality", true), &[], "org=Berlin+created roles= tier=none mapped=no");
    check(&attribute("addresses[type eq \"home\"].locality", true), &[], "org=Lyon+created roles= tier=none mapped=no");
    check(&attribute("addresses[type eq \"other\"].locality", true), &[], "org=Default roles=basic tier=none mapped=no");
    // JSONPath: bracket notation, the `$.urn:` shorthand (either separator, any case), core keys.
    check(&attribute(&format!("$['{C42}'].c42OrgName"), true), &[], "org=New Co+created roles= tier=none mapped=no");
    check(&attribute(&format!("$.{C42}.c42OrgName"), true), &[], "org=New Co+created roles= tier=none mapped=no");
    check(&attribute(&format!("$.{C42}:c42OrgName"), true), &[], "org=New Co+created roles= tier=none mapped=no");
    check(&attribute(&format!("$.{}.c42OrgName", C42.to_uppercase()), true), &[], "org=New Co+created roles= tier=none mapped=no");
    check(&attribute("$.urn:ietf:params:scim:schemas:core:2.0:User:title", true), &[], "org=Dr+created roles= tier=none mapped=no");
    check(&attribute("$.addresses[?@.type == 'home'].locality", true), &[], "org=Lyon+created roles= tier=none mapped=no");
    check(&attribute("$.nothing.here", true), &[], "org=Default roles=basic tier=none mapped=no");
    // Custom attribute: always created when missing.
    check(&with_org(OrgMapping::Custom { attribute: "c42OrgName".into() }), &[], "org=New Co+created roles= tier=none mapped=no");
    check(&with_org(OrgMapping::Custom { attribute: "title".into() }), &["Org Admins"], "org=Dr+created roles= tier=org_admin mapped=yes");
}

#[test]
#[rustfmt::skip]
fn attribute_values_that_name_nothing() {
    let s = attribute("c42OrgName", true);
    check_doc(&s, &[], &json!({"userName": "a"}), "org=Default roles=basic tier=none mapped=no");
    check_doc(&s, &[], &json!({C42: {"c42OrgName": "   "}}), "org=Default roles=basic tier=none mapped=no");
    check_doc(&s, &[], &json!({C42: {"c42OrgName": 42}}), "org=Default roles=basic tier=none mapped=no");
    check_doc(&s, &[], &json!({C42: "not an object"}), "org=Default roles=basic tier=none mapped=no");
    check_doc(&s, &[], &json!([1, 2]), "org=Default roles=basic tier=none mapped=no");
    // Organization names match case-sensitively: "acme" is not "Acme".
    check_doc(&attribute("c42OrgName", false), &[], &json!({C42: {"c42OrgName": "acme"}}), "org=Default roles=basic tier=none mapped=no");
    check_doc(&attribute("c42OrgName", true), &[], &json!({C42: {"c42OrgName": "acme"}}), "org=acme+created roles= tier=none mapped=no");
}

#[test]
#[rustfmt::skip]
fn bad_organization_attributes_fail_when_the_rules_are_built() {
    let err = |s: PolicySettings| {
        let e = EntitlementRules::new(&s, &registry()).unwrap_err();
        format!("{} {}: {e}", e.status(), e.scim_type().unwrap().as_str())
    };
    assert_eq!(err(attribute("orgName", true)), "400 invalidValue: org_mapping.path \"orgName\": names no attribute of the User resource type (register the extension that declares it)");
    assert_eq!(err(attribute("urn:example:unknown:2.0:User:org", true)), "400 invalidValue: org_mapping.path \"urn:example:unknown:2.0:User:org\": names no attribute of the User resource type (register the extension that declares it)");
    assert_eq!(err(attribute("userName[value eq \"x\"]", true)), "400 invalidValue: org_mapping.path \"userName[value eq \\\"x\\\"]\": a value filter needs a multi-valued or complex attribute, and userName is neither");
    assert!(err(attribute("$[", true)).starts_with("400 invalidValue: org_mapping.path \"$[\": is not a valid JSONPath (RFC 9535): "));
    assert!(err(with_org(OrgMapping::Custom { attribute: "1bad".into() })).starts_with("400 invalidValue: org_mapping.attribute \"1bad\": "));
}

fn ent(org: &str, roles: &[&str], tier: AdminTier, mapped: bool) -> Entitlements {
    Entitlements {
        organization: org.into(),
        organization_created: false,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        admin_tier: tier,
        mapped,
    }
}

#[track_caller]
fn check_diff(old: Entitlements, new: Entitlements, events: &[&str], log: Value) {
    let change = diff(&old, &new);
    let kinds: Vec<_> = change.events().iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, events);
    assert_eq!(change.log().map_or(Value::Null, |l| l.detail), log);
    assert_eq!(change.is_empty(), log.is_null());
}

#[test]
#[rustfmt::skip]
fn diffs_and_the_events_that_end_sessions() {
    use AdminTier::*;
    check_diff(ent("Default", &["basic"], None, false), ent("Default", &["basic"], None, false), &[], Value::Null);
    check_diff(ent("Default", &["basic"], None, false), ent("Acme", &["sales"], None, true), &[],
        json!({"organization": {"from": "Default", "to": "Acme"}, "roles": {"added": ["sales"], "removed": ["basic"]}, "mapped": {"from": false, "to": true}}));
    check_diff(ent("A", &[], DomainAdmin, true), ent("A", &["x"], OrgAdmin, true), &["privileges.decreased"],
        json!({"roles": {"added": ["x"], "removed": []}, "admin_tier": {"from": "domain_admin", "to": "org_admin"}}));
    check_diff(ent("A", &["x"], OrgAdmin, true), ent("A", &["x"], None, true), &["privileges.decreased"],
        json!({"admin_tier": {"from": "org_admin", "to": "none"}}));
    check_diff(ent("A", &["x"], None, true), ent("A", &[], None, false), &["access.revoked"],
        json!({"roles": {"added": [], "removed": ["x"]}, "mapped": {"from": true, "to": false}}));
    check_diff(ent("A", &[], DomainAdmin, true), ent("A", &[], None, false), &["access.revoked", "privileges.decreased"],
        json!({"admin_tier": {"from": "domain_admin", "to": "none"}, "mapped": {"from": true, "to": false}}));
    check_diff(ent("A", &["x"], None, true), ent("A", &["x"], DomainAdmin, true), &[],
        json!({"admin_tier": {"from": "none", "to": "domain_admin"}}));
    // Already without access: nothing more to revoke.
    check_diff(ent("A", &[], None, false), ent("B", &[], None, false), &[], json!({"organization": {"from": "A", "to": "B"}}));
    let mut created = ent("New Co", &[], None, false);
    created.organization_created = true;
    check_diff(ent("Default", &[], None, false), created, &[], json!({"organization": {"from": "Default", "to": "New Co", "created": true}}));
}

fn groups(names: &[&str]) -> Vec<String> {
    names.iter().map(|g| g.to_string()).collect()
}

#[test]
fn apply_mappings_creates_each_organization_once_and_moves_lifecycles() {
    let settings = PolicySettings {
        deactivate_unmapped: true,
        ..attribute("c42OrgName", true)
    };
    let rules = EntitlementRules::new(&settings, &registry()).unwrap();
    let new_co = json!({C42: {"c42OrgName": "New Co"}});
    let acme = json!({C42: {"c42OrgName": "Acme"}});
    let was = ent("Default", &["engineer", "viewer"], AdminTier::None, true);
    let active = UserLifecycle {
        state: LifecycleState::Active,
        origin: Origin::Provisioned,
        legal_hold: false,
        provider_active: true,
        mapped: true,
    };
    let pending = UserLifecycle {
        state: LifecycleState::PendingDeactivation {
            due: now(),
            reason: DeactivationReason::Unmapped,
        },
        mapped: false,
        ..active
    };
    let local = UserLifecycle {
        origin: Origin::Local,
        ..active
    };
    let (g_none, g_eng) = (groups(&[]), groups(&["Engineering"]));
    let unmapped_was = ent("Default", &[], AdminTier::None, false);
    let inputs = [
        MappingInput {
            user_id: "u1",
            groups: &g_none,
            document: &new_co,
            current: &was,
            lifecycle: Some(&active),
        },
        MappingInput {
            user_id: "u2",
            groups: &g_eng,
            document: &new_co,
            current: &unmapped_was,
            lifecycle: Some(&pending),
        },
        MappingInput {
            user_id: "u3",
            groups: &g_eng,
            document: &acme,
            current: &was,
            lifecycle: None,
        },
        MappingInput {
            user_id: "u4",
            groups: &g_none,
            document: &acme,
            current: &was,
            lifecycle: Some(&local),
        },
    ];
    let report = rules.apply_mappings(&inputs, &existing(), now());
    assert_eq!(
        report.organizations_created,
        BTreeSet::from(["New Co".to_string()])
    );
    let summary: Vec<String> = report
        .outcomes
        .iter()
        .map(|o| {
            let events: Vec<_> = o.events.iter().map(|e| e.kind()).collect();
            let log: Vec<_> = o.log.iter().map(|l| l.action.as_str()).collect();
            let state = o.lifecycle.as_ref().map_or("-", |d| d.user.state.name());
            format!(
                "{} {} state={state} ev=[{}] log=[{}]",
                o.user_id,
                show(&o.entitlements),
                events.join(" "),
                log.join(" ")
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            // Lost every mapped group: scheduled, and access revoked once (not twice).
            "u1 org=New Co+created roles= tier=none mapped=no state=pending_deactivation ev=[user.deactivation_scheduled access.revoked] log=[entitlements schedule_deactivation]",
            // Returned to a mapped group within the delay: the job is cancelled.
            "u2 org=New Co roles=engineer,viewer tier=none mapped=yes state=active ev=[user.reactivated] log=[entitlements reactivate]",
            "u3 org=Acme roles=engineer,viewer tier=none mapped=yes state=- ev=[] log=[entitlements]",
            // A local account keeps its state; its entitlements still follow the mappings.
            "u4 org=Acme roles=acme-basic tier=none mapped=no state=active ev=[] log=[entitlements]",
        ]
    );
    let u2 = &report.outcomes[1];
    assert_eq!(
        u2.lifecycle.as_ref().unwrap().job,
        scim_core::policy::JobAction::Cancel
    );
    assert!(!u2.change.access_revoked && u2.change.mapped == Some(true));
}

#[test]
fn unchanged_users_produce_an_empty_outcome() {
    let rules = EntitlementRules::new(&base(), &registry()).unwrap();
    let current = ent("Default", &["engineer", "viewer"], AdminTier::None, true);
    let g = groups(&["Engineering"]);
    let input = MappingInput {
        user_id: "u",
        groups: &g,
        document: &doc(),
        current: &current,
        lifecycle: None,
    };
    let out = rules.reconcile(&input, &existing(), now());
    assert!(
        out.change.is_empty()
            && out.events.is_empty()
            && out.log.is_empty()
            && out.lifecycle.is_none()
    );
    assert_eq!(out.entitlements, current);
}
