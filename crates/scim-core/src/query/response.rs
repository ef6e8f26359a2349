//! The ListResponse message (RFC 7644 §3.4.2), returned by list, search and discovery endpoints.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::urn;

/// One page of results. Serializes in the RFC's shape: `schemas`, integer `totalResults`,
/// `itemsPerPage` and `startIndex`, and `Resources` with a capital R, always present (an empty
/// array when nothing matched, which Entra's connection test expects to read as "no match").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListResponse {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
    pub schemas: Vec<String>,
    /// Number of results matching the query, across all pages.
    #[serde(rename = "totalResults")]
    pub total_results: u64,
    /// Number of resources on this page.
    #[serde(rename = "itemsPerPage")]
    pub items_per_page: u64,
    /// 1-based index of the first resource on this page.
    #[serde(rename = "startIndex")]
    pub start_index: u64,
    /// The resources of this page, already projected.
    #[serde(rename = "Resources", default)]
    pub resources: Vec<Value>,
}

impl ListResponse {
    /// A page of `resources` out of `total_results`, starting at `start_index`;
    /// `itemsPerPage` is the number of resources given, so it can't disagree with them.
    pub fn new(resources: Vec<Value>, total_results: u64, start_index: u64) -> Self {
        ListResponse {
            schemas: vec![urn::LIST_RESPONSE.to_string()],
            total_results,
            items_per_page: u64::try_from(resources.len()).unwrap_or(u64::MAX),
            start_index,
            resources,
        }
    }
}
