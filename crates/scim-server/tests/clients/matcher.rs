//! The expectation language of session files: partial JSON matching with a few `$` operators,
//! and `${var}` substitution. Pure functions, unit-tested below, so a session failure is
//! always the server's answer and never the matcher's.
//!
//! An expected value matches an actual one when:
//! - an object: every key given matches the actual object's key of the same name (extra actual
//!   keys are fine); keys are compared exactly, so a session also checks the server's case;
//! - an array: same length, element by element;
//! - a scalar: equal JSON;
//! - an operator object (every key one of the operators below; `$ref` is an ordinary key):
//!   every operator holds.
//!
//! | operator | holds when the actual value… |
//! |---|---|
//! | `{"$absent": true}` | is missing (only meaningful as an object member or header) |
//! | `{"$absent": false}` | is present |
//! | `{"$type": "string"}` | has this JSON type (`string`, `integer`, `number`, `boolean`, `object`, `array`, `null`) |
//! | `{"$len": n}` | is an array (or string) of length `n` |
//! | `{"$contains": x}` | is an array in which each element of `x` (an array, or one value) matches some element |
//! | `{"$notContains": x}` | is an array in which no element of `x` matches any element |
//! | `{"$each": m}` | is an array whose every element matches `m` |
//! | `{"$distinct": true}` | is an array without two equal elements |
//! | `{"$prefix": "s"}` | is a string starting with `s` |
//! | `{"$ne": v}` | is present and not equal to `v` |

use serde_json::{Map, Value};

const OPERATORS: &[&str] = &[
    "$absent",
    "$type",
    "$len",
    "$contains",
    "$notContains",
    "$each",
    "$distinct",
    "$prefix",
    "$ne",
];

/// Whether `v` is an operator object rather than a literal one: `Some(Err)` when it mixes
/// operators with attribute names (a typo would otherwise match too much).
fn operators(v: &Value) -> Option<Result<&Map<String, Value>, String>> {
    let m = v.as_object()?;
    let is_op = |k: &String| OPERATORS.contains(&k.as_str());
    if !m.keys().any(is_op) {
        return None;
    }
    if !m.keys().all(is_op) {
        return Some(Err(format!("{v} mixes operators with attribute names")));
    }
    Some(Ok(m))
}

/// Checks `actual` (`None` = missing) against `expected`; each mismatch is pushed to `errs` as
/// `<json path>: <what was wrong>`.
pub fn check(expected: &Value, actual: Option<&Value>, at: &str, errs: &mut Vec<String>) {
    match operators(expected) {
        Some(Ok(ops)) => {
            for (op, arg) in ops {
                check_op(op, arg, actual, at, errs);
            }
            return;
        }
        Some(Err(msg)) => {
            errs.push(format!("{at}: {msg}"));
            return;
        }
        None => {}
    }
    let Some(actual) = actual else {
        errs.push(format!("{at}: missing, expected {expected}"));
        return;
    };
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                check(ev, a.get(k), &format!("{at}/{k}"), errs);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errs.push(format!(
                    "{at}: expected {} elements, got {}: {}",
                    e.len(),
                    a.len(),
                    short(actual)
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                check(ev, Some(av), &format!("{at}/{i}"), errs);
            }
        }
        (e, a) if e == a => {}
        (e, a) => errs.push(format!("{at}: expected {e}, got {}", short(a))),
    }
}

/// Whether `actual` matches `expected` (no messages).
pub fn matches(expected: &Value, actual: &Value) -> bool {
    let mut errs = Vec::new();
    check(expected, Some(actual), "", &mut errs);
    errs.is_empty()
}

fn check_op(op: &str, arg: &Value, actual: Option<&Value>, at: &str, errs: &mut Vec<String>) {
    let mut fail = |msg: String| errs.push(format!("{at}: {msg}"));
    if op == "$absent" {
        match (arg.as_bool(), actual) {
            (Some(true), Some(a)) => fail(format!("expected no value, got {}", short(a))),
            (Some(false), None) => fail("expected a value, got none".into()),
            (None, _) => fail(format!("$absent takes true or false, not {arg}")),
            _ => {}
        }
        return;
    }
    let Some(actual) = actual else {
        fail(format!("missing, expected {{{op:?}: {arg}}}"));
        return;
    };
    match op {
        "$type" => {
            let ty = match actual {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            let want = arg.as_str().unwrap_or("?");
            if ty != want && !(want == "number" && ty == "integer") {
                fail(format!("expected a {want}, got {}", short(actual)));
            }
        }
        "$len" => {
            let len = match actual {
                Value::Array(a) => Some(a.len()),
                Value::String(s) => Some(s.chars().count()),
                _ => None,
            };
            if len.map(|l| l as u64) != arg.as_u64() {
                fail(format!("expected length {arg}, got {}", short(actual)));
            }
        }
        "$contains" | "$notContains" => {
            let Some(items) = actual.as_array() else {
                fail(format!("expected an array, got {}", short(actual)));
                return;
            };
            let wanted: Vec<&Value> = match arg {
                Value::Array(a) => a.iter().collect(),
                one => vec![one],
            };
            for w in wanted {
                let found = items.iter().any(|it| matches(w, it));
                if op == "$contains" && !found {
                    fail(format!("no element matches {w} in {}", short(actual)));
                } else if op == "$notContains" && found {
                    fail(format!("an element matches {w} in {}", short(actual)));
                }
            }
        }
        "$each" => match actual.as_array() {
            Some(items) => {
                for (i, it) in items.iter().enumerate() {
                    check(arg, Some(it), &format!("{at}/{i}"), errs);
                }
            }
            None => fail(format!("expected an array, got {}", short(actual))),
        },
        "$distinct" => match actual.as_array() {
            Some(items) => {
                for (i, a) in items.iter().enumerate() {
                    if let Some(j) = items[..i].iter().position(|b| b == a) {
                        fail(format!("elements {j} and {i} are both {a}"));
                        return;
                    }
                }
            }
            None => fail(format!("expected an array, got {}", short(actual))),
        },
        "$prefix" => {
            let want = arg.as_str().unwrap_or_default();
            if !actual.as_str().is_some_and(|s| s.starts_with(want)) {
                fail(format!(
                    "expected a string starting with {arg}, got {actual}"
                ));
            }
        }
        "$ne" => {
            if actual == arg {
                fail(format!("expected anything but {arg}"));
            }
        }
        _ => fail(format!("unknown operator {op}")),
    }
}

/// At most ~600 characters of a value, for messages about large lists.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 600 {
        s
    } else {
        let head: String = s.chars().take(600).collect();
        format!("{head}… ({} characters)", s.len())
    }
}

/// Replaces `${name}` in every string (and object key) of `v`. A string that is exactly one
/// `${name}` becomes the variable's JSON value (an id, or a saved object or array); inside a
/// longer string a string variable is inserted as is and any other value as its JSON text.
/// An unknown name is an error naming it (a session-authoring mistake).
pub fn substitute(v: &Value, vars: &Map<String, Value>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                && !name.contains("${")
                && !name.contains('}')
            {
                return lookup(vars, name).cloned();
            }
            Value::String(substitute_str(s, vars)?)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute(x, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, x) in m {
                out.insert(substitute_str(k, vars)?, substitute(x, vars)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// `${name}` interpolation inside a string.
pub fn substitute_str(s: &str, vars: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated ${{ in {s:?}"))?;
        match lookup(vars, &after[..end])? {
            Value::String(v) => out.push_str(v),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup<'a>(vars: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    vars.get(name).ok_or_else(|| {
        let known: Vec<&String> = vars.keys().collect();
        format!("unknown variable ${{{name}}} (known: {known:?})")
    })
}

/// Reads a JSON pointer that may contain `*` segments (every element of an array at that
/// point), e.g. `/Resources/*/id`; with a `*` the result is an array of what each element
/// holds (elements without it are skipped).
pub fn pointer(doc: &Value, ptr: &str) -> Option<Value> {
    match ptr.split_once("/*") {
        None => doc.pointer(ptr).cloned(),
        Some((head, tail)) => {
            let items = doc.pointer(head)?.as_array()?;
            Some(Value::Array(
                items.iter().filter_map(|it| pointer(it, tail)).collect(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(expected: Value, actual: Value) -> Vec<String> {
        let mut e = Vec::new();
        check(&expected, Some(&actual), "", &mut e);
        e
    }

    #[test]
    fn objects_match_partially_and_arrays_element_wise() {
        let actual = json!({"id": "1", "emails": [{"value": "a", "type": "work"}], "x": 1});
        assert!(errs(json!({"emails": [{"value": "a"}]}), actual.clone()).is_empty());
        assert_eq!(
            errs(json!({"emails": [{"value": "b"}]}), actual.clone()),
            ["/emails/0/value: expected \"b\", got \"a\""]
        );
        assert_eq!(errs(json!({"emails": []}), actual.clone()).len(), 1);
        assert_eq!(
            errs(json!({"missing": 1}), actual),
            ["/missing: missing, expected 1"]
        );
        // Keys are compared exactly: the server's case is part of what a session checks.
        assert_eq!(errs(json!({"ID": "1"}), json!({"id": "1"})).len(), 1);
        // `$ref` is an attribute name, not an operator.
        assert_eq!(errs(json!({"$ref": "u"}), json!({"$ref": "v"})).len(), 1);
    }

    #[test]
    fn operators_hold_or_report() {
        let a = json!({"Resources": [{"id": "a"}, {"id": "b"}], "n": 5, "s": "W/\"3\""});
        let ok = json!({
            "Resources": {"$len": 2, "$contains": [{"id": "b"}], "$notContains": {"id": "c"},
                          "$each": {"id": {"$type": "string"}}, "$distinct": true},
            "n": {"$type": "integer", "$ne": 4},
            "s": {"$prefix": "W/"},
            "password": {"$absent": true}
        });
        assert!(errs(ok, a.clone()).is_empty());
        for bad in [
            json!({"Resources": {"$len": 3}}),
            json!({"Resources": {"$contains": {"id": "c"}}}),
            json!({"Resources": {"$notContains": {"id": "a"}}}),
            json!({"Resources": {"$each": {"id": "a"}}}),
            json!({"n": {"$type": "string"}}),
            json!({"n": {"$ne": 5}}),
            json!({"s": {"$prefix": "\""}}),
            json!({"n": {"$absent": true}}),
            json!({"gone": {"$absent": false}}),
            json!({"gone": {"$ne": 1}}),
        ] {
            assert!(
                !errs(bad.clone(), a.clone()).is_empty(),
                "{bad} should fail"
            );
        }
        assert!(!errs(json!({"$distinct": true}), json!([1, 2, 1])).is_empty());
        assert!(!errs(json!({"$len": 0, "id": "x"}), json!([])).is_empty());
    }

    #[test]
    fn substitution_keeps_types_and_interpolates() {
        let vars: Map<String, Value> =
            serde_json::from_value(json!({"uid": "u-1", "meta": {"version": "W/\"1\""}, "i": 7}))
                .unwrap();
        let v = json!({"id": "${uid}", "meta": "${meta}", "userName": "user${i}@x",
                       "k_${i}": ["${i}"]});
        assert_eq!(
            substitute(&v, &vars).unwrap(),
            json!({"id": "u-1", "meta": {"version": "W/\"1\""}, "userName": "user7@x",
                   "k_7": [7]})
        );
        assert!(substitute(&json!("${nope}"), &vars).is_err());
        assert!(substitute(&json!("a ${uid"), &vars).is_err());
    }

    #[test]
    fn wildcard_pointers_collect() {
        let doc = json!({"Resources": [{"id": "a"}, {"x": 1}, {"id": "c"}]});
        assert_eq!(pointer(&doc, "/Resources/*/id"), Some(json!(["a", "c"])));
        assert_eq!(pointer(&doc, "/Resources/0/id"), Some(json!("a")));
        assert_eq!(pointer(&doc, ""), Some(doc.clone()));
        assert_eq!(pointer(&doc, "/nope"), None);
    }
}
