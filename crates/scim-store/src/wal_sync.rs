//! Syncing the SQLite WAL on its own thread, so the writer commits the next batch while the
//! previous one's fsync runs.
//!
//! With `synchronous = FULL` SQLite fsyncs the WAL inside every COMMIT, and the one writer
//! thread waits for the disk before it can start the next batch: on the 2-core benchmark
//! machine that wait (0.44 ms median) plus the fsync's own CPU was a quarter of the writer's
//! time per create, and the writer bounds write throughput. The writer instead runs with
//! `synchronous = NORMAL` (a COMMIT writes its frames to the WAL without syncing) and hands
//! each committed batch's replies here. This thread fsyncs the WAL file, which covers every
//! frame written before the call, and only then lets the batch's callers return. Batches that
//! committed during one fsync share the next.
//!
//! What a caller sees is unchanged: a write returns `Ok` only once its frames are on disk.
//! What changes is that other connections can read a batch during its fsync, before the
//! writes are acknowledged. A power loss in that window loses writes nobody was told had
//! succeeded, which an identity provider retries. A write that depends on what it read
//! commits later in the same WAL, so its own acknowledgement covers what it read. Checkpoints
//! keep their order: SQLite syncs the WAL before it copies frames into the database file.
//!
//! Two threads share the work: while one waits for its fsync, the other takes the batches that
//! committed meanwhile and starts the next fsync at once, instead of waiting for the first to
//! return and only then starting its own (on the benchmark machine an fsync of the WAL took
//! 0.37 ms median under load, and a batch waited 0.47 ms on average from its commit to its
//! replies). Outcomes are still settled in the order the fsyncs were started: a batch is
//! acknowledged only once every earlier fsync has succeeded too, since its frames follow
//! theirs in the WAL and recovery stops at the first frame missing.
//!
//! A failed fsync is not retried. After one, Linux may already have marked the unwritten pages
//! clean, so a later fsync that succeeds proves nothing (PostgreSQL's "fsyncgate"). The
//! waiting writes fail and so does every write after them, until the process restarts and
//! SQLite recovers from what the WAL really holds.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crate::error::{Result, StoreError};
use crate::write_stats::Counters;

/// Hands one job's result to its caller once the batch is settled (see `conn::Completion`).
pub(crate) type Completion = Box<dyn FnOnce(Result<()>) + Send>;

/// The syncing threads and their queue of committed batches awaiting an fsync.
pub(crate) struct WalSyncer {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// Syncing threads: one fsync in flight while the next starts.
const SYNCERS: usize = 2;

/// Tickets of the fsyncs started and settled, so outcomes are decided in start order.
#[derive(Default)]
struct Order {
    started: u64,
    settled: u64,
}

/// Replies of committed batches not yet taken by a syncing thread.
///
/// A mutex and a condition variable rather than a channel: with a channel's single receiver
/// behind a mutex, the idle thread waited on that mutex while the other waited in `recv`, and
/// every batch cost a second wake-up (the idle thread taking the mutex only to wait in `recv`
/// in turn): 19% of the syncing threads' time under creates (`perf`). Here both wait on
/// `ready`, the writer wakes one only when one is waiting, and it takes everything queued.
#[derive(Default)]
struct Queue {
    replies: Vec<Completion>,
    /// Threads waiting on `ready`.
    idle: usize,
    /// No more batches will come: the threads answer what is queued and exit.
    closed: bool,
    /// Syncing threads that have not panicked. Kept under this lock, so a batch is never
    /// queued after the last of them has refused what was queued and gone.
    live: usize,
}

/// What the syncing threads share.
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    order: Mutex<Order>,
    turn: Condvar,
    failed: AtomicBool,
}

impl WalSyncer {
    /// Starts the threads that fsync the WAL at `wal`, each with its own handle on the file;
    /// `None` if they can't be started, and the writer then keeps `synchronous = FULL`.
    /// `stats` counts the fsyncs and their time.
    pub(crate) fn start(wal: PathBuf, stats: Arc<Counters>) -> Option<WalSyncer> {
        Self::start_with(move || {
            let mut handle = WalHandle {
                path: wal.clone(),
                file: None,
            };
            let stats = stats.clone();
            move || {
                let started = Instant::now();
                let synced = handle.sync();
                stats.fsync(started);
                synced
            }
        })
    }

    /// [`WalSyncer::start`] with the sync itself given (`make` is called once per thread),
    /// so tests can hold it.
    fn start_with<M, S>(make: M) -> Option<WalSyncer>
    where
        M: Fn() -> S,
        S: FnMut() -> io::Result<()> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            order: Mutex::new(Order::default()),
            turn: Condvar::new(),
            failed: AtomicBool::new(false),
        });
        let mut threads = Vec::with_capacity(SYNCERS);
        for _ in 0..SYNCERS {
            let (shared, sync) = (shared.clone(), make());
            match thread::Builder::new()
                .name("scim-wal-sync".into())
                .spawn(move || sync_loop(&shared, sync))
            {
                Ok(t) => threads.push(t),
                // One thread is enough to be correct; none and the writer syncs itself.
                Err(_) if !threads.is_empty() => break,
                Err(_) => return None,
            }
        }
        // No batch is queued before this returns, so no thread can have panicked yet.
        shared.queue().live = threads.len();
        Some(WalSyncer { shared, threads })
    }

    /// Whether an fsync has failed: from then on the writer refuses every batch.
    pub(crate) fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }

    /// Queues a committed batch's replies; they run once an fsync that started after this
    /// call has completed.
    pub(crate) fn after_sync(&self, mut completions: Vec<Completion>) {
        let mut queue = self.shared.queue();
        // Every thread gone (they can only panic): nobody can vouch for the batch.
        if queue.closed || queue.live == 0 {
            drop(queue);
            refuse(completions);
            return;
        }
        if queue.replies.is_empty() {
            queue.replies = completions;
        } else {
            queue.replies.append(&mut completions);
        }
        let wake = queue.idle > 0;
        drop(queue);
        if wake {
            self.shared.ready.notify_one();
        }
    }
}

impl Drop for WalSyncer {
    fn drop(&mut self) {
        // Closing the queue lets the threads sync and answer what is queued, then exit.
        self.shared.queue().closed = true;
        self.shared.ready.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        // What no thread took (every one of them gone) is refused, not left unanswered.
        let left = std::mem::take(&mut self.shared.queue().replies);
        refuse(left);
    }
}

/// The WAL file, opened once and kept: opening it again for every fsync cost the syncing
/// thread a path lookup per batch (33 µs median, over 1 ms at worst under load), time every
/// waiting write spent waiting. SQLite removes a WAL file only when the last connection to the
/// database closes, and the writer's connection outlives this thread; still, a handle whose
/// file has been unlinked (another process changed the journal mode, say) is dropped and the
/// path opened afresh, so an fsync never lands on a file SQLite no longer writes. Keeping the
/// handle also means a writeback error is reported to it even when it happened between two
/// syncs, which a freshly opened file is not guaranteed to see.
struct WalHandle {
    path: PathBuf,
    file: Option<File>,
}

impl WalHandle {
    fn sync(&mut self) -> io::Result<()> {
        let current = match self.file.take() {
            Some(f) if f.metadata().is_ok_and(|m| still_linked(&m)) => f,
            _ => File::open(&self.path)?,
        };
        let file = self.file.insert(current);
        file.sync_data()
    }
}

#[cfg(unix)]
fn still_linked(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    m.nlink() > 0
}

#[cfg(not(unix))]
fn still_linked(_: &std::fs::Metadata) -> bool {
    // No link count to read: open the path every time, as before.
    false
}

/// Answers every reply with the error of a write whose sync nobody can vouch for.
fn refuse(replies: Vec<Completion>) {
    for done in replies {
        done(Err(unsynced()));
    }
}

fn unsynced() -> StoreError {
    StoreError::Unavailable(
        "the database could not sync its write-ahead log to disk; restart the server".into(),
    )
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn order(&self) -> MutexGuard<'_, Order> {
        self.order.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until every fsync started before `ticket` has settled; the caller settles its own
    /// under the returned lock.
    fn turn_of(&self, ticket: u64) -> MutexGuard<'_, Order> {
        let mut order = self.order();
        while order.settled != ticket {
            order = self
                .turn
                .wait(order)
                .unwrap_or_else(PoisonError::into_inner);
        }
        order
    }
}

/// Should a syncing thread panic, the batches behind it are refused rather than left waiting:
/// its unsettled ticket would otherwise hold the other thread's replies forever, and what was
/// queued would wait until the syncer is dropped (`after_sync` refuses on its own only once
/// no thread is `live`).
struct OnPanic<'a> {
    shared: &'a Shared,
    /// The ticket taken and not yet settled.
    ticket: Option<u64>,
}

impl Drop for OnPanic<'_> {
    fn drop(&mut self) {
        if !thread::panicking() {
            return;
        }
        let shared = self.shared;
        shared.failed.store(true, Ordering::Release);
        if let Some(ticket) = self.ticket {
            let mut order = shared.turn_of(ticket);
            order.settled += 1;
            shared.turn.notify_all();
        }
        let left = {
            let mut queue = shared.queue();
            queue.live = queue.live.saturating_sub(1);
            std::mem::take(&mut queue.replies)
        };
        refuse(left);
    }
}

fn sync_loop<S>(shared: &Shared, mut sync: S)
where
    S: FnMut() -> io::Result<()>,
{
    let mut guard = OnPanic {
        shared,
        ticket: None,
    };
    loop {
        // Take every batch queued so far and a ticket, in queue order, then let the other
        // thread take the next ones while this one syncs.
        let (waiting, ticket) = {
            let mut queue = shared.queue();
            while queue.replies.is_empty() && !queue.closed {
                queue.idle += 1;
                queue = shared
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
                queue.idle -= 1;
            }
            if queue.replies.is_empty() {
                return;
            }
            let waiting = std::mem::take(&mut queue.replies);
            let mut order = shared.order();
            let ticket = order.started;
            order.started += 1;
            (waiting, ticket)
        };
        guard.ticket = Some(ticket);
        let synced = if shared.failed.load(Ordering::Acquire) {
            None
        } else {
            Some(sync())
        };
        // Settle after every fsync started before this one.
        let mut order = shared.turn_of(ticket);
        let outcome = match synced {
            Some(Ok(())) if !shared.failed.load(Ordering::Acquire) => Ok(()),
            Some(Err(e)) => {
                if !shared.failed.swap(true, Ordering::AcqRel) {
                    eprintln!("scim-store: fsync of the SQLite WAL failed, refusing writes: {e}");
                }
                Err(unsynced())
            }
            _ => Err(unsynced()),
        };
        order.settled += 1;
        guard.ticket = None;
        shared.turn.notify_all();
        drop(order);
        for done in waiting {
            done(outcome.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::eventually;
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;
    use std::time::Duration;

    type Heard = Arc<Mutex<Vec<(usize, Result<()>)>>>;

    fn recorder(heard: &Heard, n: usize) -> Completion {
        let heard = heard.clone();
        Box::new(move |r| heard.lock().unwrap_or_else(|e| e.into_inner()).push((n, r)))
    }

    fn heard(h: &Heard) -> Vec<(usize, Result<()>)> {
        h.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    #[test]
    fn replies_wait_for_the_sync_and_a_failed_sync_fails_every_later_batch() {
        // The sync blocks until the test lets it go, and fails the third time.
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let go_rx = Arc::new(Mutex::new(go_rx));
        let calls = Arc::new(AtomicUsize::new(0));
        let syncer = syncer_over(move || {
            let (go_rx, calls) = (go_rx.clone(), calls.clone());
            move || {
                let go = go_rx.lock().unwrap_or_else(|e| e.into_inner());
                go.recv().map_err(io::Error::other)?;
                if calls.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                    Err(io::Error::other("EIO"))
                } else {
                    Ok(())
                }
            }
        });
        let h: Heard = Arc::default();
        syncer.after_sync(vec![recorder(&h, 1), recorder(&h, 2)]);
        thread::sleep(Duration::from_millis(50));
        assert!(heard(&h).is_empty(), "a reply went out before its fsync");
        go_tx.send(()).unwrap_or_default();
        wait_for(&h, 2);
        assert_eq!(heard(&h), vec![(1, Ok(())), (2, Ok(()))]);

        // Second sync fine, third fails: its batch and every later one are refused.
        syncer.after_sync(vec![recorder(&h, 3)]);
        go_tx.send(()).unwrap_or_default();
        wait_for(&h, 3);
        assert!(!syncer.failed());
        syncer.after_sync(vec![recorder(&h, 4)]);
        go_tx.send(()).unwrap_or_default();
        wait_for(&h, 4);
        assert!(syncer.failed());
        syncer.after_sync(vec![recorder(&h, 5)]);
        wait_for(&h, 5);
        let got = heard(&h);
        assert_eq!(got[2], (3, Ok(())));
        assert!(
            matches!(got[3], (4, Err(StoreError::Unavailable(_)))),
            "{got:?}"
        );
        assert!(
            matches!(got[4], (5, Err(StoreError::Unavailable(_)))),
            "{got:?}"
        );
    }

    #[test]
    fn dropping_the_syncer_answers_what_is_queued() {
        let syncer = syncer_over(|| || Ok(()));
        let h: Heard = Arc::default();
        for n in 0..10 {
            syncer.after_sync(vec![recorder(&h, n)]);
        }
        drop(syncer);
        assert_eq!(heard(&h).len(), 10);
        assert!(heard(&h).iter().all(|(_, r)| r.is_ok()));
    }

    #[test]
    fn a_panicking_sync_refuses_later_batches_instead_of_stalling_them() {
        let first = Arc::new(AtomicBool::new(true));
        let syncer = syncer_over(move || {
            let first = first.clone();
            move || {
                if first.swap(false, Ordering::SeqCst) {
                    panic!("sync panicked (on purpose)");
                }
                Ok(())
            }
        });
        let h: Heard = Arc::default();
        // The panicking thread drops this batch's replies unanswered (their requests see the
        // reply channel close); every later batch is refused, none waits forever.
        syncer.after_sync(vec![recorder(&h, 0)]);
        assert!(
            eventually(|| syncer.failed()),
            "the panic did not mark the syncer failed"
        );
        // The other thread's tickets come after the panicked one, which must settle.
        for n in 1..5 {
            syncer.after_sync(vec![recorder(&h, n)]);
        }
        wait_for(&h, 4);
        let got = heard(&h);
        assert!(
            got.iter()
                .all(|(n, r)| *n > 0 && matches!(r, Err(StoreError::Unavailable(_)))),
            "{got:?}"
        );
        assert!(syncer.failed());
    }

    #[test]
    fn the_next_fsync_starts_while_one_is_in_flight_and_settles_after_it_failing_with_it() {
        // The first fsync blocks until the test lets it go, then fails; later ones succeed at
        // once.
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let go_rx = Arc::new(Mutex::new(go_rx));
        let started = Arc::new(AtomicUsize::new(0));
        let seen = started.clone();
        let syncer = syncer_over(move || {
            let (go_rx, started) = (go_rx.clone(), started.clone());
            move || {
                if started.fetch_add(1, Ordering::SeqCst) == 0 {
                    let go = go_rx.lock().unwrap_or_else(|e| e.into_inner());
                    go.recv().map_err(io::Error::other)?;
                    return Err(io::Error::other("EIO"));
                }
                Ok(())
            }
        });
        let h: Heard = Arc::default();
        syncer.after_sync(vec![recorder(&h, 1)]);
        eventually(|| seen.load(Ordering::SeqCst) == 1);
        syncer.after_sync(vec![recorder(&h, 2)]);
        eventually(|| seen.load(Ordering::SeqCst) == 2);
        let overlapped = seen.load(Ordering::SeqCst) == 2;
        thread::sleep(Duration::from_millis(50));
        let answered_early = !heard(&h).is_empty();
        // Let the first fsync return before asserting, so a failure can't leave it blocked.
        go_tx.send(()).unwrap_or_default();
        assert!(
            overlapped,
            "the second fsync waited for the first to return"
        );
        assert!(
            !answered_early,
            "a batch was answered before the fsync started ahead of it settled"
        );
        wait_for(&h, 2);
        let got = heard(&h);
        assert!(
            got.iter()
                .all(|(_, r)| matches!(r, Err(StoreError::Unavailable(_)))),
            "the later batch follows the failed one in the WAL: {got:?}"
        );
        assert!(syncer.failed());
    }

    #[test]
    fn the_wal_handle_is_kept_and_opened_again_once_its_file_is_gone() {
        use std::io::{Read, Seek};
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-wal");
        std::fs::write(&path, b"frames").unwrap();
        let mut handle = WalHandle {
            path: path.clone(),
            file: None,
        };
        let read = |h: &mut WalHandle| {
            let f = h.file.as_mut().unwrap();
            let mut s = String::new();
            f.rewind().unwrap();
            f.read_to_string(&mut s).unwrap();
            s
        };
        handle.sync().unwrap();
        let first = handle.file.as_ref().unwrap().metadata().unwrap().ino();
        handle.sync().unwrap();
        let again = handle.file.as_ref().unwrap().metadata().unwrap().ino();
        assert_eq!(again, first, "a live file was opened again");
        assert_eq!(read(&mut handle), "frames");

        // The file is replaced by a new one of the same name: the next sync must reach it.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"new frames").unwrap();
        handle.sync().unwrap();
        assert_eq!(read(&mut handle), "new frames");

        // Gone for good: the sync fails rather than vouch for a file nobody writes.
        std::fs::remove_file(&path).unwrap();
        assert!(handle.sync().is_err());
    }

    fn wait_for(h: &Heard, n: usize) {
        assert!(
            eventually(|| heard(h).len() >= n),
            "only {:?} after 5 s",
            heard(h)
        );
    }

    /// A syncer over the test's own sync; every test needs its threads.
    fn syncer_over<M, S>(make: M) -> WalSyncer
    where
        M: Fn() -> S,
        S: FnMut() -> io::Result<()> + Send + 'static,
    {
        match WalSyncer::start_with(make) {
            Some(syncer) => syncer,
            None => panic!("no syncing thread could be started"),
        }
    }
}
