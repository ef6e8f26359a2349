//! SQLite's spelling of the generated SQL: `json_type`/`json_extract` on the TEXT search
//! column, `json_each` for arrays, `?N` placeholders.
//!
//! `json_each` yields SQL values for scalar elements and JSON text for object elements, so an
//! element is read through its `type`/`value` columns directly, and a key inside an element
//! through `json_extract` on `value` only when `type` says it is an object (`json_extract` on
//! a plain string would raise "malformed JSON").

use chrono::NaiveDateTime;

use super::sql::{Base, Bind, Dialect, Json, JsonKind, Sql, Substring};

/// The SQLite dialect.
pub(crate) struct Sqlite;

/// The one instance.
pub(crate) static SQLITE: Sqlite = Sqlite;

/// `json_type` results for each kind.
fn type_names(kind: JsonKind) -> &'static [&'static str] {
    match kind {
        JsonKind::String => &["text"],
        JsonKind::Number => &["integer", "real"],
        JsonKind::True => &["true"],
        JsonKind::False => &["false"],
        JsonKind::Object => &["object"],
        JsonKind::Array => &["array"],
    }
}

/// A JSON path of quoted labels, `$."urn:…:User:department"`. Keys are attribute names and
/// schema URNs, checked by the translator to contain no quote or backslash; a quoted label
/// takes `:` and `.` literally.
fn json_path(keys: &[String]) -> String {
    let mut path = String::from("$");
    for key in keys {
        path.push_str(".\"");
        path.push_str(key);
        path.push('"');
    }
    path
}

/// The SQL expressions for the type name and the value of `j`.
fn locate(q: &mut Sql, j: &Json) -> (String, String) {
    let doc = match (&j.base, j.path.is_empty()) {
        (Base::Elem(a), true) => return (format!("{a}.type"), format!("{a}.value")),
        (Base::Elem(a), false) => format!("(CASE WHEN {a}.type = 'object' THEN {a}.value END)"),
        (Base::Row, _) => "r.search".to_string(),
    };
    let ph = q.bind(Bind::Text(json_path(&j.path)));
    (
        format!("json_type({doc}, {ph})"),
        format!("json_extract({doc}, {ph})"),
    )
}

impl Dialect for Sqlite {
    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }

    fn is_true(&self, e: &str) -> String {
        format!("COALESCE({e}, 0)")
    }

    fn json_is(&self, q: &mut Sql, j: &Json, kinds: &[JsonKind]) -> String {
        let (ty, _) = locate(q, j);
        let names: Vec<String> = kinds
            .iter()
            .flat_map(|k| type_names(*k))
            .map(|n| format!("'{n}'"))
            .collect();
        format!("COALESCE({ty} IN ({}), 0)", names.join(", "))
    }

    fn json_text(&self, q: &mut Sql, j: &Json) -> String {
        locate(q, j).1
    }

    fn json_num(&self, q: &mut Sql, j: &Json) -> String {
        let (ty, value) = locate(q, j);
        format!("(CASE WHEN {ty} IN ('integer', 'real') THEN {value} END)")
    }

    fn json_each(&self, q: &mut Sql, j: &Json, alias: &str) -> String {
        // Arrays live at the top level of the search document only. The caller checks
        // `json_is(j, Array)` next to the iteration; without that check `json_each` would
        // iterate an object's members or yield a scalar itself (never an error, though).
        match &j.base {
            Base::Row => {
                let p = q.bind(Bind::Text(json_path(&j.path)));
                format!("json_each(r.search, {p}) AS {alias}")
            }
            Base::Elem(_) => format!("json_each('[]') AS {alias}"),
        }
    }

    fn bytewise(&self, e: &str) -> String {
        // TEXT compares with the BINARY collation: memcmp of UTF-8, which is code point order.
        e.to_string()
    }

    fn like(&self, e: &str, pattern: &str) -> String {
        // Connections run with `PRAGMA case_sensitive_like = ON` (conn.rs).
        format!("{e} LIKE {pattern} ESCAPE '\\'")
    }

    fn substring(&self, e: &str, op: Substring, needle: &str, chars: &str) -> String {
        match op {
            Substring::Contains => format!("instr({e}, {needle}) > 0"),
            Substring::Starts => format!("substr({e}, 1, {chars}) = {needle}"),
            Substring::Ends => format!("substr({e}, -{chars}) = {needle}"),
        }
    }

    fn stamp_text(&self, col: &str) -> String {
        // diesel stores a NaiveDateTime as `%F %T%.f`, whose fraction has 0, 3, 6 or 9 digits
        // exactly like RFC 3339 with `SecondsFormat::AutoSi`.
        format!("(replace({col}, ' ', 't') || 'z')")
    }

    fn stamp_cmp(&self, q: &mut Sql, col: &str, op: &str, t: NaiveDateTime) -> String {
        // The column holds `%F %T%.f` text at full precision; the bind is formatted the same
        // way, and that text orders as time.
        let ph = q.bind(Bind::Stamp(t));
        format!("{col} {op} {ph}")
    }

    fn unindexed(&self, e: &str) -> String {
        // Unary `+` is SQLite's documented way to keep an expression away from indexes. Without
        // statistics the planner would otherwise walk `(tenant_id, created_at, id)` to skip
        // the sort, reading the whole tenant to find the one `externalId eq` row.
        format!("+{e}")
    }

    fn row_count(&self, ph: &str) -> String {
        // A bare `LIMIT ?` makes SQLite plan for the bound value, so the statement expires and
        // is prepared again whenever the parameter is re-bound (every execution); an
        // expression is read at run time and the prepared statement is reused.
        format!("CAST({ph} AS INTEGER)")
    }

    fn version_text(&self, col: &str) -> String {
        format!("('W/\"' || {col} || '\"')")
    }
}
