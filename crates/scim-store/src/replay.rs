//! The writer's jobs: each runs alone in its own savepoint of the batch transaction, so a
//! failing request rolls back alone; a job that may run twice shares one savepoint with the
//! batch's other such jobs first, and runs again alone only if one of them fails.
//!
//! SQLite copies every page a savepoint is the first to change into an in-memory journal, and
//! the creates of a batch all change the same few pages (the ends of the users table, its
//! indexes and the sync log). Queued creates (`Store::write_queued`, no effect outside the
//! transaction) therefore run together in one savepoint, which copies each page once per batch
//! instead of once per create. If one of them fails, that savepoint is rolled back and each of
//! them runs again in its own: the failing one rolls back alone, the rest commit, and each
//! caller gets the outcome of its job's last run. The gain measured was small (BENCHMARKS.md,
//! session 6); most of the copies had come from `RETURNING` (see `dialect::inserted_id!`).

use std::panic::AssertUnwindSafe;

use diesel::Connection;
use diesel::sqlite::SqliteConnection;

use crate::Conn;
use crate::error::{Result, StoreError};
use crate::wal_sync::Completion;

/// A job of a batch: run alone, or (when it may run twice) first beside the others of its
/// batch and then, if one of them failed, alone.
pub(crate) trait Replayable: Send {
    /// Runs the job. `alone`: in its own savepoint, its failure kept as its outcome (always
    /// `true`). Otherwise bare, inside the batch's shared savepoint: `false` when it failed,
    /// and that savepoint must be rolled back.
    fn run(&mut self, c: &mut SqliteConnection, alone: bool) -> bool;
    /// What to tell the caller once the batch's commit is over.
    fn finish(self: Box<Self>) -> Completion;
}

/// A closure with the reply to its caller and the outcome of its last run.
pub(crate) struct Job<R, F, S> {
    f: F,
    reply: S,
    outcome: Option<Result<R>>,
}

impl<R, F, S> Job<R, F, S> {
    pub(crate) fn new(f: F, reply: S) -> Job<R, F, S> {
        Job {
            f,
            reply,
            outcome: None,
        }
    }
}

impl<R, F, S> Replayable for Job<R, F, S>
where
    R: Send + 'static,
    F: FnMut(&mut Conn<'_>) -> Result<R> + Send + 'static,
    S: FnOnce(Result<R>) + Send + 'static,
{
    fn run(&mut self, c: &mut SqliteConnection, alone: bool) -> bool {
        let f = &mut self.f;
        let outcome = if alone {
            c.transaction::<R, StoreError, _>(|c| guarded(|| f(&mut Conn::Sqlite(c))))
        } else {
            guarded(|| f(&mut Conn::Sqlite(c)))
        };
        let ok = alone || outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>) -> Completion {
        let Job { reply, outcome, .. } = *self;
        // Not run: the batch never began, and its commit outcome is the error to report.
        let outcome = outcome.unwrap_or_else(|| {
            Err(StoreError::Unavailable(
                "the write was not run: its batch did not begin".into(),
            ))
        });
        Box::new(move |commit: Result<()>| reply(commit.and(outcome)))
    }
}

/// Runs a job's body, turning a panic into an error. Inside a savepoint, the error then rolls
/// the savepoint back; a panic unwinding through diesel's `transaction` would leave the
/// savepoint open and the connection's transaction depth wrong, and the batch's COMMIT would
/// then only release that savepoint, keeping the write lock.
pub(crate) fn guarded<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    std::panic::catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(StoreError::Database("a write operation panicked".into())))
}

/// Runs `jobs` in one savepoint; if one fails, rolls that back and runs each in its own.
pub(crate) fn run_all(c: &mut SqliteConnection, jobs: &mut [Box<dyn Replayable>]) {
    if jobs.is_empty() {
        return;
    }
    let shared = c.transaction::<(), StoreError, _>(|c| {
        for job in jobs.iter_mut() {
            if !job.run(c, false) {
                return Err(StoreError::Invalid("a job of the shared run failed".into()));
            }
        }
        Ok(())
    });
    if shared.is_err() {
        for job in jobs.iter_mut() {
            job.run(c, true);
        }
    }
}
