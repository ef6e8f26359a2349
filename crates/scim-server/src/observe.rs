//! Request logs, metrics and the last line of error handling.
//!
//! - Every request gets an id (`x-request-id`, echoed back) and one structured log line with
//!   method, route, status, latency and tenant — never a header value, token or body.
//! - Prometheus metrics: request counts by route and status, and a latency histogram.
//! - Errors produced outside our handlers (actix's own 404/405/413/400 for bodies it rejects)
//!   are rewritten into SCIM Error bodies, so no response of the API is anything else.

use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Counter, Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use scim_store::{PoolStats, Store, WriteStats};

use crate::auth::Principal;
use crate::error::SCIM_JSON;

/// Prometheus collectors of one server.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    /// Fresh collectors in their own registry (several servers in one process, as tests run
    /// them, don't share counts).
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "scim_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("scim_http_request_duration_seconds", "HTTP request latency")
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ]),
            &["method", "route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
        })
    }

    /// Also exports `store`'s connection pool and, on SQLite, its group-commit totals (see
    /// [`StoreCollector`]).
    pub fn watch_store(&self, store: &Store) -> Result<(), prometheus::Error> {
        self.registry
            .register(Box::new(StoreCollector::new(store.clone())?))
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id for a request that brought none: 32 hex digits, a random per-process prefix
/// and a counter. Unique across instances like a UUIDv4, without asking the kernel for
/// randomness on every request (`getrandom`, a system call per id).
fn new_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    // Written digit by digit: `format!` with two padded hex arguments cost ~2 000
    // instructions, 2% of a GET by id.
    let mut id = String::with_capacity(32);
    push_hex(&mut id, prefix);
    push_hex(&mut id, NEXT.fetch_add(1, Ordering::Relaxed));
    id
}

/// Appends `v` as 16 lowercase hex digits (`{v:016x}`).
fn push_hex(out: &mut String, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..16).rev() {
        // A nibble: always a valid index.
        out.push(char::from(HEX[((v >> (shift * 4)) & 0xf) as usize]));
    }
}

/// Middleware: request id, access log, metrics, and SCIM bodies for framework errors.
pub async fn middleware(
    metrics: Metrics,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    let method = req.method().to_string();
    let res = match unusable_target(&req) {
        Some(e) => req.into_response(actix_web::ResponseError::error_response(&e)),
        None => next.call(req).await?.map_into_boxed_body(),
    };
    // After routing: actix then names the pattern from the route it matched, where before
    // it re-matched the path against every route (regexes included), ~2% of a lookup's CPU.
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16();
    let tenant = res
        .request()
        .extensions()
        .get::<Principal>()
        .map(|p| p.tenant.to_string())
        .unwrap_or_default();
    let elapsed = started.elapsed();
    metrics.observe(&method, &route, status, elapsed.as_secs_f64());
    tracing::info!(
        request_id = %id,
        %method,
        %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        tenant = %tenant,
        "request"
    );
    let mut res = scim_error_body(res);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    Ok(res)
}

/// Refuses a request target no handler can use, before any handler sees it. A `%00` in the
/// path decodes to a NUL in an id or name, which PostgreSQL can't even compare (GET
/// /Users/<id>%00 was a 500 there, a 404 on SQLite): no resource has one, so 404. A query
/// string that is not UTF-8 once percent-decoded was read with U+FFFD in place of the bad
/// bytes (`filter=userName eq "%FF"` ran as another filter), and one with a NUL failed on
/// PostgreSQL: 400 `invalidValue`.
fn unusable_target(req: &ServiceRequest) -> Option<crate::error::ApiError> {
    use crate::error::ApiError;
    if req.path().contains("%00") {
        return Some(ApiError::NotFound(
            "no resource has a NUL character (%00) in its path".into(),
        ));
    }
    let query = req.query_string();
    if !query.contains('%') {
        return None;
    }
    let decoded = percent_decode(query.as_bytes());
    match String::from_utf8(decoded) {
        Ok(q) if !q.contains('\0') => None,
        _ => Some(
            scim_core::Error::InvalidValue(
                "the query string must be UTF-8 once percent-decoded, without NUL characters"
                    .into(),
            )
            .into(),
        ),
    }
}

/// `%XX` sequences decoded to their bytes; everything else as it is.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        let digit = |at: usize| s.get(at).and_then(|&d| hex(d));
        match (b, digit(i + 1), digit(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(0));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Rewrites an error response that isn't SCIM JSON (one the framework produced) into a SCIM
/// Error body with the same status.
fn scim_error_body<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> ServiceResponse<EitherBody<BoxBody>> {
    let status = res.status();
    let is_scim = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(SCIM_JSON));
    if !status.is_client_error() && !status.is_server_error() || is_scim {
        return res.map_body(|_, b| EitherBody::right(b.boxed()));
    }
    let detail = match status.as_u16() {
        413 => "the request body is larger than this server accepts".to_string(),
        404 => "no SCIM endpoint here".to_string(),
        405 => "method not allowed here".to_string(),
        _ => res
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string()),
    };
    let body = scim_core::ErrorBody::new(status.as_u16(), None, detail);
    let (req, _) = res.into_parts();
    let resp = HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
        .body(serde_json::to_string(&body).unwrap_or_default());
    ServiceResponse::new(req, resp).map_into_left_body()
}

/// Where an exported total's value comes from in a snapshot (counts as numbers, times in
/// seconds).
type TotalOf = fn(&WriteStats) -> f64;

/// The exported totals: name, help, value.
const WRITER_SERIES: [(&str, &str, TotalOf); 7] = [
    (
        "scim_sqlite_write_batches_total",
        "Transactions the SQLite writer committed, each carrying one or more writes",
        |s| s.batches as f64,
    ),
    (
        "scim_sqlite_writes_total",
        "Writes the SQLite writer acknowledged",
        |s| s.writes as f64,
    ),
    (
        "scim_sqlite_writer_busy_seconds_total",
        "Time the SQLite writer thread spent running batches",
        |s| s.busy.as_secs_f64(),
    ),
    (
        "scim_sqlite_wal_fsyncs_total",
        "fsyncs of the SQLite WAL made by the syncing threads",
        |s| s.fsyncs as f64,
    ),
    (
        "scim_sqlite_wal_fsync_seconds_total",
        "Time the SQLite WAL fsyncs took",
        |s| s.fsync_time.as_secs_f64(),
    ),
    (
        "scim_sqlite_durable_wait_seconds_total",
        "Per batch, time from COMMIT to the fsync covering it having completed",
        |s| s.durable_wait.as_secs_f64(),
    ),
    (
        "scim_sqlite_write_seconds_total",
        "Per write, time from being queued to being acknowledged",
        |s| s.write_time.as_secs_f64(),
    ),
];

/// Where an exported pool gauge's value comes from in a snapshot.
type GaugeOf = fn(&PoolStats) -> u32;

/// The exported pool gauges: name, help, value.
const POOL_SERIES: [(&str, &str, GaugeOf); 3] = [
    (
        "scim_db_pool_max_connections",
        "Most connections the database pool opens (--pool-size; PostgreSQL connections, or \
         SQLite read connections)",
        |p| p.max,
    ),
    (
        "scim_db_pool_connections",
        "Connections the database pool has open, in use or idle",
        |p| p.connections,
    ),
    (
        "scim_db_pool_idle_connections",
        "Open connections of the database pool that no request holds",
        |p| p.idle,
    ),
];

/// The store's state as Prometheus metrics, read from the store at each scrape rather than
/// pushed on every request or write.
///
/// - The connection pool, as gauges. When `scim_db_pool_idle_connections` stays at 0 with
///   `scim_db_pool_connections` at the maximum, requests wait for a connection: raise
///   `--pool-size` (within the database's `max_connections`, shared by every instance) or add
///   instances.
/// - On SQLite, the writer's running totals (`scim_store::write_stats`), as counters. Ratios
///   of their rates give what bounds write throughput: `rate(writes) / rate(batches)` is the
///   mean batch size, `rate(busy)` the share of a core the one writer thread uses,
///   `rate(fsync_seconds) / rate(fsyncs)` the disk's fsync latency, `rate(write_seconds) /
///   rate(writes)` a write's mean latency inside the store and `rate(durable_wait) /
///   rate(batches)` how much of it is the wait for the fsync.
pub struct StoreCollector {
    store: Store,
    pool: Vec<(IntGauge, GaugeOf)>,
    /// One counter per total, with where its value comes from; none on PostgreSQL, which
    /// has no writer thread.
    writer: Vec<(Counter, TotalOf)>,
    /// One scrape at a time: each resets the counters and sets them to the store's totals.
    scrape: std::sync::Mutex<()>,
}

impl StoreCollector {
    fn new(store: Store) -> Result<StoreCollector, prometheus::Error> {
        let pool = POOL_SERIES
            .iter()
            .map(|&(name, help, value)| Ok((IntGauge::new(name, help)?, value)))
            .collect::<Result<_, prometheus::Error>>()?;
        let writer = match store.write_stats() {
            Some(_) => WRITER_SERIES
                .iter()
                .map(|&(name, help, value)| Ok((Counter::new(name, help)?, value)))
                .collect::<Result<_, prometheus::Error>>()?,
            None => Vec::new(),
        };
        Ok(StoreCollector {
            store,
            pool,
            writer,
            scrape: std::sync::Mutex::new(()),
        })
    }
}

impl Collector for StoreCollector {
    fn desc(&self) -> Vec<&Desc> {
        let pool = self.pool.iter().flat_map(|(g, _)| g.desc());
        pool.chain(self.writer.iter().flat_map(|(c, _)| c.desc()))
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _one = self
            .scrape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pool = self.store.pool_stats();
        let mut out: Vec<MetricFamily> = self
            .pool
            .iter()
            .flat_map(|(gauge, value)| {
                gauge.set(i64::from(value(&pool)));
                gauge.collect()
            })
            .collect();
        if let Some(stats) = self.store.write_stats() {
            out.extend(self.writer.iter().flat_map(|(counter, value)| {
                counter.reset();
                counter.inc_by(value(&stats));
                counter.collect()
            }));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_unique_hex() {
        let ids: Vec<String> = (0..1000).map(|_| super::new_request_id()).collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            assert_eq!(id.len(), 32, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
    }

    #[test]
    fn hex_digits_are_formats() {
        for v in [
            0u64,
            1,
            0xf,
            0x10,
            0xdead_beef,
            u64::MAX,
            0x0123_4567_89ab_cdef,
        ] {
            let mut out = String::new();
            super::push_hex(&mut out, v);
            assert_eq!(out, format!("{v:016x}"));
        }
    }
}
