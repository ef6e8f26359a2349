//! The `/scim/v2` HTTP API, authentication, workers and the `scim-server` binary.
//!
//! Not built yet: issue #4 fills this crate. It exists now so that the workspace layout the
//! design card fixes (`scim-core`, `scim-store`, `scim-server`) is in place from the first commit.
