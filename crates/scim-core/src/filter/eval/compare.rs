//! Typed comparison of one stored JSON value with one filter literal: strings (with or without
//! case), booleans, numbers and dateTimes, following the attribute definition.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde_json::Value;

use crate::filter::{CompareOp, Literal};
use crate::schema::{AttrType, AttributeDef};

/// The case folding the evaluator uses for attributes that are not `caseExact`: each character
/// is upper-cased and then lower-cased, so `ß`/`SS`, `ς`/`Σ` and `ı`/`I` compare equal, and a
/// value compares equal to its `to_uppercase()`. Public so that stored folded keys (the store's
/// unique userName / displayName keys) are computed exactly the way filters compare.
pub fn fold_case(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(fold_chars(s).collect())
    }
}

/// [`fold_case`] as a lazy character stream, so comparisons don't allocate.
fn fold_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
}

/// A literal converted once per comparison node into the form the leaf type compares with, so
/// that a multi-valued attribute with many elements doesn't re-parse it for each element.
#[derive(Debug)]
pub(super) enum Prepared<'f> {
    /// String, reference and binary attributes (and bool/number literals used on them).
    Text { text: Cow<'f, str>, exact: bool },
    /// Boolean attributes.
    Bool(bool),
    /// Integer and decimal attributes.
    Num(Num),
    /// dateTime attributes: the instant when the literal parses, and the text to fall back to.
    DateTime {
        instant: Option<DateTime<FixedOffset>>,
        text: &'f str,
        exact: bool,
    },
    /// The literal can't equal any value of this type (e.g. `active eq 3`).
    Never,
}

impl<'f> Prepared<'f> {
    /// Interprets `lit` by the type of the attribute it is compared with. `Literal::Null` is
    /// handled by the caller (it means "unassigned"), so it prepares to `Never`.
    pub(super) fn new(leaf: &AttributeDef, lit: &'f Literal) -> Self {
        match leaf.ty {
            AttrType::String | AttrType::Reference | AttrType::Binary => {
                // RFC 7643 §2.3.6/§2.3.7: references and binary data are always case-exact.
                let exact = leaf.case_exact || leaf.ty != AttrType::String;
                let text = match lit {
                    Literal::String(s) => Cow::Borrowed(s.as_str()),
                    Literal::Bool(true) => Cow::Borrowed("true"),
                    Literal::Bool(false) => Cow::Borrowed("false"),
                    Literal::Number(n) => Cow::Owned(n.to_string()),
                    Literal::Null => return Prepared::Never,
                };
                Prepared::Text { text, exact }
            }
            AttrType::Boolean => match lit {
                Literal::Bool(b) => Prepared::Bool(*b),
                Literal::String(s) => parse_bool(s).map_or(Prepared::Never, Prepared::Bool),
                Literal::Number(_) | Literal::Null => Prepared::Never,
            },
            AttrType::Integer | AttrType::Decimal => match lit {
                Literal::Number(n) => Num::from_json(n).map_or(Prepared::Never, Prepared::Num),
                Literal::String(s) => Num::parse(s).map_or(Prepared::Never, Prepared::Num),
                Literal::Bool(_) | Literal::Null => Prepared::Never,
            },
            AttrType::DateTime => match lit {
                Literal::String(s) => Prepared::DateTime {
                    instant: parse_instant(s),
                    text: s,
                    exact: leaf.case_exact,
                },
                _ => Prepared::Never,
            },
            AttrType::Complex => Prepared::Never,
        }
    }

    /// Whether the stored value `stored` satisfies `stored <op> literal`.
    pub(super) fn test(&self, op: CompareOp, stored: &Value) -> bool {
        match self {
            Prepared::Text { text, exact } => {
                stored_text(stored).is_some_and(|s| str_op(op, &s, text, *exact))
            }
            Prepared::Bool(want) => {
                let have = match stored {
                    Value::Bool(b) => Some(*b),
                    Value::String(s) => parse_bool(s),
                    _ => None,
                };
                match (op, have) {
                    (CompareOp::Eq, Some(h)) => h == *want,
                    (CompareOp::Ne, Some(h)) => h != *want,
                    _ => false,
                }
            }
            Prepared::Num(want) => {
                let have = match stored {
                    Value::Number(n) => Num::from_json(n),
                    Value::String(s) => Num::parse(s),
                    _ => None,
                };
                have.and_then(|h| h.partial_cmp(want))
                    .is_some_and(|ord| ord_op(op, ord))
            }
            Prepared::DateTime {
                instant,
                text,
                exact,
            } => {
                let Value::String(s) = stored else {
                    return false;
                };
                let ordered = !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
                match (ordered, instant, parse_instant(s)) {
                    (true, Some(want), Some(have)) => ord_op(op, have.cmp(want)),
                    _ => str_op(op, s, text, *exact),
                }
            }
            Prepared::Never => false,
        }
    }
}

/// The text of a stored value for string comparison; numbers and booleans stored in a string
/// attribute (a client sent `"employeeNumber": 42`) compare by their JSON text.
fn stored_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Bool(true) => Some(Cow::Borrowed("true")),
        Value::Bool(false) => Some(Cow::Borrowed("false")),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// `true`/`false` in any case (Entra sends `"True"`, clients.md E2/E22). Public so that the
/// store's SQL translator reads booleans exactly as the evaluator does.
pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An RFC 3339 instant; an xsd:dateTime without offset is taken as UTC. Public so that the
/// store's SQL translator parses dateTimes exactly as the evaluator does.
pub fn parse_instant(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|n| n.and_utc().fixed_offset())
    })
}

/// A number compared exactly as an integer when both sides are integers, else as a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn from_json(n: &serde_json::Number) -> Option<Num> {
        n.as_i64()
            .map(Num::Int)
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(Num::Float))
    }

    /// A numeric string such as `"42"` or `"1.5e3"` (clients quote numbers).
    pub(super) fn parse(s: &str) -> Option<Num> {
        let s = s.trim();
        s.parse::<i64>().map(Num::Int).ok().or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Num::Float)
        })
    }

    fn as_f64(self) -> f64 {
        match self {
            // Precision loss only past 2^53, where an exact mixed comparison isn't needed.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(b)),
            _ => self.as_f64().partial_cmp(&other.as_f64()),
        }
    }
}

/// Maps an ordering to an operator's verdict; the substring operators never hold on orderings.
fn ord_op(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// `hay <op> needle` on strings; `exact` selects case-sensitive comparison.
pub(super) fn str_op(op: CompareOp, hay: &str, needle: &str, exact: bool) -> bool {
    if exact {
        return match op {
            CompareOp::Eq => hay == needle,
            CompareOp::Ne => hay != needle,
            CompareOp::Co => hay.contains(needle),
            CompareOp::Sw => hay.starts_with(needle),
            CompareOp::Ew => hay.ends_with(needle),
            _ => ord_op(op, hay.cmp(needle)),
        };
    }
    if hay.is_ascii() && needle.is_ascii() {
        return ascii_ci_op(op, hay.as_bytes(), needle.as_bytes());
    }
    match op {
        CompareOp::Eq => fold_chars(hay).eq(fold_chars(needle)),
        CompareOp::Ne => !fold_chars(hay).eq(fold_chars(needle)),
        CompareOp::Sw => {
            let mut h = fold_chars(hay);
            fold_chars(needle).all(|c| h.next() == Some(c))
        }
        CompareOp::Ew => fold_case(hay).ends_with(&*fold_case(needle)),
        CompareOp::Co => fold_case(hay).contains(&*fold_case(needle)),
        _ => ord_op(op, fold_chars(hay).cmp(fold_chars(needle))),
    }
}

/// The allocation-free case-insensitive path for the common all-ASCII case.
fn ascii_ci_op(op: CompareOp, h: &[u8], n: &[u8]) -> bool {
    match op {
        CompareOp::Eq => h.eq_ignore_ascii_case(n),
        CompareOp::Ne => !h.eq_ignore_ascii_case(n),
        CompareOp::Sw => h.get(..n.len()).is_some_and(|p| p.eq_ignore_ascii_case(n)),
        CompareOp::Ew => h
            .len()
            .checked_sub(n.len())
            .and_then(|start| h.get(start..))
            .is_some_and(|p| p.eq_ignore_ascii_case(n)),
        // `windows(0)` would panic, and the empty string is a substring of everything.
        CompareOp::Co => n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)),
        _ => ord_op(
            op,
            h.iter()
                .map(u8::to_ascii_lowercase)
                .cmp(n.iter().map(u8::to_ascii_lowercase)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_unicode_and_ascii_alike() {
        for (a, b, op, want) in [
            ("Straße", "STRASSE", CompareOp::Eq, true),
            ("Ǆemal", "ǆEMAL", CompareOp::Eq, true),
            ("ΟΔΥΣΣΕΥΣ", "οδυσσευς", CompareOp::Eq, true),
            ("Ärger", "är", CompareOp::Sw, true),
            ("Ärger", "GER", CompareOp::Ew, true),
            ("xÄrgerx", "RGE", CompareOp::Co, true),
            ("abc", "ABD", CompareOp::Lt, true),
            ("abc", "", CompareOp::Co, true),
            ("ab", "abc", CompareOp::Sw, false),
            ("ab", "abc", CompareOp::Ew, false),
            ("é", "É", CompareOp::Ne, false),
            ("b", "A", CompareOp::Gt, true),
        ] {
            assert_eq!(str_op(op, a, b, false), want, "{a} {op:?} {b}");
        }
        assert!(!str_op(CompareOp::Eq, "abc", "ABC", true));
        assert_eq!(fold_case("AbC"), "abc");
        assert_eq!(fold_case("STRASSE"), fold_case("straße"));
    }

    #[test]
    fn numbers_and_instants() {
        assert_eq!(Num::parse(" 42 "), Some(Num::Int(42)));
        assert_eq!(Num::parse("1.5"), Some(Num::Float(1.5)));
        assert_eq!(Num::parse("NaN"), None);
        assert!(Num::Int(2) > Num::Float(1.5));
        let a = parse_instant("2011-05-13T04:42:34Z");
        let b = parse_instant("2011-05-13T06:42:34+02:00");
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_eq!(a, parse_instant("2011-05-13T04:42:34"));
        assert_eq!(parse_instant("yesterday"), None);
    }
}
