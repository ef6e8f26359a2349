//! The SCIM operations themselves, as plain blocking functions over the state: core decides,
//! the store persists. HTTP handlers and Bulk both call these, so a Bulk operation behaves
//! exactly like the single request it stands for.

mod audit;
pub mod entitlements;
pub mod groups;
pub mod jit;
pub mod lifecycle;
pub mod list;
pub mod passwords;
pub mod users;

use scim_store::StoreError;

use crate::error::ApiError;

/// How often a write without `If-Match` re-reads after losing a race to a concurrent writer.
pub(crate) const RETRIES: usize = 5;

/// The time of a write, truncated to microseconds: PostgreSQL keeps no finer, and a response
/// must show the same `meta` times a later read will.
pub(crate) fn now(state: &crate::state::AppState) -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let t = state.clock.now().naive_utc();
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

pub(crate) fn check_version(expected: Option<i64>, current: i64) -> Result<(), ApiError> {
    match expected {
        Some(v) if v != current => Err(ApiError::PreconditionFailed(format!(
            "If-Match does not match the current version {}",
            scim_core::resource::etag(u64::try_from(current).unwrap_or_default())
        ))),
        _ => Ok(()),
    }
}

/// Store errors of a versioned write, in the words of the resource type.
pub(crate) fn write_error(resource_type: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::VersionMismatch { .. } => {
            ApiError::PreconditionFailed("If-Match does not match the current version".into())
        }
        StoreError::NotFound { .. } => ApiError::NotFound(format!("no such {resource_type}")),
        other => other.into(),
    }
}
