//! Hostile input and tenant boundaries (issue #9, items 5 and 6) against the real `scim-server`
//! binary over loopback, on SQLite and (when `SCIM_TEST_PG_URL` is set) PostgreSQL:
//!
//! - `bad_input`: a table of malformed, mistyped, oversized, deeply nested and otherwise
//!   hostile requests (`cases`), each of which must get its 4xx SCIM Error, never a 5xx, while
//!   the server stays up and unchanged; `admin_input` does the same for the admin API;
//! - `isolation_matrix`: every SCIM and admin endpoint, used by tenant A on tenant B's
//!   resources, answers 404 and leaves B's data as it was; SCIM tokens never reach the admin API;
//! - `secrets`: tokens, synced passwords and the LDAP bind password never appear in clear in
//!   the database files or rows, the server's trace-level log, or any response (`haystacks`
//!   holds where it looks).
//!
//! `wire` sends the requests a client library would refuse to make.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly, with the response that broke them"
)]

#[path = "black_box/common/mod.rs"]
#[expect(
    dead_code,
    reason = "the black-box harness, of which these tests use a part"
)]
mod common;

#[path = "hostile/admin_input.rs"]
mod admin_input;
#[path = "hostile/bad_input.rs"]
mod bad_input;
#[path = "hostile/cases.rs"]
mod cases;
#[path = "hostile/haystacks.rs"]
mod haystacks;
#[path = "hostile/isolation_matrix.rs"]
mod isolation_matrix;
#[path = "hostile/secrets.rs"]
mod secrets;
#[path = "hostile/wire.rs"]
mod wire;
