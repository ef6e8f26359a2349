//! Prepared-statement keys for the statements every create runs on the writer thread.
//!
//! Diesel caches a prepared statement under its query's type only when every part of the
//! query declares a static id. `ON CONFLICT` clauses don't, so for an upsert diesel renders the
//! whole SQL text on every execution to use as the cache key, and every statement is walked
//! once more to ask whether it may be cached at all. For the users insert (20 columns and
//! `ON CONFLICT DO NOTHING`) and the four inserts beside it, that was about 6% of the writer
//! thread's time per create, which bounds SQLite write throughput. [`Keyed`] names the key
//! instead.

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

impl<K, Q, DB> QueryFragment<DB> for Keyed<K, Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        // The SQL text is fixed by the type (see `Keyed`): nothing to walk.
        Ok(true)
    }
}

impl<K, Q: Query> Query for Keyed<K, Q> {
    type SqlType = Q::SqlType;
}

impl<K, Q, Conn> RunQueryDsl<Conn> for Keyed<K, Q> {}
