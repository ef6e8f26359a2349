//! Lists and searches: a validated query answered by the store, then the page's readOnly
//! attributes (User `groups`, Group `members`) filled in only when the response shows them.

use scim_core::projection::Projection;
use scim_core::query::ListQuery;
use scim_core::schema::ResourceType;
use scim_store::members::GroupRef;
use scim_store::query::{Page, list_groups, list_users};
use scim_store::{StoredResource, TenantId};
use serde_json::Value;

use super::groups::all_members;
use crate::error::ApiError;
use crate::handlers::groups::render_group;
use crate::handlers::users::render_user;
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

/// One page of one resource type, rendered and projected.
pub fn page(
    st: &AppState,
    tenant: &TenantId,
    kind: Kind,
    query: &ListQuery,
    projection: &Projection,
    base: &str,
) -> Result<(Vec<Value>, u64), ApiError> {
    let rt = kind.resource_type(st)?;
    query.validate_against(&st.registry, rt)?;
    let registry = st.registry.clone();
    match kind {
        Kind::Users => {
            let with_groups = projection.returns("groups");
            let (page, mut groups) = st.store.read(|c| {
                let page: Page = list_users(c, &registry, tenant, query)?;
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
                .map(|r: &StoredResource| {
                    let g: Vec<GroupRef> = groups.remove(&r.id).unwrap_or_default();
                    render_user(st, r, &g, base).map(|d| projection.apply(&d))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((docs, page.total))
        }
        Kind::Groups => {
            let with_members = projection.returns("members");
            let (page, members) = st.store.read(|c| {
                let page: Page = list_groups(c, &registry, tenant, query)?;
                let mut members = Vec::with_capacity(page.resources.len());
                for r in &page.resources {
                    members.push(if with_members {
                        Some(all_members(c, tenant, &r.id)?)
                    } else {
                        None
                    });
                }
                Ok((page, members))
            })?;
            let docs = page
                .resources
                .iter()
                .zip(members)
                .map(|(r, m)| render_group(st, r, m.as_deref(), base).map(|d| projection.apply(&d)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((docs, page.total))
        }
    }
}
