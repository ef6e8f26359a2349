//! Tests of the event vocabulary (stable kinds, payload shapes, which events end sessions),
//! of the settings JSON the store shares with policy, and of the local-account checks.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use scim_core::policy::{
    AdminTier, BlockReason, DeactivationReason, OrgMapping, Origin, PolicyEvent, PolicySettings,
    ProviderOp, RevocationCause, check_provider_op, merge_events,
};
use serde_json::json;

fn every_event() -> Vec<PolicyEvent> {
    vec![
        PolicyEvent::UserCreated,
        PolicyEvent::UserUpdated {
            changed: vec!["title".into(), "emails".into()],
        },
        PolicyEvent::DeactivationScheduled {
            due: Utc.with_ymd_and_hms(2030, 1, 1, 0, 15, 0).unwrap(),
            reason: DeactivationReason::ProviderInactive,
        },
        PolicyEvent::Deactivated {
            reason: DeactivationReason::Unmapped,
        },
        PolicyEvent::Reactivated,
        PolicyEvent::Blocked {
            reason: BlockReason::LegalHold,
        },
        PolicyEvent::AccessRevoked {
            cause: RevocationCause::SignInRefused,
        },
        PolicyEvent::PrivilegesDecreased {
            from: AdminTier::DomainAdmin,
            to: AdminTier::OrgAdmin,
        },
    ]
}

#[test]
fn kinds_are_stable_and_payloads_exact() {
    let events = every_event();
    let kinds: Vec<_> = events.iter().map(PolicyEvent::kind).collect();
    assert_eq!(kinds, PolicyEvent::KINDS);
    let payloads: Vec<_> = events.iter().map(PolicyEvent::payload).collect();
    assert_eq!(
        payloads,
        [
            json!({"kind": "user.created"}),
            json!({"kind": "user.updated", "changed": ["title", "emails"]}),
            json!({"kind": "user.deactivation_scheduled", "due": "2030-01-01T00:15:00Z", "reason": "provider_inactive"}),
            json!({"kind": "user.deactivated", "reason": "unmapped"}),
            json!({"kind": "user.reactivated"}),
            json!({"kind": "user.blocked", "reason": "legal_hold"}),
            json!({"kind": "access.revoked", "cause": "sign_in_refused"}),
            json!({"kind": "privileges.decreased", "from": "domain_admin", "to": "org_admin"}),
        ]
    );
    for e in &events {
        // The payload is serde's shape, so receivers can parse it back.
        assert_eq!(serde_json::to_value(e).unwrap(), e.payload());
        assert_eq!(
            &serde_json::from_value::<PolicyEvent>(e.payload()).unwrap(),
            e
        );
    }
}

#[test]
fn only_revocation_and_privilege_drops_end_sessions() {
    let ending: Vec<_> = every_event()
        .iter()
        .filter(|e| e.ends_sessions())
        .map(PolicyEvent::kind)
        .collect();
    assert_eq!(ending, ["access.revoked", "privileges.decreased"]);
}

#[test]
fn merging_keeps_each_kind_once_in_order() {
    let revoked = |cause| PolicyEvent::AccessRevoked { cause };
    let mut events = vec![
        PolicyEvent::Reactivated,
        revoked(RevocationCause::SignInRefused),
    ];
    merge_events(
        &mut events,
        [
            revoked(RevocationCause::NoEntitlements),
            PolicyEvent::UserCreated,
            PolicyEvent::UserCreated,
        ],
    );
    assert_eq!(
        events,
        [
            PolicyEvent::Reactivated,
            revoked(RevocationCause::SignInRefused),
            PolicyEvent::UserCreated
        ]
    );
}

#[test]
fn settings_read_the_stores_tenant_json() {
    // The shape `TenantSettings::to_json` writes, including keys policy doesn't read.
    let stored = json!({
        "deactivation_delay_secs": 0,
        "deactivate_unmapped": true,
        "org_mapping": {"method": "attribute", "path": "urn:x:c42:2.0:User:c42OrgName", "create_missing": true},
        "default_org": "Default",
        "role_mappings": [{"group": "Sales", "roles": ["sales"]}],
        "default_roles": {"Default": ["basic"]},
        "admin_tiers": {"domain_admin_groups": ["DA"], "org_admin_groups": ["OA"]},
        "ldap": null,
        "rate_limit_per_sec": 50
    });
    let s = PolicySettings::from_json(&stored).unwrap();
    assert_eq!(s.deactivation_delay_secs, 0);
    assert!(s.deactivate_unmapped);
    assert_eq!(
        s.org_mapping,
        OrgMapping::Attribute {
            path: "urn:x:c42:2.0:User:c42OrgName".into(),
            create_missing: true
        }
    );
    assert_eq!(s.role_mappings[0].roles, ["sales"]);
    assert_eq!(s.default_roles["Default"], ["basic"]);
    assert_eq!(s.admin_tiers.org_admin_groups, ["OA"]);
    // Not in the store's settings yet: defaults.
    assert!(s.password_sync);
    assert!(!s.validation.user_name_is_email);

    let defaults = PolicySettings::from_json(&json!({})).unwrap();
    assert_eq!(defaults, PolicySettings::default());
    assert_eq!(defaults.deactivation_delay_secs, 900);
    assert_eq!(
        defaults.org_mapping,
        OrgMapping::Single {
            org: "Default".into()
        }
    );

    for (json, expected) in [
        (
            json!({"method": "single", "org": "Acme"}),
            OrgMapping::Single { org: "Acme".into() },
        ),
        (
            json!({"method": "group", "map": {"Sales": "Acme"}}),
            OrgMapping::Group {
                map: BTreeMap::from([("Sales".into(), "Acme".into())]),
            },
        ),
        (
            json!({"method": "attribute", "path": "$.x"}),
            OrgMapping::Attribute {
                path: "$.x".into(),
                create_missing: false,
            },
        ),
        (
            json!({"method": "custom", "attribute": "division"}),
            OrgMapping::Custom {
                attribute: "division".into(),
            },
        ),
    ] {
        let s = PolicySettings::from_json(&json!({ "org_mapping": json.clone() })).unwrap();
        assert_eq!(s.org_mapping, expected);
        assert_eq!(
            serde_json::to_value(&s.org_mapping).unwrap()["method"],
            json["method"]
        );
    }

    let with_rules = json!({"password_sync": false, "validation": {"user_name_is_email": true, "country_is_iso3166": true}});
    let s = PolicySettings::from_json(&with_rules).unwrap();
    assert!(!s.password_sync && s.validation.user_name_is_email && s.validation.country_is_iso3166);
    assert!(!s.validation.primary_email_is_user_name);

    let err = PolicySettings::from_json(&json!({"deactivation_delay_secs": "soon"})).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(
        err.to_string()
            .starts_with("invalid tenant policy settings: invalid type: string \"soon\""),
        "{err}"
    );
}

#[test]
#[rustfmt::skip]
fn the_provider_cannot_touch_local_accounts() {
    let check = |op, origin, expected: &str| {
        let got = match check_provider_op(op, origin, "ann@example.com") {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("{} {}: {e}", e.status(), e.scim_type().unwrap().as_str()),
        };
        assert_eq!(got, expected, "{op:?} {origin:?}");
    };
    check(ProviderOp::Create, Origin::Local, "409 uniqueness: userName \"ann@example.com\" belongs to a local account, which the identity provider cannot create or manage; give the provider's user another userName, or have an administrator remove the local account");
    check(ProviderOp::Create, Origin::Provisioned, "409 uniqueness: userName \"ann@example.com\" is already taken by another user");
    check(ProviderOp::Replace, Origin::Local, "400 mutability: user \"ann@example.com\" is a local account, managed only in the product; the identity provider cannot replace it");
    check(ProviderOp::Modify, Origin::Local, "400 mutability: user \"ann@example.com\" is a local account, managed only in the product; the identity provider cannot modify it");
    check(ProviderOp::Delete, Origin::Local, "400 mutability: user \"ann@example.com\" is a local account, managed only in the product; the identity provider cannot delete it");
    for op in [ProviderOp::Replace, ProviderOp::Modify, ProviderOp::Delete] {
        check(op, Origin::Provisioned, "ok");
    }
    assert_eq!(Origin::default(), Origin::Provisioned);
    assert_eq!((Origin::Provisioned.as_str(), Origin::Local.as_str()), ("provisioned", "local"));
}
