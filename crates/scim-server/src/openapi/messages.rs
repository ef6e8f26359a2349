//! OpenAPI schemas of the SCIM protocol messages (RFC 7644 §3): Error, ListResponse,
//! SearchRequest, PatchOp, BulkRequest and BulkResponse.
//!
//! These types exist only to be described (`#[derive(ToSchema)]`); the server never builds
//! them — it parses requests leniently in `scim-core` and writes responses from core's types.
//! Where the server accepts more than the RFC (names in any case, `schemas` omitted), the
//! schema shows the RFC form and the description says what else is accepted, so a generated
//! client sends the standard form and a hand-written one knows its latitude.

use serde_json::Value;
use utoipa::ToSchema;

use super::resources::{Group, Resource, ResourceType, SchemaDefinition, User};

/// A SCIM Error (RFC 7644 §3.12). Every error response of the API, 4xx and 5xx, carries one
/// with `Content-Type: application/scim+json`.
#[derive(ToSchema)]
#[schema(
    as = Error,
    example = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "409",
        "scimType": "uniqueness",
        "detail": "userName \"bjensen@example.com\" is already taken in this tenant"
    })
)]
pub struct ScimError {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    pub schemas: Vec<String>,
    /// The HTTP status code, as a string (RFC 7644 §3.12).
    #[schema(pattern = "^[1-5][0-9][0-9]$", example = "400")]
    pub status: String,
    /// The RFC 7644 keyword for 400, 409 and 413 errors where the RFC defines one.
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub scim_type: Option<ScimType>,
    /// What went wrong and what to change, for a person to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub detail: Option<String>,
}

/// `scimType` keywords (RFC 7644 §3.12, Table 9).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter is malformed or names an unknown attribute.
    InvalidFilter,
    /// The query would return more results than the server allows.
    TooMany,
    /// A unique attribute value is already taken.
    Uniqueness,
    /// An attempt to change an attribute the client may not change.
    Mutability,
    /// The body is not a valid SCIM message.
    InvalidSyntax,
    /// A PATCH path is malformed or names nothing.
    InvalidPath,
    /// A PATCH path's filter matched nothing where a match was required.
    NoTarget,
    /// A value is missing, of the wrong type, or not allowed.
    InvalidValue,
    /// The SCIM protocol version is not supported.
    InvalidVers,
    /// The request carried sensitive data in the URL.
    Sensitive,
}

/// `sortOrder` values (matched case-insensitively).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SortOrder {
    /// Smallest first (the default).
    Ascending,
    /// Largest first.
    Descending,
}

macro_rules! list_response {
    ($(#[$doc:meta])* $ty:ident, $item:ty) => {
        $(#[$doc])*
        ///
        /// `itemsPerPage` is the number of `Resources` on this page; `Resources` is always
        /// present (an empty array when nothing matched).
        #[derive(ToSchema)]
        pub struct $ty {
            /// Always `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
            pub schemas: Vec<String>,
            /// Results matching the query across all pages.
            #[serde(rename = "totalResults")]
            pub total_results: u64,
            /// Results on this page.
            #[serde(rename = "itemsPerPage")]
            pub items_per_page: u64,
            /// 1-based index of this page's first result.
            #[serde(rename = "startIndex")]
            #[schema(minimum = 1)]
            pub start_index: u64,
            /// This page's results, projected by `attributes`/`excludedAttributes`.
            #[serde(rename = "Resources")]
            pub resources: Vec<$item>,
        }
    };
}

list_response!(
    /// A page of Users (RFC 7644 §3.4.2).
    UserListResponse,
    User
);
list_response!(
    /// A page of Groups (RFC 7644 §3.4.2).
    GroupListResponse,
    Group
);
list_response!(
    /// A page of Users and Groups from `POST /.search`: Users first, then Groups.
    ResourceListResponse,
    Resource
);
list_response!(
    /// Every resource type (RFC 7644 §4), in one page.
    ResourceTypeListResponse,
    ResourceType
);
list_response!(
    /// Every schema (RFC 7644 §4), in one page.
    SchemaListResponse,
    SchemaDefinition
);

/// A query in a body (RFC 7644 §3.4.3), for `POST …/.search`. Every member is optional and
/// means what the query parameter of the same name means on `GET`; names match
/// case-insensitively. `schemas` may be omitted, but when present must name the
/// SearchRequest URN.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
    "filter": "userName eq \"bjensen@example.com\"",
    "startIndex": 1,
    "count": 10
}))]
pub struct SearchRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`.
    #[schema(required = false)]
    pub schemas: Vec<String>,
    /// Attributes to return (and those returned always); a comma-separated string also works.
    #[schema(required = false)]
    pub attributes: Vec<String>,
    /// Attributes not to return; a comma-separated string also works.
    #[schema(required = false)]
    pub excluded_attributes: Vec<String>,
    /// A filter expression (RFC 7644 §3.4.2.2).
    #[schema(required = false)]
    pub filter: String,
    /// The attribute to sort by, e.g. `name.familyName`.
    #[schema(required = false)]
    pub sort_by: String,
    /// Sort direction (with `sortBy`).
    #[schema(required = false)]
    pub sort_order: SortOrder,
    /// 1-based index of the first result; values below 1 mean 1.
    #[schema(required = false)]
    pub start_index: i64,
    /// Page size; clamped to the server's maximum (see `filter.maxResults` in
    /// ServiceProviderConfig); 0 returns only `totalResults`.
    #[schema(required = false)]
    pub count: i64,
}

/// A PATCH request (RFC 7644 §3.5.2): operations applied in order, all or none.
#[derive(ToSchema)]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "replace", "path": "active", "value": false},
        {"op": "add", "path": "emails", "value": [{"value": "b@example.com", "type": "work"}]},
        {"op": "remove", "path": "members[value eq \"2819c223\"]"}
    ]
}))]
pub struct PatchOp {
    /// `["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`; may be omitted.
    pub schemas: Vec<String>,
    /// The operations (the key `Operations` is also matched case-insensitively).
    #[serde(rename = "Operations")]
    #[schema(min_items = 1)]
    pub operations: Vec<PatchOperation>,
}

/// One PATCH operation.
#[derive(ToSchema)]
pub struct PatchOperation {
    /// `add`, `replace` or `remove`. Matched case-insensitively: Entra sends `Replace`/`Add`.
    pub op: PatchOpName,
    /// Target attribute path, e.g. `name.givenName`, `emails[type eq "work"].value` or
    /// `members[value eq "…"]`. Optional for `add` and `replace`, where the value is then an
    /// object of attribute paths (or URNs) to values; required for `remove`.
    #[schema(required = false)]
    pub path: String,
    /// The new value (any JSON type); required for `add` and `replace`. For `remove` on
    /// `members`, a list of `{"value": id}` removes just those members.
    #[schema(required = false)]
    pub value: Value,
}

/// PATCH operation names, shown in their RFC spelling.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PatchOpName {
    /// Add values (appends to multi-valued attributes).
    Add,
    /// Replace values.
    Replace,
    /// Remove values.
    Remove,
}

/// A bulk request (RFC 7644 §3.7). Operations may refer to resources created earlier in the
/// same request as `bulkId:<id>`, in `path` or inside `data`; the server orders them so
/// references resolve. Limits are in ServiceProviderConfig `bulk`.
#[derive(ToSchema)]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
    "failOnErrors": 1,
    "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "u1",
         "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"}},
        {"method": "POST", "path": "/Groups", "bulkId": "g1",
         "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Tour Guides",
                  "members": [{"value": "bulkId:u1"}]}}
    ]
}))]
pub struct BulkRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]`; may be omitted.
    pub schemas: Vec<String>,
    /// Stop after this many failed operations; absent runs every operation.
    #[serde(rename = "failOnErrors")]
    #[schema(required = false, minimum = 1)]
    pub fail_on_errors: i64,
    /// The operations, at most `bulk.maxOperations`.
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperation>,
}

/// One operation of a bulk request.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    /// The HTTP method (matched case-insensitively).
    pub method: BulkMethod,
    /// The client's name for the resource a POST creates; required for POST.
    #[schema(required = false)]
    pub bulk_id: String,
    /// The ETag the resource must have (like `If-Match`).
    #[schema(required = false)]
    pub version: String,
    /// `/Users` or `/Groups` for POST; `/Users/{id}` or `/Groups/{id}` otherwise, where the id
    /// may be `bulkId:<id>`.
    pub path: String,
    /// The resource (POST, PUT) or PatchOp (PATCH); absent for DELETE.
    #[schema(required = false)]
    pub data: Value,
}

/// Bulk operation methods.
#[derive(ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum BulkMethod {
    /// Create.
    Post,
    /// Replace.
    Put,
    /// Modify.
    Patch,
    /// Delete.
    Delete,
}

/// The outcome of a bulk request (RFC 7644 §3.7.3), one entry per operation that ran, in
/// request order. The HTTP status is 200 even when operations failed; each entry has its own.
#[derive(ToSchema)]
pub struct BulkResponse {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]`.
    pub schemas: Vec<String>,
    /// Outcomes; operations skipped after `failOnErrors` errors are absent.
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperationResponse>,
}

/// The outcome of one bulk operation.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationResponse {
    /// The resource's URL; absent when a POST failed or for DELETE.
    #[schema(required = false, format = "uri")]
    pub location: String,
    /// The operation's method.
    pub method: BulkMethod,
    /// The operation's `bulkId`, echoed.
    #[schema(required = false)]
    pub bulk_id: String,
    /// The resource's ETag afterwards.
    #[schema(required = false)]
    pub version: String,
    /// The operation's HTTP status, as a string (`"201"`).
    #[schema(pattern = "^[1-5][0-9][0-9]$")]
    pub status: String,
    /// On failure, the SCIM Error of the operation.
    #[schema(required = false)]
    pub response: ScimError,
}
