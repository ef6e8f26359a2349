//! Throttled failed authentication (issue #9 item 6), against the real binary started with a
//! small budget (`--auth-failure-burst 3 --auth-failure-refill 2`) so lockout and recovery
//! take seconds.
//!
//! The rule under test (`auth_throttle`): failures are counted per client address; once a
//! client has spent its budget, every credential it presents that would need an argon2
//! verification is refused with 429, `Retry-After` and a SCIM Error body, without being
//! verified: a valid token the server has not verified yet is refused too, which is how
//! the test sees that no verification ran. Credentials the server already verified keep
//! working, and so do other clients: the tests connect from 127.0.0.2 as a second client
//! (all of 127.0.0.0/8 is loopback). SQLite only: the throttle sits before the database.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scim_store::testing::TestDb;

use crate::common::http::agent;
use crate::common::{BIN, Req, Resp, SCIM, assert_scim_error, cli_ok, free_port, wait_until_up};

const BURST: u32 = 3;
const REFILL_SECS: u64 = 2;

/// The binary with a small failure budget, one tenant and its token (already used once, so
/// verified and cached by the server).
struct Throttled {
    child: Child,
    origin: String,
    port: u16,
    db: TestDb,
    agent: ureq::Agent,
    /// Verified by the server during the start.
    token: String,
    log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Throttled {
    fn start() -> Throttled {
        let db = TestDb::sqlite();
        let agent = agent();
        let logdir = tempfile::tempdir().expect("log dir");
        cli_ok(&db.url, &["tenant", "create", "acme"]);
        let token = cli_ok(&db.url, &["token", "create", "--tenant", "acme"]);
        for attempt in 0..5 {
            let port = free_port();
            let origin = format!("http://127.0.0.1:{port}");
            let log = logdir.path().join(format!("server-{attempt}.log"));
            let mut child = Command::new(BIN)
                .args(["--database-url", &db.url, "serve", "--bind"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["--auth-failure-burst", &BURST.to_string()])
                .args(["--auth-failure-refill", &REFILL_SECS.to_string()])
                .env("SCIM_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).expect("log file"))
                .spawn()
                .expect("start scim-server");
            let ours = wait_until_up(&agent, &format!("{origin}/healthz"), &mut child)
                && Req::new(&agent, "GET", format!("{origin}{SCIM}/Users?count=0"))
                    .bearer(&token)
                    .send()
                    .status
                    == 200;
            if ours {
                return Throttled {
                    child,
                    origin,
                    port,
                    db,
                    agent,
                    token,
                    log,
                    _logdir: logdir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("scim-server with a failure budget would not start");
    }

    fn token_for(&self, args: &[&str]) -> String {
        cli_ok(&self.db.url, &[&["token", "create"], args].concat())
    }

    fn get(&self, path: &str, token: &str) -> Resp {
        Req::new(&self.agent, "GET", format!("{}{path}", self.origin))
            .bearer(token)
            .send()
    }

    /// GET `path` with `token` from the loopback address `from` (a second client).
    fn get_from(&self, from: &str, path: &str, token: &str) -> u16 {
        let local: SocketAddr = format!("{from}:0").parse().expect("address");
        let server: SocketAddr = format!("127.0.0.1:{}", self.port).parse().expect("address");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime");
        let stream = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind(local)
                .unwrap_or_else(|e| panic!("bind {local} (loopback): {e}"));
            socket.connect(server).await.expect("connect")
        });
        let mut stream: TcpStream = stream.into_std().expect("std stream");
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        assert_eq!(
            stream.local_addr().expect("local").ip().to_string(),
            from,
            "the connection does not come from {from}"
        );
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {token}\r\n\
             Connection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes()).expect("write");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status in {answer:?}"))
    }

    fn log_text(&self) -> String {
        // The server writes its log every `FLUSH_EVERY`: wait for what was logged so far.
        std::thread::sleep(scim_server::log_writer::FLUSH_EVERY * 3);
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Throttled {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("server log:\n{}", self.log_text());
        }
    }
}

/// A 429 from the throttle: SCIM Error body and a `Retry-After` of whole seconds within the
/// refill period. Returns the seconds.
#[track_caller]
fn assert_throttled(r: &Resp) -> u64 {
    assert_scim_error(r, 429, None);
    let secs: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After in seconds: {r:?}"));
    assert!(
        (1..=REFILL_SECS).contains(&secs),
        "Retry-After {secs}: {r:?}"
    );
    secs
}

/// Waits until `try_once` stops answering 429 (at most 60 s); returns its last status.
fn after_lockout(retry_after: u64, mut try_once: impl FnMut() -> u16) -> u16 {
    std::thread::sleep(Duration::from_secs(retry_after));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = try_once();
        if status != 429 || Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn repeated_failures_lock_a_client_out_of_new_credentials_until_the_window_passes() {
    let srv = Throttled::start();
    let (id, secret) = srv.token.split_once('.').expect("id.secret");
    let wrong = format!("{id}.{}", "0".repeat(secret.len()));
    let fresh = srv.token_for(&["--tenant", "acme"]);
    let other_fresh = srv.token_for(&["--tenant", "acme"]);
    let users = format!("{SCIM}/Users?count=0");

    // Missing and malformed credentials cost nothing and are not counted.
    for malformed in ["", "nodot", ".x"] {
        for _ in 0..BURST {
            assert_eq!(srv.get(&users, malformed).status, 401);
        }
    }
    // BURST wrong secrets are each verified and refused...
    for n in 1..=BURST {
        let r = srv.get(&users, &wrong);
        assert_scim_error(&r, 401, None);
        assert!(r.header("retry-after").is_none(), "failure {n}: {r:?}");
    }
    // ...then this client is locked: 429 without verifying anything, even a valid token the
    // server has not seen yet (were it verified, it would pass).
    let retry = assert_throttled(&srv.get(&users, &wrong));
    assert_throttled(&srv.get(&users, &fresh));
    assert_throttled(&srv.get(&users, "tok_unknown.secret"));
    // Malformed credentials still get their 401.
    assert_eq!(srv.get(&users, "nodot").status, 401);
    // A token this server already verified still works from the locked address: it costs
    // no argon2, and only its holder can present it.
    assert_eq!(srv.get(&users, &srv.token).status, 200);
    // Another client is not affected: its new token is verified and accepted.
    assert_eq!(srv.get_from("127.0.0.2", &users, &other_fresh), 200);
    assert_eq!(srv.get_from("127.0.0.2", &users, &srv.token), 200);

    // The locked client recovers once the window passes: its new token is verified then.
    let status = after_lockout(retry, || srv.get(&users, &fresh).status);
    assert_eq!(status, 200, "not recovered after the lockout window");
    let log = srv.log_text();
    assert!(
        log.contains("repeated failed authentication") && log.contains("127.0.0.1"),
        "the lockout is logged with the client address:\n{log}"
    );
    assert!(!log.contains(secret), "a secret in the log");
}

#[test]
fn admin_api_failures_share_the_budget_and_are_throttled_too() {
    let srv = Throttled::start();
    let admin = srv.token_for(&["--admin"]);
    let (admin_id, admin_secret) = admin.split_once('.').expect("id.secret");
    let wrong_admin = format!("{admin_id}.{}", "f".repeat(admin_secret.len()));
    let fresh_scim = srv.token_for(&["--tenant", "acme"]);
    let tenants = "/admin/v1/tenants";

    for _ in 0..BURST {
        assert_scim_error(&srv.get(tenants, &wrong_admin), 401, None);
    }
    // Locked on the admin API, with the valid administrator token it never verified...
    let retry = assert_throttled(&srv.get(tenants, &wrong_admin));
    assert_throttled(&srv.get(tenants, &admin));
    // ...and on the SCIM API: one budget per client, whichever API it fails on.
    assert_throttled(&srv.get(&format!("{SCIM}/Users"), &fresh_scim));
    assert_eq!(srv.get(&format!("{SCIM}/Users"), &srv.token).status, 200);

    let status = after_lockout(retry, || srv.get(tenants, &admin).status);
    assert_eq!(status, 200, "admin token refused after the lockout window");
}
