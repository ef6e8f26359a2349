//! PostgreSQL's spelling of the generated SQL: `jsonb` operators on the JSONB search column
//! (`->` with bound keys, `#>> '{}'` for a scalar's text, `jsonb_typeof`),
//! `jsonb_array_elements` for arrays (only ever applied to an array), `$N` placeholders, and
//! `COLLATE "C"` wherever text is ordered, so that order is byte (code point) order as in Rust
//! rather than the database's locale.

use chrono::{NaiveDateTime, Timelike};

use super::sql::{Base, Bind, Dialect, Json, JsonKind, Sql, Substring};

/// The PostgreSQL dialect.
pub(crate) struct Postgres;

/// The one instance.
pub(crate) static POSTGRES: Postgres = Postgres;

fn type_name(kind: JsonKind) -> &'static str {
    match kind {
        JsonKind::String => "string",
        JsonKind::Number => "number",
        JsonKind::True | JsonKind::False => "boolean",
        JsonKind::Object => "object",
        JsonKind::Array => "array",
    }
}

/// The jsonb expression for `j`.
fn expr(q: &mut Sql, j: &Json) -> String {
    let mut e = match &j.base {
        Base::Row => "r.search".to_string(),
        Base::Elem(a) => format!("{a}.v"),
    };
    for key in &j.path {
        let ph = q.bind(Bind::Text(key.clone()));
        e = format!("({e} -> {ph})");
    }
    e
}

impl Dialect for Postgres {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    fn is_true(&self, e: &str) -> String {
        format!("COALESCE({e}, FALSE)")
    }

    fn json_is(&self, q: &mut Sql, j: &Json, kinds: &[JsonKind]) -> String {
        let e = expr(q, j);
        let mut tests = Vec::new();
        let bools = (
            kinds.contains(&JsonKind::True),
            kinds.contains(&JsonKind::False),
        );
        for kind in kinds {
            match kind {
                JsonKind::True | JsonKind::False => {}
                other => tests.push(format!("jsonb_typeof({e}) = '{}'", type_name(*other))),
            }
        }
        match bools {
            (true, true) => tests.push(format!("jsonb_typeof({e}) = 'boolean'")),
            (true, false) => tests.push(format!("{e} = 'true'::jsonb")),
            (false, true) => tests.push(format!("{e} = 'false'::jsonb")),
            (false, false) => {}
        }
        if tests.is_empty() {
            return "FALSE".to_string();
        }
        format!("COALESCE(({}), FALSE)", tests.join(" OR "))
    }

    fn json_text(&self, q: &mut Sql, j: &Json) -> String {
        format!("({} #>> '{{}}')", expr(q, j))
    }

    fn json_num(&self, q: &mut Sql, j: &Json) -> String {
        let e = expr(q, j);
        format!("(CASE WHEN jsonb_typeof({e}) = 'number' THEN ({e} #>> '{{}}')::numeric END)")
    }

    fn json_each(&self, q: &mut Sql, j: &Json, alias: &str) -> String {
        let e = expr(q, j);
        format!(
            "jsonb_array_elements(CASE WHEN jsonb_typeof({e}) = 'array' THEN {e} \
             ELSE '[]'::jsonb END) AS {alias}(v)"
        )
    }

    fn bytewise(&self, e: &str) -> String {
        format!("({e}) COLLATE \"C\"")
    }

    fn like(&self, e: &str, pattern: &str) -> String {
        // E'\\' is one backslash whatever `standard_conforming_strings` says.
        format!("{e} LIKE {pattern} ESCAPE E'\\\\'")
    }

    fn substring(&self, e: &str, op: Substring, needle: &str, chars: &str) -> String {
        match op {
            Substring::Contains => format!("strpos({e}, {needle}) > 0"),
            Substring::Starts => format!("left({e}, {chars}::int) = {needle}"),
            Substring::Ends => format!("right({e}, {chars}::int) = {needle}"),
        }
    }

    fn stamp_text(&self, col: &str) -> String {
        // RFC 3339 with `SecondsFormat::AutoSi`: no fraction, 3 digits or 6 (PostgreSQL keeps
        // microseconds), lower-cased as the filter folds it.
        let us = format!("(EXTRACT(MICROSECONDS FROM {col})::bigint % 1000000)");
        format!(
            "(to_char({col}, 'YYYY-MM-DD\"t\"HH24:MI:SS') || CASE WHEN {us} = 0 THEN '' \
             WHEN {us} % 1000 = 0 THEN '.' || lpad(({us} / 1000)::text, 3, '0') \
             ELSE '.' || lpad({us}::text, 6, '0') END || 'z')"
        )
    }

    fn stamp_cmp(&self, q: &mut Sql, col: &str, op: &str, t: NaiveDateTime) -> String {
        // The column keeps whole microseconds. An instant between two of them is equal to
        // none, greater than the one below and less than the one above.
        let sub_micro = !t.nanosecond().is_multiple_of(1000);
        if !sub_micro {
            let ph = q.bind(Bind::Stamp(t));
            return format!("{col} {op} {ph}");
        }
        let floor = t
            .with_nanosecond(t.nanosecond() - t.nanosecond() % 1000)
            .unwrap_or(t);
        let (op, floor) = match op {
            "=" => return "FALSE".to_string(),
            ">" | ">=" => (">", floor),
            _ => ("<=", floor),
        };
        let ph = q.bind(Bind::Stamp(floor));
        format!("{col} {op} {ph}")
    }

    fn unindexed(&self, e: &str) -> String {
        // PostgreSQL's planner has statistics and chooses well by itself.
        e.to_string()
    }

    fn row_count(&self, ph: &str) -> String {
        ph.to_string()
    }

    fn version_text(&self, col: &str) -> String {
        format!("('W/\"' || {col}::text || '\"')")
    }
}
