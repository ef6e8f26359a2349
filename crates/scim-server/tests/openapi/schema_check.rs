//! A small JSON Schema checker for the subset the document uses (`$ref`, `type`,
//! `properties`, `required`, `items`, `anyOf`, `enum`, `writeOnly`), so live responses can be
//! held against their documented schemas without a validator dependency.
//!
//! Response rules only: `required` and types must hold, a `writeOnly` property must not
//! appear. Unknown properties are allowed, as the document allows them.

use serde_json::Value;

use super::resolve;

/// Checks `value` against `schema`; returns what doesn't match, with JSON paths.
pub fn check(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    walk(doc, schema, value, "$", &mut errors);
    errors
}

fn type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn walk(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        match resolve(doc, r) {
            Some(target) => walk(doc, target, value, at, errors),
            None => errors.push(format!("{at}: dangling {r}")),
        }
        return;
    }
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
        if !options.iter().any(|o| check(doc, o, value).is_empty()) {
            errors.push(format!("{at}: matches none of anyOf"));
        }
        return;
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, value)) {
        errors.push(format!("{at}: expected {types:?}, got {value}"));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Value::Object(obj) = value {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(name) {
                errors.push(format!("{at}: required `{name}` is missing"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                let Some(v) = obj.get(name) else { continue };
                if sub.get("writeOnly") == Some(&Value::Bool(true)) {
                    errors.push(format!("{at}.{name}: writeOnly, yet returned"));
                }
                walk(doc, sub, v, &format!("{at}.{name}"), errors);
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            walk(doc, item_schema, v, &format!("{at}[{i}]"), errors);
        }
    }
}
