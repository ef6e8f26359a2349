//! Webhook delivery of provisioning events: the binary's [`EventHandler`], which POSTs each
//! outbox event to one URL, signed with HMAC-SHA256, so a host in any language can react to
//! `user.deactivated`, `access.revoked` and the rest without linking this crate.
//!
//! # Delivery
//! Each event is one `POST` with a JSON body:
//!
//! ```json
//! {"id": 42, "type": "user.deactivated", "tenant": "<tenant id>", "user": "<user id or null>",
//!  "occurredAt": "2026-01-31T12:00:00.123Z", "data": { … }}
//! ```
//!
//! and the headers `Content-Type: application/json`, `X-Scim-Event-Id` (the `id`, the same on
//! every retry: receivers deduplicate on it), `X-Scim-Event-Type`, `X-Scim-Timestamp` (unix
//! seconds of this attempt) and `X-Scim-Signature`. Any 2xx answer means delivered; anything
//! else — another status, a redirect, a connection error, no answer within the timeout — is a
//! failure, and the [`Dispatcher`](crate::events::Dispatcher) retries the event after a
//! back-off that doubles per failure (1 s, 2 s, 4 s … at most 5 min). Delivery is therefore
//! at least once, in order per user: a user's later events wait until the earlier one is
//! accepted, while other users' events go on.
//!
//! # Signature
//! `X-Scim-Signature: t=<timestamp>,v1=<signature>` where `<timestamp>` is the same decimal
//! unix-seconds value as `X-Scim-Timestamp` and `<signature>` is the lower-case hex of
//! `HMAC-SHA256(key = secret, message = "<timestamp>" + "." + <raw body bytes>)`, the secret
//! being the UTF-8 bytes of `SCIM_WEBHOOK_SECRET`. The timestamp is signed with the body, so
//! a captured request can't be replayed later with a fresh timestamp. Each attempt is signed
//! anew with its own timestamp. To verify, in any language:
//!
//! 1. split the header on `,`, then each part on the first `=`; take `t` and every `v1`
//!    (several `v1` may appear while a secret is rotated; one matching is enough);
//! 2. compute the HMAC above over the body exactly as received (before any JSON parsing);
//! 3. compare with each `v1` in constant time (`hmac.compare_digest` in Python,
//!    `crypto.timingSafeEqual` in Node.js, `hmac.Equal` in Go);
//! 4. reject when `|now − t|` exceeds a tolerance (5 minutes is usual), then deduplicate on
//!    `X-Scim-Event-Id`.
//!
//! [`verify_signature`] does all of that for Rust receivers.
//!
//! The secret never appears in logs (it is a [`Secret`]), nor do bodies: deliveries are logged
//! with event id, type, status and time only.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::SecondsFormat;
use hmac::{Hmac, KeyInit, Mac};
use scim_store::outbox::Event;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::events::EventHandler;
use crate::secrets::Secret;
use crate::state::{Clock, SystemClock};

/// Header carrying `t=<timestamp>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "X-Scim-Signature";
/// Header carrying the outbox id of the event, stable across retries (deduplication key).
pub const EVENT_ID_HEADER: &str = "X-Scim-Event-Id";
/// Header carrying the event type (`user.created`, …), for routing without parsing the body.
pub const EVENT_TYPE_HEADER: &str = "X-Scim-Event-Type";
/// Header carrying the unix-seconds timestamp of this attempt (also inside the signature).
pub const TIMESTAMP_HEADER: &str = "X-Scim-Timestamp";
/// How long one delivery attempt may take, connection to last byte, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The environment variable holding the signing secret. Only the environment: a command-line
/// flag would show it in `ps` and shell history.
pub const SECRET_ENV: &str = "SCIM_WEBHOOK_SECRET";
/// Shortest accepted signing secret, in bytes: a short secret can be guessed offline from one
/// captured request.
pub const MIN_SECRET_LEN: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook sink can't be set up. Carries neither the secret nor the URL's credentials.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not an absolute `http://` or `https://` URL with a host.
    #[error("webhook URL must be an absolute http:// or https:// URL with a host: {0}")]
    InvalidUrl(String),
    /// A webhook URL was given but [`SECRET_ENV`] is unset: unsigned webhooks can be forged
    /// by anyone who can reach the receiver, so there is no unsigned mode.
    #[error("a webhook URL needs its signing secret in the environment variable {SECRET_ENV}")]
    MissingSecret,
    /// The secret is shorter than [`MIN_SECRET_LEN`].
    #[error("webhook secret must be at least {MIN_SECRET_LEN} bytes (e.g. `openssl rand -hex 32`)")]
    WeakSecret,
}

/// POSTs events to one URL, signed; implements [`EventHandler`] for the
/// [`Dispatcher`](crate::events::Dispatcher). Blocking: the dispatcher calls it on a blocking
/// thread.
pub struct WebhookSink {
    url: String,
    secret: Secret,
    timeout: Duration,
    agent: ureq::Agent,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSink")
            .field("url", &redacted_url(&self.url))
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// A sink for `url`, signing with `secret`, giving each attempt `timeout`. Refuses a URL
    /// that is not http(s) and a secret shorter than [`MIN_SECRET_LEN`], so a typo fails at
    /// start-up rather than at the first event.
    pub fn new(
        url: impl Into<String>,
        secret: Secret,
        timeout: Duration,
    ) -> Result<WebhookSink, WebhookError> {
        let url = url.into();
        let uri: ureq::http::Uri = url
            .parse()
            .map_err(|_| WebhookError::InvalidUrl(redacted_url(&url)))?;
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        if !scheme_ok || uri.host().is_none_or(str::is_empty) {
            return Err(WebhookError::InvalidUrl(redacted_url(&url)));
        }
        if secret.expose().len() < MIN_SECRET_LEN {
            return Err(WebhookError::WeakSecret);
        }
        let agent = ureq::Agent::config_builder()
            // Statuses are answers to judge, not transport errors.
            .http_status_as_error(false)
            // A redirect is a misconfiguration; following it would resend the signed body to
            // a place the operator did not name.
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .user_agent(concat!(
                "scim-server/",
                env!("CARGO_PKG_VERSION"),
                " webhooks"
            ))
            .build()
            .new_agent();
        Ok(WebhookSink {
            url,
            secret,
            timeout,
            agent,
            clock: Arc::new(SystemClock),
        })
    }

    /// A sink for `url` with the secret from [`SECRET_ENV`] and [`DEFAULT_TIMEOUT`]: what
    /// `scim-server serve --webhook-url` runs.
    pub fn from_env(url: impl Into<String>) -> Result<WebhookSink, WebhookError> {
        let secret = std::env::var(SECRET_ENV).map_err(|_| WebhookError::MissingSecret)?;
        WebhookSink::new(url, Secret::new(secret), DEFAULT_TIMEOUT)
    }

    /// The same sink reading signature timestamps from `clock` (tests pin time with it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> WebhookSink {
        self.clock = clock;
        self
    }

    /// The URL for logs: scheme, host, port and path, without credentials or query string
    /// (some receivers put a token there).
    pub fn display_url(&self) -> String {
        redacted_url(&self.url)
    }
}

impl EventHandler for WebhookSink {
    fn handle(&self, event: &Event) -> Result<(), String> {
        let body = serde_json::to_vec(&event_body(event))
            .map_err(|e| format!("event {} does not serialize: {e}", event.id))?;
        let timestamp = self.clock.now().timestamp();
        let signature = signature_header(self.secret.expose().as_bytes(), timestamp, &body);
        let started = Instant::now();
        let result = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header(EVENT_ID_HEADER, event.id.to_string())
            .header(EVENT_TYPE_HEADER, event.kind.as_str())
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .send(&body[..]);
        let ms = started.elapsed().as_millis();
        match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if resp.status().is_success() {
                    tracing::info!(event = event.id, kind = %event.kind, status, ms, attempt = event.attempts + 1, "webhook delivered");
                    Ok(())
                } else {
                    Err(format!("webhook answered HTTP {status} after {ms} ms"))
                }
            }
            Err(e) => Err(format!("webhook request failed after {ms} ms: {e}")),
        }
    }
}

/// The JSON body of an event as delivered (see the module docs for its shape).
pub fn event_body(event: &Event) -> Value {
    json!({
        "id": event.id,
        "type": event.kind,
        "tenant": event.tenant_id.as_str(),
        "user": event.user_id,
        "occurredAt": event.at.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "data": event.payload,
    })
}

/// The `X-Scim-Signature` value for `body` sent at `timestamp` (unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature_header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let sig = mac(secret, timestamp, body)
        .map(|m| hex(&m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={timestamp},v1={sig}")
}

/// Checks an `X-Scim-Signature` header against the raw `body`: true when one of its `v1`
/// signatures is the HMAC-SHA256 of `"<t>.<body>"` under `secret` (compared in constant time)
/// and `t` is within `tolerance_secs` of `now_unix` (either way: clocks drift). Anything
/// malformed is false.
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => candidates.extend(unhex(sig)),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if now_unix.abs_diff(t) > tolerance_secs.unsigned_abs() {
        return false;
    }
    // Every candidate is checked (no early exit), so timing says nothing about which matched.
    let mut ok = false;
    for sig in &candidates {
        ok |= mac(secret, t, body).is_some_and(|m| m.verify_slice(sig).is_ok());
    }
    ok
}

/// HMAC-SHA256 over `"<timestamp>.<body>"`, ready to finalize or verify. HMAC takes keys of
/// any length, so this is always `Some`; were it not, signing would produce an empty
/// signature and verifying would fail — closed, never a guessable key.
fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Option<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(secret).ok()?;
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    Some(m)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// `scheme://host[:port]/path` of a URL, dropping user info and query string.
fn redacted_url(url: &str) -> String {
    match url.parse::<ureq::http::Uri>() {
        Ok(uri) => {
            let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}{}",
                uri.scheme_str().unwrap_or("?"),
                uri.host().unwrap_or("?"),
                uri.path()
            )
        }
        Err(_) => "<unparsable URL>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_reference_vector() {
        // Python: hmac.new(b"whsec_test_secret_0123", b'1700000000.{"a":1}', "sha256").hexdigest()
        let h = signature_header(b"whsec_test_secret_0123", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            h,
            "t=1700000000,v1=b1e06771f9a20c020fc4b9be257996790d615bbe4d030159b6a5669fdada024c"
        );
        assert!(verify_signature(
            b"whsec_test_secret_0123",
            &h,
            br#"{"a":1}"#,
            1_700_000_000,
            300
        ));
    }

    #[test]
    fn sink_refuses_bad_urls_and_short_secrets() {
        let good = Secret::new("0123456789abcdef");
        for url in ["ftp://x/hook", "/hook", "not a url", "http:///hook"] {
            assert!(
                matches!(
                    WebhookSink::new(url, good.clone(), DEFAULT_TIMEOUT),
                    Err(WebhookError::InvalidUrl(_))
                ),
                "{url}"
            );
        }
        assert!(matches!(
            WebhookSink::new("https://x/hook", Secret::new("short"), DEFAULT_TIMEOUT),
            Err(WebhookError::WeakSecret)
        ));
        let sink = WebhookSink::new(
            "https://user:pw@hooks.example.com:8443/in?token=abc",
            good,
            DEFAULT_TIMEOUT,
        )
        .unwrap();
        assert_eq!(sink.display_url(), "https://hooks.example.com:8443/in");
        let debug = format!("{sink:?}");
        assert!(
            !debug.contains("0123456789abcdef") && !debug.contains("abc"),
            "{debug}"
        );
    }
}
