//! Durable storage for SCIM tenants, users and groups on SQLite and PostgreSQL.
//!
//! Not built yet: issue #3 fills this crate. It exists now so that the workspace layout the
//! design card fixes (`scim-core`, `scim-store`, `scim-server`) is in place from the first commit.
