//! `scim-core`: everything a SCIM 2.0 service provider decides, with no I/O.
//!
//! Architecture invariant: this crate opens no socket, file or clock and knows no HTTP, SQL or
//! hashing. Time and ids are parameters, so every rule is testable in microseconds and the
//! server and store only carry out what core decided. See `ARCHITECTURE.md` at the workspace
//! root for how the crates fit together.

pub mod bulk;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod json;
pub mod patch;
pub mod path;
pub mod policy;
pub mod projection;
pub mod query;
pub mod resource;
pub mod schema;

pub use error::{Error, ErrorBody, Result, ScimType};
