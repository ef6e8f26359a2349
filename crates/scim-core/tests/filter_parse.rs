//! Data-driven tests of the filter and PATCH path parser: one line per case.
//!
//! Valid filters are rendered fully parenthesised (`(a and b)`, `not(a)`, `emails[...]`, URN
//! qualifiers in `<...>`), so each expectation pins precedence, associativity and how paths
//! were split. Every valid case is also checked to round-trip through the canonical `Display`.
#![expect(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test helpers report a failed case by panicking"
)]

#[path = "filter_parse/invalid.rs"]
mod invalid;
#[path = "filter_parse/paths.rs"]
mod paths;

use scim_core::Error;
use scim_core::filter::{
    Filter, Literal, MAX_DEPTH, MAX_FILTER_LEN, MAX_TERMS, parse_filter, parse_path,
};
use scim_core::path::{AttrPath, PatchPath};

fn path(p: &AttrPath) -> String {
    let mut out = String::new();
    if let Some(urn) = &p.urn {
        out.push_str(&format!("<{urn}>"));
    }
    out.push_str(&p.name);
    if let Some(sub) = &p.sub {
        out.push_str(&format!(".{sub}"));
    }
    out
}

fn render(f: &Filter) -> String {
    match f {
        Filter::Present(p) => format!("{} pr", path(p)),
        Filter::Compare { path: p, op, value } => {
            format!("{} {} {}", path(p), op.as_str(), literal(value))
        }
        Filter::ValuePath { path: p, filter } => format!("{}[{}]", path(p), render(filter)),
        Filter::Not(inner) => format!("not({})", render(inner)),
        Filter::And(a, b) => format!("({} and {})", render(a), render(b)),
        Filter::Or(a, b) => format!("({} or {})", render(a), render(b)),
    }
}

/// Strings are JSON-quoted; numbers get a `#` so `12` and `"12"` can't be confused.
fn literal(l: &Literal) -> String {
    match l {
        Literal::Number(n) => format!("#{n}"),
        other => other.to_string(),
    }
}

#[track_caller]
fn check(input: &str, expected: &str) {
    let ast = match parse_filter(input) {
        Ok(ast) => ast,
        Err(e) => panic!("{input:?} failed: {e}"),
    };
    assert_eq!(render(&ast), expected, "input: {input:?}");
    let canonical = ast.to_string();
    assert_eq!(
        parse_filter(&canonical).as_ref(),
        Ok(&ast),
        "canonical form {canonical:?}"
    );
}

#[track_caller]
fn check_canonical(input: &str, canonical: &str) {
    let ast = parse_filter(input).unwrap();
    assert_eq!(ast.to_string(), canonical, "input: {input:?}");
}

#[track_caller]
fn check_err(input: &str, offset: usize, fragment: &str) {
    match parse_filter(input) {
        Err(Error::InvalidFilter {
            detail,
            offset: got,
        }) => {
            assert_eq!(got, offset, "offset for {input:?} (detail: {detail})");
            assert!(
                detail.contains(fragment),
                "detail for {input:?} is {detail:?}, expected it to contain {fragment:?}"
            );
        }
        other => panic!("{input:?} should fail, got {other:?}"),
    }
}

fn render_path(p: &PatchPath) -> String {
    let parent = path(&p.attr.parent());
    let sub = p
        .attr
        .sub
        .as_ref()
        .map(|s| format!(".{s}"))
        .unwrap_or_default();
    match &p.filter {
        None => format!("{parent}{sub}"),
        Some(f) => format!("{parent}[{}]{sub}", render(f)),
    }
}

#[track_caller]
fn check_path(input: &str, expected: &str) {
    let parsed = match parse_path(input) {
        Ok(p) => p,
        Err(e) => panic!("{input:?} failed: {e}"),
    };
    assert_eq!(render_path(&parsed), expected, "input: {input:?}");
    let canonical = parsed.to_string();
    assert_eq!(
        parse_path(&canonical).as_ref(),
        Ok(&parsed),
        "canonical {canonical:?}"
    );
}

#[track_caller]
fn check_path_err(input: &str, fragment: &str) {
    match parse_path(input) {
        Err(Error::InvalidPath(detail)) => assert!(
            detail.contains(fragment),
            "detail for {input:?} is {detail:?}, expected it to contain {fragment:?}"
        ),
        other => panic!("{input:?} should fail, got {other:?}"),
    }
}

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[test]
fn rfc_7644_examples() {
    check(r#"userName eq "bjensen""#, r#"userName eq "bjensen""#);
    check(
        r#"name.familyName co "O'Malley""#,
        r#"name.familyName co "O'Malley""#,
    );
    check(r#"userName sw "J""#, r#"userName sw "J""#);
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        &format!(r#"<{CORE}>userName sw "J""#),
    );
    check("title pr", "title pr");
    check(
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    );
    check(
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
    );
    check(
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
    );
    check(
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
    );
    check(
        r#"title pr and userType eq "Employee""#,
        r#"(title pr and userType eq "Employee")"#,
    );
    check(
        r#"title pr or userType eq "Intern""#,
        r#"(title pr or userType eq "Intern")"#,
    );
    check(
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        &format!(r#"schemas eq "{ENT}""#),
    );
    check(
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"(userType eq "Employee" and (emails co "example.com" or emails.value co "example.org"))"#,
    );
    check(
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"(userType ne "Employee" and not((emails co "example.com" or emails.value co "example.org")))"#,
    );
    check(
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"(userType eq "Employee" and emails.type eq "work")"#,
    );
    check(
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"(userType eq "Employee" and emails[(type eq "work" and value co "@example.com")])"#,
    );
    check(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"(emails[(type eq "work" and value co "@example.com")] or ims[(type eq "xmpp" and value co "@foo.com")])"#,
    );
    // §3.4.2.2: attribute names and operators are case-insensitive.
    check(r#"userName Eq "john""#, r#"userName eq "john""#);
    // §3.4.3 (.search) and §3.4.2 examples.
    check(r#"displayName sw "smith""#, r#"displayName sw "smith""#);
    check(
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
    );
}

#[test]
fn client_filters() {
    // Okta (clients.md a.1 #3, #11).
    check(
        r#"userName eq "bjensen@example.com""#,
        r#"userName eq "bjensen@example.com""#,
    );
    check(
        r#"displayName eq "Engineering""#,
        r#"displayName eq "Engineering""#,
    );
    check(
        r#"userName eq "BJENSEN@EXAMPLE.COM""#,
        r#"userName eq "BJENSEN@EXAMPLE.COM""#,
    );
    // Entra (clients.md b): externalId, quoted and unquoted (E13).
    check(r#"externalId eq "jyoung""#, r#"externalId eq "jyoung""#);
    check("externalId eq jyoung", r#"externalId eq "jyoung""#);
    check(
        "externalId eq 0f5c9b1e-44b2-4a7f-9c8e-2b1f6d7c8a90",
        r#"externalId eq "0f5c9b1e-44b2-4a7f-9c8e-2b1f6d7c8a90""#,
    );
    check(r#"DisplayName eq "Group 1""#, r#"DisplayName eq "Group 1""#);
    // E14: uniqueness on email, desugared.
    check(
        r#"emails[type eq "work"].value eq "bjensen@example.com""#,
        r#"emails[(type eq "work" and value eq "bjensen@example.com")]"#,
    );
    // E15: legacy reference check.
    check(
        "id eq 5171a35d82074e068ce2 and manager eq 7e1a2b3c",
        r#"(id eq "5171a35d82074e068ce2" and manager eq "7e1a2b3c")"#,
    );
    check(
        r#"id eq "5171a35d" and manager eq "7e1a2b3c""#,
        r#"(id eq "5171a35d" and manager eq "7e1a2b3c")"#,
    );
    // E22: roles with a string "True".
    check(r#"roles[primary eq "True"]"#, r#"roles[primary eq "True"]"#);
    check(
        r#"addresses[primary eq true]"#,
        "addresses[primary eq true]",
    );
    check(
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    );
    check(
        r#"userName eq "x" and externalId eq "y""#,
        r#"(userName eq "x" and externalId eq "y")"#,
    );
    check(
        r#"emails[type eq "work"].value eq "a@b.c" and active eq true"#,
        r#"(emails[(type eq "work" and value eq "a@b.c")] and active eq true)"#,
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        &format!(r#"<{ENT}>employeeNumber eq "701984""#),
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        &format!(r#"<{ENT}>manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#),
    );
}

#[test]
fn every_operator_in_any_case() {
    for (written, op) in [
        ("eq", "eq"),
        ("EQ", "eq"),
        ("Eq", "eq"),
        ("ne", "ne"),
        ("NE", "ne"),
        ("co", "co"),
        ("cO", "co"),
        ("sw", "sw"),
        ("SW", "sw"),
        ("ew", "ew"),
        ("Ew", "ew"),
        ("gt", "gt"),
        ("GT", "gt"),
        ("ge", "ge"),
        ("gE", "ge"),
        ("lt", "lt"),
        ("Lt", "lt"),
        ("le", "le"),
        ("LE", "le"),
    ] {
        check(&format!(r#"a {written} "v""#), &format!(r#"a {op} "v""#));
    }
    check("title pr", "title pr");
    check("title PR", "title pr");
    check("title Pr", "title pr");
    check("a pr AND b pr", "(a pr and b pr)");
    check("a pr Or b pr", "(a pr or b pr)");
    check("NOT (a pr)", "not(a pr)");
    check("Not(a pr)", "not(a pr)");
    check("nOt  (  a pr  )", "not(a pr)");
}

#[test]
fn precedence_and_associativity() {
    check("a pr or b pr or c pr", "((a pr or b pr) or c pr)");
    check("a pr and b pr and c pr", "((a pr and b pr) and c pr)");
    check("a pr or b pr and c pr", "(a pr or (b pr and c pr))");
    check("a pr and b pr or c pr", "((a pr and b pr) or c pr)");
    check(
        "a pr and b pr or c pr and d pr",
        "((a pr and b pr) or (c pr and d pr))",
    );
    check(
        "a pr or b pr and c pr or d pr",
        "((a pr or (b pr and c pr)) or d pr)",
    );
    check("(a pr or b pr) and c pr", "((a pr or b pr) and c pr)");
    check("a pr and (b pr or c pr)", "(a pr and (b pr or c pr))");
    check("a pr or (b pr or c pr)", "(a pr or (b pr or c pr))");
    check("a pr and (b pr and c pr)", "(a pr and (b pr and c pr))");
    check("not (a pr) and b pr", "(not(a pr) and b pr)");
    check("not (a pr) or b pr", "(not(a pr) or b pr)");
    check("b pr and not (a pr)", "(b pr and not(a pr))");
    check(
        "not (a pr or b pr) and c pr",
        "(not((a pr or b pr)) and c pr)",
    );
    check("not (not (a pr))", "not(not(a pr))");
    check("not(not(not(a pr)))", "not(not(not(a pr)))");
    check("((a pr))", "a pr");
    check("(((a pr) and ((b pr))))", "(a pr and b pr)");
    check("((a pr or b pr)) or c pr", "((a pr or b pr) or c pr)");
    check(
        "a pr or ((b pr or c pr) and d pr)",
        "(a pr or ((b pr or c pr) and d pr))",
    );
    check(
        "a pr and b pr and c pr and d pr",
        "(((a pr and b pr) and c pr) and d pr)",
    );
    check(
        "a pr or b pr or c pr or d pr",
        "(((a pr or b pr) or c pr) or d pr)",
    );
    check(
        "not (a pr and b pr) or not (c pr or d pr)",
        "(not((a pr and b pr)) or not((c pr or d pr)))",
    );
}

#[test]
fn attribute_paths() {
    check("userName pr", "userName pr");
    check("name.givenName pr", "name.givenName pr");
    check("Name.GivenName pr", "Name.GivenName pr");
    check("x-custom_attr1 pr", "x-custom_attr1 pr");
    check("a1 pr", "a1 pr");
    check("$ref pr", "$ref pr");
    check(
        r#"members.$ref eq "https://x/Users/1""#,
        r#"members.$ref eq "https://x/Users/1""#,
    );
    check(r#"groups.value eq "g1""#, r#"groups.value eq "g1""#);
    check(
        "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName pr",
        &format!("<{CORE}>name.familyName pr"),
    );
    check(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr",
        &format!("<{ENT}>manager pr"),
    );
    check(
        "URN:IETF:params:scim:schemas:core:2.0:Group:displayName pr",
        "<URN:IETF:params:scim:schemas:core:2.0:Group>displayName pr",
    );
    check(
        r#"urn:example:acme:1.0:User:c42OrgName eq "Sales""#,
        r#"<urn:example:acme:1.0:User>c42OrgName eq "Sales""#,
    );
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#,
        &format!(r#"<{CORE}>emails[type eq "work"]"#),
    );
    // Keywords are only keywords where the grammar expects them.
    check(r#"and eq "x""#, r#"and eq "x""#);
    check("or pr", "or pr");
    check("pr pr", "pr pr");
    check(r#"eq eq "eq""#, r#"eq eq "eq""#);
    check(r#"not eq "x""#, r#"not eq "x""#);
    check("not pr", "not pr");
    check(r#"not[type eq "x"]"#, r#"not[type eq "x"]"#);
    check("true pr", "true pr");
}

#[test]
fn value_paths() {
    check(r#"emails[type eq "work"]"#, r#"emails[type eq "work"]"#);
    check("emails[value pr]", "emails[value pr]");
    check(
        r#"emails[type eq "work" or type eq "home"]"#,
        r#"emails[(type eq "work" or type eq "home")]"#,
    );
    check(
        r#"emails[not (type eq "work")]"#,
        r#"emails[not(type eq "work")]"#,
    );
    check(
        r#"emails[(type eq "work" or type eq "home") and primary eq true]"#,
        r#"emails[((type eq "work" or type eq "home") and primary eq true)]"#,
    );
    check(
        r#"emails[type eq "work" and not (value ew "@old.com")]"#,
        r#"emails[(type eq "work" and not(value ew "@old.com"))]"#,
    );
    check(r#"emails[ type eq "work" ]"#, r#"emails[type eq "work"]"#);
    check(
        r#"not (emails[type eq "work"])"#,
        r#"not(emails[type eq "work"])"#,
    );
    check(
        r#"emails[type eq "work"] and phoneNumbers[type eq "mobile"]"#,
        r#"(emails[type eq "work"] and phoneNumbers[type eq "mobile"])"#,
    );
    check(
        r#"(emails[type eq "work"] or emails[type eq "home"])"#,
        r#"(emails[type eq "work"] or emails[type eq "home"])"#,
    );
    check(r#"members[$ref pr]"#, "members[$ref pr]");
    check(
        r#"x509Certificates[value pr]"#,
        "x509Certificates[value pr]",
    );
    check(
        r#"addresses[type eq "work" and postalCode sw "9"]"#,
        r#"addresses[(type eq "work" and postalCode sw "9")]"#,
    );
    check(
        r#"emails[type eq "work" or type eq "home" and primary eq true]"#,
        r#"emails[(type eq "work" or (type eq "home" and primary eq true))]"#,
    );
}

#[test]
fn entra_sub_attribute_after_value_filter() {
    check(
        r#"emails[type eq "work"].value eq "x""#,
        r#"emails[(type eq "work" and value eq "x")]"#,
    );
    check(
        r#"emails[type eq "work"].value pr"#,
        r#"emails[(type eq "work" and value pr)]"#,
    );
    check(
        r#"emails[type eq "work"].value co "@example.com""#,
        r#"emails[(type eq "work" and value co "@example.com")]"#,
    );
    check(
        r#"roles[primary eq "True"].display ne "Admin""#,
        r#"roles[(primary eq "True" and display ne "Admin")]"#,
    );
    check(
        r#"emails[type eq "work" or type eq "home"].value sw "a""#,
        r#"emails[((type eq "work" or type eq "home") and value sw "a")]"#,
    );
    check(
        r#"phoneNumbers[type eq "mobile"].value EQ "+1 555""#,
        r#"phoneNumbers[(type eq "mobile" and value eq "+1 555")]"#,
    );
    check(
        r#"emails[type eq "work"].value eq "x" or userName eq "y""#,
        r#"(emails[(type eq "work" and value eq "x")] or userName eq "y")"#,
    );
    check(
        r#"userName eq "y" and emails[type eq "work"].value eq "x""#,
        r#"(userName eq "y" and emails[(type eq "work" and value eq "x")])"#,
    );
    check(
        r#"addresses[type eq "work"].postalCode gt 10000"#,
        r#"addresses[(type eq "work" and postalCode gt #10000)]"#,
    );
    check_canonical(
        r#"emails[type eq "work"].value eq "x""#,
        r#"emails[type eq "work" and value eq "x"]"#,
    );
}

#[test]
fn literals() {
    check(r#"a eq """#, r#"a eq """#);
    check(r#"a eq "with space""#, r#"a eq "with space""#);
    check(r#"a eq "q\"uote""#, r#"a eq "q\"uote""#);
    check(r#"a eq "back\\slash""#, r#"a eq "back\\slash""#);
    check(r#"a eq "sl\/ash""#, r#"a eq "sl/ash""#);
    check(r#"a eq "\b\f\n\r\t""#, r#"a eq "\b\f\n\r\t""#);
    check(r#"a eq "caf\u00e9""#, r#"a eq "café""#);
    check(r#"a eq "caf\u00E9""#, r#"a eq "café""#);
    check(r#"a eq "\ud83d\ude00""#, r#"a eq "😀""#);
    check(r#"a eq "😀 é ü""#, r#"a eq "😀 é ü""#);
    check(r#"a eq "\u0000""#, r#"a eq "\u0000""#);
    check(r#"a eq "(not) [a] and or""#, r#"a eq "(not) [a] and or""#);
    check(r#"a eq "O'Malley""#, r#"a eq "O'Malley""#);
    check("a eq true", "a eq true");
    check("a eq TRUE", "a eq true");
    check("a eq True", "a eq true");
    check("a eq false", "a eq false");
    check("a eq False", "a eq false");
    check("a eq null", "a eq null");
    check("a eq NULL", "a eq null");
    check(r#"a eq "true""#, r#"a eq "true""#);
    check(r#"a eq "null""#, r#"a eq "null""#);
    check("a eq 0", "a eq #0");
    check("a eq 42", "a eq #42");
    check("a eq -7", "a eq #-7");
    check("a eq -0", "a eq #0");
    check("a eq 3.14", "a eq #3.14");
    check("a eq -0.5", "a eq #-0.5");
    check("a eq 1e3", "a eq #1000.0");
    check("a eq 1E3", "a eq #1000.0");
    check("a eq 2.5e-3", "a eq #0.0025");
    check("a eq 1e+2", "a eq #100.0");
    check("a eq 9223372036854775807", "a eq #9223372036854775807");
    check("a eq -9223372036854775808", "a eq #-9223372036854775808");
    check("a eq 18446744073709551615", "a eq #18446744073709551615");
    check("a eq 18446744073709551616", "a eq #1.8446744073709552e+19");
    check(r#"a eq "42""#, r#"a eq "42""#);
    check("a gt 10 and a lt 20.5", "(a gt #10 and a lt #20.5)");
    // Bare words (Entra leniency) are strings when they are not keywords or numbers.
    check("a eq jyoung", r#"a eq "jyoung""#);
    check("a eq bjensen@example.com", r#"a eq "bjensen@example.com""#);
    check("a eq 01", r#"a eq "01""#);
    check("a eq +1", r#"a eq "+1""#);
    check("a eq 1.", r#"a eq "1.""#);
    check(
        "a eq 2011-05-13T04:42:34Z",
        r#"a eq "2011-05-13T04:42:34Z""#,
    );
    check("a eq truex", r#"a eq "truex""#);
    check("a eq café", r#"a eq "café""#);
    check("(a eq jyoung)", r#"a eq "jyoung""#);
    check(r#"a eq x and b eq y"#, r#"(a eq "x" and b eq "y")"#);
    check(r#"emails[value eq x]"#, r#"emails[value eq "x"]"#);
}

#[test]
fn whitespace() {
    check("  a pr  ", "a pr");
    check("a\tpr", "a pr");
    check("a\npr\nand\r\nb\tpr", "(a pr and b pr)");
    check(r#"a eq"x""#, r#"a eq "x""#);
    check(r#"(a eq "x")and(b eq "y")"#, r#"(a eq "x" and b eq "y")"#);
    check(r#"a eq "x"or b pr"#, r#"(a eq "x" or b pr)"#);
    check("not(a pr)", "not(a pr)");
    check("not  \t(a pr)", "not(a pr)");
    check(r#"emails [type eq "work"]"#, r#"emails[type eq "work"]"#);
    check(
        r#"emails[type eq "work"] .value pr"#,
        r#"emails[(type eq "work" and value pr)]"#,
    );
}

#[test]
fn canonical_display() {
    check_canonical(r#"userName EQ "x""#, r#"userName eq "x""#);
    check_canonical("a pr AND b pr OR c pr", "a pr and b pr or c pr");
    check_canonical("a pr and (b pr or c pr)", "a pr and (b pr or c pr)");
    check_canonical("a pr or (b pr or c pr)", "a pr or (b pr or c pr)");
    check_canonical("NOT(a pr)", "not (a pr)");
    check_canonical("a eq jyoung", r#"a eq "jyoung""#);
    check_canonical(r#"a eq "\u00e9\/""#, r#"a eq "é/""#);
    check_canonical("a eq TRUE", "a eq true");
}
