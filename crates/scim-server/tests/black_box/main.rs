//! Black-box tests of the real `scim-server` binary over loopback HTTP, on SQLite and (when
//! `SCIM_TEST_PG_URL` is set) PostgreSQL: every endpoint, status code and error of issue #4.
//!
//! One test binary, one module per endpoint family; each test starts its own server on its own
//! database and port, so tests run in parallel. `common` is the harness.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly, with the response that broke them"
)]

mod auth;
mod bulk;
mod common;
mod discovery;
mod errors;
mod etag;
mod groups;
mod isolation;
mod limits;
mod list;
mod readme_smoke;
mod throttle;
mod users;
