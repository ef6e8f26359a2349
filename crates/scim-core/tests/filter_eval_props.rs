//! Property tests of the filter evaluator: random user documents over a fixed attribute set and
//! random filters whose literals are drawn from the same value pools, so that matches happen.
#![expect(
    clippy::unwrap_used,
    reason = "test fixtures and generators fail loudly"
)]

use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use scim_core::filter::eval::{EvalContext, matches, validate};
use scim_core::filter::{CompareOp, Filter, Literal, parse_filter};
use scim_core::path::AttrPath;
use scim_core::schema::{AttrType, AttributeDef, Schema, SchemaRegistry, urn};
use serde_json::{Map, Value, json};

const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

static REGISTRY: LazyLock<SchemaRegistry> = LazyLock::new(|| {
    let mut reg = SchemaRegistry::standard();
    let acme = Schema {
        id: ACME.to_string(),
        name: "Acme".to_string(),
        description: String::new(),
        attributes: vec![AttributeDef::new("level", AttrType::Integer)],
    };
    reg.register_extension(acme, "User", false).unwrap();
    reg
});

fn ctx() -> EvalContext<'static> {
    EvalContext::new(&REGISTRY, REGISTRY.resource_type("User").unwrap())
}

/// Strings stored in documents and used as literals; Unicode entries exercise case folding
/// (`straße`/`STRASSE`, final sigma, titlecase digraphs).
const STRINGS: &[&str] = &[
    "alice",
    "Alice",
    "BOB",
    "carol.d@example.com",
    "Änne",
    "STRASSE",
    "straße",
    "ΟΔΥΣΣΕΥΣ",
    "ǅemal",
    "",
];
/// Fragments for substring operators.
const FRAGMENTS: &[&str] = &["al", "ICE", "@example", "ss", "σ", "e"];
const TYPES: &[&str] = &["work", "home", "other"];
/// Equal instants in different zones, and one unparsable value.
const DATES: &[&str] = &[
    "2011-05-13T04:42:34Z",
    "2011-05-13T06:42:34+02:00",
    "2012-01-01T00:00:00Z",
    "2011-12-31T19:00:00-05:00",
    "not-a-date",
];

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(pool)
}

/// A string literal from the pools, in its own case, upper case or lower case.
fn text_literal() -> impl Strategy<Value = String> {
    (
        prop_oneof![3 => pick(STRINGS), 1 => pick(FRAGMENTS), 1 => pick(TYPES)],
        0..3u8,
    )
        .prop_map(|(s, case)| match case {
            0 => s.to_string(),
            1 => s.to_uppercase(),
            _ => s.to_lowercase(),
        })
}

/// A boolean as stored or sent: JSON or Entra's strings.
fn bool_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(&["True", "False", "TRUE", "false"][..]).prop_map(|s| json!(s)),
    ]
}

fn email() -> impl Strategy<Value = Value> {
    (
        prop::option::of(pick(TYPES)),
        pick(STRINGS),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(ty, value, primary)| {
            let mut e = Map::new();
            e.insert("value".into(), json!(value));
            if let Some(t) = ty {
                e.insert("type".into(), json!(t));
            }
            if let Some(p) = primary {
                e.insert("primary".into(), json!(p));
            }
            Value::Object(e)
        })
}

/// A user document over userName, displayName, active, title, name.givenName, emails,
/// meta.lastModified and the extension integer `level`.
fn user() -> impl Strategy<Value = Value> {
    (
        pick(STRINGS),
        prop::option::of(pick(STRINGS)),
        prop::option::of(bool_value()),
        prop::option::of(pick(STRINGS)),
        prop::option::of(pick(STRINGS)),
        prop::collection::vec(email(), 0..3),
        prop::option::of(pick(DATES)),
        prop::option::of(prop_oneof![
            (0..4i64).prop_map(|n| json!(n)),
            (0..4i64).prop_map(|n| json!(n.to_string())),
        ]),
    )
        .prop_map(
            |(user_name, display, active, title, given, emails, modified, level)| {
                let mut doc = Map::new();
                doc.insert("schemas".into(), json!([urn::USER]));
                doc.insert("id".into(), json!("u1"));
                doc.insert("userName".into(), json!(user_name));
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        doc.insert(k.into(), v);
                    }
                };
                put("displayName", display.map(|s| json!(s)));
                put("active", active);
                put("title", title.map(|s| json!(s)));
                put("name", given.map(|g| json!({"givenName": g})));
                put("emails", Some(Value::Array(emails)));
                put("meta", modified.map(|m| json!({"lastModified": m})));
                put(ACME, level.map(|l| json!({ "level": l })));
                Value::Object(doc)
            },
        )
}

const STRING_PATHS: &[&str] = &[
    "userName",
    "displayName",
    "title",
    "name.givenName",
    "emails",
    "emails.value",
    "emails.type",
    "EMAILS.VALUE",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
];
const ALL_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Co,
    CompareOp::Sw,
    CompareOp::Ew,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
];
const ORDER_OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
];

fn path(text: &str) -> AttrPath {
    AttrPath::parse(text).unwrap()
}

fn cmp(p: &str, op: CompareOp, value: Literal) -> Filter {
    Filter::Compare {
        path: path(p),
        op,
        value,
    }
}

fn bool_literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<bool>().prop_map(Literal::Bool),
        prop::sample::select(&["True", "false", "FALSE"][..])
            .prop_map(|s| Literal::String(s.to_string())),
    ]
}

fn string_compare(paths: &'static [&'static str]) -> impl Strategy<Value = Filter> {
    (
        pick(paths),
        prop::sample::select(ALL_OPS),
        prop_oneof![9 => text_literal().prop_map(Literal::String), 1 => Just(Literal::Null)],
    )
        .prop_map(|(p, op, lit)| {
            // null only goes with eq/ne (validate refuses the rest).
            let op = if lit == Literal::Null && op != CompareOp::Ne {
                CompareOp::Eq
            } else {
                op
            };
            cmp(p, op, lit)
        })
}

/// One comparison on a document-level attribute, with a literal fit for its type.
fn compare() -> impl Strategy<Value = Filter> {
    prop_oneof![
        4 => string_compare(STRING_PATHS),
        1 => (
            pick(&["active", "emails.primary"]),
            prop::sample::select(&[CompareOp::Eq, CompareOp::Ne][..]),
            bool_literal()
        )
            .prop_map(|(p, op, lit)| cmp(p, op, lit)),
        1 => (
            prop::sample::select(ALL_OPS),
            pick(DATES)
        )
            .prop_map(|(op, d)| cmp("meta.lastModified", op, Literal::String(d.into()))),
        1 => (
            pick(&["level", "urn:example:params:scim:schemas:extension:acme:2.0:User:LEVEL"]),
            prop::sample::select(ORDER_OPS),
            prop_oneof![
                (0..4i64).prop_map(|n| Literal::Number(n.into())),
                (0..4i64).prop_map(|n| Literal::String(n.to_string())),
            ]
        )
            .prop_map(|(p, op, lit)| cmp(p, op, lit)),
    ]
}

/// A filter inside `emails[...]`.
fn element_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        string_compare(&["type", "value"]),
        (
            prop::sample::select(&[CompareOp::Eq, CompareOp::Ne][..]),
            bool_literal()
        )
            .prop_map(|(op, lit)| cmp("primary", op, lit)),
        pick(&["type", "value", "primary"]).prop_map(|p| Filter::Present(path(p))),
    ];
    leaf.prop_recursive(2, 6, 2, combine)
}

fn combine(inner: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
        (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
        (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
    ]
}

fn leaf_filter() -> impl Strategy<Value = Filter> {
    prop_oneof![
        4 => compare(),
        1 => pick(&["title", "displayName", "emails", "emails.type", "name", "active", "meta.lastModified", "level"])
            .prop_map(|p| Filter::Present(path(p))),
        2 => element_filter().prop_map(|f| Filter::ValuePath {
            path: path("emails"),
            filter: Box::new(f),
        }),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf_filter().prop_recursive(3, 12, 2, combine)
}

fn not(f: &Filter) -> Filter {
    Filter::Not(Box::new(f.clone()))
}
fn and(a: &Filter, b: &Filter) -> Filter {
    Filter::And(Box::new(a.clone()), Box::new(b.clone()))
}
fn or(a: &Filter, b: &Filter) -> Filter {
    Filter::Or(Box::new(a.clone()), Box::new(b.clone()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn boolean_algebra_holds(doc in user(), a in filter(), b in filter()) {
        let ctx = ctx();
        let m = |f: &Filter| matches(f, &doc, &ctx);
        // (a) complement
        prop_assert_eq!(m(&not(&a)), !m(&a));
        // (b) conjunction implies both
        if m(&and(&a, &b)) {
            prop_assert!(m(&a) && m(&b));
        }
        // (c) disjunction is implied by either
        if m(&a) {
            prop_assert!(m(&or(&a, &b)) && m(&or(&b, &a)));
        }
        // (d) De Morgan, both ways
        prop_assert_eq!(m(&not(&and(&a, &b))), m(&or(&not(&a), &not(&b))));
        prop_assert_eq!(m(&not(&or(&a, &b))), m(&and(&not(&a), &not(&b))));
    }

    #[test]
    fn case_insensitive_strings_ignore_literal_case(
        doc in user(),
        p in pick(STRING_PATHS),
        op in prop::sample::select(ALL_OPS),
        v in text_literal(),
    ) {
        // (e) for caseExact=false strings, the literal's case never matters.
        let ctx = ctx();
        let lower = cmp(p, op, Literal::String(v.clone()));
        let upper = cmp(p, op, Literal::String(v.to_uppercase()));
        prop_assert_eq!(matches(&lower, &doc, &ctx), matches(&upper, &doc, &ctx));
    }

    #[test]
    fn ne_is_not_eq_and_null_is_absence(doc in user(), f in compare()) {
        let ctx = ctx();
        let Filter::Compare { path, op: _, value } = &f else { return Ok(()) };
        let with = |op| Filter::Compare { path: path.clone(), op, value: value.clone() };
        prop_assert_eq!(
            matches(&with(CompareOp::Ne), &doc, &ctx),
            !matches(&with(CompareOp::Eq), &doc, &ctx)
        );
        let null = |op| Filter::Compare { path: path.clone(), op, value: Literal::Null };
        let present = matches(&Filter::Present(path.clone()), &doc, &ctx);
        prop_assert_eq!(matches(&null(CompareOp::Eq), &doc, &ctx), !present);
        prop_assert_eq!(matches(&null(CompareOp::Ne), &doc, &ctx), present);
    }

    #[test]
    fn generated_filters_validate_and_survive_printing(doc in user(), f in filter()) {
        let ctx = ctx();
        prop_assert!(validate(&f, &ctx).is_ok(), "{} refused: {:?}", f, validate(&f, &ctx));
        let reparsed = parse_filter(&f.to_string()).unwrap();
        prop_assert_eq!(matches(&reparsed, &doc, &ctx), matches(&f, &doc, &ctx));
    }
}

/// Draws `n` samples from a strategy with a fixed seed.
fn samples<S: Strategy>(s: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| s.new_tree(&mut runner).unwrap().current())
        .collect()
}

#[test]
fn generated_cases_are_not_vacuous() {
    let ctx = ctx();
    let rate = |cases: &[(Value, Filter)]| {
        let hits = cases.iter().filter(|(d, f)| matches(f, d, &ctx)).count();
        hits as f64 / cases.len() as f64
    };
    let whole = samples((user(), filter()), 2000);
    let leaves = samples((user(), compare()), 2000);
    let paths = samples(
        (
            user(),
            element_filter().prop_map(|f| Filter::ValuePath {
                path: path("emails"),
                filter: Box::new(f),
            }),
        ),
        2000,
    );
    let eqs: Vec<(Value, Filter)> = samples((user(), string_compare(STRING_PATHS)), 4000)
        .into_iter()
        .filter(|(_, f)| {
            matches!(
                f,
                Filter::Compare {
                    op: CompareOp::Eq,
                    value: Literal::String(_),
                    ..
                }
            )
        })
        .collect();
    for (what, cases) in [
        ("whole filters", &whole),
        ("comparisons", &leaves),
        ("value paths", &paths),
        ("string eq", &eqs),
    ] {
        let r = rate(cases);
        assert!(
            (0.05..=0.95).contains(&r),
            "{what}: {:.1}% of {} generated cases match; the generators no longer exercise both outcomes",
            r * 100.0,
            cases.len()
        );
    }
}
