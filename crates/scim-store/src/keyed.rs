//! Prepared-statement keys for the statements every create runs on the writer thread.
//!
//! Diesel caches a prepared statement under its query's type only when every part of the
//! query declares a static id. `ON CONFLICT` clauses don't, so for an upsert diesel renders the
//! whole SQL text on every execution to use as the cache key, and every statement is walked
//! once more to ask whether it may be cached at all. For the users insert (20 columns and
//! `ON CONFLICT DO NOTHING`) and the four inserts beside it, that was about 6% of the writer
//! thread's time per create, which bounds SQLite write throughput. [`Keyed`] names the key
//! instead.
//!
//! Diesel never caches an `UPDATE` at all (`UpdateStatement::walk_ast` marks every one unsafe
//! to cache), so each was parsed and planned by SQLite on every execution: ~50 000–100 000
//! instructions apiece, a third of an Okta deactivation PATCH (three UPDATEs) and a group
//! PATCH's version bump (`bench/instructions --workload deactivate`, BENCHMARKS.md). Such
//! statements go through [`cached!`], which keys them by their call site.
//!
//! A key shared by two SQL texts would run one statement with the other's binds. Debug builds
//! (every test) check that each key always renders the same text, on each backend, and fail
//! the statement when it does not.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `Q`, cached under the type `K`. Sound only when every value of `Q` renders the same SQL
/// text on a given backend, as a single-row insert of a fixed column tuple does (a NULL is a
/// bind, not SQL), and when `K` is used for no other statement shape: each call site declares
/// its own key type. (The cache is per connection, so the text may differ between backends.)
pub(crate) struct Keyed<K, Q> {
    query: Q,
    key: PhantomData<fn() -> K>,
}

/// Wraps `query` to be cached under `K`.
pub(crate) fn keyed<K: 'static, Q>(query: Q) -> Keyed<K, Q> {
    Keyed {
        query,
        key: PhantomData,
    }
}

impl<K: 'static, Q> QueryId for Keyed<K, Q> {
    type QueryId = K;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// `$query` (a statement whose SQL text never varies: no `Option` changeset, no `eq_any` over
/// a list), cached under a key type of its own, declared at this call site. Not for generic
/// functions whose type parameters could change the text (the key would not change with
/// them); the debug-build check catches that in tests.
macro_rules! cached {
    ($query:expr) => {{
        /// This call site's prepared-cache key.
        struct Key;
        $crate::keyed::keyed::<Key, _>($query)
    }};
}
pub(crate) use cached;

impl<K, Q, DB> QueryFragment<DB> for Keyed<K, Q>
where
    K: 'static,
    DB: Backend + 'static,
    DB::QueryBuilder: Default,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // Debug builds check the key's claim on every walk: `execute` reaches the cache
        // through here (see `is_safe_to_cache_prepared`), `load` through both.
        #[cfg(debug_assertions)]
        same_text::check::<K, DB>(&self.query, pass.backend())?;
        self.query.walk_ast(pass)
    }

    /// Asked only when diesel holds the `Keyed` itself, which `load` and `get_result` do.
    /// `execute` hands diesel a reference, and diesel's `&T` asks by walking the statement
    /// instead (its `QueryFragment` impl forwards `walk_ast` alone): an UPDATE or an upsert
    /// then says "never cache" whatever the key. So a keyed UPDATE is run with `RETURNING`
    /// and `load` (`tests/statement_cache.rs` checks the hot paths).
    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        // The SQL text is fixed by the type (see `Keyed`): nothing to walk.
        Ok(true)
    }
}

/// The debug-build check that a key always stands for the same SQL text.
#[cfg(debug_assertions)]
mod same_text {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    use diesel::QueryResult;
    use diesel::backend::Backend;
    use diesel::query_builder::{QueryBuilder, QueryFragment};
    use diesel::result::Error;

    /// The first text rendered for each (key, backend).
    static SEEN: OnceLock<Mutex<HashMap<(TypeId, TypeId), String>>> = OnceLock::new();

    /// Renders `query` and compares it with the text first seen under `K` on `DB`.
    pub(super) fn check<K: 'static, DB>(
        query: &dyn QueryFragment<DB>,
        backend: &DB,
    ) -> QueryResult<()>
    where
        DB: Backend + 'static,
        DB::QueryBuilder: Default,
    {
        let mut out = DB::QueryBuilder::default();
        query.to_sql(&mut out, backend)?;
        let sql = out.finish();
        let seen = SEEN.get_or_init(Default::default);
        let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let first = seen
            .entry((TypeId::of::<K>(), TypeId::of::<DB>()))
            .or_insert_with(|| sql.clone());
        if *first == sql {
            return Ok(());
        }
        Err(Error::QueryBuilderError(
            format!(
                "prepared-cache key {} stands for two statements:\n{first}\n{sql}",
                std::any::type_name::<K>()
            )
            .into(),
        ))
    }
}

impl<K, Q: Query> Query for Keyed<K, Q> {
    type SqlType = Q::SqlType;
}

impl<K, Q, Conn> RunQueryDsl<Conn> for Keyed<K, Q> {}

#[cfg(all(test, debug_assertions))]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sqlite::SqliteConnection;

    use super::keyed;

    /// A key two call sites (wrongly) share.
    struct Shared;

    #[test]
    fn a_key_that_stands_for_two_statements_fails_in_debug_builds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyed.db");
        let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        c.batch_execute("CREATE TABLE t (a INTEGER NOT NULL)")
            .unwrap();
        // Both ways diesel runs a statement: by reference (`execute`) and by value (`load`).
        let insert = |c: &mut SqliteConnection, sql: &str| {
            keyed::<Shared, _>(diesel::sql_query(sql)).execute(c)
        };
        let select = |c: &mut SqliteConnection, sql: &str| {
            keyed::<Shared, _>(diesel::select(
                diesel::dsl::sql::<diesel::sql_types::BigInt>(sql),
            ))
            .get_result::<i64>(c)
        };
        assert_eq!(insert(&mut c, "INSERT INTO t VALUES (1)").unwrap(), 1);
        // The same text again: served from the cache.
        assert_eq!(insert(&mut c, "INSERT INTO t VALUES (1)").unwrap(), 1);
        for err in [
            insert(&mut c, "INSERT INTO t VALUES (2)").unwrap_err(),
            select(&mut c, "2").unwrap_err(),
        ] {
            assert!(
                err.to_string().contains("stands for two statements"),
                "{err}"
            );
        }
        // Nothing ran under the wrong text.
        let twos: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM t WHERE a = 2)",
        ))
        .get_result(&mut c)
        .unwrap();
        assert_eq!(twos, 0);
    }
}
