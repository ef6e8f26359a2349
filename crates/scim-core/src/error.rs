//! The one error type of `scim-core`.
//!
//! Error policy: every rule that core enforces fails with one of these variants, and each
//! variant knows the HTTP status and the RFC 7644 §3.12 `scimType` it maps to, so the server
//! converts it to a SCIM Error body in one place without re-deciding anything. The `Display`
//! text is the `detail` a client sees, so it must say what to fix, never how core works.

use serde::{Deserialize, Serialize};

/// Result alias used throughout `scim-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `scimType` keywords of RFC 7644 §3.12 (Table 9), kept as an enum so a typo can't ship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax was invalid or the filter named an unknown attribute.
    InvalidFilter,
    /// The filter or request would return more results than the server allows.
    TooMany,
    /// A unique attribute value is already taken.
    Uniqueness,
    /// The client tried to change an attribute it may not change.
    Mutability,
    /// The request body was not valid SCIM JSON.
    InvalidSyntax,
    /// The PATCH path was malformed or named nothing that exists in the schema.
    InvalidPath,
    /// The PATCH path's filter matched nothing where a match was required.
    NoTarget,
    /// A value had the wrong type or was missing where required.
    InvalidValue,
    /// The SCIM protocol version was not supported.
    InvalidVers,
    /// The request carried sensitive data in the URL.
    Sensitive,
}

impl ScimType {
    /// The keyword as it appears in an Error body.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// Everything core can refuse. `#[non_exhaustive]` because new protocol features add new
/// refusals; callers must route unknown variants through [`Error::status`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filter could not be parsed; `offset` is the byte offset into the filter text.
    #[error("invalid filter at byte {offset}: {detail}")]
    InvalidFilter {
        /// What was wrong, phrased for the client.
        detail: String,
        /// Byte offset in the filter where parsing stopped.
        offset: usize,
    },
    /// A filter parsed but cannot be evaluated here (unknown attribute, wrong operand type).
    #[error("invalid filter: {0}")]
    UnsupportedFilter(String),
    /// Too many results, operations or terms.
    #[error("{0}")]
    TooMany(String),
    /// A value that must be unique is taken.
    #[error("{0}")]
    Uniqueness(String),
    /// An attempt to modify a readOnly or immutable attribute.
    #[error("{0}")]
    Mutability(String),
    /// The JSON is not a valid SCIM message.
    #[error("{0}")]
    InvalidSyntax(String),
    /// A PATCH (or attributes) path is malformed or unknown.
    #[error("{0}")]
    InvalidPath(String),
    /// A PATCH path matched nothing where it had to.
    #[error("{0}")]
    NoTarget(String),
    /// A value is of the wrong type or a required value is missing.
    #[error("{0}")]
    InvalidValue(String),
    /// The resource does not exist (used by bulk reference resolution and by callers).
    #[error("{0}")]
    NotFound(String),
    /// An `If-Match` or version precondition failed.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A request exceeded a size limit (bulk payload, body size).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The operation is valid SCIM but this service provider does not do it.
    #[error("{0}")]
    NotImplemented(String),
}

impl Error {
    /// HTTP status code the error must be answered with (RFC 7644 §3.12).
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidFilter { .. }
            | Error::UnsupportedFilter(_)
            | Error::TooMany(_)
            | Error::Mutability(_)
            | Error::InvalidSyntax(_)
            | Error::InvalidPath(_)
            | Error::NoTarget(_)
            | Error::InvalidValue(_) => 400,
            Error::NotFound(_) => 404,
            Error::Uniqueness(_) => 409,
            Error::PreconditionFailed(_) => 412,
            Error::PayloadTooLarge(_) => 413,
            Error::NotImplemented(_) => 501,
        }
    }

    /// The RFC `scimType`, where the RFC defines one for this failure.
    pub fn scim_type(&self) -> Option<ScimType> {
        match self {
            Error::InvalidFilter { .. } | Error::UnsupportedFilter(_) => {
                Some(ScimType::InvalidFilter)
            }
            Error::TooMany(_) => Some(ScimType::TooMany),
            Error::Uniqueness(_) => Some(ScimType::Uniqueness),
            Error::Mutability(_) => Some(ScimType::Mutability),
            Error::InvalidSyntax(_) => Some(ScimType::InvalidSyntax),
            Error::InvalidPath(_) => Some(ScimType::InvalidPath),
            Error::NoTarget(_) => Some(ScimType::NoTarget),
            Error::InvalidValue(_) => Some(ScimType::InvalidValue),
            Error::NotFound(_)
            | Error::PreconditionFailed(_)
            | Error::PayloadTooLarge(_)
            | Error::NotImplemented(_) => None,
        }
    }

    /// The SCIM Error body for this error; the server and Bulk responses both render it.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody::new(self.status(), self.scim_type(), self.to_string())
    }

    /// Shorthand used by validators: an `invalidValue` error with a formatted detail.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Error::InvalidValue(detail.into())
    }

    /// Shorthand used by the PATCH engine: an `invalidPath` error with a formatted detail.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Error::InvalidPath(detail.into())
    }
}

/// The RFC 7644 §3.12 Error message. `status` is a string because the RFC says so and Entra
/// checks it (clients.md E19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    pub schemas: Vec<String>,
    /// HTTP status as a decimal string.
    pub status: String,
    /// The RFC keyword, when one applies.
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none", default)]
    pub scim_type: Option<ScimType>,
    /// Human-readable explanation of what to fix.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

impl ErrorBody {
    /// Builds an Error body from its parts; the server uses it for errors that don't come from
    /// core (authentication, rate limits, storage outages).
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ErrorBody {
            schemas: vec![crate::schema::urn::ERROR.to_string()],
            status: status.to_string(),
            scim_type,
            detail: Some(detail.into()),
        }
    }
}
