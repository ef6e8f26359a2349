//! Fleet tests (issue #9 items 3 and 4): the real `scim-server` binary as several processes on
//! one PostgreSQL, killed with SIGKILL and restarted while they work through a backlog of due
//! deactivation jobs and webhook events (`fleet/several.rs`); and one process whose PostgreSQL
//! is stopped under load and started again (`fleet/outage.rs`, on a private throwaway cluster
//! it may stop).
//!
//! Run alone: `cargo test -p scim-server --test fleet -- --nocapture` (the several-instances
//! test needs `SCIM_TEST_PG_URL`; the outage test needs PostgreSQL's server binaries, which
//! `scripts/services.sh` installs). Each prints what it measured; `SCIM_FLEET_SEED` replays a
//! run's random choices.

#![expect(clippy::expect_used, clippy::panic, reason = "tests fail by panicking")]

#[path = "black_box/common/http.rs"]
#[expect(
    dead_code,
    reason = "the black-box tests' client; these tests use part of it"
)]
mod http;
#[path = "fleet/instances.rs"]
mod instances;
#[path = "fleet/outage.rs"]
mod outage;
#[path = "fleet/pg_cluster.rs"]
mod pg_cluster;
#[path = "webhooks/receiver.rs"]
#[expect(
    dead_code,
    reason = "the webhook tests' receiver; these tests use part of it"
)]
mod receiver;
#[path = "fleet/several.rs"]
mod several;
