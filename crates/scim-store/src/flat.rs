//! Single-row INSERTs that collect their binds in one pass.
//!
//! Diesel's `insert_into(t).values((a.eq(x), b.eq(y), …))` asks each value of the tuple
//! whether it is a no-op, which walks it, before walking it, and its `VALUES` clause asks the
//! whole tuple the same question first; a row wider than one tuple (the users insert has 20
//! columns in two) multiplies that again. The statement is prepared once (see
//! [`keyed`](crate::keyed)), but its binds are collected on every execution, and for the
//! users insert that collection was 9% of the SQLite writer thread's time per create (`perf`
//! on the LTO build: `walk_ast` under `insert_prepared_row`, mostly `is_noop` and
//! `column_names`). The writer thread bounds write throughput, so [`Row`] walks each value
//! once, and nothing else.
//!
//! What stays checked at compile time: each column belongs to the row's table, and each value
//! has the Rust type diesel binds for that column's SQL type ([`ValueOf`]). What the type
//! system no longer sees is a column left out; the tests that insert and read back every row
//! kind on both backends do.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, Integer, Jsonb, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::{Column, QueryResult, RunQueryDsl, Table};
use serde_json::Value;

use crate::stamp::Stamp;

/// A bound value, by the SQL type it is bound as.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Bool(bool),
    Int(i32),
    BigInt(i64),
    Stamp(Stamp),
    /// PostgreSQL's JSONB (SQLite keeps JSON as text).
    Json(&'a Value),
}

/// Rust values a column of SQL type `ST` takes: what keeps a [`Row`]'s values agreeing with
/// its columns' types without diesel's expression tuples.
pub(crate) trait ValueOf<'a, ST> {
    fn val(self) -> Val<'a>;
}

impl<'a> ValueOf<'a, Text> for &'a str {
    fn val(self) -> Val<'a> {
        Val::Text(self)
    }
}
impl<'a> ValueOf<'a, Text> for &'a String {
    fn val(self) -> Val<'a> {
        Val::Text(self)
    }
}
impl<'a> ValueOf<'a, Nullable<Text>> for Option<&'a str> {
    fn val(self) -> Val<'a> {
        Val::OptText(self)
    }
}
impl<'a> ValueOf<'a, Bool> for bool {
    fn val(self) -> Val<'a> {
        Val::Bool(self)
    }
}
impl<'a> ValueOf<'a, Integer> for i32 {
    fn val(self) -> Val<'a> {
        Val::Int(self)
    }
}
impl<'a> ValueOf<'a, BigInt> for i64 {
    fn val(self) -> Val<'a> {
        Val::BigInt(self)
    }
}
impl<'a> ValueOf<'a, Timestamp> for Stamp {
    fn val(self) -> Val<'a> {
        Val::Stamp(self)
    }
}
impl<'a> ValueOf<'a, Jsonb> for &'a Value {
    fn val(self) -> Val<'a> {
        Val::Json(self)
    }
}

/// `INSERT INTO table (columns) VALUES (binds)`, optionally `ON CONFLICT DO NOTHING`,
/// prepared under the key `K`. As with [`keyed`](crate::keyed), sound only when every value
/// of a given `K` sets the same columns in the same order: each call site declares its own key.
pub(crate) struct Row<'a, K, T> {
    table: T,
    values: Vec<(&'static str, Val<'a>)>,
    do_nothing: bool,
    key: PhantomData<fn() -> K>,
}

impl<'a, K: 'static, T: Table> Row<'a, K, T> {
    /// An insert of `width` columns (the capacity, not a check) into `table`.
    pub(crate) fn new(table: T, width: usize) -> Self {
        Row {
            table,
            values: Vec::with_capacity(width),
            do_nothing: false,
            key: PhantomData,
        }
    }

    /// Sets `column` to `value`.
    pub(crate) fn set<C, V>(mut self, _column: C, value: V) -> Self
    where
        C: Column<Table = T>,
        V: ValueOf<'a, C::SqlType>,
    {
        self.values.push((C::NAME, value.val()));
        self
    }

    /// Skips the row when it conflicts with a unique key (the caller reads the count).
    pub(crate) fn on_conflict_do_nothing(mut self) -> Self {
        self.do_nothing = true;
        self
    }

    /// The insert returning the new row's `column` (an id), for
    /// [`inserted_id!`](crate::inserted_id) on PostgreSQL.
    pub(crate) fn returning<C>(self, _column: C) -> Returning<'a, K, T>
    where
        C: Column<Table = T, SqlType = BigInt>,
    {
        Returning {
            row: self,
            column: C::NAME,
        }
    }
}

/// A [`Row`] with `RETURNING column`.
pub(crate) struct Returning<'a, K, T> {
    row: Row<'a, K, T>,
    column: &'static str,
}

/// [`Returning`]'s part of its prepared-cache key: its text differs from its [`Row`]'s.
pub(crate) struct ReturningKey;

impl<K: 'static, T> QueryId for Returning<'_, K, T> {
    type QueryId = (K, ReturningKey);
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<K, T> Query for Returning<'_, K, T> {
    type SqlType = BigInt;
}

impl<K, T, Conn> RunQueryDsl<Conn> for Returning<'_, K, T> {}

impl<K, T, DB> QueryFragment<DB> for Returning<'_, K, T>
where
    DB: Binds,
    T: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.row.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING ");
        out.push_identifier(self.column)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<K: 'static, T> QueryId for Row<'_, K, T> {
    type QueryId = K;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<K, T, Conn> RunQueryDsl<Conn> for Row<'_, K, T> {}

/// The bind of each [`Val`] on one backend.
pub(crate) trait Binds: Backend {
    fn bind<'b>(out: &mut AstPass<'_, 'b, Self>, value: &'b Val<'_>) -> QueryResult<()>;
}

/// The binds both backends take the same way.
fn bind_common<'b, DB>(out: &mut AstPass<'_, 'b, DB>, value: &'b Val<'_>) -> QueryResult<()>
where
    DB: Backend
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<Bool>
        + diesel::sql_types::HasSqlType<Integer>
        + diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    bool: ToSql<Bool, DB>,
    i32: ToSql<Integer, DB>,
    i64: ToSql<BigInt, DB>,
    Stamp: ToSql<Timestamp, DB>,
    for<'x> Option<&'x str>: ToSql<Nullable<Text>, DB>,
{
    match value {
        Val::Text(s) => out.push_bind_param::<Text, str>(s),
        Val::OptText(s) => out.push_bind_param::<Nullable<Text>, Option<&str>>(s),
        Val::Bool(b) => out.push_bind_param::<Bool, bool>(b),
        Val::Int(i) => out.push_bind_param::<Integer, i32>(i),
        Val::BigInt(i) => out.push_bind_param::<BigInt, i64>(i),
        Val::Stamp(t) => out.push_bind_param::<Timestamp, Stamp>(t),
        Val::Json(_) => Err(diesel::result::Error::QueryBuilderError(
            "a JSONB value bound on a backend without JSONB columns".into(),
        )),
    }
}

impl Binds for Sqlite {
    fn bind<'b>(out: &mut AstPass<'_, 'b, Self>, value: &'b Val<'_>) -> QueryResult<()> {
        bind_common(out, value)
    }
}

impl Binds for Pg {
    fn bind<'b>(out: &mut AstPass<'_, 'b, Self>, value: &'b Val<'_>) -> QueryResult<()> {
        match value {
            Val::Json(v) => out.push_bind_param::<Jsonb, Value>(v),
            other => bind_common(out, other),
        }
    }
}

impl<K, T, DB> QueryFragment<DB> for Row<'_, K, T>
where
    DB: Binds,
    T: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // In the bind-collecting pass the SQL pieces are no-ops: one loop over the values.
        out.push_sql("INSERT INTO ");
        self.table.walk_ast(out.reborrow())?;
        out.push_sql(" (");
        for (i, (name, _)) in self.values.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_identifier(name)?;
        }
        out.push_sql(") VALUES (");
        for (i, (_, value)) in self.values.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            DB::bind(&mut out, value)?;
        }
        out.push_sql(")");
        if self.do_nothing {
            out.push_sql(" ON CONFLICT DO NOTHING");
        }
        Ok(())
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        // The SQL text is fixed by the key (see `Row`): nothing to walk.
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use diesel::debug_query;

    use super::*;
    use crate::schema::{postgres, sqlite};

    struct Key;

    fn at() -> Stamp {
        Stamp(
            DateTime::from_timestamp(1_700_000_000, 0)
                .unwrap()
                .naive_utc(),
        )
    }

    #[test]
    fn renders_one_placeholder_per_column_and_quotes_every_name() {
        let row = Row::<Key, _>::new(sqlite::user_emails::table, 6)
            .set(sqlite::user_emails::tenant_id, "t")
            .set(sqlite::user_emails::user_id, "u")
            .set(sqlite::user_emails::position, 0)
            .set(sqlite::user_emails::value_key, "a@example.com")
            .set(sqlite::user_emails::type_, None)
            .set(sqlite::user_emails::is_primary, true);
        let text = debug_query::<Sqlite, _>(&row).to_string();
        assert!(
            text.starts_with(
                "INSERT INTO `user_emails` (`tenant_id`, `user_id`, `position`, `value_key`, \
                 `type`, `is_primary`) VALUES (?, ?, ?, ?, ?, ?) -- binds: "
            ),
            "{text}"
        );
        assert!(
            text.ends_with(r#"["t", "u", 0, "a@example.com", None, true]"#),
            "{text}"
        );
    }

    #[test]
    fn postgres_numbers_its_placeholders_and_takes_jsonb_and_returning() {
        let doc = serde_json::json!({"userName": "a"});
        let row = Row::<Key, _>::new(postgres::users::table, 3)
            .set(postgres::users::id, "u")
            .set(postgres::users::search, &doc)
            .set(postgres::users::created_at, at())
            .on_conflict_do_nothing();
        let text = debug_query::<Pg, _>(&row).to_string();
        assert!(
            text.starts_with(
                r#"INSERT INTO "users" ("id", "search", "created_at") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"#
            ),
            "{text}"
        );
        let ret = Row::<Key, _>::new(postgres::sync_log::table, 1)
            .set(postgres::sync_log::action, "create")
            .returning(postgres::sync_log::id);
        let text = debug_query::<Pg, _>(&ret).to_string();
        assert!(
            text.starts_with(r#"INSERT INTO "sync_log" ("action") VALUES ($1) RETURNING "id""#),
            "{text}"
        );
    }

    #[test]
    fn a_json_value_on_sqlite_is_an_error_not_a_panic() {
        // Unreachable through `set` (SQLite's JSON columns are TEXT); the bind still refuses.
        let doc = serde_json::json!({});
        let row: Row<'_, Key, _> = Row {
            table: sqlite::users::table,
            values: vec![("search", Val::Json(&doc))],
            do_nothing: false,
            key: PhantomData,
        };
        let mut conn =
            <diesel::SqliteConnection as diesel::Connection>::establish(":memory:").unwrap();
        let err = row.execute(&mut conn).unwrap_err();
        assert!(err.to_string().contains("JSONB"), "{err}");
    }
}
