//! The writer's jobs: each runs alone in its own savepoint of the batch transaction, so a
//! failing request rolls back alone; a job that may run twice first runs bare in the batch's
//! transaction beside the batch's other such jobs, and runs again alone only if one of them
//! fails.
//!
//! SQLite copies every page a savepoint is the first to change into an in-memory journal (a
//! 4 KiB copy and an allocation per page), which is the price of rolling that savepoint back
//! alone. Queued creates (`Store::write_queued`, no effect outside the transaction) need no
//! such price on the common path: they run bare, first in the batch's transaction, so nothing
//! is copied. If one of them fails, the writer rolls the whole transaction back and runs the
//! batch again with every job in its own savepoint: the failing one rolls back alone, the
//! rest commit, and each caller gets the outcome of its job's last run. Sharing one savepoint
//! (session 6) copied each page once per batch; running bare (session 9) copies none, which
//! was 9% of the writer's time in creates (BENCHMARKS.md, session 9).

use std::panic::AssertUnwindSafe;

use diesel::Connection;
use diesel::sqlite::SqliteConnection;

use crate::Conn;
use crate::error::{Result, StoreError};
use crate::wal_sync::Completion;

/// A job of a batch: run alone, or (when it may run twice) first bare beside the others of
/// its batch and then, if one of them failed, alone.
pub(crate) trait Replayable: Send {
    /// Runs the job. `alone`: in its own savepoint, its failure kept as its outcome (always
    /// `true`). Otherwise bare, in the batch's transaction: `false` when it failed, and that
    /// transaction must be rolled back.
    fn run(&mut self, c: &mut SqliteConnection, alone: bool) -> bool;
    /// Called once the batch's COMMIT is over (`committed`: it succeeded), before the batch
    /// is durable: tells a hooked job's caller whether its write is now visible to readers
    /// ([`Job::on_commit`]), and returns what to tell the caller once the batch is durable.
    fn finish(self: Box<Self>, committed: bool) -> Completion;
}

/// Hears, on the writer thread right after the batch's COMMIT, whether the job's write
/// committed (and readers now see it). It must only hand that on.
pub(crate) type CommitHook = Box<dyn FnOnce(bool) + Send>;

/// A closure with the reply to its caller and the outcome of its last run.
pub(crate) struct Job<R, F, S> {
    f: F,
    reply: S,
    outcome: Option<Result<R>>,
    on_commit: Option<CommitHook>,
}

impl<R, F, S> Job<R, F, S> {
    pub(crate) fn new(f: F, reply: S) -> Job<R, F, S> {
        Job {
            f,
            reply,
            outcome: None,
            on_commit: None,
        }
    }

    /// The job, with `hook` told at COMMIT whether the job's write committed: its caller may
    /// then read what it wrote while the batch is being made durable (`Store::write_overlapped`).
    pub(crate) fn on_commit(mut self, hook: CommitHook) -> Job<R, F, S> {
        self.on_commit = Some(hook);
        self
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

    fn finish(self: Box<Self>, committed: bool) -> Completion {
        let Job {
            f,
            reply,
            outcome,
            on_commit,
        } = *self;
        if let Some(hook) = on_commit {
            hook(committed && matches!(outcome, Some(Ok(_))));
        }
        // Not run: the batch never began, and its commit outcome is the error to report.
        let outcome = outcome.unwrap_or_else(|| {
            Err(StoreError::Unavailable(
                "the write was not run: its batch did not begin".into(),
            ))
        });
        // The closure (and what it holds) goes with the completion, off the writer thread,
        // and is dropped before the caller hears: a caller sharing data with its write (a
        // create's prepared document) then holds the only reference and may take it.
        Box::new(move |commit: Result<()>| {
            drop(f);
            reply(commit.and(outcome));
        })
    }
}

/// Runs a job's body, turning a panic into an error. The error then rolls back the job's
/// savepoint (or the batch's transaction, for a bare run); a panic unwinding through diesel's `transaction` would leave the
/// savepoint open and the connection's transaction depth wrong, and the batch's COMMIT would
/// then only release that savepoint, keeping the write lock.
pub(crate) fn guarded<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    std::panic::catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(StoreError::Database("a write operation panicked".into())))
}

/// Runs `jobs` bare, in the order given, in a transaction that has done nothing else; false
/// when one failed, and the caller must then roll the whole transaction back and run every job
/// of the batch again alone ([`run_alone`]). Jobs after the failing one are not run.
pub(crate) fn run_bare(c: &mut SqliteConnection, jobs: &mut [Box<dyn Replayable>]) -> bool {
    jobs.iter_mut().all(|job| job.run(c, false))
}

/// Runs each job in its own savepoint: a failure is that job's outcome alone.
pub(crate) fn run_alone(c: &mut SqliteConnection, jobs: &mut [Box<dyn Replayable>]) {
    for job in jobs.iter_mut() {
        job.run(c, true);
    }
}
