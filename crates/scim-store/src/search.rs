//! The search document: the normalized copy of a User or Group that filters and sorting read in
//! SQL (the `search` column: TEXT JSON on SQLite, JSONB on PostgreSQL).
//!
//! SQL can't fold Unicode case, parse RFC 3339 or compare an integer with a float the way
//! `scim_core::filter::eval` does, so everything the evaluator would compute per value at query
//! time is computed here once, at write time, and the translator in [`crate::query`] compares
//! ready-made values. The rules (each mirrors one line of `scim_core::filter::eval`):
//!
//! - **Keys** are canonical: a core attribute under its declared name (`userName`, `name`),
//!   an extension attribute under its URN-qualified name
//!   (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`), all at the top
//!   level, so every attribute is one JSON key away. Input keys are found case-insensitively
//!   exactly as the evaluator finds them. `id`, `externalId` and `meta` are columns, not keys;
//!   Group `members` and User `groups` live in `group_members`; never-returned attributes
//!   (`password`) are left out.
//! - **Strings** (and references, binary): the text (numbers and booleans as their JSON text),
//!   case-folded with [`fold_case`] unless the attribute is caseExact (references and binary
//!   always are), so SQL compares folded text with a folded literal. `""` is kept: it equals
//!   `""` but is not present.
//! - **Booleans**: JSON booleans (`"True"`/`"False"` read as booleans).
//! - **Numbers**: `{"i": <i64, for integers>, "f": <f64 as an order-preserving i64>}` (see
//!   `float_key`): integers compare exactly with integers, anything else as f64, as the
//!   evaluator does, and both are plain integer comparisons in SQL.
//! - **dateTimes**: `{"t": <text, folded unless caseExact>, "k": <instant key>, "r": <raw text>}`:
//!   `k` (`instant_key`) is present when the text parses and orders as time; `t` serves
//!   `co`/`sw`/`ew` and literals that don't parse; `r` (only for unparsable, folded text) keeps
//!   the raw text the sort falls back to.
//! - **Multi-valued** attributes are arrays (a single value is wrapped, nulls dropped, empty
//!   arrays omitted); **complex** values are objects with canonical sub-attribute keys (a bare
//!   scalar is its own `value`, as the evaluator reads it); a singular complex value stays an
//!   object, even when empty (`name[not (givenName pr)]` holds for `{}` but not for absence).
//! - Values of the wrong shape (possible only in documents core's `resource::validate` would
//!   refuse) become `{"?": true}` when the evaluator would call them present, so `pr` still
//!   holds while no comparison matches; absent otherwise.

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use scim_core::filter::eval::{fold_case, parse_bool, parse_instant};
use scim_core::json::get_ci;
use scim_core::schema::{
    AttrType, AttributeDef, Resolved, ResourceType, Returned, SchemaRegistry, urn,
};
use serde_json::{Map, Value};

/// Key of the marker object that stands for a present value of the wrong shape.
pub(crate) const ODD: &str = "?";
/// Number field: the exact integer (absent for non-integers).
pub(crate) const NUM_INT: &str = "i";
/// Number field: [`float_key`] of the value as f64.
pub(crate) const NUM_KEY: &str = "f";
/// dateTime field: the text as filters compare it (folded unless caseExact).
pub(crate) const DT_TEXT: &str = "t";
/// dateTime field: [`instant_key`] when the text parses.
pub(crate) const DT_KEY: &str = "k";
/// dateTime field: the raw text when it doesn't parse and folding changed it (sort fallback).
pub(crate) const DT_RAW: &str = "r";

/// How deep `pr` looks into odd nested values (the evaluator's bound).
const PRESENT_DEPTH: u8 = 4;

/// The search document of `resource` (a User or Group as stored, with or without `id`/`meta`),
/// for the `search` column: written on every insert and update so that filters and sorting can
/// run in SQL with exactly the answers of `scim_core::filter::eval::matches` and
/// `scim_core::query::sort_and_page`. See the module docs for the normal form.
pub fn search_document(
    registry: &SchemaRegistry,
    rt: &ResourceType,
    resource: &serde_json::Value,
) -> serde_json::Value {
    let mut out = Map::new();
    let Some(doc) = resource.as_object() else {
        return Value::Object(out);
    };
    for schema in registry.schemas_of(rt) {
        let is_core = schema.id.eq_ignore_ascii_case(&rt.schema);
        let container = if is_core {
            Some(doc)
        } else {
            get_ci(doc, &schema.id).and_then(Value::as_object)
        };
        let Some(container) = container else {
            continue;
        };
        for attr in &schema.attributes {
            // Never-returned values (`password`) are never stored for searching either.
            if attr.returned == Returned::Never || (is_core && in_membership_table(rt, attr)) {
                continue;
            }
            let Some(value) = get_ci(container, &attr.name) else {
                continue;
            };
            if let Some(v) = normalize_attr(attr, value) {
                let key = if is_core {
                    attr.name.clone()
                } else {
                    format!("{}:{}", schema.id, attr.name)
                };
                out.insert(key, v);
            }
        }
    }
    Value::Object(out)
}

/// Group `members` and User `groups` are rows of `group_members`, filtered there.
fn in_membership_table(rt: &ResourceType, attr: &AttributeDef) -> bool {
    (rt.schema.eq_ignore_ascii_case(urn::GROUP) && attr.name == "members")
        || (rt.schema.eq_ignore_ascii_case(urn::USER) && attr.name == "groups")
}

/// The key under which the search document keeps a resolved attribute (see the module docs).
pub(crate) fn doc_key(r: &Resolved<'_>) -> String {
    match r.extension_urn() {
        Some(urn) => format!("{urn}:{}", r.attr.name),
        None => r.attr.name.clone(),
    }
}

/// Whether string comparison on `def` is exact (caseExact strings; references and binary data
/// always, RFC 7643 §2.3.6/§2.3.7), as the evaluator decides it.
pub(crate) fn text_exact(def: &AttributeDef) -> bool {
    def.case_exact || def.ty != AttrType::String
}

/// The text of `s` as stored for `exact`-ness: unchanged, or folded.
pub(crate) fn fold_if(s: &str, exact: bool) -> String {
    if exact {
        s.to_string()
    } else {
        fold_case(s).into_owned()
    }
}

/// An f64 as an i64 whose integer order is `f64::total_cmp` order (sign-magnitude to two's
/// complement). `-0.0` maps to `-1` and `0.0` to `0`, so the translator can treat them as equal
/// (the evaluator's `partial_cmp`) while sorting keeps `total_cmp`'s order.
pub(crate) fn float_key(f: f64) -> i64 {
    let bits = f.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// A fixed-width UTC text whose byte order is time order: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` for
/// years 0–9999, and prefixes that sort before (`-`, earlier years) and after (`:`, later
/// years) for the instants an offset pushes out of that range.
pub(crate) fn instant_key(t: DateTime<FixedOffset>) -> String {
    let u = t.with_timezone(&Utc);
    let year = u.year();
    let rest = u.format("-%m-%dT%H:%M:%S%.9fZ");
    if (0..=9999).contains(&year) {
        format!("{year:04}{rest}")
    } else if year < 0 {
        format!("-{:06}{rest}", 999_999 + i64::from(year))
    } else {
        format!(":{year:06}{rest}")
    }
}

/// A number as the evaluator reads it: an exact integer, else a finite f64; numeric strings
/// count (clients quote numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    /// Fits in i64.
    Int(i64),
    /// Anything else that is finite.
    Float(f64),
}

impl Num {
    pub(crate) fn from_json(n: &serde_json::Number) -> Option<Num> {
        n.as_i64()
            .map(Num::Int)
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(Num::Float))
    }

    pub(crate) fn parse(s: &str) -> Option<Num> {
        let s = s.trim();
        s.parse::<i64>().map(Num::Int).ok().or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Num::Float)
        })
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

fn normalize_attr(attr: &AttributeDef, v: &Value) -> Option<Value> {
    if v.is_null() {
        return None;
    }
    match (attr.ty == AttrType::Complex, attr.multi_valued) {
        (true, true) => {
            let elements: Vec<Value> = items(v)
                .iter()
                .filter(|e| !e.is_null())
                .map(|e| element(attr, e, PRESENT_DEPTH - 1))
                .collect();
            (!elements.is_empty()).then_some(Value::Array(elements))
        }
        (true, false) => match v {
            Value::Array(_) => odd(v, PRESENT_DEPTH),
            e => Some(element(attr, e, PRESENT_DEPTH)),
        },
        (false, true) => {
            let leaves: Vec<Value> = items(v).iter().filter_map(|x| leaf(attr, x)).collect();
            (!leaves.is_empty()).then_some(Value::Array(leaves))
        }
        (false, false) => match v {
            Value::Array(_) => odd(v, PRESENT_DEPTH),
            x => leaf(attr, x),
        },
    }
}

/// One element of a complex attribute: canonical sub-attribute keys with normalized leaves.
fn element(attr: &AttributeDef, e: &Value, depth: u8) -> Value {
    let mut m = Map::new();
    match e {
        Value::Object(o) => {
            for sub in &attr.sub_attributes {
                let normalized = match get_ci(o, &sub.name) {
                    Some(v @ Value::Array(_)) => odd(v, PRESENT_DEPTH),
                    Some(v) => leaf(sub, v),
                    None => None,
                };
                if let Some(n) = normalized {
                    m.insert(sub.name.clone(), n);
                }
            }
        }
        Value::Array(_) | Value::Null => {}
        scalar => {
            // The evaluator reads a bare scalar as the `value` sub-attribute (a manager sent
            // as a string).
            if let Some(sub) = attr.sub_attributes.iter().find(|s| s.name == "value")
                && let Some(n) = leaf(sub, scalar)
            {
                m.insert(sub.name.clone(), n);
            }
        }
    }
    if !m.values().any(normalized_present) && is_present(e, depth) {
        m.insert(ODD.into(), Value::Bool(true));
    }
    Value::Object(m)
}

/// A simple value, typed by its definition `def` (see the module docs).
fn leaf(def: &AttributeDef, x: &Value) -> Option<Value> {
    if x.is_null() {
        return None;
    }
    let typed = match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => {
            stored_text(x).map(|t| Value::String(fold_if(&t, text_exact(def))))
        }
        AttrType::Boolean => match x {
            Value::Bool(b) => Some(Value::Bool(*b)),
            Value::String(s) => parse_bool(s).map(Value::Bool),
            _ => None,
        },
        AttrType::Integer | AttrType::Decimal => {
            let n = match x {
                Value::Number(n) => Num::from_json(n),
                Value::String(s) => Num::parse(s),
                _ => None,
            };
            n.map(number_value)
        }
        AttrType::DateTime => x.as_str().map(|s| datetime_value(s, def.case_exact)),
        AttrType::Complex => None,
    };
    typed.or_else(|| odd(x, PRESENT_DEPTH))
}

fn number_value(n: Num) -> Value {
    let mut m = Map::with_capacity(2);
    if let Num::Int(i) = n {
        m.insert(NUM_INT.into(), Value::from(i));
    }
    m.insert(NUM_KEY.into(), Value::from(float_key(n.as_f64())));
    Value::Object(m)
}

fn datetime_value(s: &str, exact: bool) -> Value {
    let mut m = Map::with_capacity(2);
    let text = fold_if(s, exact);
    match parse_instant(s) {
        Some(t) => {
            m.insert(DT_KEY.into(), Value::String(instant_key(t)));
        }
        None if text != s => {
            m.insert(DT_RAW.into(), Value::String(s.to_string()));
        }
        None => {}
    }
    m.insert(DT_TEXT.into(), Value::String(text));
    Value::Object(m)
}

/// The marker for a value of the wrong shape, or nothing if the evaluator wouldn't call it
/// present.
fn odd(x: &Value, depth: u8) -> Option<Value> {
    is_present(x, depth).then(|| {
        let mut m = Map::with_capacity(1);
        m.insert(ODD.into(), Value::Bool(true));
        Value::Object(m)
    })
}

/// Presence of a normalized leaf: anything but `""` and a dateTime whose text is `""`.
fn normalized_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => match o.get(DT_TEXT) {
            Some(t) => t.as_str().is_none_or(|t| !t.is_empty()),
            None => !o.is_empty(),
        },
        _ => true,
    }
}

/// The text of a stored value for string comparison (the evaluator's `stored_text`).
fn stored_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// RFC 7644 `pr` as the evaluator computes it.
fn is_present(v: &Value, depth: u8) -> bool {
    if depth == 0 {
        return !v.is_null();
    }
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(|x| is_present(x, depth - 1)),
        Value::Object(o) => o.values().any(|x| is_present(x, depth - 1)),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        other => std::slice::from_ref(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form() {
        let reg = SchemaRegistry::standard();
        let Some(rt) = reg.resource_type("User") else {
            unreachable!("the standard registry has User")
        };
        let doc = serde_json::json!({
            "userName": "Straße", "password": "secret", "active": "True",
            "name": {"givenName": "ÄNNE", "Nope": "x"},
            "emails": {"value": "A@B.example", "primary": true},
            "groups": [{"value": "g1"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "manager": "ID-1", "department": ""
            }
        });
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        assert_eq!(
            search_document(&reg, rt, &doc),
            serde_json::json!({
                "userName": "strasse",
                "name": {"givenName": "änne"},
                "active": true,
                "emails": [{"value": "a@b.example", "primary": true}],
                format!("{ent}:department"): "",
                format!("{ent}:manager"): {"value": "ID-1"},
            })
        );
        let def = AttributeDef::new("n", AttrType::Decimal);
        assert_eq!(
            leaf(&def, &serde_json::json!(2)),
            Some(serde_json::json!({"i": 2, "f": float_key(2.0)}))
        );
        let def = AttributeDef::new("d", AttrType::DateTime);
        assert_eq!(
            leaf(&def, &serde_json::json!("2011-05-13T06:42:34+02:00")),
            Some(serde_json::json!({
                "k": "2011-05-13T04:42:34.000000000Z", "t": "2011-05-13t06:42:34+02:00"
            }))
        );
        assert_eq!(
            leaf(&def, &serde_json::json!("Never")),
            Some(serde_json::json!({"r": "Never", "t": "never"}))
        );
        assert_eq!(
            leaf(&def, &serde_json::json!(7)),
            Some(serde_json::json!({"?": true}))
        );
    }

    #[test]
    fn float_keys_order_like_total_cmp() {
        let xs = [
            f64::MIN,
            -1.5e300,
            -2.0,
            -1.0,
            -1e-300,
            -0.0,
            0.0,
            1e-300,
            1.0,
            9007199254740992.0,
            f64::MAX,
        ];
        for w in xs.windows(2) {
            assert!(float_key(w[0]) < float_key(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!((float_key(-0.0), float_key(0.0)), (-1, 0));
    }

    #[test]
    fn instant_keys_order_like_time() {
        let texts = [
            "0000-01-01T00:30:00+01:00",
            "0000-01-01T00:00:00Z",
            "1999-12-31T23:59:59.999999999Z",
            "2011-05-13T06:42:34+02:00",
            "2011-05-13T04:42:34.5Z",
            "9999-12-31T23:59:59-01:00",
        ];
        let keys: Vec<String> = texts
            .iter()
            .map(|t| instant_key(parse_instant(t).unwrap_or_default()))
            .collect();
        for w in keys.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
        }
        assert_eq!(keys[3], "2011-05-13T04:42:34.000000000Z");
    }
}
