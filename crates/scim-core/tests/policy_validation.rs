//! Data-driven tests of the per-tenant validation rules (email syntax, primary email equal to
//! userName, ISO 3166-1 country codes) and of the password-sync decision.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers report a broken fixture by panicking"
)]

use scim_core::policy::countries::ISO_3166_1_ALPHA_2;
use scim_core::policy::{
    PasswordDecision, PolicySettings, ValidationRules, is_iso3166_alpha2, is_valid_email,
    password_decision, validate_user,
};
use serde_json::{Value, json};

#[test]
#[rustfmt::skip]
fn valid_emails() {
    for ok in [
        "ann@example.com",
        "ANN@EXAMPLE.COM",
        "a@b.co",
        "a.b-c+tag@sub.example.co.uk",
        "o'brien@example.ie",
        "user!#$%&'*+/=?^_`{|}~-@example.com",
        "root@localhost",
        "a@b-c.d",
        "1@2a.com",
        "first.middle.last@example.com",
        "a@xn--bcher-kva.example",
        "josé@exämple.com",
        "用户@例子.广告",
        "a@123.com",
        "a@example.c0m",
    ] {
        assert!(is_valid_email(ok), "{ok:?} should be valid");
    }
    // Length limits, at the edge.
    let local64 = "a".repeat(64);
    let label63 = "b".repeat(63);
    assert!(is_valid_email(&format!("{local64}@example.com")));
    assert!(is_valid_email(&format!("a@{label63}.com")));
    let long = format!("a@{}.{}.{}.{}", "c".repeat(63), "d".repeat(63), "e".repeat(63), "f".repeat(60));
    assert_eq!(long.len(), 254);
    assert!(is_valid_email(&long));
}

#[test]
#[rustfmt::skip]
fn invalid_emails() {
    for bad in [
        "", "plain", "@example.com", "ann@", "@", "ann@@example.com", "a@b@c.com",
        ".ann@example.com", "ann.@example.com", "a..b@example.com",
        "ann@.example.com", "ann@example.com.", "ann@example..com",
        "ann@-example.com", "ann@example-.com", "ann@exa_mple.com",
        "ann @example.com", " ann@example.com", "ann@example.com ", "ann@exam ple.com",
        "ann@example.com\n", "a\u{0}@x.com", "a\tb@x.com",
        "\"ann\"@example.com", "\"a b\"@example.com", "(comment)ann@example.com", "ann(comment)@example.com",
        "ann@[192.168.0.1]", "ann@192.168.0.1", "ann@123", "ann@example.123",
        "ann,bob@example.com", "ann;bob@example.com", "<ann@example.com>", "Ann <ann@example.com>",
        "ann\\@example.com", "ann@exa\\mple.com", "ann@example.com/x", "ann@ex:ample.com",
        "ann@€.com", "€@example.com",
    ] {
        assert!(!is_valid_email(bad), "{bad:?} should be invalid");
    }
    let local65 = "a".repeat(65);
    let label64 = "b".repeat(64);
    assert!(!is_valid_email(&format!("{local65}@example.com")));
    assert!(!is_valid_email(&format!("a@{label64}.com")));
    let long = format!("a@{}.{}.{}.{}", "c".repeat(63), "d".repeat(63), "e".repeat(63), "f".repeat(61));
    assert_eq!(long.len(), 255);
    assert!(!is_valid_email(&long));
}

#[test]
fn the_country_list_is_the_official_one() {
    assert_eq!(ISO_3166_1_ALPHA_2.len(), 249);
    assert!(
        ISO_3166_1_ALPHA_2.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );
    assert!(
        ISO_3166_1_ALPHA_2
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
    );
    for ok in [
        "US", "DE", "FR", "GB", "JP", "AX", "BQ", "CW", "SS", "SX", "ZW", "AD", "us", "De",
    ] {
        assert!(is_iso3166_alpha2(ok), "{ok:?}");
    }
    // Reserved, user-assigned, withdrawn, alpha-3, numeric and malformed codes.
    for bad in [
        "UK", "EU", "XK", "AN", "YU", "CS", "ZZ", "AA", "QM", "USA", "840", "U", "", " US", "U$",
        "ÜS",
    ] {
        assert!(!is_iso3166_alpha2(bad), "{bad:?}");
    }
}

fn all_rules() -> ValidationRules {
    ValidationRules {
        user_name_is_email: true,
        primary_email_is_user_name: true,
        country_is_iso3166: true,
    }
}

fn user(user_name: Value, emails: Value, addresses: Value) -> Value {
    let mut doc = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"] });
    for (k, v) in [
        ("userName", user_name),
        ("emails", emails),
        ("addresses", addresses),
    ] {
        if !v.is_null() {
            doc[k] = v;
        }
    }
    doc
}

#[track_caller]
fn check(rules: ValidationRules, doc: Value, expected: &str) {
    let got = match validate_user(&rules, &doc) {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("{} {}: {e}", e.status(), e.scim_type().unwrap().as_str()),
    };
    assert_eq!(got, expected);
}

#[test]
#[rustfmt::skip]
fn tenant_rules() {
    let work = |v: &str| json!([{ "value": v, "type": "work", "primary": true }]);
    let country = |c: Value| json!([{ "type": "work", "country": c }]);
    let off = ValidationRules::default();
    let email_only = ValidationRules { user_name_is_email: true, ..off };
    let primary_only = ValidationRules { primary_email_is_user_name: true, ..off };
    let country_only = ValidationRules { country_is_iso3166: true, ..off };

    check(all_rules(), user(json!("ann@example.com"), work("ann@example.com"), country(json!("US"))), "ok");
    // Every rule off: anything goes.
    check(off, user(json!("ann"), work("bob@example.com"), country(json!("Germany"))), "ok");

    check(email_only, user(json!("ann"), Value::Null, Value::Null),
        "400 invalidValue: userName \"ann\" is not a valid email address; this tenant requires userName to be an email address such as \"ann@example.com\"");
    check(email_only, user(Value::Null, Value::Null, Value::Null),
        "400 invalidValue: userName is missing; this tenant requires userName to be an email address");

    // The primary email, compared without case; the first email when none is primary.
    check(primary_only, user(json!("Ann@Example.com"), work("ann@example.COM"), Value::Null), "ok");
    check(primary_only, user(json!("ann@example.com"), json!([{"value": "ann@example.com"}, {"value": "x@y.z"}]), Value::Null), "ok");
    check(primary_only, user(json!("ann@example.com"), json!([{"value": "x@y.z"}, {"value": "ann@example.com", "primary": true}]), Value::Null), "ok");
    check(primary_only, user(json!("ann@example.com"), json!([{"value": "x@y.z", "primary": true}, {"value": "ann@example.com"}]), Value::Null),
        "400 invalidValue: the primary email \"x@y.z\" (emails[primary eq true].value) must equal userName \"ann@example.com\"; this tenant requires them to be identical (case aside)");
    check(primary_only, user(json!("ann@example.com"), Value::Null, Value::Null),
        "400 invalidValue: emails is missing; this tenant requires a primary email equal to userName \"ann@example.com\"");
    check(primary_only, user(json!("ann"), work("ann"), Value::Null), "ok");

    check(country_only, user(json!("a"), Value::Null, json!([{"country": "de"}, {"locality": "x"}, {"country": ""}])), "ok");
    check(country_only, user(json!("a"), Value::Null, json!([{"country": "DE"}, {"country": "Germany"}])),
        "400 invalidValue: addresses[1].country \"Germany\" is not an ISO 3166-1 alpha-2 country code; this tenant requires two-letter codes such as \"US\" or \"DE\"");
    check(country_only, user(json!("a"), Value::Null, country(json!("UK"))),
        "400 invalidValue: addresses[0].country \"UK\" is not an ISO 3166-1 alpha-2 country code; this tenant requires two-letter codes such as \"US\" or \"DE\"");
    check(country_only, user(json!("a"), Value::Null, country(json!(840))),
        "400 invalidValue: addresses[0].country 840 is not an ISO 3166-1 alpha-2 country code; this tenant requires two-letter codes such as \"US\" or \"DE\"");

    // The first violation is reported, in the order userName, emails, addresses.
    check(all_rules(), user(json!("ann"), work("bob@example.com"), country(json!("XX"))),
        "400 invalidValue: userName \"ann\" is not a valid email address; this tenant requires userName to be an email address such as \"ann@example.com\"");
    check(all_rules(), user(json!("ann@example.com"), work("bob@example.com"), country(json!("XX"))),
        "400 invalidValue: the primary email \"bob@example.com\" (emails[primary eq true].value) must equal userName \"ann@example.com\"; this tenant requires them to be identical (case aside)");
}

#[test]
fn password_sync_switch() {
    let on = PolicySettings::default();
    let off = PolicySettings {
        password_sync: false,
        ..PolicySettings::default()
    };
    assert!(on.password_sync, "password sync is on by default");
    for (settings, sent, expected) in [
        (&on, Some("s3cret!"), PasswordDecision::Keep),
        (&on, None, PasswordDecision::Absent),
        (&on, Some(""), PasswordDecision::Absent),
        (&off, Some("s3cret!"), PasswordDecision::Ignore),
        (&off, None, PasswordDecision::Absent),
        (&off, Some(""), PasswordDecision::Absent),
    ] {
        assert_eq!(
            password_decision(settings, sent),
            expected,
            "{sent:?} sync={}",
            settings.password_sync
        );
    }
}
