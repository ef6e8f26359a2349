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

    /// `RETURNING` makes an insert keep a statement journal (see `inserted_id!`).
    pub const RETURNING_JOURNALS: bool = true;
}

/// PostgreSQL side.
pub mod postgres {
    /// The `search` column is JSONB: the JSON value.
    pub fn search_value(doc: &serde_json::Value) -> serde_json::Value {
        doc.clone()
    }
    /// The `search` column of a prepared write: JSONB takes the value itself.
    pub fn search_prepared<'a>(
        _text: &'a str,
        doc: &'a serde_json::Value,
    ) -> &'a serde_json::Value {
        doc
    }
    /// Placeholder for the n-th (1-based) bind parameter in raw SQL.
    pub fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    /// `RETURNING` costs nothing extra: the id comes back in the same round trip.
    pub const RETURNING_JOURNALS: bool = false;
}

diesel::define_sql_function! {
    /// The rowid of this SQLite connection's last INSERT (never run on PostgreSQL).
    fn last_insert_rowid() -> diesel::sql_types::BigInt;
}

/// Runs a single-row `$insert` (prepared under `$key`, see `keyed`) and returns the new row's
/// `$id`, inside a [`with_conn!`](crate::with_conn) arm. On PostgreSQL with `RETURNING`, in
/// the same round trip. On SQLite the insert runs plain and the rowid is asked for after it:
/// SQLite runs `RETURNING` as a trigger, which makes the insert keep a statement journal (a
/// copy of every page it changes). For the sync log and the outbox, written by every create on
/// the one writer thread, that copy cost more than the second statement (writer 110 -> 94-99
/// µs per create, BENCHMARKS.md).
#[macro_export]
#[doc(hidden)]
macro_rules! inserted_id {
    ($c:expr, $key:ty, $insert:expr, $id:expr) => {{
        use diesel::RunQueryDsl as _;
        if RETURNING_JOURNALS {
            /// The rowid query's prepared-cache key.
            struct Rowid;
            $crate::keyed::keyed::<$key, _>($insert)
                .execute($c)
                .and_then(|_| {
                    $crate::keyed::keyed::<Rowid, _>(diesel::select(
                        $crate::dialect::last_insert_rowid(),
                    ))
                    .get_result::<i64>($c)
                })
        } else {
            $crate::keyed::keyed::<$key, _>($insert.returning($id)).get_result::<i64>($c)
        }
    }};
}
