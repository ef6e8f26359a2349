//! List queries: a SCIM filter, `sortBy`/`sortOrder` and `startIndex`/`count` answered by the
//! database, with `totalResults` from a `COUNT` under the same `WHERE`.
//!
//! The filter is translated by `translate` (a second interpreter of core's filter AST, next
//! to `scim_core::filter::eval`, and property-tested against it), sorting by `sort`; the
//! backends differ only in `sqlite` and `postgres`. Pages are stable: every order ends
//! with the id, and without `sortBy` rows come in creation order.
//!
//! The count and the page are read in one transaction (a repeatable-read one on PostgreSQL
//! when the caller isn't already in a transaction), so the total agrees with the page.

mod leaf;
mod postgres;
mod sort;
mod sql;
mod sqlite;
mod translate;

use chrono::NaiveDateTime;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::sqlite::{Sqlite, SqliteConnection};
use scim_core::query::ListQuery;
use scim_core::schema::SchemaRegistry;

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::model::{RawResource, StoredResource, TenantId};
use crate::stamp::Stamp;
use sql::{Bind, Dialect, Sql};
use translate::{Table, Translator};

/// One page of a list: the resources on it and how many match in all. `R` is
/// [`StoredResource`], or [`RawResource`] for the `_raw` lists whose documents stay text.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<R = StoredResource> {
    /// The resources of the requested page, in order.
    pub resources: Vec<R>,
    /// How many resources match the filter (`totalResults`).
    pub total: u64,
    /// For a full page of an unfiltered list in the default order: where the next page
    /// starts, for [`list_users_after`] / [`list_groups_after`].
    pub next: Option<PageCursor>,
}

impl Page<RawResource> {
    /// The page with its documents parsed.
    pub fn parse(self) -> Result<Page> {
        Ok(Page {
            resources: self
                .resources
                .into_iter()
                .map(RawResource::parse)
                .collect::<Result<Vec<_>>>()?,
            total: self.total,
            next: self.next,
        })
    }
}

/// Where a page of an unfiltered list in the default order (creation time, then id) ended,
/// so that the page starting at [`PageCursor::offset`] is read from that key on instead of
/// skipping `offset` entries. Okta imports users page after page (`startIndex=1, 101, 201…`);
/// with OFFSET each page costs time proportional to its position, with the cursor the same
/// as the first. Under concurrent changes a cursor is never worse than OFFSET (RFC 7644
/// §3.4.2.4 leaves paging unstable then): a user deleted before the position shifts an OFFSET
/// page by one so an unseen user is skipped, where the cursor continues right after the last
/// user served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    /// The zero-based position of the first result the cursor leads to (`startIndex - 1`).
    pub offset: u64,
    created_at: NaiveDateTime,
    id: String,
}

impl PageCursor {
    /// The cursor to the entry `(created_at, id)` at position `offset`, for a caller that
    /// keeps cursors outside this crate (the server's cache tests build marks with it).
    pub fn new(offset: u64, created_at: NaiveDateTime, id: String) -> PageCursor {
        PageCursor {
            offset,
            created_at,
            id,
        }
    }
}

/// Whether `query` lists in the order a [`PageCursor`] follows (no filter, no `sortBy`).
pub fn follows_cursor(query: &ListQuery) -> bool {
    query.filter.is_none() && query.sort_by.is_none()
}

/// Users of `tenant` matching `query.filter`, sorted and paged as the query says.
///
/// The filter and `sortBy` should have passed `ListQuery::validate_against` (the server does
/// that); an unknown attribute that gets here is `Invalid`, and `meta.location`,
/// `members.display` and `members.$ref` (not stored in comparable form) are `Unsupported`.
pub fn list_users(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
) -> Result<Page> {
    list(conn, registry, tenant, query, Table::Users, None, None)?.parse()
}

/// [`list_users`] continuing from `cursor`, used when it leads to `query`'s offset or before
/// it (a page mark) and the query [`follows_cursor`] (otherwise the cursor is ignored); `total`, when the caller knows
/// it for this unfiltered list, saves the count (ignored for other queries).
pub fn list_users_after(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
    cursor: Option<&PageCursor>,
    total: Option<u64>,
) -> Result<Page> {
    list(conn, registry, tenant, query, Table::Users, cursor, total)?.parse()
}

/// [`list_users_after`] with the documents left as stored text, for responses that copy them.
pub fn list_users_raw_after(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
    cursor: Option<&PageCursor>,
    total: Option<u64>,
) -> Result<Page<RawResource>> {
    list(conn, registry, tenant, query, Table::Users, cursor, total)
}

/// Groups of `tenant` matching `query.filter`, sorted and paged as the query says (members are
/// not read; `members.value`/`members.type` filters are answered from `group_members`).
pub fn list_groups(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
) -> Result<Page> {
    list(conn, registry, tenant, query, Table::Groups, None, None)?.parse()
}

/// [`list_groups`] continuing from `cursor` (see [`list_users_after`]).
pub fn list_groups_after(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
    cursor: Option<&PageCursor>,
    total: Option<u64>,
) -> Result<Page> {
    list(conn, registry, tenant, query, Table::Groups, cursor, total)?.parse()
}

/// The statements of one list request, ready to bind.
struct Statements {
    count_sql: String,
    page_sql: String,
    /// Binds of the count statement: the first `where_binds` of `binds`.
    where_binds: usize,
    binds: Vec<Bind>,
    want_page: bool,
    /// `Some(count)` when the page starts at the first result: a shorter page than asked for
    /// is then every result, and the count statement is not needed.
    first_page: Option<usize>,
    /// The page's offset and size when a full page carries a [`PageCursor`] to the next one.
    cursor_from: Option<(u64, usize)>,
    /// The total, when the caller knew it (unfiltered lists only).
    known_total: Option<u64>,
}

fn list(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
    table: Table,
    cursor: Option<&PageCursor>,
    total: Option<u64>,
) -> Result<Page<RawResource>> {
    let dialect: &'static dyn Dialect = match conn {
        Conn::Sqlite(_) => &sqlite::SQLITE,
        Conn::Pg(_) => &postgres::POSTGRES,
    };
    // A cursor before the offset (a page mark, `marks`) skips the entries in between.
    let cursor = cursor.filter(|c| follows_cursor(query) && c.offset <= query.offset());
    let mut st = statements(dialect, registry, tenant, query, table, cursor)?;
    st.known_total = total.filter(|_| follows_cursor(query));
    match conn {
        Conn::Sqlite(c) => c.transaction(|c| run_sqlite(c, &st)),
        Conn::Pg(c) => {
            let depth = AnsiTransactionManager::transaction_manager_status_mut(&mut **c)
                .transaction_depth()
                .map_err(StoreError::from)?;
            if depth.is_some() {
                run_pg(c, &st)
            } else {
                c.build_transaction()
                    .read_only()
                    .repeatable_read()
                    .run(|c| run_pg(c, &st))
            }
        }
    }
}

fn statements(
    dialect: &'static dyn Dialect,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
    table: Table,
    cursor: Option<&PageCursor>,
) -> Result<Statements> {
    let rt_name = match table {
        Table::Users => "User",
        Table::Groups => "Group",
    };
    let rt = registry.resource_type(rt_name).ok_or_else(|| {
        StoreError::Invalid(format!(
            "the schema registry has no {rt_name} resource type"
        ))
    })?;
    let mut q = Sql::new(dialect);
    let tenant_ph = q.text(tenant.as_str());
    let mut where_sql = format!("r.tenant_id = {tenant_ph}");
    if table == Table::Users {
        // Users the provider deleted are out of SCIM while their purge waits (users::hide).
        where_sql.push_str(" AND r.deleted_at IS NULL");
    }
    let mut indexed = false;
    if let Some(filter) = &query.filter {
        let mut tr = Translator::new(registry, rt, table, tenant_ph.clone(), &mut q);
        let cond = tr.filter(filter)?;
        indexed = tr.indexed;
        where_sql = format!("{where_sql} AND {cond}");
    }
    let where_binds = q.binds.len();
    let order = match &query.sort_by {
        Some(path) => sort::order_by(&mut q, registry, rt, table, path, query.sort_order)?,
        None => sort::default_order(),
    };
    let order = order
        .into_iter()
        .map(|(e, dir)| match indexed {
            true => format!("{} {dir}", dialect.unindexed(&e)),
            false => format!("{e} {dir}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    // From a cursor, the page starts after its key and skips what lies between the cursor's
    // position and the offset (nothing for the cursor of the previous page).
    let (after, skip) = match cursor {
        Some(c) => {
            let at = q.bind(Bind::Stamp(c.created_at));
            let id = q.bind(Bind::Text(c.id.clone()));
            (
                format!(" AND (r.created_at, r.id) > ({at}, {id})"),
                query.offset().saturating_sub(c.offset),
            )
        }
        None => (String::new(), query.offset()),
    };
    let limit = q.bind(Bind::Int(i64::try_from(query.count).unwrap_or(i64::MAX)));
    let offset = q.bind(Bind::Int(i64::try_from(skip).unwrap_or(i64::MAX)));
    let (limit, offset) = (dialect.row_count(&limit), dialect.row_count(&offset));
    let from = table.name();
    Ok(Statements {
        count_sql: format!("SELECT COUNT(*) AS n FROM {from} r WHERE {where_sql}"),
        // The page's ids first, then their rows: the rows an OFFSET skips are then skipped in
        // an index (for the default order, the partial `(tenant_id, created_at, id)` index of
        // visible users) instead of being read from the table, and only the page's rows are.
        page_sql: format!(
            "SELECT r.id, r.version, r.created_at, r.updated_at, r.resource FROM {from} r \
             WHERE r.tenant_id = {tenant_ph} AND r.id IN (\
             SELECT r.id FROM {from} r WHERE {where_sql}{after} ORDER BY {order} \
             LIMIT {limit} OFFSET {offset}) \
             ORDER BY {order}"
        ),
        where_binds,
        binds: q.binds,
        want_page: query.count > 0,
        first_page: (query.offset() == 0)
            .then(|| usize::try_from(query.count).unwrap_or(usize::MAX)),
        cursor_from: follows_cursor(query).then(|| {
            (
                query.offset(),
                usize::try_from(query.count).unwrap_or(usize::MAX),
            )
        }),
        known_total: None,
    })
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct ResourceRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Timestamp)]
    created_at: Stamp,
    #[diesel(sql_type = Timestamp)]
    updated_at: Stamp,
    #[diesel(sql_type = Text)]
    resource: String,
}

/// `sql` as a boxed query of `$backend` with `binds` bound in order.
macro_rules! bound {
    ($backend:ty, $sql:expr, $binds:expr) => {{
        let mut q = diesel::sql_query($sql).into_boxed::<$backend>();
        for b in $binds {
            q = match b {
                Bind::Text(s) => q.bind::<Text, _>(s.clone()),
                Bind::Int(i) => q.bind::<BigInt, _>(*i),
                Bind::Stamp(t) => q.bind::<Timestamp, _>(*t),
            };
        }
        q
    }};
}

/// Generates the per-backend runner: the same steps, with the backend's concrete types.
macro_rules! runner {
    ($name:ident, $conn:ty, $backend:ty) => {
        fn $name(c: &mut $conn, st: &Statements) -> Result<Page<RawResource>> {
            let count = |c: &mut $conn| -> Result<u64> {
                if let Some(known) = st.known_total {
                    return Ok(known);
                }
                let counted: Vec<CountRow> =
                    bound!($backend, st.count_sql.clone(), &st.binds[..st.where_binds]).load(c)?;
                Ok(u64::try_from(counted.first().map_or(0, |r| r.n)).unwrap_or(0))
            };
            if !st.want_page {
                return Ok(Page {
                    resources: Vec::new(),
                    total: count(c)?,
                    next: None,
                });
            }
            // The page first: Okta's and Entra's lookups (`userName eq …`) find zero or one
            // user on a first page, which then is the whole answer, and one statement less.
            let rows: Vec<ResourceRow> =
                bound!($backend, st.page_sql.clone(), &st.binds).load(c)?;
            let next = match (st.cursor_from, rows.last()) {
                (Some((from, size)), Some(last)) if rows.len() == size => Some(PageCursor {
                    offset: from + rows.len() as u64,
                    created_at: last.created_at.0,
                    id: last.id.clone(),
                }),
                _ => None,
            };
            let resources: Vec<RawResource> = rows.into_iter().map(raw).collect();
            let total = match st.first_page {
                Some(limit) if resources.len() < limit => {
                    u64::try_from(resources.len()).unwrap_or(u64::MAX)
                }
                _ => count(c)?,
            };
            Ok(Page {
                resources,
                total,
                next,
            })
        }
    };
}

runner!(run_sqlite, SqliteConnection, Sqlite);
runner!(run_pg, PgConnection, Pg);

// After `bound!`, which it uses.
mod marks;
pub use marks::{group_page_marks, user_page_marks};

fn raw(row: ResourceRow) -> RawResource {
    RawResource {
        id: row.id,
        version: row.version,
        created_at: row.created_at.0,
        updated_at: row.updated_at.0,
        text: row.resource,
    }
}

/// The database's plans for the two statements of one list request, one line per plan step
/// (SQLite's `EXPLAIN QUERY PLAN` details, PostgreSQL's `EXPLAIN` lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPlan {
    /// The `COUNT(*)` that answers `totalResults`.
    pub count: Vec<String>,
    /// The page's statement.
    pub page: Vec<String>,
}

/// How the database would answer [`list_users`] with `query`: operators and tests use it to
/// check that the count and the page read indexes rather than every row of the tenant.
pub fn explain_list_users(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
) -> Result<ListPlan> {
    explain(conn, registry, tenant, query, Table::Users)
}

/// How the database would answer [`list_groups`] with `query` (see [`explain_list_users`]).
pub fn explain_list_groups(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
) -> Result<ListPlan> {
    explain(conn, registry, tenant, query, Table::Groups)
}

#[derive(QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlanRow {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

fn explain(
    conn: &mut Conn<'_>,
    registry: &SchemaRegistry,
    tenant: &TenantId,
    query: &ListQuery,
    table: Table,
) -> Result<ListPlan> {
    match conn {
        Conn::Sqlite(c) => {
            let st = statements(&sqlite::SQLITE, registry, tenant, query, table, None)?;
            let mut plan = |sql: &str, binds: &[Bind]| -> Result<Vec<String>> {
                let rows: Vec<SqlitePlanRow> =
                    bound!(Sqlite, format!("EXPLAIN QUERY PLAN {sql}"), binds).load(&mut **c)?;
                Ok(rows.into_iter().map(|r| r.detail).collect())
            };
            Ok(ListPlan {
                count: plan(&st.count_sql, &st.binds[..st.where_binds])?,
                page: plan(&st.page_sql, &st.binds)?,
            })
        }
        Conn::Pg(c) => {
            let st = statements(&postgres::POSTGRES, registry, tenant, query, table, None)?;
            let mut plan = |sql: &str, binds: &[Bind]| -> Result<Vec<String>> {
                let rows: Vec<PgPlanRow> =
                    bound!(Pg, format!("EXPLAIN {sql}"), binds).load(&mut **c)?;
                Ok(rows.into_iter().map(|r| r.line).collect())
            };
            Ok(ListPlan {
                count: plan(&st.count_sql, &st.binds[..st.where_binds])?,
                page: plan(&st.page_sql, &st.binds)?,
            })
        }
    }
}
