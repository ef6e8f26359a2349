//! The BulkResponse message (RFC 7644 §3.7.3) and the failOnErrors count that decides when an
//! executor stops.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BulkMethod, BulkOperation, PlanFailure};
use crate::error::{Error, ErrorBody};
use crate::schema::urn;

/// The outcome of one operation, in the RFC's shape: `location`, `method`, `bulkId`,
/// `version`, `status` as a string, and on failure the SCIM Error body in `response`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationResponse {
    /// Absolute URL of the resource; absent for a POST that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The operation's method.
    pub method: BulkMethod,
    /// The operation's bulkId, echoed so the client can map it to the new id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource's version (ETag) after the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// HTTP status of the operation, as a string (`"201"`).
    pub status: String,
    /// The SCIM Error body of a failed operation (or a resource body, if the server chooses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

impl BulkOperationResponse {
    /// A successful operation: `201` for POST, `200` for PUT/PATCH, `204` for DELETE, as the
    /// server decides; `location` and `version` describe the resource afterwards.
    pub fn success(
        op: &BulkOperation,
        status: u16,
        location: Option<String>,
        version: Option<String>,
    ) -> Self {
        BulkOperationResponse {
            location,
            method: op.method,
            bulk_id: op.bulk_id.clone(),
            version,
            status: status.to_string(),
            response: None,
        }
    }

    /// A failed operation carrying `body` as its `response` and the body's status.
    pub fn error(op: &BulkOperation, body: ErrorBody) -> Self {
        BulkOperationResponse {
            location: None,
            method: op.method,
            bulk_id: op.bulk_id.clone(),
            version: None,
            status: body.status.clone(),
            response: serde_json::to_value(&body).ok(),
        }
    }

    /// A failed operation from a core error (validation, uniqueness, precondition, …).
    pub fn from_error(op: &BulkOperation, error: &Error) -> Self {
        Self::error(op, error.to_body())
    }

    /// An operation the plan failed without running.
    pub fn failed(op: &BulkOperation, failure: &PlanFailure) -> Self {
        Self::error(op, failure.to_body())
    }

    /// Sets `location` (e.g. the resource a failed PUT addressed).
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// Sets `response` (e.g. the created resource, for clients that want it).
    pub fn with_response(mut self, response: Value) -> Self {
        self.response = Some(response);
        self
    }

    /// The status as a number; `None` if it isn't one.
    pub fn status_code(&self) -> Option<u16> {
        self.status.trim().parse().ok()
    }

    /// Whether the operation failed (status 400 or above, or unreadable).
    pub fn is_error(&self) -> bool {
        self.status_code().is_none_or(|s| s >= 400)
    }
}

/// The BulkResponse message. The HTTP status of the bulk request itself is 200 whenever the
/// request was processed, even if operations failed (RFC 7644 §3.7.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResponse {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]`.
    pub schemas: Vec<String>,
    /// One entry per operation that ran or failed, in execution order.
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperationResponse>,
}

impl BulkResponse {
    /// Wraps the operation responses.
    pub fn new(operations: Vec<BulkOperationResponse>) -> Self {
        BulkResponse {
            schemas: vec![urn::BULK_RESPONSE.to_string()],
            operations,
        }
    }
}

/// failOnErrors bookkeeping (RFC 7644 §3.7.3): counts failed operations and says when the
/// executor must stop, leaving the remaining operations out of the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailOnErrors {
    limit: Option<u64>,
    errors: u64,
}

impl FailOnErrors {
    /// Starts counting for a request's `failOnErrors` (`None`: never stop).
    pub fn new(limit: Option<u64>) -> Self {
        FailOnErrors { limit, errors: 0 }
    }

    /// Counts `response` if it is an error; returns whether the executor must stop now.
    pub fn record(&mut self, response: &BulkOperationResponse) -> bool {
        if response.is_error() {
            self.errors = self.errors.saturating_add(1);
        }
        self.should_stop()
    }

    /// Whether the error limit has been reached.
    pub fn should_stop(&self) -> bool {
        self.limit.is_some_and(|limit| self.errors >= limit)
    }

    /// Errors counted so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }
}
