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

/// Evaluates a table of cases against `doc`, one per line: `true` or `false`, then the filter.
/// Lines starting with `#` are comments. Reports every failing line at once.
fn check(rt: &str, doc: &Value, table: &str) {
    let reg = registry();
    let ctx = EvalContext::new(&reg, reg.resource_type(rt).unwrap());
    let mut count = 0;
    let failures: Vec<String> = cases(table)
        .filter_map(|line| {
            count += 1;
            let (want, text) = line.split_once(' ').unwrap();
            let want: bool = want.parse().unwrap();
            let text = text.trim();
            let filter = match parse_filter(text) {
                Ok(f) => f,
                Err(e) => return Some(format!("{text}: does not parse: {e}")),
            };
            let got = matches(&filter, doc, &ctx);
            // The complement must always hold, whatever the case.
            let not = matches(&Filter::Not(Box::new(filter.clone())), doc, &ctx);
            if got != want {
                Some(format!("{text}: expected {want}, got {got}"))
            } else if not == got {
                Some(format!("not ({text}) is not the complement"))
            } else {
                None
            }
        })
        .collect();
    assert!(count > 0, "empty table");
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

/// The non-empty, non-comment lines of a case table.
fn cases(table: &str) -> impl Iterator<Item = &str> {
    table
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
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
fn okta_user_cases() {
    check(
        "User",
        &okta_user(),
        r#"
        # caseExact=false: Entra expects a different-case userName to match.
        true  userName eq "barbara.jensen@example.com"
        true  userName eq "BARBARA.JENSEN@EXAMPLE.COM"
        false userName eq "bjensen"
        true  userName ne "bjensen"
        false userName ne "Barbara.Jensen@Example.com"
        true  userName co "JENSEN@"
        false userName co "jensen@example.org"
        true  userName sw "barbara."
        false userName sw "jensen"
        true  userName ew "@EXAMPLE.COM"
        false userName ew "@example.org"
        true  userName gt "a"
        false userName gt "BARBARA.JENSEN@EXAMPLE.COM"
        true  userName ge "BARBARA.JENSEN@EXAMPLE.COM"
        true  userName lt "c"
        false userName le "barbara"
        true  displayName co "bs je"
        true  title co ""
        # caseExact=true: id, externalId, meta.resourceType.
        true  id eq "2819c223-7f76-453a-919d-413861904646"
        false id eq "2819C223-7F76-453A-919D-413861904646"
        true  externalId eq "00u1abcdEFGH"
        false externalId eq "00u1ABCDefgh"
        true  externalId sw "00u1"
        false externalId co "abcdefgh"
        true  externalId gt "00u1abcdEFGG"
        true  externalId lt "00u1abcdefgh"
        false meta.resourceType eq "user"
        true  meta.resourceType eq "User"
        # References and binary values are case-exact whatever the definition says.
        false profileUrl eq "HTTPS://login.example.com/bjensen"
        true  profileUrl sw "https://login.example.com/"
        true  meta.location ew "/Users/2819c223-7f76-453a-919d-413861904646"
        true  x509Certificates.value sw "MIIDQz"
        false x509Certificates.value sw "miidqz"
        # Booleans, including the strings Entra sends.
        true  active eq true
        false active eq false
        true  active ne false
        true  active eq "True"
        true  active eq "TRUE"
        true  active ne "false"
        false active eq "yes"
        true  emails[primary eq true]
        # Instants, across time zones and precisions.
        true  meta.lastModified eq "2011-05-13T04:42:34Z"
        true  meta.lastModified eq "2011-05-13T06:42:34+02:00"
        true  meta.lastModified eq "2011-05-13T04:42:34.000Z"
        true  meta.lastModified ne "2011-05-13T04:42:35Z"
        true  meta.lastModified gt "2011-05-13T05:00:00+02:00"
        true  meta.lastModified lt "2011-05-13T04:42:35Z"
        true  meta.lastModified ge "2011-05-13T06:42:34+02:00"
        true  meta.lastModified le "2011-05-12T23:59:59-05:00"
        false meta.created lt "2010-01-23T04:56:22Z"
        true  meta.created le "2010-01-23T04:56:22Z"
        # Text comparison for substring operators and unparsable literals.
        true  meta.lastModified sw "2011-05"
        true  meta.lastModified co "T04:42"
        true  meta.created gt "2009"
        # A complex multi-valued attribute compared as a whole compares `value`, any match.
        # Multi-valued attributes: any element matches.
        true  emails co "example.com"
        true  emails eq "BABS@jensen.org"
        false emails eq "work"
        true  emails.value eq "babs@jensen.org"
        true  emails.type eq "work"
        false emails.type eq "other"
        # `ne` is exactly `not eq`: no element may equal.
        false emails.value ne "babs@jensen.org"
        true  emails.value ne "nobody@example.com"
        true  EMAILS.VALUE eq "bjensen@example.com"
        true  Emails[TYPE eq "work"]
        # Value paths hold per element, not across elements.
        true  emails[type eq "work" and value co "@example.com"]
        false emails[type eq "home" and value co "@example.com"]
        true  emails[type eq "home" or primary eq true]
        true  emails[not (type eq "work")]
        false emails[not (type eq "work") and primary eq true]
        true  emails[type eq "work"].value eq "bjensen@example.com"
        false emails[type eq "work"].value eq "babs@jensen.org"
        true  emails[(type eq "work" or type eq "home") and not (value ew ".com")]
        false emails[display pr]
        false phoneNumbers[type eq "work"]
        # Singular complex attributes.
        true  name[givenName eq "barbara"]
        false name[givenName eq "barbara" and familyName eq "smith"]
        true  name.familyName eq "JENSEN"
        false name.familyName pr and name.middleName pr
        # pr: empty strings, arrays and absent attributes are not present.
        true  title pr
        false nickName pr
        false phoneNumbers pr
        true  emails pr
        false emails.display pr
        true  emails.primary pr
        false addresses pr
        true  name pr
        true  meta pr
        false addresses.locality eq "Redmond"
        # An absent attribute is not equal to anything; eq null means unassigned.
        true  timezone ne "Europe/Berlin"
        true  timezone eq null
        false timezone ne null
        false title eq null
        true  title ne null
        true  nickName eq null
        true  phoneNumbers eq null
        false title gt null
        # Unknown attributes match nothing, whatever the operator.
        false foo eq "bar"
        false foo ne "bar"
        false foo pr
        true  not (foo eq "bar")
        false name.nope eq "x"
        # Logic.
        true  active eq true and (title sw "tour" or title eq "CEO")
        false active eq true and title eq "CEO"
        true  not (userName eq "bjensen")
        true  userName eq "x" or displayName eq "babs jensen"
        false userName eq "x" or displayName eq "y"
        # URN-qualified and case-insensitive names.
        true  urn:ietf:params:scim:schemas:core:2.0:User:userName eq "barbara.jensen@example.com"
        true  URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.givenName eq "Barbara"
        false urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr
        "#,
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
    check(
        "User",
        &entra_user(),
        r#"
        true  userName eq "alexw@CONTOSO.onmicrosoft.com"
        true  externalId eq "5b9a3d7e-0c1f-4b4a-9a3e-1c2d3e4f5a6b"
        true  active eq true
        false active eq "false"
        true  roles[primary eq "True"]
        true  roles[primary eq "True"].value eq "Admin"
        false roles[primary eq "true" and value eq "Reader"]
        true  roles[primary eq false].value eq "reader"
        true  roles[type eq "WindowsAzureActiveDirectoryRole"]
        true  emails[type eq "work"].value eq "alexw@contoso.com"
        true  addresses[type eq "work" and country eq "us"]
        false addresses[type eq "home"]
        true  urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"
        true  employeeNumber eq "701984"
        true  employeeNumber eq 701984
        true  urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"
        true  urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"
        true  urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "26118915-6090-4610-87e4-49d8ca9f808d"]
        true  manager[displayName sw "john"]
        false manager[displayName sw "jane"]
        true  department eq "sales"
        true  Urn:Ietf:Params:Scim:Schemas:Extension:Enterprise:2.0:User:DEPARTMENT eq "Sales"
        false costCenter pr
        # Entra's legacy reference check (clients.md E15).
        true  id eq "e1" and manager eq "26118915-6090-4610-87e4-49d8ca9f808d"
        true  meta.created eq "2024-03-01T09:00:00Z"
        true  meta.lastModified gt "2024-03-01T13:00:00+01:00"
        false meta.lastModified lt "2024-03-01T13:00:00+01:00"
        "#,
    );
}

#[test]
fn custom_extension_types() {
    check(
        "User",
        &entra_user(),
        r#"
        true  level eq 7
        true  level eq "7"
        true  level gt 6
        true  level ge 7.0
        false level lt 7
        true  level le 7
        true  level ne 8
        false level ne 7
        true  score eq 12.5
        true  score gt 12
        true  score lt 1e2
        true  score eq "12.50"
        false score le 12.4
        true  hiredAt eq "2020-02-29T08:00:00Z"
        false hiredAt gt "2020-02-29T08:30:00+00:00"
        true  hiredAt lt "2020-02-29T09:30:00+01:00"
        true  contractor eq false
        true  contractor eq "False"
        true  contractor ne true
        true  contractor pr
        true  tags eq "emea"
        true  tags[value sw "V"]
        false tags[value eq "apac"]
        false costCode eq "ab-1"
        true  costCode eq "AB-1"
        true  badge eq "QUJD"
        false badge eq "qujd"
        true  urn:example:params:scim:schemas:extension:acme:2.0:User:level ge 7
        false urn:example:params:scim:schemas:extension:acme:2.0:User:LEVEL gt 7
        "#,
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
        r#"
        true  userName eq "kim"
        true  emails.value eq "kim@example.com"
        true  emails[type eq "work"]
        true  manager eq "m-1"
        true  manager.value eq "m-1"
        true  manager[value eq "m-1"]
        true  manager pr
        true  level gt 6
        true  contractor eq true
        true  score lt 3
        "#,
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
        r#"
        true  displayName eq "engineering"
        true  DisplayName eq "ENGINEERING"
        true  members[value eq "e1"]
        true  members.value eq "e1"
        true  members eq "e1"
        false members eq "e2"
        true  members[type eq "User" and display co "babs"]
        false members[value eq "e1" and display pr]
        true  members.$ref sw "https://example.com/v2/Users/"
        true  members pr
        false externalId eq "grp-eng"
        false userName eq "x"
        true  members[value eq "e1"] and displayName sw "Eng"
        "#,
    );
    let empty = json!({"id": "g2", "displayName": "Empty", "members": []});
    check(
        "Group",
        &empty,
        r#"
        false members pr
        true  not (members pr)
        false members[value eq "e1"]
        true  members.value ne "e1"
        true  members eq null
        "#,
    );
}

#[test]
fn unicode_case_folding() {
    let doc = json!({"userName": "Jürgen.Straße@example.de", "displayName": "ΟΔΥΣΣΕΥΣ"});
    check(
        "User",
        &doc,
        r#"
        true  userName eq "JÜRGEN.STRASSE@EXAMPLE.DE"
        true  userName sw "jürgen"
        true  userName co "STRASSE"
        true  userName ew "ße@EXAMPLE.de"
        true  displayName eq "οδυσσευς"
        false displayName eq "οδυσσευ"
        "#,
    );
}

#[test]
fn element_matching_for_patch() {
    let reg = registry();
    let attr = |name: &str| {
        let schema = if name == "tags" { ACME } else { urn::USER };
        reg.schema(schema).unwrap().attribute(name).unwrap()
    };
    // Each line: expected | attribute | one element | filter relative to the element.
    let table = r#"
        true  | emails | {"type": "work", "value": "a@x"}  | type eq "work"
        true  | emails | {"Type": "Work"}                  | TYPE eq "WORK"
        false | emails | {"type": "work", "value": "a@y"}  | type eq "work" and value co "@x"
        true  | roles  | {"primary": true}                 | primary eq "True"
        false | roles  | {"primary": false}                | primary eq "True"
        true  | roles  | {"value": "r"}                    | not (primary eq true)
        false | roles  | {"display": ""}                   | display pr
        true  | tags   | "vip"                             | value eq "VIP"
        false | emails | {"nope": "x"}                     | nope eq "x"
    "#;
    for line in cases(table) {
        let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let [want, name, element, text] = cols[..] else {
            panic!("bad line {line}")
        };
        let element: Value = serde_json::from_str(element).unwrap();
        let filter = parse_filter(text).unwrap();
        assert_eq!(
            matches_element(&filter, &element, attr(name)),
            want == "true",
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
    // Each line: resource type, filter, `=>`, then `ok` or a text the error detail contains.
    let table = r#"
        User  userName eq "x"                                         => ok
        User  EMAILS.VALUE co "x"                                     => ok
        User  emails[type eq "work" and value co "@x"]                => ok
        User  emails[type eq "work"].value eq "x"                     => ok
        User  emails eq "x"                                           => ok
        User  meta.lastModified gt "2011-05-13T04:42:34Z"             => ok
        User  active eq "True"                                        => ok
        User  roles[primary eq "True"]                                => ok
        User  urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x" => ok
        User  manager eq "x"                                          => ok
        User  level gt 5                                              => ok
        User  level eq "5"                                            => ok
        User  name pr                                                 => ok
        User  tags[value eq "a"]                                      => ok
        User  title eq null                                           => ok
        User  not (userName pr)                                       => ok
        User  x509Certificates.value eq "abc"                         => ok
        User  name[givenName sw "a"]                                  => ok
        Group members[value eq "x"]                                   => ok
        Group displayName eq "Eng" and members pr                     => ok
        User  foo eq "x"               => attribute foo is not defined for resource type User
        User  name.nickname eq "x"     => name has no sub-attribute "nickname"; use one of: formatted,
        User  userName.first eq "x"    => userName is a string and has no sub-attributes
        User  active gt true           => active is a boolean, so gt cannot be applied
        User  active co "tr"           => active is a boolean, so co cannot be applied
        User  active eq 1              => compare it with true or false, not 1
        User  active eq "yes"          => compare it with true or false, not "yes"
        User  x509Certificates.value gt "a" => holds binary data, so gt cannot be applied
        User  level co "1"             => level is a number, so co cannot be applied
        User  level eq "seven"         => level is an integer number; compare it with a number
        User  hiredAt eq 5             => hiredAt is a dateTime; compare it with a quoted timestamp
        User  emails[foo eq "x"]       => emails has no sub-attribute "foo"; inside emails[...] use one of: value,
        User  userName[value eq "x"]   => userName is a single string value
        User  name eq "x"              => name is complex and has no `value` to compare
        User  userName gt null         => null can only be compared with eq or ne
        User  urn:example:nope:User:foo eq "x" => urn:example:nope:User is not a schema of resource type User
        Group userName eq "x"          => attribute userName is not defined for resource type Group
        User  tags[foo eq "a"]         => refer to each of its values as `value`
        User  userName eq "x" or foo pr => attribute foo is not defined
        User  not (foo pr)             => attribute foo is not defined
        User  emails[value pr] and name.x pr => name has no sub-attribute "x"
    "#;
    let mut failures: Vec<String> = cases(table)
        .filter_map(|line| {
            let (rt, rest) = line.split_once(' ').unwrap();
            let (text, want) = rest.rsplit_once(" => ").unwrap();
            let text = text.trim();
            let want = if want == "ok" { Ok(()) } else { Err(want) };
            match parse_filter(text) {
                Ok(f) => check_validate(rt, &f, want),
                Err(e) => Some(format!("{text}: does not parse: {e}")),
            }
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
            vp(
                AttrPath::new("manager").with_urn(urn::ENTERPRISE_USER),
                eq("value"),
            ),
            Ok(()),
        ),
    ];
    failures.extend(
        hand.iter()
            .filter_map(|(f, want)| check_validate("User", f, *want)),
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}
