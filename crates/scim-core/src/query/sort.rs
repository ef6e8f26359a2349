//! In-memory sorting and paging of resource documents, for small servers and for tests that
//! need the reference answer a SQL implementation must agree with.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

use super::{ListQuery, SortOrder};
use crate::filter::eval::fold_case;
use crate::json::get_ci;
use crate::schema::{AttrType, AttributeDef, Resolved, ResourceType, SchemaRegistry};

/// A comparable form of one attribute value, typed by its definition.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Bool(bool),
    Number(f64),
    /// Seconds and nanoseconds since the epoch.
    Instant(i64, u32),
    Text(String),
}

impl Key {
    /// Values of one attribute normally share one variant; a value of the wrong shape (an
    /// unparseable dateTime) sorts after the well-formed ones instead of failing the page.
    fn rank(&self) -> u8 {
        match self {
            Key::Bool(_) => 0,
            Key::Number(_) => 1,
            Key::Instant(..) => 2,
            Key::Text(_) => 3,
        }
    }

    fn cmp(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            (Key::Number(a), Key::Number(b)) => a.total_cmp(b),
            (Key::Instant(a, an), Key::Instant(b, bn)) => (a, an).cmp(&(b, bn)),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// Sorts `docs` by the query's `sortBy` and returns the requested page and the total count.
///
/// `docs` are the resources that already matched the filter, as stored (core attributes at the
/// top, extension attributes under their URN). Sorting follows RFC 7644 §3.4.2.3: values compare
/// by the attribute's type (strings case-folded unless `caseExact`, dateTimes as instants,
/// numbers numerically, `false` before `true`); a multi-valued attribute sorts by its primary
/// value, else its first; resources with no value come last when ascending and first when
/// descending. Equal values keep a stable order by `id`, then by input position. Without
/// `sortBy` (or with one the schema doesn't know) the input order is kept.
pub fn sort_and_page(
    docs: Vec<Value>,
    query: &ListQuery,
    registry: &SchemaRegistry,
    rt: &ResourceType,
) -> (Vec<Value>, u64) {
    let total = u64::try_from(docs.len()).unwrap_or(u64::MAX);
    let resolved = query
        .sort_by
        .as_ref()
        .and_then(|path| registry.resolve(rt, path));
    let mut docs = docs;
    if let Some(r) = resolved {
        let mut keyed: Vec<(Option<Key>, String, Value)> = docs
            .into_iter()
            .map(|d| {
                let key = sort_value(&d, &r).map(|v| key_of(v, r.leaf()));
                let id = d
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                (key, id, d)
            })
            .collect();
        let descending = query.sort_order == SortOrder::Descending;
        // `sort_by` is stable, so input position is the last tiebreak.
        keyed.sort_by(|(ka, ia, _), (kb, ib, _)| {
            let by_value = match (ka, kb) {
                (Some(a), Some(b)) if descending => b.cmp(a),
                (Some(a), Some(b)) => a.cmp(b),
                (None, None) => Ordering::Equal,
                (None, Some(_)) if descending => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) if descending => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
            };
            by_value.then_with(|| ia.cmp(ib))
        });
        docs = keyed.into_iter().map(|(_, _, d)| d).collect();
    }
    let skip = usize::try_from(query.offset()).unwrap_or(usize::MAX);
    let take = usize::try_from(query.count).unwrap_or(usize::MAX);
    let page = docs.into_iter().skip(skip).take(take).collect();
    (page, total)
}

/// The value `sortBy` points at in one document, or `None` when it has none.
fn sort_value<'d>(doc: &'d Value, r: &Resolved<'_>) -> Option<&'d Value> {
    let obj = doc.as_object()?;
    let container = match r.extension_urn() {
        Some(urn) => get_ci(obj, urn)?.as_object()?,
        None => obj,
    };
    let mut value = get_ci(container, &r.attr.name)?;
    if r.attr.multi_valued {
        let items = value.as_array()?;
        value = items
            .iter()
            .find(|e| {
                e.as_object()
                    .and_then(|o| get_ci(o, "primary"))
                    .is_some_and(is_true)
            })
            .or_else(|| items.first())?;
    }
    if let Some(sub) = r.sub {
        value = get_ci(value.as_object()?, &sub.name)?;
    }
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        v => Some(v),
    }
}

fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The typed sort key of a value for the attribute `def`.
fn key_of(value: &Value, def: &AttributeDef) -> Key {
    let text = || match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match def.ty {
        AttrType::Boolean => match value {
            Value::Bool(b) => Key::Bool(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Key::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Key::Bool(false),
            _ => Key::Text(text()),
        },
        AttrType::Integer | AttrType::Decimal => {
            let n = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            n.filter(|f| f.is_finite())
                .map_or_else(|| Key::Text(text()), Key::Number)
        }
        AttrType::DateTime => value
            .as_str()
            .and_then(instant)
            .map_or_else(|| Key::Text(text()), |(s, n)| Key::Instant(s, n)),
        AttrType::String if !def.case_exact => Key::Text(fold_case(&text()).into_owned()),
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::Complex => {
            Key::Text(text())
        }
    }
}

/// An xsd:dateTime as an instant: RFC 3339, or without an offset read as UTC (as the filter
/// evaluator reads it, so sorting and filtering agree).
fn instant(s: &str) -> Option<(i64, u32)> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some((dt.timestamp(), dt.timestamp_subsec_nanos()));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| {
            let utc = n.and_utc();
            (utc.timestamp(), utc.timestamp_subsec_nanos())
        })
}
