//! Data-driven tests of the filter evaluator and of filter validation: one line per case, over
//! realistic Okta, Entra and group documents and a custom extension with every scalar type.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers report a broken fixture by panicking"
)]

use scim_core::filter::eval::{EvalContext, matches, matches_element, validate};
use scim_core::filter::{CompareOp, Filter, Literal, parse_filter};
use scim_core::path::AttrPath;
use scim_core::schema::{AttrType, AttributeDef, Schema, SchemaRegistry, urn};
use serde_json::{Value, json};

const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

/// The standard schemas plus a custom extension with integer, decimal, dateTime, boolean,
/// multi-valued string, case-exact string and binary attributes.
fn registry() -> SchemaRegistry {
    let mut reg = SchemaRegistry::standard();
    let acme = Schema {
        id: ACME.to_string(),
        name: "Acme".to_string(),
        description: String::new(),
        attributes: vec![
            AttributeDef::new("level", AttrType::Integer),
            AttributeDef::new("score", AttrType::Decimal),
            AttributeDef::new("hiredAt", AttrType::DateTime),
            AttributeDef::new("contractor", AttrType::Boolean),
            AttributeDef::new("tags", AttrType::String).multi(),
            AttributeDef::new("costCode", AttrType::String).case_exact(),
            AttributeDef::new("badge", AttrType::Binary),
        ],
    };
    reg.register_extension(acme, "User", false).unwrap();
    reg
}

/// Evaluates every `(filter, expected)` case against `doc` and reports all failures at once.
fn check(rt: &str, doc: &Value, cases: &[(&str, bool)]) {
    let reg = registry();
    let ctx = EvalContext::new(&reg, reg.resource_type(rt).unwrap());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(text, want)| {
            let filter = match parse_filter(text) {
                Ok(f) => f,
                Err(e) => return Some(format!("{text}: does not parse: {e}")),
            };
            let got = matches(&filter, doc, &ctx);
            // The complement must always hold, whatever the case.
            let not = matches(&Filter::Not(Box::new(filter.clone())), doc, &ctx);
            if got != *want {
                Some(format!("{text}: expected {want}, got {got}"))
            } else if not == got {
                Some(format!("not ({text}) is not the complement"))
            } else {
                None
            }
        })
        .collect();
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

fn okta_user() -> Value {
    json!({
        "schemas": [urn::USER],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "00u1abcdEFGH",
        "userName": "Barbara.Jensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen III",
            "familyName": "Jensen",
            "givenName": "Barbara"
        },
        "displayName": "Babs Jensen",
        "nickName": "",
        "title": "Tour Guide",
        "profileUrl": "https://login.example.com/bjensen",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjEL"}],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        }
    })
}

#[test]
fn okta_user_strings() {
    check(
        "User",
        &okta_user(),
        &[
            // caseExact=false: Entra expects a different-case userName to match.
            (r#"userName eq "barbara.jensen@example.com""#, true),
            (r#"userName eq "BARBARA.JENSEN@EXAMPLE.COM""#, true),
            (r#"userName eq "bjensen""#, false),
            (r#"userName ne "bjensen""#, true),
            (r#"userName ne "Barbara.Jensen@Example.com""#, false),
            (r#"userName co "JENSEN@""#, true),
            (r#"userName co "jensen@example.org""#, false),
            (r#"userName sw "barbara.""#, true),
            (r#"userName sw "jensen""#, false),
            (r#"userName ew "@EXAMPLE.COM""#, true),
            (r#"userName ew "@example.org""#, false),
            (r#"userName gt "a""#, true),
            (r#"userName gt "BARBARA.JENSEN@EXAMPLE.COM""#, false),
            (r#"userName ge "BARBARA.JENSEN@EXAMPLE.COM""#, true),
            (r#"userName lt "c""#, true),
            (r#"userName le "barbara""#, false),
            (r#"displayName co "bs je""#, true),
            (r#"title co """#, true),
            // caseExact=true: id, externalId, meta.resourceType.
            (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
            (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
            (r#"externalId eq "00u1abcdEFGH""#, true),
            (r#"externalId eq "00u1ABCDefgh""#, false),
            (r#"externalId sw "00u1""#, true),
            (r#"externalId co "abcdefgh""#, false),
            (r#"externalId gt "00u1abcdEFGG""#, true),
            (r#"externalId lt "00u1abcdefgh""#, true),
            (r#"meta.resourceType eq "user""#, false),
            (r#"meta.resourceType eq "User""#, true),
            // References and binary values are case-exact whatever the definition says.
            (
                r#"profileUrl eq "HTTPS://login.example.com/bjensen""#,
                false,
            ),
            (r#"profileUrl sw "https://login.example.com/""#, true),
            (
                r#"meta.location ew "/Users/2819c223-7f76-453a-919d-413861904646""#,
                true,
            ),
            (r#"x509Certificates.value sw "MIIDQz""#, true),
            (r#"x509Certificates.value sw "miidqz""#, false),
        ],
    );
}

#[test]
fn okta_user_booleans_and_datetimes() {
    check(
        "User",
        &okta_user(),
        &[
            ("active eq true", true),
            ("active eq false", false),
            ("active ne false", true),
            (r#"active eq "True""#, true),
            (r#"active eq "TRUE""#, true),
            (r#"active ne "false""#, true),
            (r#"active eq "yes""#, false),
            ("emails[primary eq true]", true),
            // Instants, across time zones and precisions.
            (r#"meta.lastModified eq "2011-05-13T04:42:34Z""#, true),
            (r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true),
            (r#"meta.lastModified eq "2011-05-13T04:42:34.000Z""#, true),
            (r#"meta.lastModified ne "2011-05-13T04:42:35Z""#, true),
            (r#"meta.lastModified gt "2011-05-13T05:00:00+02:00""#, true),
            (r#"meta.lastModified lt "2011-05-13T04:42:35Z""#, true),
            (r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#, true),
            (r#"meta.lastModified le "2011-05-12T23:59:59-05:00""#, true),
            (r#"meta.created lt "2010-01-23T04:56:22Z""#, false),
            (r#"meta.created le "2010-01-23T04:56:22Z""#, true),
            // Text comparison for substring operators and unparsable literals.
            (r#"meta.lastModified sw "2011-05""#, true),
            (r#"meta.lastModified co "T04:42""#, true),
            (r#"meta.created gt "2009""#, true),
        ],
    );
}

#[test]
fn okta_user_multi_valued_and_value_paths() {
    check(
        "User",
        &okta_user(),
        &[
            // A complex multi-valued attribute compared as a whole compares `value`, any match.
            (r#"emails co "example.com""#, true),
            (r#"emails eq "BABS@jensen.org""#, true),
            (r#"emails eq "work""#, false),
            (r#"emails.value eq "babs@jensen.org""#, true),
            (r#"emails.type eq "work""#, true),
            (r#"emails.type eq "other""#, false),
            // `ne` is exactly `not eq`: no element may equal.
            (r#"emails.value ne "babs@jensen.org""#, false),
            (r#"emails.value ne "nobody@example.com""#, true),
            (r#"EMAILS.VALUE eq "bjensen@example.com""#, true),
            (r#"Emails[TYPE eq "work"]"#, true),
            // Value paths hold per element, not across elements.
            (
                r#"emails[type eq "work" and value co "@example.com"]"#,
                true,
            ),
            (
                r#"emails[type eq "home" and value co "@example.com"]"#,
                false,
            ),
            (r#"emails[type eq "home" or primary eq true]"#, true),
            (r#"emails[not (type eq "work")]"#, true),
            (r#"emails[not (type eq "work") and primary eq true]"#, false),
            (
                r#"emails[type eq "work"].value eq "bjensen@example.com""#,
                true,
            ),
            (
                r#"emails[type eq "work"].value eq "babs@jensen.org""#,
                false,
            ),
            (
                r#"emails[(type eq "work" or type eq "home") and not (value ew ".com")]"#,
                true,
            ),
            (r#"emails[display pr]"#, false),
            (r#"phoneNumbers[type eq "work"]"#, false),
            // Singular complex attributes.
            (r#"name[givenName eq "barbara"]"#, true),
            (
                r#"name[givenName eq "barbara" and familyName eq "smith"]"#,
                false,
            ),
            (r#"name.familyName eq "JENSEN""#, true),
            ("name.familyName pr and name.middleName pr", false),
        ],
    );
}

#[test]
fn okta_user_presence_absence_and_logic() {
    check(
        "User",
        &okta_user(),
        &[
            ("title pr", true),
            ("nickName pr", false),
            ("phoneNumbers pr", false),
            ("emails pr", true),
            ("emails.display pr", false),
            ("emails.primary pr", true),
            ("addresses pr", false),
            ("name pr", true),
            ("meta pr", true),
            (r#"addresses.locality eq "Redmond""#, false),
            // An absent attribute is not equal to anything; eq null means unassigned.
            (r#"timezone ne "Europe/Berlin""#, true),
            ("timezone eq null", true),
            ("timezone ne null", false),
            ("title eq null", false),
            ("title ne null", true),
            ("nickName eq null", true),
            ("phoneNumbers eq null", true),
            ("title gt null", false),
            // Unknown attributes match nothing, whatever the operator.
            (r#"foo eq "bar""#, false),
            (r#"foo ne "bar""#, false),
            ("foo pr", false),
            (r#"not (foo eq "bar")"#, true),
            (r#"name.nope eq "x""#, false),
            // Logic.
            (
                r#"active eq true and (title sw "tour" or title eq "CEO")"#,
                true,
            ),
            (r#"active eq true and title eq "CEO""#, false),
            (r#"not (userName eq "bjensen")"#, true),
            (r#"userName eq "x" or displayName eq "babs jensen""#, true),
            (r#"userName eq "x" or displayName eq "y""#, false),
            // URN-qualified and case-insensitive names.
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "barbara.jensen@example.com""#,
                true,
            ),
            (
                r#"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.givenName eq "Barbara""#,
                true,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr",
                false,
            ),
        ],
    );
}

fn entra_user() -> Value {
    json!({
        "schemas": [urn::USER, urn::ENTERPRISE_USER, ACME],
        "id": "e1",
        "externalId": "5b9a3d7e-0c1f-4b4a-9a3e-1c2d3e4f5a6b",
        "userName": "AlexW@contoso.onmicrosoft.com",
        // Stored as Entra sent it; the evaluator must still read it as a boolean.
        "active": "True",
        "displayName": "Alex Wilber",
        "name": {"givenName": "Alex", "familyName": "Wilber"},
        "emails": [{"type": "work", "value": "AlexW@contoso.com", "primary": true}],
        "roles": [
            {"value": "Admin", "display": "Administrator", "type": "WindowsAzureActiveDirectoryRole", "primary": true},
            {"value": "Reader", "primary": false}
        ],
        "addresses": [{"type": "work", "locality": "Redmond", "region": "WA", "country": "US", "primary": true}],
        urn::ENTERPRISE_USER: {
            "employeeNumber": "701984",
            "department": "Sales",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        },
        ACME: {
            "level": 7,
            "score": 12.5,
            "hiredAt": "2020-02-29T09:00:00+01:00",
            "contractor": false,
            "tags": ["vip", "EMEA"],
            "costCode": "AB-1",
            "badge": "QUJD"
        },
        "meta": {"created": "2024-03-01T10:00:00+01:00", "lastModified": "2024-03-01T12:30:00.000Z"}
    })
}

#[test]
fn entra_user_core_and_enterprise() {
    let m = "26118915-6090-4610-87e4-49d8ca9f808d";
    let ent = urn::ENTERPRISE_USER;
    check(
        "User",
        &entra_user(),
        &[
            (r#"userName eq "alexw@CONTOSO.onmicrosoft.com""#, true),
            (
                r#"externalId eq "5b9a3d7e-0c1f-4b4a-9a3e-1c2d3e4f5a6b""#,
                true,
            ),
            ("active eq true", true),
            (r#"active eq "false""#, false),
            (r#"roles[primary eq "True"]"#, true),
            (r#"roles[primary eq "True"].value eq "Admin""#, true),
            (r#"roles[primary eq "true" and value eq "Reader"]"#, false),
            (r#"roles[primary eq false].value eq "reader""#, true),
            (r#"roles[type eq "WindowsAzureActiveDirectoryRole"]"#, true),
            (
                r#"emails[type eq "work"].value eq "alexw@contoso.com""#,
                true,
            ),
            (r#"addresses[type eq "work" and country eq "us"]"#, true),
            (r#"addresses[type eq "home"]"#, false),
            (&format!(r#"{ent}:employeeNumber eq "701984""#), true),
            (r#"employeeNumber eq "701984""#, true),
            (r#"employeeNumber eq 701984"#, true),
            (&format!(r#"{ent}:manager.value eq "{m}""#), true),
            (&format!(r#"{ent}:manager eq "{m}""#), true),
            (&format!(r#"{ent}:manager[value eq "{m}"]"#), true),
            (r#"manager[displayName sw "john"]"#, true),
            (r#"manager[displayName sw "jane"]"#, false),
            (r#"department eq "sales""#, true),
            (
                r#"Urn:Ietf:Params:Scim:Schemas:Extension:Enterprise:2.0:User:DEPARTMENT eq "Sales""#,
                true,
            ),
            (r#"costCenter pr"#, false),
            // Entra's legacy reference check (clients.md E15).
            (&format!(r#"id eq "e1" and manager eq "{m}""#), true),
            (r#"meta.created eq "2024-03-01T09:00:00Z""#, true),
            (r#"meta.lastModified gt "2024-03-01T13:00:00+01:00""#, true),
            (r#"meta.lastModified lt "2024-03-01T13:00:00+01:00""#, false),
        ],
    );
}

#[test]
fn custom_extension_types() {
    check(
        "User",
        &entra_user(),
        &[
            ("level eq 7", true),
            (r#"level eq "7""#, true),
            ("level gt 6", true),
            ("level ge 7.0", true),
            ("level lt 7", false),
            ("level le 7", true),
            ("level ne 8", true),
            ("level ne 7", false),
            ("score eq 12.5", true),
            ("score gt 12", true),
            ("score lt 1e2", true),
            (r#"score eq "12.50""#, true),
            ("score le 12.4", false),
            (r#"hiredAt eq "2020-02-29T08:00:00Z""#, true),
            (r#"hiredAt gt "2020-02-29T08:30:00+00:00""#, false),
            (r#"hiredAt lt "2020-02-29T09:30:00+01:00""#, true),
            ("contractor eq false", true),
            (r#"contractor eq "False""#, true),
            ("contractor ne true", true),
            ("contractor pr", true),
            (r#"tags eq "emea""#, true),
            (r#"tags[value sw "V"]"#, true),
            (r#"tags[value eq "apac"]"#, false),
            (r#"costCode eq "ab-1""#, false),
            (r#"costCode eq "AB-1""#, true),
            (r#"badge eq "QUJD""#, true),
            (r#"badge eq "qujd""#, false),
            (&format!("{ACME}:level ge 7"), true),
            (&format!("{ACME}:LEVEL gt 7"), false),
        ],
    );
}

#[test]
fn tolerant_storage_forms() {
    // Values stored as clients sent them: numbers and booleans as strings, manager as a string,
    // non-canonical key case, a single value where an array was declared.
    let doc = json!({
        "USERNAME": "Kim",
        "emails": {"value": "kim@example.com", "type": "work"},
        urn::ENTERPRISE_USER: {"manager": "m-1"},
        "urn:EXAMPLE:params:scim:schemas:extension:acme:2.0:User": {
            "Level": "7", "contractor": "TRUE", "score": "2.5"
        }
    });
    check(
        "User",
        &doc,
        &[
            (r#"userName eq "kim""#, true),
            (r#"emails.value eq "kim@example.com""#, true),
            (r#"emails[type eq "work"]"#, true),
            (r#"manager eq "m-1""#, true),
            (r#"manager.value eq "m-1""#, true),
            (r#"manager[value eq "m-1"]"#, true),
            ("manager pr", true),
            ("level gt 6", true),
            ("contractor eq true", true),
            ("score lt 3", true),
        ],
    );
}

#[test]
fn groups() {
    let group = json!({
        "schemas": [urn::GROUP],
        "id": "g1",
        "externalId": "grp-ENG",
        "displayName": "Engineering",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen", "type": "User",
             "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"},
            {"value": "e1", "type": "User"}
        ]
    });
    check(
        "Group",
        &group,
        &[
            (r#"displayName eq "engineering""#, true),
            (r#"DisplayName eq "ENGINEERING""#, true),
            (r#"members[value eq "e1"]"#, true),
            (r#"members.value eq "e1""#, true),
            (r#"members eq "e1""#, true),
            (r#"members eq "e2""#, false),
            (r#"members[type eq "User" and display co "babs"]"#, true),
            (r#"members[value eq "e1" and display pr]"#, false),
            (r#"members.$ref sw "https://example.com/v2/Users/""#, true),
            ("members pr", true),
            (r#"externalId eq "grp-eng""#, false),
            (r#"userName eq "x""#, false),
            (r#"members[value eq "e1"] and displayName sw "Eng""#, true),
        ],
    );
    let empty = json!({"id": "g2", "displayName": "Empty", "members": []});
    check(
        "Group",
        &empty,
        &[
            ("members pr", false),
            ("not (members pr)", true),
            (r#"members[value eq "e1"]"#, false),
            (r#"members.value ne "e1""#, true),
            ("members eq null", true),
        ],
    );
}

#[test]
fn unicode_case_folding() {
    let doc = json!({"userName": "Jürgen.Straße@example.de", "displayName": "ΟΔΥΣΣΕΥΣ"});
    check(
        "User",
        &doc,
        &[
            (r#"userName eq "JÜRGEN.STRASSE@EXAMPLE.DE""#, true),
            (r#"userName sw "jürgen""#, true),
            (r#"userName co "STRASSE""#, true),
            (r#"userName ew "ße@EXAMPLE.de""#, true),
            (r#"displayName eq "οδυσσευς""#, true),
            (r#"displayName eq "οδυσσευ""#, false),
        ],
    );
}

#[test]
fn element_matching_for_patch() {
    let reg = registry();
    let user = reg.schema(urn::USER).unwrap();
    let emails = user.attribute("emails").unwrap();
    let roles = user.attribute("roles").unwrap();
    let tags = reg.schema(ACME).unwrap().attribute("tags").unwrap();
    let cases: &[(&str, Value, &AttributeDef, bool)] = &[
        (
            r#"type eq "work""#,
            json!({"type": "work", "value": "a@x"}),
            emails,
            true,
        ),
        (r#"TYPE eq "WORK""#, json!({"Type": "Work"}), emails, true),
        (
            r#"type eq "work" and value co "@x""#,
            json!({"type": "work", "value": "a@y"}),
            emails,
            false,
        ),
        (
            r#"primary eq "True""#,
            json!({"primary": true}),
            roles,
            true,
        ),
        (
            r#"primary eq "True""#,
            json!({"primary": false}),
            roles,
            false,
        ),
        (
            r#"not (primary eq true)"#,
            json!({"value": "r"}),
            roles,
            true,
        ),
        ("display pr", json!({"display": ""}), roles, false),
        (r#"value eq "VIP""#, json!("vip"), tags, true),
        (r#"nope eq "x""#, json!({"nope": "x"}), emails, false),
    ];
    for (text, element, attr, want) in cases {
        let filter = parse_filter(text).unwrap();
        assert_eq!(
            matches_element(&filter, element, attr),
            *want,
            "{text} on {element}"
        );
    }
}

#[test]
fn hand_built_asts() {
    let reg = registry();
    let ctx = EvalContext::new(&reg, reg.resource_type("User").unwrap());
    let doc = okta_user();
    let cmp = |path: AttrPath, op, value| Filter::Compare { path, op, value };
    // A value path whose path carries a sub-attribute selects nothing.
    let f = Filter::ValuePath {
        path: AttrPath::new("emails").with_sub("value"),
        filter: Box::new(cmp(
            AttrPath::new("type"),
            CompareOp::Eq,
            Literal::String("work".into()),
        )),
    };
    assert!(!matches(&f, &doc, &ctx));
    // Nested value paths and qualified inner paths select nothing.
    let nested = Filter::ValuePath {
        path: AttrPath::new("emails"),
        filter: Box::new(Filter::ValuePath {
            path: AttrPath::new("type"),
            filter: Box::new(Filter::Present(AttrPath::new("value"))),
        }),
    };
    assert!(!matches(&nested, &doc, &ctx));
    // Numbers compared against a string attribute use their JSON text.
    let n = cmp(
        AttrPath::new("title"),
        CompareOp::Eq,
        Literal::Number(42.into()),
    );
    assert!(!matches(&n, &doc, &ctx));
    assert!(matches(&n, &json!({"title": "42"}), &ctx));
    // A document that is not an object matches nothing.
    assert!(!matches(
        &Filter::Present(AttrPath::new("id")),
        &json!([1]),
        &ctx
    ));
}

/// `Ok(())` or the substring the error detail must contain.
fn check_validate(rt: &str, filter: &Filter, want: Result<(), &str>) -> Option<String> {
    let reg = registry();
    let ctx = EvalContext::new(&reg, reg.resource_type(rt).unwrap());
    match (validate(filter, &ctx), want) {
        (Ok(()), Ok(())) => None,
        (Err(e), Err(needle)) => {
            let text = e.to_string();
            if e.status() != 400 || !matches!(e, scim_core::Error::UnsupportedFilter(_)) {
                Some(format!("{filter}: wrong error kind {e:?}"))
            } else if !text.contains(needle) {
                Some(format!("{filter}: detail {text:?} lacks {needle:?}"))
            } else {
                None
            }
        }
        (got, want) => Some(format!("{filter}: expected {want:?}, got {got:?}")),
    }
}

#[test]
fn validation() {
    let ent = urn::ENTERPRISE_USER;
    let cases: Vec<(&str, String, Result<(), &str>)> = vec![
        ("User", r#"userName eq "x""#.into(), Ok(())),
        ("User", r#"EMAILS.VALUE co "x""#.into(), Ok(())),
        (
            "User",
            r#"emails[type eq "work" and value co "@x"]"#.into(),
            Ok(()),
        ),
        (
            "User",
            r#"emails[type eq "work"].value eq "x""#.into(),
            Ok(()),
        ),
        ("User", r#"emails eq "x""#.into(), Ok(())),
        (
            "User",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#.into(),
            Ok(()),
        ),
        ("User", r#"active eq "True""#.into(), Ok(())),
        ("User", r#"roles[primary eq "True"]"#.into(), Ok(())),
        ("User", format!(r#"{ent}:manager.value eq "x""#), Ok(())),
        ("User", r#"manager eq "x""#.into(), Ok(())),
        ("User", "level gt 5".into(), Ok(())),
        ("User", r#"level eq "5""#.into(), Ok(())),
        ("User", "name pr".into(), Ok(())),
        ("User", r#"tags[value eq "a"]"#.into(), Ok(())),
        ("User", "title eq null".into(), Ok(())),
        ("User", "not (userName pr)".into(), Ok(())),
        ("User", r#"x509Certificates.value eq "abc""#.into(), Ok(())),
        ("User", r#"name[givenName sw "a"]"#.into(), Ok(())),
        ("Group", r#"members[value eq "x"]"#.into(), Ok(())),
        (
            "Group",
            r#"displayName eq "Eng" and members pr"#.into(),
            Ok(()),
        ),
        (
            "User",
            r#"foo eq "x""#.into(),
            Err("attribute foo is not defined for resource type User"),
        ),
        (
            "User",
            r#"name.nickname eq "x""#.into(),
            Err(r#"no sub-attribute "nickname""#),
        ),
        (
            "User",
            r#"userName.first eq "x""#.into(),
            Err("has no sub-attributes"),
        ),
        (
            "User",
            "active gt true".into(),
            Err("active is a boolean, so gt"),
        ),
        ("User", r#"active co "tr""#.into(), Err("boolean")),
        (
            "User",
            "active eq 1".into(),
            Err("compare it with true or false"),
        ),
        (
            "User",
            r#"active eq "yes""#.into(),
            Err("compare it with true or false"),
        ),
        (
            "User",
            r#"x509Certificates.value gt "a""#.into(),
            Err("binary"),
        ),
        (
            "User",
            r#"level co "1""#.into(),
            Err("level is a number, so co"),
        ),
        ("User", r#"level eq "seven""#.into(), Err("an integer")),
        ("User", "hiredAt eq 5".into(), Err("dateTime")),
        (
            "User",
            r#"emails[foo eq "x"]"#.into(),
            Err(r#"emails has no sub-attribute "foo""#),
        ),
        (
            "User",
            r#"userName[value eq "x"]"#.into(),
            Err("single string value"),
        ),
        ("User", r#"name eq "x""#.into(), Err("name is complex")),
        (
            "User",
            "userName gt null".into(),
            Err("null can only be compared"),
        ),
        (
            "User",
            r#"urn:example:nope:User:foo eq "x""#.into(),
            Err("not a schema of resource type User"),
        ),
        (
            "Group",
            r#"userName eq "x""#.into(),
            Err("resource type Group"),
        ),
        ("User", r#"tags[foo eq "a"]"#.into(), Err("`value`")),
        ("User", r#"userName eq "x" or foo pr"#.into(), Err("foo")),
        ("User", "not (foo pr)".into(), Err("foo")),
        (
            "User",
            r#"emails[value pr] and name.x pr"#.into(),
            Err("no sub-attribute"),
        ),
    ];
    let mut failures: Vec<String> = cases
        .iter()
        .filter_map(|(rt, text, want)| match parse_filter(text) {
            Ok(f) => check_validate(rt, &f, *want),
            Err(e) => Some(format!("{text}: does not parse: {e}")),
        })
        .collect();

    // Shapes the parser may refuse by itself, built by hand.
    let eq = |name: &str| Filter::Compare {
        path: AttrPath::new(name),
        op: CompareOp::Eq,
        value: Literal::String("x".into()),
    };
    let vp = |path: AttrPath, inner: Filter| Filter::ValuePath {
        path,
        filter: Box::new(inner),
    };
    let hand: Vec<(Filter, Result<(), &str>)> = vec![
        (
            vp(
                AttrPath::new("emails"),
                vp(AttrPath::new("members"), eq("value")),
            ),
            Err("value paths cannot be nested"),
        ),
        (
            vp(
                AttrPath::new("emails"),
                Filter::Compare {
                    path: AttrPath::new("type").with_urn(urn::USER),
                    op: CompareOp::Eq,
                    value: Literal::String("work".into()),
                },
            ),
            Err("without a schema URN"),
        ),
        (
            vp(
                AttrPath::new("emails"),
                Filter::Present(AttrPath::new("type").with_sub("x")),
            ),
            Err("have no sub-attributes of their own"),
        ),
        (
            vp(AttrPath::new("emails").with_sub("value"), eq("type")),
            Err("put the brackets on the attribute"),
        ),
        (
            vp(AttrPath::new("manager").with_urn(ent), eq("value")),
            Ok(()),
        ),
    ];
    failures.extend(
        hand.iter()
            .filter_map(|(f, want)| check_validate("User", f, *want)),
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}
