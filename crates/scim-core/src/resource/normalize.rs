//! Per-attribute normalization of client values: canonical names, the lenient coercions real
//! clients need, and strict type checks for canonical documents.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::schema::{AttrType, AttributeDef};

/// Where in the document a value sits, for error messages. A borrowed chain so that naming the
/// attribute costs nothing until an error is actually reported.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    parent: Option<&'a Ctx<'a>>,
    name: &'a str,
}

impl<'a> Ctx<'a> {
    /// A top-level attribute (or extension URN).
    pub(crate) fn root(name: &'a str) -> Self {
        Ctx { parent: None, name }
    }

    /// A sub-attribute of this one.
    pub(crate) fn child(&'a self, name: &'a str) -> Ctx<'a> {
        Ctx {
            parent: Some(self),
            name,
        }
    }
}

impl fmt::Display for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            // An extension URN parent is joined with ':' as in a URN-qualified path.
            let sep = if p.name.contains(':') { ':' } else { '.' };
            write!(f, "{p}{sep}")?;
        }
        f.write_str(self.name)
    }
}

/// Whether a value means "unassigned" (RFC 7643 §2.5): `null`, `[]` or `{}`. Such values are
/// removed rather than stored, so "absent" has one representation.
pub(crate) fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Lenient normalization of one attribute's value: canonical sub-attribute names, `"True"` /
/// `"False"` to booleans, a single value wrapped into an array for multi-valued attributes, a
/// scalar wrapped into `{"value": …}` for complex attributes that have a `value`
/// sub-attribute, unknown sub-attributes and unassigned sub-values removed. Anything else of
/// the wrong type is an `invalidValue` naming the attribute and the expected type.
pub(crate) fn normalize_attr(attr: &AttributeDef, value: Value, ctx: &Ctx<'_>) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if attr.multi_valued {
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let v = normalize_single(attr, item, ctx)?;
            if !is_unassigned(&v) {
                out.push(v);
            }
        }
        Ok(Value::Array(out))
    } else if value.is_array() {
        Err(type_error(ctx, attr, &value))
    } else {
        normalize_single(attr, value, ctx)
    }
}

fn normalize_single(attr: &AttributeDef, value: Value, ctx: &Ctx<'_>) -> Result<Value> {
    if attr.ty != AttrType::Complex {
        return coerce_simple(attr, value, ctx);
    }
    let map = match value {
        Value::Object(map) => map,
        Value::Null => return Ok(Value::Null),
        scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_))
            if attr.sub("value").is_some() =>
        {
            let mut m = Map::with_capacity(1);
            m.insert("value".into(), scalar);
            m
        }
        other => return Err(type_error(ctx, attr, &other)),
    };
    let mut out = Map::with_capacity(map.len());
    for (key, v) in map {
        // Unknown sub-attributes are dropped like unknown attributes (clients send extras).
        let Some(sub) = attr.sub(&key) else { continue };
        let v = normalize_attr(sub, v, &ctx.child(&sub.name))?;
        if is_unassigned(&v) {
            out.remove(&sub.name);
        } else {
            out.insert(sub.name.clone(), v);
        }
    }
    Ok(Value::Object(out))
}

fn coerce_simple(attr: &AttributeDef, value: Value, ctx: &Ctx<'_>) -> Result<Value> {
    match (attr.ty, value) {
        (_, Value::Null) => Ok(Value::Null),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Ok(Value::Bool(true))
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Ok(Value::Bool(false))
        }
        (_, v) => {
            check_simple(attr, &v, ctx)?;
            Ok(v)
        }
    }
}

/// Strict check of one attribute's value in a canonical document: no coercion at all.
/// Sub-attribute keys are matched case-insensitively; keys the schema doesn't declare are
/// ignored (core never writes them, and a schema change must not make stored data unpatchable).
pub(crate) fn check_attr(attr: &AttributeDef, value: &Value, ctx: &Ctx<'_>) -> Result<()> {
    match value {
        Value::Null => Ok(()),
        Value::Array(items) if attr.multi_valued => {
            items.iter().try_for_each(|v| check_single(attr, v, ctx))
        }
        _ if attr.multi_valued => Err(Error::invalid_value(format!(
            "attribute {ctx} is multi-valued and must be a JSON array"
        ))),
        Value::Array(_) => Err(type_error(ctx, attr, value)),
        _ => check_single(attr, value, ctx),
    }
}

fn check_single(attr: &AttributeDef, value: &Value, ctx: &Ctx<'_>) -> Result<()> {
    if attr.ty != AttrType::Complex {
        return check_simple(attr, value, ctx);
    }
    let Value::Object(map) = value else {
        return Err(type_error(ctx, attr, value));
    };
    for (key, v) in map {
        if let Some(sub) = attr.sub(key) {
            check_attr(sub, v, &ctx.child(&sub.name))?;
        }
    }
    Ok(())
}

fn check_simple(attr: &AttributeDef, value: &Value, ctx: &Ctx<'_>) -> Result<()> {
    let ok = match (attr.ty, value) {
        (_, Value::Null) => true,
        (AttrType::Boolean, Value::Bool(_)) => true,
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(_)) => true,
        (AttrType::DateTime, Value::String(s)) => {
            if chrono::DateTime::parse_from_rfc3339(s).is_err() {
                return Err(Error::invalid_value(format!(
                    "attribute {ctx} must be an RFC 3339 dateTime such as \
                     \"2024-05-01T12:00:00Z\", got {s:?}"
                )));
            }
            true
        }
        (AttrType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (AttrType::Decimal, Value::Number(_)) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(type_error(ctx, attr, value))
    }
}

/// `attribute X must be <expected>, got <kind>`.
fn type_error(ctx: &Ctx<'_>, attr: &AttributeDef, got: &Value) -> Error {
    let expected = match attr.ty {
        _ if got.is_array() && !attr.multi_valued => "a single value, not an array",
        AttrType::String => "a string",
        AttrType::Boolean => "a boolean (true or false)",
        AttrType::Decimal => "a number",
        AttrType::Integer => "an integer",
        AttrType::DateTime => "an RFC 3339 dateTime string",
        AttrType::Binary => "a base64 string",
        AttrType::Reference => "a URI string",
        AttrType::Complex => "a JSON object",
    };
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    Error::invalid_value(format!("attribute {ctx} must be {expected}, got {kind}"))
}
