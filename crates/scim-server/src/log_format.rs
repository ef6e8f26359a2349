//! The binary's log lines, byte for byte as `tracing-subscriber`'s default text format writes
//! them, for less CPU per line.
//!
//! Every request logs one line (the access log, [`crate::observe`]). With the default
//! formatter that line cost ~11 700 instructions, 11% of a `GET /Users/{id}` and half as much as
//! its database read (`bench/instructions --workload get`, session 19 in BENCHMARKS.md). Most
//! of it is general-purpose formatting: the timestamp is rebuilt from the calendar for every
//! line, and each field goes through a three-argument `write!` with ANSI style wrappers even
//! when there are no colours. Here:
//!
//! - [`LineTime`] keeps the text of the current second per thread and writes only the
//!   microseconds afresh;
//! - [`LineFields`] writes `name=value` with plain string writes and one `{:?}` for the value.
//!
//! What a line says does not change, so nothing that reads the logs has to. Where the default
//! formatter does something more particular (the message, with its terminal-escape
//! sanitising; errors with their sources; raw identifiers; colours), the field is handed to
//! `tracing-subscriber`'s own visitor, so those stay exactly theirs. The tests compare the two
//! formatters' lines for every kind of field.

use std::cell::RefCell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{RecordFields, VisitOutput};
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultFields, DefaultVisitor, Writer};
use tracing_subscriber::fmt::time::FormatTime;

/// The current time as `tracing-subscriber`'s `SystemTime` timer writes it
/// (`2026-12-02T18:40:12.123456Z`, UTC, microseconds), from a per-thread copy of the text up to
/// the second.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineTime;

/// The text up to and including the seconds' dot, and the second it is for.
struct SecondText {
    second: Option<u64>,
    text: String,
}

thread_local! {
    static SECOND: RefCell<SecondText> = const {
        RefCell::new(SecondText { second: None, text: String::new() })
    };
}

/// `YYYY-MM-DDTHH:MM:SS.` for `second` after the epoch, or `None` outside the years the fast
/// path covers (the default timer then writes the line's time).
fn second_text(second: u64) -> Option<String> {
    let t = chrono::DateTime::from_timestamp(i64::try_from(second).ok()?, 0)?;
    let text = t.format("%Y-%m-%dT%H:%M:%S.").to_string();
    // Four-digit years only: the default writes others with a sign or more digits.
    (text.len() == 20).then_some(text)
}

impl FormatTime for LineTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let Ok(since) = SystemTime::now().duration_since(UNIX_EPOCH) else {
            return tracing_subscriber::fmt::time::SystemTime.format_time(w);
        };
        let second = since.as_secs();
        // A line logged while the thread's locals are being torn down (or, should it ever
        // happen, from inside this very call) takes the default timer's path: a log line must
        // never panic.
        let written = SECOND
            .try_with(|cell| {
                let mut cached = cell.try_borrow_mut().ok()?;
                if cached.second != Some(second) {
                    let text = second_text(second)?;
                    cached.text = text;
                    cached.second = Some(second);
                }
                Some(w.write_str(&cached.text))
            })
            .ok()
            .flatten();
        match written {
            Some(done) => {
                done?;
                let mut micros = since.subsec_micros();
                let mut digits = [b'0'; 7];
                digits[6] = b'Z';
                for d in digits[..6].iter_mut().rev() {
                    // Digits only, so the cast can't truncate.
                    *d = b'0' + (micros % 10) as u8;
                    micros /= 10;
                }
                // ASCII digits and 'Z'.
                w.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
            }
            None => tracing_subscriber::fmt::time::SystemTime.format_time(w),
        }
    }
}

/// Event and span fields as `DefaultFields` writes them (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFields;

impl<'writer> FormatFields<'writer> for LineFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        if writer.has_ansi_escapes() {
            return DefaultFields::new().format_fields(writer, fields);
        }
        let mut visitor = LineVisitor {
            writer,
            empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes fields separated by one space, as `DefaultVisitor` does.
struct LineVisitor<'a> {
    writer: Writer<'a>,
    /// No field written yet (no space before the next).
    empty: bool,
    result: fmt::Result,
}

impl LineVisitor<'_> {
    /// Hands one field to `tracing-subscriber`'s visitor, with the same spacing state.
    fn default_for(&mut self, field: &Field, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if self.result.is_err() {
            return;
        }
        let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.empty);
        record(&mut visitor);
        self.result = visitor.finish();
        // It writes every field but the `log` crate's metadata, which it skips.
        if !field.name().starts_with("log.") {
            self.empty = false;
        }
    }

    /// Writes ` name=` (no space before the first field), then the value through `value`.
    fn named(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let w = &mut self.writer;
        let space = if self.empty {
            Ok(())
        } else {
            w.write_char(' ')
        };
        self.empty = false;
        self.result = space
            .and_then(|()| w.write_str(field.name()))
            .and_then(|()| w.write_char('='))
            .and_then(|()| value(w));
    }
}

impl Visit for LineVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if special(field) {
            self.default_for(field, |d| d.record_debug(field, value));
        } else {
            self.named(field, |w| write!(w, "{value:?}"));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if special(field) {
            self.default_for(field, |d| d.record_str(field, value));
        } else {
            self.named(field, |w| write!(w, "{value:?}"));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if special(field) {
            self.default_for(field, |d| d.record_u64(field, value));
        } else {
            self.named(field, |w| w.write_str(itoa::Buffer::new().format(value)));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if special(field) {
            self.default_for(field, |d| d.record_i64(field, value));
        } else {
            self.named(field, |w| w.write_str(itoa::Buffer::new().format(value)));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if special(field) {
            self.default_for(field, |d| d.record_bool(field, value));
        } else {
            self.named(field, |w| w.write_str(if value { "true" } else { "false" }));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.default_for(field, |d| d.record_error(field, value));
    }
}

/// Fields whose text the default visitor decides in a way of its own: the message (sanitised
/// of terminal escapes), raw identifiers (`r#type`, written without `r#`) and the `log` crate's
/// metadata (`log.*`, not written).
fn special(field: &Field) -> bool {
    let name = field.name();
    name == "message" || name.starts_with("r#") || name.starts_with("log.")
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Sink {
        type Writer = Sink;
        fn make_writer(&'a self) -> Sink {
            self.clone()
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// A fixed time, so two formatters' lines can be compared byte for byte.
    struct Fixed;

    impl FormatTime for Fixed {
        fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
            w.write_str("2026-12-02T18:40:12.000001Z")
        }
    }

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer failed")
        }
    }
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("inner cause")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    impl std::error::Error for Inner {}

    /// Every kind of field the visitor handles itself or hands on, in events and spans.
    fn emit() {
        let id = String::from("0123456789abcdef0123456789abcdef");
        tracing::info!(
            request_id = %id,
            method = %"POST",
            route = %"/scim/v2/Users/{id}",
            status = 201u16,
            latency_ms = 1.25f64,
            tenant = %"",
            "request"
        );
        tracing::warn!(
            s = "a \"quoted\" str\n",
            negative = -42i64,
            min = i64::MIN,
            max = u64::MAX,
            zero = 0u64,
            yes = true,
            no = false,
            big = 1u128 << 100,
            nan = f64::NAN,
            tiny = 1e-7f64,
            huge = 1e21f64,
            list = ?vec!["a", "b"],
            r#type = "raw",
            log.target = "hidden",
            "escapes \x1b[31m and \u{9b} and ©"
        );
        let err = Outer(Inner);
        tracing::error!(error = &err as &(dyn std::error::Error + 'static), "failed");
        tracing::error!(error = &Inner as &(dyn std::error::Error + 'static));
        tracing::info!(log.module_path = "m", only = 1u64);
        tracing::info!(only = 1u64, log.line = 3u64, after = "x");
        tracing::info!("message alone");
        tracing::info!(message = %"message as a field", after = 2i64);
        let outer = tracing::info_span!("sync", tenant = %"t1", run = 7u64);
        let _o = outer.enter();
        let inner = tracing::debug_span!("page", n = 2u64, label = "x y");
        let _i = inner.enter();
        tracing::info!(users = 3u64, "in spans");
        let empty = tracing::info_span!("bare");
        let _e = empty.enter();
        tracing::info!("in a bare span");
    }

    /// What `emit` logs through our fields (`fast`) or the default ones, with or without colours.
    fn lines(fast: bool, ansi: bool) -> String {
        let sink = Sink::default();
        let builder = tracing_subscriber::fmt()
            .with_writer(sink.clone())
            .with_ansi(ansi)
            .with_max_level(tracing::Level::TRACE)
            .with_timer(Fixed);
        if fast {
            let subscriber = builder.fmt_fields(LineFields).finish();
            tracing::subscriber::with_default(subscriber, emit);
        } else {
            tracing::subscriber::with_default(builder.finish(), emit);
        }
        sink.text()
    }

    #[test]
    fn lines_are_the_default_formats_byte_for_byte() {
        let ours = lines(true, false);
        let theirs = lines(false, false);
        // The comparison is only worth something if the lines hold what they should.
        assert!(ours.contains("request request_id=0123456789abcdef0123456789abcdef method=POST"));
        assert!(ours.contains("status=201 latency_ms=1.25 tenant="));
        assert!(ours.contains("sync{tenant=t1 run=7}:page{n=2 label=\"x y\"}:"));
        assert_eq!(ours.lines().count(), 10, "{ours}");
        for (a, b) in ours.lines().zip(theirs.lines()) {
            assert_eq!(a, b);
        }
        assert_eq!(ours, theirs);
    }

    #[test]
    fn colours_are_left_to_the_default_fields() {
        let ours = lines(true, true);
        assert!(ours.contains('\x1b'), "coloured output expected");
        assert_eq!(ours.lines().count(), 10, "{ours}");
        assert_eq!(ours, lines(false, true));
    }

    #[test]
    fn the_time_reads_as_the_default_timers() {
        for _ in 0..5 {
            let mut ours = String::new();
            let mut theirs = String::new();
            tracing_subscriber::fmt::time::SystemTime
                .format_time(&mut Writer::new(&mut theirs))
                .unwrap();
            LineTime.format_time(&mut Writer::new(&mut ours)).unwrap();
            assert_eq!(ours.len(), 27, "{ours}");
            assert!(ours.ends_with('Z'));
            assert!(ours[20..26].bytes().all(|b| b.is_ascii_digit()), "{ours}");
            // Written microseconds apart: the same second unless one ticked in between.
            if ours[..20] == theirs[..20] {
                // The per-thread text is reused: a second call writes the same second.
                let mut again = String::new();
                LineTime.format_time(&mut Writer::new(&mut again)).unwrap();
                assert_eq!(again.len(), 27);
                return;
            }
        }
        panic!("the two timers never agreed on the second");
    }

    #[test]
    fn second_text_matches_chrono_rfc3339_and_refuses_five_digit_years() {
        assert_eq!(second_text(0).as_deref(), Some("1970-01-01T00:00:00."));
        assert_eq!(
            second_text(1_796_236_812).as_deref(),
            Some("2026-12-02T18:40:12.")
        );
        // Year 10000 and later: the default timer's own text is used instead.
        assert_eq!(second_text(253_402_300_800), None);
    }

    #[test]
    fn integers_are_written_as_debug_writes_them() {
        for v in [0u64, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut out = String::new();
            Writer::new(&mut out)
                .write_str(itoa::Buffer::new().format(v))
                .unwrap();
            assert_eq!(out, format!("{v:?}"));
        }
    }
}
