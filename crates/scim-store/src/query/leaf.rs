//! One value compared in SQL: the typed predicates on a leaf (a search-document value, a
//! column, a constant) that mirror `Prepared::test` and `pr` of core's evaluator, and the
//! literal prepared for them in Rust (`Prep`, core's `Prepared`).
//!
//! `co`/`sw`/`ew` use `LIKE` with `\`, `%` and `_` escaped (SQLite runs with
//! `case_sensitive_like`, so LIKE is exact on both backends, and `userName sw` can use the
//! index on SQLite); needles too long for a LIKE pattern use `instr`/`substr`
//! (`strpos`/`left`/`right`), which are equally exact. Ordering compares bytes (code points),
//! as Rust compares strings.

use chrono::{DateTime, FixedOffset};
use scim_core::filter::eval::{parse_bool, parse_instant};
use scim_core::filter::{CompareOp, Literal};
use scim_core::schema::{AttrType, AttributeDef};

use super::sql::{ANY_KIND, Bind, Json, JsonKind, Sql, Substring};
use crate::error::{Result, StoreError};
use crate::search::{
    DT_KEY, DT_TEXT, NUM_INT, NUM_KEY, Num, float_key, fold_if, instant_key, text_exact,
};

/// Longest needle (in bytes) put into a LIKE pattern; SQLite refuses patterns over 50 000
/// bytes, and longer needles take the `instr`/`substr` route.
const LIKE_MAX: usize = 10_000;

/// One value as SQL reads it.
#[derive(Debug, Clone)]
pub(crate) enum Leaf {
    /// A value of the search document, normalized by the definition's type.
    Json(Json),
    /// A NOT NULL text expression (a column) already in comparison form (folded where the
    /// attribute is not caseExact). Compared bare, so the column's index serves `eq`.
    Text(String),
    /// The same, for a nullable column (`externalId`): NULL when absent.
    NullableText(String),
    /// A timestamp column (`meta.created`, `meta.lastModified`).
    Stamp(&'static str),
    /// A value that is the same for every row (`meta.resourceType`).
    Const(String),
}

/// A literal prepared for the leaf's type, as the evaluator's `Prepared`.
pub(crate) enum Prep {
    Text(String),
    Bool(bool),
    Num(Num),
    DateTime {
        instant: Option<DateTime<FixedOffset>>,
        text: String,
    },
    Never,
}

impl Prep {
    pub(crate) fn new(leaf: &AttributeDef, lit: &Literal) -> Prep {
        match leaf.ty {
            AttrType::String | AttrType::Reference | AttrType::Binary => {
                let text = match lit {
                    Literal::String(s) => s.clone(),
                    Literal::Bool(b) => b.to_string(),
                    Literal::Number(n) => n.to_string(),
                    Literal::Null => return Prep::Never,
                };
                Prep::Text(fold_if(&text, text_exact(leaf)))
            }
            AttrType::Boolean => match lit {
                Literal::Bool(b) => Prep::Bool(*b),
                Literal::String(s) => parse_bool(s).map_or(Prep::Never, Prep::Bool),
                Literal::Number(_) | Literal::Null => Prep::Never,
            },
            AttrType::Integer | AttrType::Decimal => match lit {
                Literal::Number(n) => Num::from_json(n).map_or(Prep::Never, Prep::Num),
                Literal::String(s) => Num::parse(s).map_or(Prep::Never, Prep::Num),
                Literal::Bool(_) | Literal::Null => Prep::Never,
            },
            AttrType::DateTime => match lit {
                Literal::String(s) => Prep::DateTime {
                    instant: parse_instant(s),
                    text: fold_if(s, leaf.case_exact),
                },
                _ => Prep::Never,
            },
            AttrType::Complex => Prep::Never,
        }
    }
}

/// `pr` of one leaf: a value that is not null and not `""`.
pub(crate) fn present(q: &mut Sql, leaf: &Leaf, def: &AttributeDef) -> String {
    match leaf {
        Leaf::Json(j) => match def.ty {
            AttrType::DateTime => {
                let is_object = q.json_is(j, &[JsonKind::Object]);
                let t = j.field(DT_TEXT);
                let t_is = q.json_is(&t, &[JsonKind::String]);
                let text = q.json_text(&t);
                let empty = q.is_true(&format!("{t_is} AND {text} = ''"));
                format!("({is_object} AND NOT {empty})")
            }
            _ => {
                let any = q.json_is(j, ANY_KIND);
                let is_string = q.json_is(j, &[JsonKind::String]);
                let text = q.json_text(j);
                let empty = q.is_true(&format!("{is_string} AND {text} = ''"));
                format!("({any} AND NOT {empty})")
            }
        },
        Leaf::Text(e) => format!("{e} <> ''"),
        Leaf::NullableText(e) => format!("({e} IS NOT NULL AND {e} <> '')"),
        Leaf::Stamp(_) => q.lit(true).into(),
        Leaf::Const(s) => q.lit(!s.is_empty()).into(),
    }
}

/// `leaf <op> literal` for one leaf (the evaluator's `Prepared::test`).
pub(crate) fn compare(q: &mut Sql, leaf: &Leaf, prep: &Prep, op: CompareOp) -> Result<String> {
    let ordered = !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    Ok(match (leaf, prep) {
        (_, Prep::Never) => q.lit(false).into(),
        (Leaf::Json(j), Prep::Text(needle)) => {
            let is_string = q.json_is(j, &[JsonKind::String]);
            let text = q.json_text(j);
            let cond = text_op(q, &text, op, needle);
            q.is_true(&format!("{is_string} AND {cond}"))
        }
        (Leaf::Json(j), Prep::Bool(b)) => match op {
            CompareOp::Eq => {
                let kind = if *b { JsonKind::True } else { JsonKind::False };
                q.json_is(j, &[kind])
            }
            _ => q.lit(false).into(),
        },
        (Leaf::Json(_), Prep::Num(_)) if !ordered => q.lit(false).into(),
        (Leaf::Json(j), Prep::Num(want)) => {
            let f = q.json_num(&j.field(NUM_KEY));
            let cond = match want {
                Num::Int(w) => {
                    let i = q.json_num(&j.field(NUM_INT));
                    let w_ph = q.bind(Bind::Int(*w));
                    let float = float_cond(q, &f, op, *w as f64);
                    format!(
                        "CASE WHEN {i} IS NOT NULL THEN {i} {} {w_ph} ELSE {float} END",
                        sql_op(op)
                    )
                }
                Num::Float(w) => float_cond(q, &f, op, *w),
            };
            q.is_true(&cond)
        }
        (Leaf::Json(j), Prep::DateTime { instant, text }) => {
            let t = j.field(DT_TEXT);
            let t_is = q.json_is(&t, &[JsonKind::String]);
            let t_text = q.json_text(&t);
            let by_text = format!("({t_is} AND {})", text_op(q, &t_text, op, text));
            match instant {
                Some(w) if ordered => {
                    let k = j.field(DT_KEY);
                    let k_is = q.json_is(&k, &[JsonKind::String]);
                    let k_text = q.json_text(&k);
                    let by_instant = text_op(q, &k_text, op, &instant_key(*w));
                    q.is_true(&format!(
                        "CASE WHEN {k_is} THEN {by_instant} ELSE {by_text} END"
                    ))
                }
                _ => q.is_true(&by_text),
            }
        }
        (Leaf::Text(e), Prep::Text(needle)) => text_op(q, e, op, needle),
        (Leaf::NullableText(e), Prep::Text(needle)) => {
            format!("({e} IS NOT NULL AND {})", text_op(q, e, op, needle))
        }
        (Leaf::Stamp(col), Prep::DateTime { instant, text }) => match instant {
            Some(w) if ordered => {
                let d = q.dialect;
                d.stamp_cmp(q, col, sql_op(op), w.naive_utc())
            }
            _ => {
                let e = q.dialect.stamp_text(col);
                text_op(q, &e, op, text)
            }
        },
        (Leaf::Const(s), Prep::Text(needle)) => q.lit(const_op(s, op, needle)).into(),
        (Leaf::Text(_) | Leaf::NullableText(_) | Leaf::Stamp(_) | Leaf::Const(_), _) => {
            return Err(StoreError::Unsupported(
                "a column compared with a literal of another type".into(),
            ));
        }
    })
}

/// `f <op> x` on [`float_key`]s, where `-0.0` (key -1) equals `0.0` (key 0) as in
/// `f64::partial_cmp`.
fn float_cond(q: &mut Sql, f: &str, op: CompareOp, x: f64) -> String {
    if x == 0.0 {
        return match op {
            CompareOp::Eq => format!("({f} >= -1 AND {f} <= 0)"),
            CompareOp::Ne => format!("NOT ({f} >= -1 AND {f} <= 0)"),
            CompareOp::Gt => format!("{f} > 0"),
            CompareOp::Ge => format!("{f} >= -1"),
            CompareOp::Lt => format!("{f} < -1"),
            CompareOp::Le | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                format!("{f} <= 0")
            }
        };
    }
    let ph = q.bind(Bind::Int(float_key(x)));
    format!("{f} {} {ph}", sql_op(op))
}

/// `e <op> needle` on text, exact: `=`, byte order, or a substring test.
pub(crate) fn text_op(q: &mut Sql, e: &str, op: CompareOp, needle: &str) -> String {
    let d = q.dialect;
    let sub = match op {
        CompareOp::Co => Substring::Contains,
        CompareOp::Sw => Substring::Starts,
        CompareOp::Ew => Substring::Ends,
        CompareOp::Eq | CompareOp::Ne => {
            let ph = q.text(needle);
            return format!("{e} {} {ph}", sql_op(op));
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            let ph = q.text(needle);
            return format!("{} {} {ph}", d.bytewise(e), sql_op(op));
        }
    };
    if needle.is_empty() {
        // Every string contains, starts and ends with "".
        return format!("{e} IS NOT NULL");
    }
    if needle.len() > LIKE_MAX {
        let n = q.text(needle);
        let chars = i64::try_from(needle.chars().count()).unwrap_or(i64::MAX);
        let c = q.bind(Bind::Int(chars));
        return d.substring(e, sub, &n, &c);
    }
    let escaped = like_escape(needle);
    let pattern = match sub {
        Substring::Contains => format!("%{escaped}%"),
        Substring::Starts => format!("{escaped}%"),
        Substring::Ends => format!("%{escaped}"),
    };
    let ph = q.text(&pattern);
    d.like(e, &ph)
}

pub(crate) fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        // Substring operators never reach an ordering comparison.
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

/// `\`, `%` and `_` escaped for `LIKE … ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A comparison whose stored side is the same constant for every row, decided here.
fn const_op(hay: &str, op: CompareOp, needle: &str) -> bool {
    match op {
        CompareOp::Eq => hay == needle,
        CompareOp::Ne => hay != needle,
        CompareOp::Co => hay.contains(needle),
        CompareOp::Sw => hay.starts_with(needle),
        CompareOp::Ew => hay.ends_with(needle),
        CompareOp::Gt => hay > needle,
        CompareOp::Ge => hay >= needle,
        CompareOp::Lt => hay < needle,
        CompareOp::Le => hay <= needle,
    }
}
