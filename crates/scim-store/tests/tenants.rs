//! Tenants, their settings (with the provisioning policy fields core reads) and API tokens,
//! on both backends.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::{NaiveDate, NaiveDateTime};
use diesel::RunQueryDsl;
use scim_core::policy::PolicySettings;
use scim_store::settings::{
    AdminTiers, JitSettings, LdapSource, OrgMapping, RoleMapping, TenantSettings, ValidationRules,
};
use scim_store::testing::TestDb;
use scim_store::{Conn, StoreError, TenantId, tenants, tokens};
use serde_json::json;

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 2)
        .unwrap()
        .and_hms_opt(3, 4, 5)
        .unwrap()
}

#[test]
fn create_get_by_name_list_delete() {
    for db in TestDb::all() {
        let s = &db.store;
        let a = s
            .write(|c| tenants::create(c, " acme-okta ", t0()))
            .unwrap();
        assert_eq!(a.name, "acme-okta", "{:?}", db.kind());
        assert_eq!(a.created_at, t0());
        let b = s.write(|c| tenants::create(c, "beta-entra", t0())).unwrap();
        assert_ne!(a.id, b.id);

        let got = s.read(|c| tenants::get(c, &a.id)).unwrap().unwrap();
        assert_eq!(got, a);
        let named = s.read(|c| tenants::by_name(c, "beta-entra")).unwrap();
        assert_eq!(named.map(|t| t.id), Some(b.id.clone()));
        assert_eq!(s.read(|c| tenants::by_name(c, "nope")).unwrap(), None);
        let missing = TenantId("no-such-tenant".into());
        assert_eq!(s.read(|c| tenants::get(c, &missing)).unwrap(), None);

        let names: Vec<String> = s
            .read(tenants::list)
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["acme-okta", "beta-entra"]);

        let id = a.id.clone();
        assert!(s.write(move |c| tenants::delete(c, &id)).unwrap());
        let id = a.id.clone();
        assert!(!s.write(move |c| tenants::delete(c, &id)).unwrap());
        assert_eq!(s.read(|c| tenants::get(c, &a.id)).unwrap(), None);
    }
}

#[test]
fn duplicate_and_invalid_names() {
    for db in TestDb::all() {
        let s = &db.store;
        s.write(|c| tenants::create(c, "acme", t0())).unwrap();
        let err = s.write(|c| tenants::create(c, "acme", t0())).unwrap_err();
        assert_eq!(
            err,
            StoreError::Conflict {
                attribute: "name",
                value: "acme".into()
            },
            "{:?}",
            db.kind()
        );
        for bad in ["", "   ", "a\nb"] {
            let err = s.write(move |c| tenants::create(c, bad, t0())).unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err:?}");
        }
    }
}

fn full_settings() -> TenantSettings {
    TenantSettings {
        deactivation_delay_secs: 0,
        deactivate_unmapped: true,
        org_mapping: OrgMapping::Group {
            map: [("Sales".to_string(), "Acme Sales".to_string())].into(),
        },
        default_org: "Acme".into(),
        role_mappings: vec![RoleMapping {
            group: "Sales".into(),
            roles: vec!["seller".into(), "viewer".into()],
        }],
        default_roles: [("Acme".to_string(), vec!["viewer".to_string()])].into(),
        admin_tiers: AdminTiers {
            domain_admin_groups: vec!["Admins".into()],
            org_admin_groups: vec!["admins".into()],
        },
        password_sync: false,
        validation: ValidationRules {
            user_name_is_email: true,
            primary_email_is_user_name: false,
            country_is_iso3166: true,
        },
        ldap: Some(LdapSource {
            url: "ldaps://dir.example.com".into(),
            bind_dn: "cn=reader,dc=example,dc=com".into(),
            bind_password_enc: Some("v1:ciphertext".into()),
            base_dn: "dc=example,dc=com".into(),
            groups: vec!["Sales".into()],
            ..LdapSource::default()
        }),
        rate_limit_per_sec: Some(50),
        jit: JitSettings {
            update_profile_at_login: false,
            group_prefix: Some("Divvy".into()),
            deactivate_unmapped_at_login: true,
        },
    }
}

#[test]
fn settings_round_trip() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = s.write(|c| tenants::create(c, "acme", t0())).unwrap();
        let defaults = s.read(|c| tenants::settings(c, &t.id)).unwrap();
        assert_eq!(defaults, TenantSettings::default(), "{:?}", db.kind());
        assert_eq!(defaults.deactivation_delay_secs, 900);

        let id = t.id.clone();
        s.write(move |c| tenants::update_settings(c, &id, &full_settings()))
            .unwrap();
        let back = s.read(|c| tenants::settings(c, &t.id)).unwrap();
        assert_eq!(back, full_settings());
        // The tenant row carries the same settings as JSON.
        let row = s.read(|c| tenants::get(c, &t.id)).unwrap().unwrap();
        assert_eq!(row.settings["org_mapping"]["method"], "group");
        assert_eq!(row.settings["ldap"]["bind_password_enc"], "v1:ciphertext");

        let missing = TenantId("nope".into());
        let err = s
            .write(move |c| tenants::update_settings(c, &missing, &TenantSettings::default()))
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        let missing = TenantId("nope".into());
        let err = s.read(|c| tenants::settings(c, &missing)).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    }
}

fn with(mut s: TenantSettings, f: impl FnOnce(&mut TenantSettings)) -> TenantSettings {
    f(&mut s);
    s
}

#[test]
fn invalid_settings_are_refused_and_change_nothing() {
    let d = TenantSettings::default;
    let cases: Vec<(&str, TenantSettings)> = vec![
        (
            "same group in both tiers",
            with(d(), |s| {
                s.admin_tiers.domain_admin_groups = vec!["Admins".into()];
                s.admin_tiers.org_admin_groups = vec!["Admins".into()];
            }),
        ),
        (
            "same group twice in one tier",
            with(d(), |s| {
                s.admin_tiers.org_admin_groups = vec!["A".into(), "A".into()];
            }),
        ),
        (
            "empty tier group",
            with(d(), |s| {
                s.admin_tiers.domain_admin_groups = vec![" ".into()];
            }),
        ),
        (
            "empty org",
            with(d(), |s| {
                s.org_mapping = OrgMapping::Single { org: "".into() };
            }),
        ),
        (
            "bad SCIM path",
            with(d(), |s| {
                s.org_mapping = OrgMapping::Attribute {
                    path: "not a path!".into(),
                    create_missing: true,
                };
            }),
        ),
        (
            "role mapping twice",
            with(d(), |s| {
                let m = RoleMapping {
                    group: "G".into(),
                    roles: vec!["r".into()],
                };
                s.role_mappings = vec![m.clone(), m];
            }),
        ),
        (
            "ldap interval 0",
            with(full_settings(), |s| {
                if let Some(l) = s.ldap.as_mut() {
                    l.interval_secs = 0;
                }
            }),
        ),
        (
            "ldap plaintext without starttls",
            with(full_settings(), |s| {
                if let Some(l) = s.ldap.as_mut() {
                    l.url = "ldap://dir.example.com".into();
                }
            }),
        ),
        (
            "ldap without password",
            with(full_settings(), |s| {
                if let Some(l) = s.ldap.as_mut() {
                    l.bind_password_enc = None;
                }
            }),
        ),
        (
            "delay too long",
            with(d(), |s| s.deactivation_delay_secs = u64::MAX),
        ),
        (
            "rate limit 0",
            with(d(), |s| s.rate_limit_per_sec = Some(0)),
        ),
        (
            "empty jit prefix",
            with(d(), |s| s.jit.group_prefix = Some(" ".into())),
        ),
    ];
    for db in TestDb::all() {
        let s = &db.store;
        let t = s.write(|c| tenants::create(c, "acme", t0())).unwrap();
        for (why, bad) in &cases {
            let (id, bad) = (t.id.clone(), bad.clone());
            let err = s
                .write(move |c| tenants::update_settings(c, &id, &bad))
                .unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{why}: {err:?}");
        }
        let kept = s.read(|c| tenants::settings(c, &t.id)).unwrap();
        assert_eq!(kept, TenantSettings::default(), "{:?}", db.kind());
    }
}

#[test]
fn settings_json_parsing() {
    let ok = TenantSettings::from_json(&json!({})).unwrap();
    assert_eq!(ok, TenantSettings::default());
    let ok = TenantSettings::from_json(&json!({
        "deactivation_delay_secs": 0,
        "org_mapping": {"method": "attribute",
                        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization"},
        "ldap": {"url": "ldap://d", "starttls": true, "bind_dn": "cn=r", "base_dn": "dc=x",
                 "bind_password_env": "LDAP_PW"}
    }))
    .unwrap();
    assert_eq!(ok.deactivation_delay_secs, 0);
    assert!(matches!(
        ok.org_mapping,
        OrgMapping::Attribute {
            create_missing: false,
            ..
        }
    ));
    assert_eq!(ok.ldap.unwrap().interval_secs, 3600);
    let jsonpath = TenantSettings::from_json(&json!({
        "org_mapping": {"method": "attribute", "path": "$.org", "create_missing": true}
    }));
    assert!(jsonpath.is_ok(), "{jsonpath:?}");
    for bad in [
        json!({"deactivation_delay": 5}),
        json!({"org_mapping": {"method": "single", "org": "A", "extra": 1}}),
        json!({"org_mapping": {"method": "astrology"}}),
        json!({"deactivation_delay_secs": -1}),
        json!({"admin_tiers": {"domain_admins": []}}),
    ] {
        let err = TenantSettings::from_json(&bad).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{bad}: {err:?}");
    }
}

#[test]
fn ldap_debug_redacts_the_password() {
    let l = full_settings().ldap.unwrap();
    let shown = format!("{l:?}");
    assert!(!shown.contains("ciphertext"), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[test]
fn tokens_create_get_revoke_list() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = s.write(|c| tenants::create(c, "acme", t0())).unwrap();
        let id = t.id.clone();
        let tok = s
            .write(move |c| {
                tokens::create(
                    c,
                    &id,
                    "tok1",
                    "$argon2id$v=19$x",
                    "scim",
                    Some("okta"),
                    t0(),
                )
            })
            .unwrap();
        assert!(tok.is_active());
        assert!(
            !format!("{tok:?}").contains("argon2"),
            "hash must not be in Debug"
        );
        let got = s.read(|c| tokens::get(c, "tok1")).unwrap().unwrap();
        assert_eq!(got, tok, "{:?}", db.kind());
        assert_eq!(got.tenant_id, t.id);
        assert_eq!(s.read(|c| tokens::get(c, "nope")).unwrap(), None);

        let id = t.id.clone();
        let dup = s
            .write(move |c| tokens::create(c, &id, "tok1", "h", "scim", None, t0()))
            .unwrap_err();
        assert!(
            matches!(
                dup,
                StoreError::Conflict {
                    attribute: "id",
                    ..
                }
            ),
            "{dup:?}"
        );
        let nobody = TenantId("nope".into());
        let err = s
            .write(move |c| tokens::create(c, &nobody, "tok2", "h", "scim", None, t0()))
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

        let later = t0() + chrono::TimeDelta::seconds(60);
        let id = t.id.clone();
        assert!(
            s.write(move |c| tokens::revoke(c, &id, "tok1", later))
                .unwrap()
        );
        // Idempotent, and the first revocation time stays.
        let id = t.id.clone();
        let again = later + chrono::TimeDelta::seconds(60);
        assert!(
            s.write(move |c| tokens::revoke(c, &id, "tok1", again))
                .unwrap()
        );
        let id = t.id.clone();
        assert!(
            !s.write(move |c| tokens::revoke(c, &id, "nope", later))
                .unwrap()
        );
        let got = s.read(|c| tokens::get(c, "tok1")).unwrap().unwrap();
        assert_eq!(got.revoked_at, Some(later));
        assert!(!got.is_active());

        let listed = s.read(|c| tokens::list(c, &t.id)).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, "tok1");

        // Deleting the tenant deletes its tokens.
        let id = t.id.clone();
        s.write(move |c| tenants::delete(c, &id)).unwrap();
        assert_eq!(s.read(|c| tokens::get(c, "tok1")).unwrap(), None);
    }
}

#[test]
fn settings_policy_fields_round_trip_and_old_json() {
    for db in TestDb::all() {
        let s = &db.store;
        let t = s.write(|c| tenants::create(c, "acme", t0())).unwrap().id;
        let settings = TenantSettings {
            password_sync: false,
            validation: ValidationRules {
                user_name_is_email: true,
                primary_email_is_user_name: true,
                country_is_iso3166: false,
            },
            org_mapping: OrgMapping::Custom {
                attribute: "c42OrgName".into(),
            },
            role_mappings: vec![RoleMapping {
                group: "Eng".into(),
                roles: vec!["engineer".into()],
            }],
            ..TenantSettings::default()
        };
        let (t2, written) = (t.clone(), settings.clone());
        s.write(move |c| tenants::update_settings(c, &t2, &written))
            .unwrap();
        let kept = s.read(|c| tenants::settings(c, &t)).unwrap();
        assert_eq!(kept, settings, "{:?}", db.kind());
        // Core reads the stored JSON straight into the same policy settings.
        let policy = PolicySettings::from_json(&kept.to_json().unwrap()).unwrap();
        assert_eq!(kept.to_policy(), policy);
        assert!(!policy.password_sync && policy.validation.primary_email_is_user_name);

        // A row written before the policy fields existed reads with their defaults.
        let old = r#"{"deactivation_delay_secs": 60, "deactivate_unmapped": true,
                      "org_mapping": {"method": "single", "org": "Acme"},
                      "default_org": "Acme", "role_mappings": [], "default_roles": {},
                      "admin_tiers": {"domain_admin_groups": [], "org_admin_groups": []},
                      "ldap": null, "rate_limit_per_sec": null}"#;
        let t2 = t.clone();
        s.write(move |c| {
            let n = match c {
                Conn::Sqlite(c) => {
                    diesel::sql_query("UPDATE tenants SET settings = ? WHERE id = ?")
                        .bind::<diesel::sql_types::Text, _>(old)
                        .bind::<diesel::sql_types::Text, _>(t2.as_str())
                        .execute(*c)
                }
                Conn::Pg(c) => diesel::sql_query("UPDATE tenants SET settings = $1 WHERE id = $2")
                    .bind::<diesel::sql_types::Text, _>(old)
                    .bind::<diesel::sql_types::Text, _>(t2.as_str())
                    .execute(*c),
            };
            assert_eq!(n.unwrap(), 1);
            Ok(())
        })
        .unwrap();
        let kept = s.read(|c| tenants::settings(c, &t)).unwrap();
        assert_eq!(kept.deactivation_delay_secs, 60);
        assert!(kept.password_sync, "password sync defaults to on");
        assert_eq!(kept.validation, ValidationRules::default());
        assert_eq!(
            kept.jit,
            JitSettings::default(),
            "JIT options take their defaults"
        );
        assert!(kept.jit.update_profile_at_login);
        assert_eq!(kept.to_policy().default_org, "Acme");
    }
}

#[test]
fn settings_refuse_unknown_keys_inside_core_types() {
    let cases = [
        (
            json!({"validation": {"user_name_is_mail": true}}),
            "validation.user_name_is_mail",
        ),
        (
            json!({"role_mappings": [{"group": "a", "roles": []}, {"group": "b", "roles": [], "x": 1}]}),
            "role_mappings[1].x",
        ),
        (
            json!({"admin_tiers": {"domain_admins": []}}),
            "admin_tiers.domain_admins",
        ),
        (
            json!({"org_mapping": {"method": "group", "map": {"G": "O"}, "create_missing": true}}),
            "org_mapping.create_missing",
        ),
        (json!({"password_synch": false}), "password_synch"),
        (json!({"jit": {"group_prefx": "Divvy"}}), "group_prefx"),
    ];
    for (bad, key) in cases {
        let err = TenantSettings::from_json(&bad).unwrap_err();
        let StoreError::Invalid(msg) = &err else {
            panic!("{bad}: {err:?}");
        };
        assert!(msg.contains(key), "{bad}: {msg}");
    }
    // Map keys are data, not settings.
    let ok = TenantSettings::from_json(&json!({
        "org_mapping": {"method": "group", "map": {"anything": "Org"}},
        "default_roles": {"Org": ["r"]},
        "validation": {"country_is_iso3166": true},
        "password_sync": false
    }))
    .unwrap();
    assert!(ok.validation.country_is_iso3166 && !ok.password_sync);
}
