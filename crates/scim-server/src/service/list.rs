//! Lists and searches: a validated query answered by the store, then the page's readOnly
//! attributes filled in only when the response shows them: User `groups` here, in one query
//! per page; Group `members` while the response is sent (`handlers::stream`), never here.

use std::collections::HashMap;

use scim_core::filter::{CompareOp, Filter, Literal};
use scim_core::projection::Projection;
use scim_core::query::ListQuery;
use scim_core::schema::ResourceType;
use scim_store::members::GroupRef;
use scim_store::query::{
    Page, PageCursor, follows_cursor, group_page_marks, list_groups_after, list_users_raw_after,
    user_page_marks,
};
use scim_store::{Conn, RawResource, TenantId};

use crate::cursors::MARK_EVERY;
use crate::error::ApiError;
use crate::handlers::groups::group_item;
use crate::handlers::raw;
use crate::handlers::stream::Item;
use crate::handlers::users::render_user_doc;
use crate::state::AppState;

/// What one list endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/Users`
    Users,
    /// `/Groups`
    Groups,
}

impl Kind {
    /// The resource type behind the endpoint.
    pub fn resource_type(self, state: &AppState) -> Result<&ResourceType, ApiError> {
        let name = match self {
            Kind::Users => "User",
            Kind::Groups => "Group",
        };
        state.registry.resource_type(name).ok_or_else(|| {
            ApiError::Internal(format!("the {name} resource type is not registered"))
        })
    }
}

/// One page of one resource type, rendered and projected; Groups whose members the
/// projection shows come as [`Item::Group`], for the response to stream their members.
pub fn page(
    st: &AppState,
    tenant: &TenantId,
    kind: Kind,
    query: &ListQuery,
    projection: &Projection,
    base: &str,
) -> Result<(Vec<Item>, u64), ApiError> {
    let rt = kind.resource_type(st)?;
    query.validate_against(&st.registry, rt)?;
    let registry = st.registry.clone();
    // Where an import left off, or the page mark before the offset, and the total, for
    // unfiltered lists (see `crate::cursors`).
    let generation = st.store.write_generation();
    let cursor = match st.cursors.find(tenant, kind, query.offset()) {
        Some(c) => Some(c),
        None if follows_cursor(query) => mark(st, tenant, kind, query.offset(), generation)?,
        None => None,
    };
    // Only an unfiltered list may take the recount of an expired total (`PageCursors::total`):
    // it is the one that keeps what it counts.
    let known = if follows_cursor(query) {
        st.cursors.total(tenant, kind, generation)
    } else {
        None
    };
    match kind {
        Kind::Users => {
            let with_groups = projection.returns("groups");
            let lookup = point_lookup(query);
            let (page, mut groups) = st.store.read(|c| {
                if let Some(key) = lookup {
                    return lookup_page(c, tenant, key, query, with_groups);
                }
                let page =
                    list_users_raw_after(c, &registry, tenant, query, cursor.as_ref(), known)?;
                let groups = if with_groups && !page.resources.is_empty() {
                    let ids: Vec<String> = page.resources.iter().map(|r| r.id.clone()).collect();
                    scim_store::users::groups_of(c, tenant, &ids)?
                } else {
                    Default::default()
                };
                Ok((page, groups))
            })?;
            let docs = page
                .resources
                .iter()
                .map(|r: &RawResource| {
                    let g: Vec<GroupRef> = groups.remove(&r.id).unwrap_or_default();
                    if let Some(bytes) = raw::user_bytes(rt, r, &g, base, projection) {
                        return Ok(Item::Raw(bytes));
                    }
                    let stored = r.clone().parse()?;
                    Ok(Item::Doc(
                        projection.apply_owned(render_user_doc(rt, &stored, &g, base)),
                    ))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            remember(st, tenant, kind, query, &page, generation, known.is_none());
            Ok((docs, page.total))
        }
        Kind::Groups => {
            let page: Page = st
                .store
                .read(|c| list_groups_after(c, &registry, tenant, query, cursor.as_ref(), known))?;
            remember(st, tenant, kind, query, &page, generation, known.is_none());
            let items = page
                .resources
                .iter()
                .map(|r| group_item(st, r, projection, base))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((items, page.total))
        }
    }
}

/// A filter that names at most one user by a unique key: Okta's and Entra's lookup before
/// every create (`userName eq "…"`) and `id eq "…"`.
#[derive(Debug, Clone, Copy)]
pub enum PointKey<'a> {
    /// `userName eq "…"`, compared ignoring case.
    UserName(&'a str),
    /// `id eq "…"`.
    Id(&'a str),
}

/// The unique key `query`'s filter names, if it is one of [`PointKey`]'s: such a list is a
/// point read (run inline on SQLite, `http::point_read`) answered by the key's index.
pub fn point_lookup(query: &ListQuery) -> Option<PointKey<'_>> {
    let Some(Filter::Compare {
        path,
        op: CompareOp::Eq,
        value: Literal::String(value),
    }) = &query.filter
    else {
        return None;
    };
    let core = path
        .urn
        .as_deref()
        .is_none_or(|u| u.eq_ignore_ascii_case(scim_core::schema::urn::USER));
    if path.sub.is_some() || !core {
        return None;
    }
    if path.name.eq_ignore_ascii_case("userName") {
        Some(PointKey::UserName(value))
    } else if path.name.eq_ignore_ascii_case("id") {
        Some(PointKey::Id(value))
    } else {
        None
    }
}

/// Each user's group references, by user id.
type GroupsOf = HashMap<String, Vec<GroupRef>>;

/// The page of a [`point_lookup`], read by the key's index with the statements writes use
/// (prepared once per connection) rather than a translated list query, parsed by SQLite on
/// every call. Same answer: `userName` compares ignoring case (its folded key), `id` exactly,
/// users the provider deleted are not listed, and `sortBy` cannot reorder one result. The
/// user's group references come from the same statement (one read transaction, see
/// `scim_store::users::get_raw_with_groups`), kept when the projection shows them.
fn lookup_page(
    c: &mut Conn<'_>,
    tenant: &TenantId,
    key: PointKey<'_>,
    query: &ListQuery,
    with_groups: bool,
) -> scim_store::Result<(Page<RawResource>, GroupsOf)> {
    use scim_store::users;
    let found = match key {
        PointKey::UserName(name) => users::visible_raw_by_user_name_with_groups(c, tenant, name)?,
        PointKey::Id(id) => users::get_raw_with_groups(c, tenant, id)?,
    };
    let total = u64::from(found.is_some());
    let on_page = query.offset() == 0 && query.count > 0;
    let mut groups = HashMap::new();
    let resources = match found.filter(|_| on_page) {
        Some((raw, refs)) => {
            if with_groups {
                groups.insert(raw.id.clone(), refs);
            }
            vec![raw]
        }
        None => Vec::new(),
    };
    let page = Page {
        resources,
        total,
        next: None,
    };
    Ok((page, groups))
}

/// The page mark at or before `offset`, reading the tenant's marks when none are valid and
/// no other request is reading them.
fn mark(
    st: &AppState,
    tenant: &TenantId,
    kind: Kind,
    offset: u64,
    generation: u64,
) -> Result<Option<PageCursor>, ApiError> {
    if let Some(c) = st.cursors.mark(tenant, kind, offset, generation) {
        return Ok(Some(c));
    }
    if !st.cursors.claim_marks(tenant, kind, offset) {
        return Ok(None);
    }
    let read = st.store.read(|c| match kind {
        Kind::Users => user_page_marks(c, tenant, MARK_EVERY),
        Kind::Groups => group_page_marks(c, tenant, MARK_EVERY),
    });
    let marks = match read {
        Ok(marks) => marks,
        Err(e) => {
            st.cursors.keep_marks(tenant, kind, Vec::new(), None);
            return Err(e.into());
        }
    };
    let unchanged = st.store.write_generation() == generation;
    st.cursors
        .keep_marks(tenant, kind, marks, Some((generation, unchanged)));
    Ok(st.cursors.mark(tenant, kind, offset, generation))
}

/// Keeps where an unfiltered page ended and, when it was `counted` for this page rather than
/// reused, its total (see `crate::cursors` for when a total is kept).
fn remember<R>(
    st: &AppState,
    tenant: &TenantId,
    kind: Kind,
    query: &ListQuery,
    page: &Page<R>,
    generation: u64,
    counted: bool,
) {
    if let Some(next) = &page.next {
        st.cursors.keep(tenant, kind, next.clone());
    }
    if counted && scim_store::query::follows_cursor(query) {
        let unchanged = st.store.write_generation() == generation;
        st.cursors
            .keep_total(tenant, kind, page.total, generation, unchanged);
    }
}
