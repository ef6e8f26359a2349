//! The one error type of `scim-store`.
//!
//! Error policy: the store reports *what happened to the data* (not found, taken, stale,
//! unreachable) and never an HTTP status; the server maps each variant once. Database errors
//! are classified here, in `classify`, the only place that looks inside diesel's errors:
//! unique violations become [`StoreError::Conflict`] naming the attribute, connection failures
//! become [`StoreError::Unavailable`] (so the server can answer 503 and retry), and the rest
//! become [`StoreError::Database`] with diesel's message.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Result alias for store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything a store call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such resource in this tenant (it may exist in another; that is not said).
    #[error("{resource_type} {id} not found")]
    NotFound {
        /// `User`, `Group`, `Tenant`, `Token`, …
        resource_type: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// A unique value is taken (userName, group displayName, tenant name).
    #[error("{attribute} {value:?} is already taken")]
    Conflict {
        /// The attribute whose value collided, as clients name it (`userName`).
        attribute: &'static str,
        /// The value that collided, as sent.
        value: String,
    },
    /// The resource changed since the version the caller read (optimistic concurrency).
    #[error("the resource is at version {current}, not the version given")]
    VersionMismatch {
        /// The stored version now.
        current: i64,
    },
    /// The request names something that doesn't exist or isn't allowed (e.g. a group member
    /// id that is not a user or group of this tenant).
    #[error("{0}")]
    Invalid(String),
    /// A filter this backend can't express (`members.display`, `meta.location`): the server
    /// answers 400 `invalidFilter`, as RFC 7644 §3.12 says for an unsupported attribute and
    /// comparison. Also an unsupported database URL at start.
    #[error("{0}")]
    Unsupported(String),
    /// The database could not be reached or is shutting down: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Maps a diesel error to a store error; `conflict` names the attribute that a unique
/// violation in this statement means, when the caller knows it.
pub(crate) fn classify(e: DieselError, conflict: Option<(&'static str, &str)>) -> StoreError {
    match e {
        DieselError::NotFound => StoreError::Database("row unexpectedly missing".into()),
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => match conflict {
            Some((attribute, value)) => StoreError::Conflict {
                attribute,
                value: value.to_string(),
            },
            None => StoreError::Database(info.message().to_string()),
        },
        // A lost connection, a serialization failure or a deadlock victim: nothing was
        // committed and the same request can simply be retried.
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::SerializationFailure,
            info,
        ) => StoreError::Unavailable(info.message().to_string()),
        DieselError::DatabaseError(_, info) => {
            let msg = info.message();
            if looks_unavailable(msg) {
                StoreError::Unavailable(msg.to_string())
            } else {
                StoreError::Database(msg.to_string())
            }
        }
        other => StoreError::Database(other.to_string()),
    }
}

/// Messages libpq and SQLite use when the server is gone or the file is locked too long.
fn looks_unavailable(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    [
        "server closed the connection",
        "connection refused",
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "no connection to the server",
        "database is locked",
        "deadlock detected",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// Longest value, in bytes, of a column the store indexes: the folded userName and group
/// displayName keys, externalIds and folded email values. PostgreSQL refuses a B-tree entry
/// over about 2.7 kB (a 900 KB userName was a 500 there and a 201 on SQLite); every backend
/// refuses alike here, before the write.
pub const MAX_INDEXED_BYTES: usize = 2048;

/// Refuses a value of `attribute` longer than [`MAX_INDEXED_BYTES`].
pub(crate) fn check_indexed(attribute: &str, value: &str) -> Result<()> {
    if value.len() > MAX_INDEXED_BYTES {
        return Err(StoreError::Invalid(format!(
            "{attribute} is {} bytes long; this server stores at most {MAX_INDEXED_BYTES}",
            value.len()
        )));
    }
    Ok(())
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        classify(e, None)
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}
