//! Property tests of the filter parser: canonical printing round-trips every tree the parser
//! can produce, and no input, however broken, makes the parser panic.

use proptest::prelude::*;
use scim_core::filter::{CompareOp, Filter, Literal, parse_filter, parse_path};
use scim_core::path::AttrPath;

const OPS: [CompareOp; 9] = [
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

/// Attribute names, including ones that collide with keywords (the grammar is positional).
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName",
            "emails",
            "value",
            "type",
            "primary",
            "displayName",
            "$ref",
            "not",
            "and",
            "or",
            "pr",
            "eq",
            "true",
            "null",
            "NOT",
            "urn",
            "x-y_z",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z][a-zA-Z0-9_-]{0,10}",
    ]
}

fn urn() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "URN:IETF:params:scim:schemas:core:2.0:User",
        ])
        .prop_map(str::to_string),
        "[uU][rR][nN](:[a-zA-Z0-9.$_-]{1,8}){1,5}",
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (prop::option::of(urn()), name(), prop::option::of(name()))
        .prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<String>().prop_map(Literal::String),
        r#"[a-z"\\ é😀\n\t\u{0}\u{7f}\u{2028}()\[\]]{0,12}"#.prop_map(Literal::String),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Null),
        any::<i64>().prop_map(|n| Literal::Number(n.into())),
        any::<u64>().prop_map(|n| Literal::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| {
            serde_json::Number::from_f64(f).map(Literal::Number)
        }),
        (-1000i32..1000, -20i32..20).prop_filter_map("finite", |(m, e)| {
            serde_json::Number::from_f64(f64::from(m) * 10f64.powi(e)).map(Literal::Number)
        }),
    ]
}

fn leaf(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        path.clone().prop_map(Filter::Present),
        (path, prop::sample::select(OPS.to_vec()), literal())
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
    ]
}

/// Combines leaves with `and`, `or` and `not`.
fn logic(leaves: BoxedStrategy<Filter>, depth: u32) -> BoxedStrategy<Filter> {
    leaves
        .prop_recursive(depth, 48, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            ]
        })
        .boxed()
}

/// A value filter: relative names only, no nested value paths.
fn value_filter() -> BoxedStrategy<Filter> {
    let relative = name().prop_map(AttrPath::new).boxed();
    logic(leaf(relative).boxed(), 3)
}

fn value_path() -> impl Strategy<Value = Filter> {
    (prop::option::of(urn()), name(), value_filter()).prop_map(|(urn, name, filter)| {
        Filter::ValuePath {
            path: AttrPath {
                urn,
                name,
                sub: None,
            },
            filter: Box::new(filter),
        }
    })
}

fn filter() -> BoxedStrategy<Filter> {
    let leaves = prop_oneof![3 => leaf(attr_path().boxed()), 1 => value_path()].boxed();
    logic(leaves, 5)
}

/// Random edits of a valid filter's text: deletions, insertions of grammar-significant
/// bytes and duplicated slices.
fn mutated() -> impl Strategy<Value = String> {
    let edit = (
        any::<prop::sample::Index>(),
        0usize..4,
        prop::sample::select(vec![
            "(", ")", "[", "]", "\"", "\\", " ", ".", ":", "not ", " and ", " or ", "eq", "pr",
            "\\u", "\\ud800", "é", "1e9", "-",
        ]),
    );
    (filter(), prop::collection::vec(edit, 1..6)).prop_map(|(f, edits)| {
        let mut bytes = f.to_string().into_bytes();
        for (at, kind, text) in edits {
            let pos = if bytes.is_empty() {
                0
            } else {
                at.index(bytes.len() + 1)
            };
            match kind {
                0 => {
                    let end = (pos + 3).min(bytes.len());
                    bytes.drain(pos..end);
                }
                1 => {
                    let end = (pos + 5).min(bytes.len());
                    let copy = bytes[pos..end].to_vec();
                    bytes.splice(pos..pos, copy);
                }
                _ => {
                    bytes.splice(pos..pos, text.bytes());
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Parsing must not panic, and whatever parses must survive printing and re-parsing.
fn parses_consistently(text: &str) -> Result<(), TestCaseError> {
    if let Ok(ast) = parse_filter(text) {
        let printed = ast.to_string();
        prop_assert_eq!(parse_filter(&printed), Ok(ast), "printed: {}", printed);
    }
    if let Ok(path) = parse_path(text) {
        let printed = path.to_string();
        prop_assert_eq!(parse_path(&printed), Ok(path), "printed: {}", printed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn display_round_trips(ast in filter()) {
        let text = ast.to_string();
        prop_assert_eq!(parse_filter(&text), Ok(ast), "text: {}", text);
    }

    #[test]
    fn value_paths_round_trip_as_patch_paths(
        urn in prop::option::of(urn()),
        name in name(),
        inner in value_filter(),
        sub in prop::option::of(name()),
    ) {
        let path = scim_core::path::PatchPath {
            attr: AttrPath { urn, name, sub },
            filter: Some(inner),
        };
        let text = path.to_string();
        prop_assert_eq!(parse_path(&text), Ok(path), "text: {}", text);
    }

    #[test]
    fn plain_paths_round_trip_as_patch_paths(attr in attr_path()) {
        let path = scim_core::path::PatchPath { attr, filter: None };
        let text = path.to_string();
        prop_assert_eq!(parse_path(&text), Ok(path), "text: {}", text);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        parses_consistently(&text)?;
    }

    #[test]
    fn grammar_soup_never_panics(
        text in r#"([a-z]{1,3}|eq|pr|and|or|not|\(|\)|\[|\]|"|\\|\.|:|urn:x:|[ ]|-?[0-9.eE+]{1,4}|true|null){0,24}"#
    ) {
        parses_consistently(&text)?;
    }

    #[test]
    fn mutated_filters_never_panic(text in mutated()) {
        parses_consistently(&text)?;
    }
}

#[test]
fn generated_filters_are_deep_enough_to_matter() {
    // Guards the generators: a round-trip test over only flat filters would prove little.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut nested = 0;
    for _ in 0..200 {
        let ast = filter()
            .new_tree(&mut runner)
            .unwrap_or_else(|e| panic!("{e}"))
            .current();
        let text = ast.to_string();
        if text.contains('(') && text.contains('[') {
            nested += 1;
        }
    }
    assert!(
        nested > 10,
        "only {nested} of 200 generated filters mix parentheses and value paths"
    );
}
