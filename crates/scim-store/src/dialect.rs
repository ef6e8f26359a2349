//! What differs between the backends beyond the generated schema, as same-named items in one
//! module per backend. [`with_conn!`](crate::with_conn) glob-imports the right one next to the
//! schema, so a single body of code calls `search_value(..)` and gets the type its backend's
//! `search` column takes (TEXT on SQLite, JSONB on PostgreSQL).

/// SQLite side.
pub mod sqlite {
    /// The `search` column is TEXT: the JSON text.
    pub fn search_value(doc: &serde_json::Value) -> String {
        doc.to_string()
    }
    /// The `search` column from text serialised ahead of the write (the writer thread
    /// only binds it).
    pub fn search_prepared<'a>(text: &'a str, _doc: &serde_json::Value) -> &'a str {
        text
    }
    /// Placeholder for the n-th (1-based) bind parameter in raw SQL.
    pub fn placeholder(_n: usize) -> String {
        "?".to_string()
    }
}

/// PostgreSQL side.
pub mod postgres {
    /// The `search` column is JSONB: the JSON value.
    pub fn search_value(doc: &serde_json::Value) -> serde_json::Value {
        doc.clone()
    }
    /// The `search` column of a prepared write: JSONB takes the value itself.
    pub fn search_prepared(_text: &str, doc: &serde_json::Value) -> serde_json::Value {
        doc.clone()
    }
    /// Placeholder for the n-th (1-based) bind parameter in raw SQL.
    pub fn placeholder(n: usize) -> String {
        format!("${n}")
    }
}
