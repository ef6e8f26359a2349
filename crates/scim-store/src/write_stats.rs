//! What the SQLite writer's group commit is doing, as running totals an operator can turn into
//! rates: how many writes each transaction carries, how long the one writer thread is busy,
//! how long the WAL's fsyncs take and how long a write waits for its acknowledgement.
//!
//! On SQLite every write goes through one thread and then waits for an fsync (see `conn` and
//! `wal_sync`), so at a given number of concurrent clients a write's latency, not CPU, sets the
//! throughput: the totals here say which part of that latency to work on (a busy writer, a
//! slow disk, or small batches). `bench/ab` and Prometheus read them the same way: the
//! difference of two snapshots, one quantity divided by another.
//!
//! Costs: per batch a few relaxed atomic additions and two clock reads; per write one clock
//! read at submission and one at acknowledgement.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Totals since the store was opened. Subtract two snapshots for an interval's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions the writer committed; each carries one or more writes (group commit).
    pub batches: u64,
    /// Writes acknowledged (committed and, with the WAL syncer, fsynced), successful or not.
    pub writes: u64,
    /// Time the writer thread spent running batches, from taking the first job to COMMIT
    /// returning. Divided by the interval: the share of one core the writer used, which
    /// bounds write throughput when it nears 1.
    pub busy: Duration,
    /// fsyncs of the WAL made by the syncing threads (none when SQLite syncs inside COMMIT:
    /// an in-memory database, or a syncer that could not start).
    pub fsyncs: u64,
    /// Time those fsyncs took.
    pub fsync_time: Duration,
    /// Per batch, the time from COMMIT to the fsync that covers it having completed: what a
    /// committed write still waits before it is acknowledged.
    pub durable_wait: Duration,
    /// Per write, the time from being queued to being acknowledged (queue wait, its batch,
    /// the fsync). `write_time / writes` is the mean latency of a write inside the store.
    pub write_time: Duration,
}

/// The running totals, shared by the writer, the syncing threads and the writes' replies.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    batches: AtomicU64,
    writes: AtomicU64,
    busy_ns: AtomicU64,
    fsyncs: AtomicU64,
    fsync_ns: AtomicU64,
    durable_wait_ns: AtomicU64,
    write_ns: AtomicU64,
}

fn nanos(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn add(counter: &AtomicU64, v: u64) {
    counter.fetch_add(v, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Counters {
    /// A batch committed (or failed) after running since `started`.
    pub(crate) fn batch(&self, started: Instant) {
        add(&self.batches, 1);
        add(&self.busy_ns, nanos(started));
    }

    /// A write queued at `queued` was acknowledged.
    pub(crate) fn write(&self, queued: Instant) {
        add(&self.writes, 1);
        add(&self.write_ns, nanos(queued));
    }

    /// An fsync that started at `started` returned.
    pub(crate) fn fsync(&self, started: Instant) {
        add(&self.fsyncs, 1);
        add(&self.fsync_ns, nanos(started));
    }

    /// A batch committed at `committed` is now durable.
    pub(crate) fn durable(&self, committed: Instant) {
        add(&self.durable_wait_ns, nanos(committed));
    }

    pub(crate) fn snapshot(&self) -> WriteStats {
        WriteStats {
            batches: get(&self.batches),
            writes: get(&self.writes),
            busy: Duration::from_nanos(get(&self.busy_ns)),
            fsyncs: get(&self.fsyncs),
            fsync_time: Duration::from_nanos(get(&self.fsync_ns)),
            durable_wait: Duration::from_nanos(get(&self.durable_wait_ns)),
            write_time: Duration::from_nanos(get(&self.write_ns)),
        }
    }
}

impl WriteStats {
    /// This interval's figures: `self` minus an earlier snapshot `before`.
    pub fn since(&self, before: &WriteStats) -> WriteStats {
        WriteStats {
            batches: self.batches.saturating_sub(before.batches),
            writes: self.writes.saturating_sub(before.writes),
            busy: self.busy.saturating_sub(before.busy),
            fsyncs: self.fsyncs.saturating_sub(before.fsyncs),
            fsync_time: self.fsync_time.saturating_sub(before.fsync_time),
            durable_wait: self.durable_wait.saturating_sub(before.durable_wait),
            write_time: self.write_time.saturating_sub(before.write_time),
        }
    }
}
