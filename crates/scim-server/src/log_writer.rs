//! Log output for the binary: lines gather in memory and reach stderr in one `write` a few
//! times a second, instead of one `write` per line from the thread that logged it.
//!
//! Every request logs a line (the access log, [`crate::observe`]). Written straight to stderr,
//! each line cost its request thread a system call: at 14 000 creates/s on the 2-core benchmark
//! machine that was ~5 µs of the ~90 µs of server CPU per create and 5% of throughput
//! (BENCHMARKS.md, session 11). `tracing-appender`'s non-blocking writer was measured too and
//! was slower still (12 800 against 13 300 creates/s): it hands every line to its thread
//! through a channel, which wakes that thread once per line when it is idle, and a wake costs
//! more than the `write` it saves. Here the logging thread wakes on a timer
//! ([`FLUSH_EVERY`]) and nobody wakes it per line.
//!
//! Lines keep the order in which they were logged, from all threads (one buffer behind one
//! short lock). None are dropped: when [`FLUSH_AT`] bytes have gathered before the timer fires,
//! the thread that logs the next line writes them out itself, which bounds the memory and
//! slows a runaway logger down to the speed of stderr. What a crash can lose is the last
//! [`FLUSH_EVERY`] of lines: [`LogWriter::install`] flushes before a panic's message is printed,
//! and [`FlushGuard`] when `main` returns.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in memory before it reaches stderr.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Bytes gathered after which the logging thread's next line writes them out at once.
pub const FLUSH_AT: usize = 256 * 1024;

/// What the logging threads and the flushing thread share.
struct Shared {
    /// Lines not yet written.
    pending: Mutex<Vec<u8>>,
    /// Where lines go; held while writing, so batches reach it in the order they were taken.
    sink: Mutex<Box<dyn Write + Send>>,
    /// Set when the guard is dropped: the flushing thread writes what is left and exits.
    stop: Mutex<bool>,
    wake: Condvar,
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn new(sink: impl Write + Send + 'static) -> Shared {
        Shared {
            pending: Mutex::new(Vec::with_capacity(FLUSH_AT)),
            sink: Mutex::new(Box::new(sink)),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        }
    }

    /// Writes out what has gathered. The sink's lock is taken before the buffer is emptied,
    /// so two flushes can't write their batches out of order.
    fn flush(&self) {
        let mut sink = lock(&self.sink);
        let batch = std::mem::take(&mut *lock(&self.pending));
        write_batch(&mut **sink, &batch);
    }

    /// [`Shared::flush`] for the panic hook: a panic raised while this thread holds either
    /// lock must not wait for itself, so it skips the flush when a lock is taken.
    fn flush_unless_busy(&self) {
        let Ok(mut sink) = self.sink.try_lock() else {
            return;
        };
        let Ok(mut pending) = self.pending.try_lock() else {
            return;
        };
        let batch = std::mem::take(&mut *pending);
        drop(pending);
        write_batch(&mut **sink, &batch);
    }
}

fn write_batch(sink: &mut (dyn Write + Send), batch: &[u8]) {
    if !batch.is_empty() {
        // Nowhere to report a failed write of the log itself; the next batch tries again.
        let _ = sink.write_all(batch);
        let _ = sink.flush();
    }
}

/// The [`MakeWriter`] the binary gives `tracing_subscriber::fmt`.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

/// Flushes the remaining lines and stops the flushing thread when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl LogWriter {
    /// Starts the flushing thread for `sink` and makes panics flush before they print. If the
    /// thread can't be started, lines are written when [`FLUSH_AT`] bytes have gathered and
    /// when the guard is dropped.
    pub fn install(sink: impl Write + Send + 'static) -> (LogWriter, FlushGuard) {
        let shared = Arc::new(Shared::new(sink));
        let theirs = shared.clone();
        let thread = thread::Builder::new()
            .name("scim-log".into())
            .spawn(move || flush_loop(&theirs))
            .ok();
        let on_panic = shared.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            on_panic.flush_unless_busy();
            previous(info);
        }));
        (
            LogWriter {
                shared: shared.clone(),
            },
            FlushGuard { shared, thread },
        )
    }
}

fn flush_loop(shared: &Shared) {
    let mut stop = lock(&shared.stop);
    while !*stop {
        stop = shared
            .wake
            .wait_timeout(stop, FLUSH_EVERY)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        drop(stop);
        shared.flush();
        stop = lock(&shared.stop);
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        *lock(&self.shared.stop) = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.shared.flush();
    }
}

/// One event's writer: `tracing_subscriber::fmt` formats a whole line and hands it over in
/// one `write_all`, so a line is appended whole.
pub struct LineSink<'a> {
    shared: &'a Shared,
}

impl Write for LineSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let full = {
            let mut pending = lock(&self.shared.pending);
            pending.extend_from_slice(buf);
            pending.len() >= FLUSH_AT
        };
        if full {
            self.shared.flush();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LineSink<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineSink {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn text(c: &Captured) -> String {
        String::from_utf8_lossy(&lock(&c.0)).into_owned()
    }

    #[test]
    fn lines_reach_the_sink_on_the_timer_in_order_and_all_on_drop() {
        let out = Captured::default();
        let (writer, guard) = LogWriter::install(out.clone());
        for i in 0..100 {
            writer
                .make_writer()
                .write_all(format!("line {i}\n").as_bytes())
                .unwrap();
        }
        // Nothing is written per line: the lines wait for the timer.
        let deadline = std::time::Instant::now() + FLUSH_EVERY * 20;
        while text(&out).lines().count() < 100 && std::time::Instant::now() < deadline {
            thread::sleep(FLUSH_EVERY / 4);
        }
        let expected: String = (0..100).map(|i| format!("line {i}\n")).collect();
        assert_eq!(
            text(&out),
            expected,
            "the timer flushed every line, in order"
        );
        writer.make_writer().write_all(b"last\n").unwrap();
        drop(guard);
        assert!(
            text(&out).ends_with("line 99\nlast\n"),
            "the guard flushed the rest"
        );
    }

    #[test]
    fn a_full_buffer_is_written_by_the_thread_that_fills_it() {
        let out = Captured::default();
        let shared = Arc::new(Shared::new(out.clone()));
        // No flushing thread: only the size bound can write.
        let writer = LogWriter {
            shared: shared.clone(),
        };
        let line = vec![b'x'; 1023];
        for _ in 0..(FLUSH_AT / 1024) - 1 {
            writer.make_writer().write_all(&line).unwrap();
            writer.make_writer().write_all(b"\n").unwrap();
        }
        assert!(text(&out).is_empty(), "below the bound, nothing is written");
        writer.make_writer().write_all(&line).unwrap();
        writer.make_writer().write_all(b"\n").unwrap();
        assert_eq!(
            text(&out).len(),
            FLUSH_AT,
            "at the bound, the writer flushes"
        );
        assert!(lock(&shared.pending).is_empty());
    }
}
