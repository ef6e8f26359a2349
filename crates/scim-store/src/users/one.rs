//! One user with its groups in one statement: what `GET /Users/{id}` and a `userName eq`
//! lookup answer.
//!
//! The user row and its group references used to be two statements. On SQLite each statement
//! outside a transaction is its own read transaction, and beginning and ending one takes the WAL
//! read lock (an `fcntl` pair and the shared-memory mutex, which the server's request threads
//! contend on): 12% of a GET by id's CPU under load (`perf`, BENCHMARKS.md "session 7"). One
//! statement takes the lock once, sees one snapshot, and on PostgreSQL is one round trip.

use diesel::prelude::*;
use scim_core::filter::eval::fold_case;

use super::{ResourceRow, raw_row};
use crate::conn::Conn;
use crate::error::Result;
use crate::members::{GroupRef, sort_group_refs};
use crate::model::{RawResource, TenantId};
use crate::with_conn;

/// One row per membership (or one with no group) of the visible user that `$key` selects,
/// each repeating the user's columns, inside a `with_conn!` arm. Users are in few groups, and
/// only the first row's document is kept ([`fold`]).
macro_rules! user_with_groups {
    ($c:expr, $tenant:expr, $key:expr) => {
        users::table
            .left_join(
                group_members::table.on(group_members::tenant_id
                    .eq(users::tenant_id)
                    .and(group_members::member_id.eq(users::id))),
            )
            .left_join(
                groups::table.on(groups::tenant_id
                    .eq(group_members::tenant_id)
                    .and(groups::id.eq(group_members::group_id))),
            )
            .filter(users::tenant_id.eq($tenant.as_str()))
            .filter($key)
            .filter(users::deleted_at.is_null())
            .select((
                resource_columns!(),
                groups::id.nullable(),
                groups::display_name.nullable(),
            ))
            .load(&mut **$c)?
    };
}

type Row = (ResourceRow, Option<String>, Option<String>);

/// The user (not one the provider deleted) and the groups it is a direct member of, sorted as
/// [`crate::members::groups_of`] sorts them; `None` when the tenant has no such user. The
/// document stays stored text.
pub fn get_raw_with_groups(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<(RawResource, Vec<GroupRef>)>> {
    let rows: Vec<Row> = with_conn!(conn, |c| { user_with_groups!(c, tenant, users::id.eq(id)) });
    Ok(fold(rows))
}

/// [`get_raw_with_groups`] by userName, ignoring case (the folded key, as
/// `super::by_user_name`), among the users SCIM lists (not those the provider deleted, whose
/// name stays taken until their purge): Okta's and Entra's `userName eq` lookup before every
/// create.
pub fn visible_raw_by_user_name_with_groups(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    user_name: &str,
) -> Result<Option<(RawResource, Vec<GroupRef>)>> {
    let key = fold_case(user_name);
    let rows: Vec<Row> = with_conn!(conn, |c| {
        user_with_groups!(c, tenant, users::user_name_key.eq(key.as_ref()))
    });
    Ok(fold(rows))
}

/// The user of the first row and the groups of all rows, sorted.
fn fold(rows: Vec<Row>) -> Option<(RawResource, Vec<GroupRef>)> {
    let mut rows = rows.into_iter();
    let (user, group, display) = rows.next()?;
    let mut refs: Vec<GroupRef> = std::iter::once((group, display))
        .chain(rows.map(|(_, g, d)| (g, d)))
        .filter_map(|(g, d)| {
            Some(GroupRef {
                id: g?,
                display: d?,
            })
        })
        .collect();
    sort_group_refs(&mut refs);
    Some((raw_row(user), refs))
}
