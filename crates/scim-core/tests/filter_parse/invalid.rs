//! Invalid filters (with the offset and detail each must report) and the parser's limits.

use super::*;

#[test]
fn invalid_filters() {
    check_err("", 0, "expected an attribute expression");
    check_err("   ", 3, "found the end of the input");
    check_err(
        "userName",
        8,
        "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after attribute path \"userName\"",
    );
    check_err(r#"userName xx "a""#, 9, "expected an operator");
    check_err(r#"userName "a""#, 9, "expected an operator");
    check_err("userName eq", 11, "expected a value");
    check_err("userName eq )", 12, "expected a value");
    check_err("userName eq and b pr", 12, "found the keyword \"and\"");
    check_err("userName eq pr", 12, "quote it");
    check_err(
        r#"userName eq "abc"#,
        12,
        "unterminated string starting at byte 12",
    );
    check_err(r#"a eq "x\q""#, 7, "invalid escape");
    check_err(r#"a eq "\u12g4""#, 6, "four hex digits");
    check_err(r#"a eq "\ud83d""#, 6, "low surrogate");
    check_err(r#"a eq "\ude00""#, 6, "without a high surrogate");
    check_err("a eq 1e400", 5, "out of range");
    check_err(
        "(a pr",
        5,
        "unbalanced parenthesis: the '(' at byte 0 is never closed",
    );
    check_err("a pr)", 4, "unbalanced parenthesis");
    check_err("((a pr)", 7, "never closed");
    check_err("(a pr))", 6, "has no matching '('");
    check_err("()", 1, "expected an attribute expression");
    check_err("(a pr b pr)", 6, "expected 'and', 'or' or ')'");
    check_err("a pr b pr", 5, "unexpected trailing input");
    check_err(r#"a eq "x" "y""#, 9, "unexpected trailing input");
    check_err("a pr and", 8, "expected an attribute expression");
    check_err("a pr or", 7, "expected an attribute expression");
    check_err("and a pr", 0, "before the keyword \"and\"");
    check_err("a pr and or b pr", 9, "before the keyword \"or\"");
    check_err(
        "not a pr",
        0,
        "'not' must be followed by a parenthesised filter",
    );
    check_err("not", 0, "'not' must be followed");
    check_err("not ()", 5, "expected an attribute expression");
    check_err(
        r#"emails[type eq "work""#,
        21,
        "the '[' at byte 6 is never closed",
    );
    check_err(r#"emails[type eq "work"))"#, 21, "unbalanced parenthesis");
    check_err(r#"emails type eq "work"]"#, 7, "expected an operator");
    check_err(r#"a pr]"#, 4, "unbalanced bracket");
    check_err(r#"emails[]"#, 7, "expected an attribute expression");
    check_err(r#"emails[type[value eq "x"]]"#, 11, "can't be nested");
    check_err(
        r#"emails[type eq "w"][value pr]"#,
        19,
        "unexpected trailing input",
    );
    check_err(r#"emails[type eq "w"].value"#, 25, "expected an operator");
    check_err(
        r#"emails[type eq "w"].value[x pr]"#,
        25,
        "expected an operator",
    );
    check_err(
        r#"emails[type eq "w"].1x pr"#,
        20,
        "is not a sub-attribute name",
    );
    check_err(
        r#"emails[type eq "w"]. pr"#,
        20,
        "is not a sub-attribute name",
    );
    check_err(
        r#"name.givenName[value pr]"#,
        14,
        "write \"name[...].givenName\"",
    );
    check_err(
        r#"emails[name.givenName pr]"#,
        7,
        "name a sub-attribute directly",
    );
    check_err(
        r#"emails[urn:x:y:type pr]"#,
        7,
        "name a sub-attribute directly",
    );
    check_err("1abc pr", 0, "is not an attribute name");
    check_err("-a pr", 0, "is not an attribute name");
    check_err(".a pr", 0, "is not an attribute name");
    check_err("a..b pr", 2, "is not a sub-attribute name");
    check_err("a.b.c pr", 2, "is not a sub-attribute name");
    check_err("a.b! pr", 2, "is not a sub-attribute name");
    check_err("na:me pr", 0, "is not an attribute name");
    check_err("urn:x:y: pr", 8, "is not an attribute name");
    check_err("urn:x:y:1a pr", 8, "is not an attribute name");
    check_err("$REF pr", 0, "is not an attribute name");
    check_err("é pr", 0, "is not an attribute name");
    check_err(r#""userName" eq "x""#, 0, "found the string \"userName\"");
    check_err("a eq (b)", 5, "expected a value");
    check_err("a eq [b]", 5, "expected a value");
    check_err("a pr and ]", 9, "expected an attribute expression");
}

#[test]
fn limits() {
    // A 10 000-term `or` chain: too long in bytes.
    let huge = vec!["a pr"; 10_000].join(" or ");
    check_err(&huge, MAX_FILTER_LEN, "MAX_FILTER_LEN");
    // MAX_TERMS terms parse; one more is refused by count, not by length.
    let at_limit = vec!["a pr"; MAX_TERMS].join(" or ");
    assert!(at_limit.len() < MAX_FILTER_LEN);
    let ast = parse_filter(&at_limit).unwrap();
    // Printing and re-parsing the 1000-deep left-leaning tree must not overflow either.
    assert_eq!(parse_filter(&ast.to_string()).unwrap(), ast);
    let over = vec!["a pr"; MAX_TERMS + 1].join(" or ");
    check_err(&over, over.len() - 4, "MAX_TERMS");
    let over_and = vec!["a pr"; MAX_TERMS + 1].join(" and ");
    check_err(&over_and, over_and.len() - 4, "MAX_TERMS");
    // 10 000 nested parentheses: refused at depth MAX_DEPTH.
    let deep = format!("{}a pr{}", "(".repeat(10_000), ")".repeat(10_000));
    check_err(&deep, MAX_DEPTH, "MAX_DEPTH");
    let deep_not = format!("{}a pr{}", "not (".repeat(10_000), ")".repeat(10_000));
    check_err(&deep_not, MAX_DEPTH * 5, "MAX_DEPTH");
    // Exactly MAX_DEPTH is fine, one more is not.
    let ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    check(&ok, "a pr");
    let bad = format!(
        "{}a pr{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    check_err(&bad, MAX_DEPTH, "MAX_DEPTH");
    let bracketed = format!(
        "{}emails[(a pr)]{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    check_err(&bracketed, MAX_DEPTH + 6, "MAX_DEPTH");
    // A 1 MB string literal, and a 1 MB attribute name.
    let long_string = format!(r#"a eq "{}""#, "x".repeat(1 << 20));
    check_err(&long_string, MAX_FILTER_LEN, "MAX_FILTER_LEN");
    let long_name = format!("{} pr", "a".repeat(1 << 20));
    check_err(&long_name, MAX_FILTER_LEN, "MAX_FILTER_LEN");
    // Exactly MAX_FILTER_LEN bytes is accepted.
    let exact = format!(r#"a eq "{}""#, "x".repeat(MAX_FILTER_LEN - 7));
    assert_eq!(exact.len(), MAX_FILTER_LEN);
    assert!(parse_filter(&exact).is_ok());
    // Paths have the same limits.
    assert!(matches!(
        parse_path(&"a".repeat(1 << 20)),
        Err(Error::InvalidPath(_))
    ));
}
