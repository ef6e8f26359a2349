//! HTTPS served by the binary itself (issue #9 item 7): the real `scim-server` started with a
//! certificate and key made here (rcgen, self-signed for 127.0.0.1), a client that trusts
//! that certificate creating and reading a user over TLS, and what must not work: plain HTTP
//! to the TLS port, a client that does not trust the certificate, and starts with missing,
//! unreadable or mismatched files (each a message and a non-zero exit, never a panic).
//!
//! SQLite only: TLS sits in front of the HTTP layer and does not depend on the backend.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly, with what the server said"
)]

#[path = "black_box/common/mod.rs"]
#[expect(dead_code, reason = "the shared harness; this file uses part of it")]
mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{BIN, Req, SCIM, cli_ok, free_port, user_body, wait_until_up};
use scim_store::testing::TestDb;
use serde_json::json;

/// A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files.
struct Pem {
    dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    cert_pem: String,
}

fn make_pem(name: &str) -> Pem {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("generate a self-signed certificate");
    let dir = tempfile::tempdir().expect("temp dir");
    let cert = dir.path().join(format!("{name}.crt"));
    let key = dir.path().join(format!("{name}.key"));
    let cert_pem = made.cert.pem();
    std::fs::write(&cert, &cert_pem).expect("write cert");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
    Pem {
        dir,
        cert,
        key,
        cert_pem,
    }
}

/// A client trusting exactly `cert_pem` (statuses as data, like the harness's agent).
fn trusting_agent(cert_pem: &str) -> ureq::Agent {
    let root = ureq::tls::Certificate::from_pem(cert_pem.as_bytes())
        .expect("parse cert")
        .to_owned();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
                .build(),
        )
        .build()
        .new_agent()
}

struct Running {
    child: Child,
    log: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "server log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// `scim-server serve` with these extra arguments and environment, stderr to `log`.
fn spawn(db_url: &str, port: u16, args: &[&str], env: &[(&str, &Path)], log: &Path) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.args(["--database-url", db_url, "serve", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .env("SCIM_LOG", "info")
        .env_remove("SCIM_TLS_CERT")
        .env_remove("SCIM_TLS_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(log).expect("log file"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start scim-server")
}

#[test]
fn serves_scim_over_https_and_nothing_over_plain_http() {
    let db = TestDb::sqlite();
    let pem = make_pem("server");
    cli_ok(&db.url, &["tenant", "create", "acme"]);
    let token = cli_ok(&db.url, &["token", "create", "--tenant", "acme"]);
    let agent = trusting_agent(&pem.cert_pem);
    // The files come from the environment variables here (the flags are exercised below).
    let env = [
        ("SCIM_TLS_CERT", pem.cert.as_path()),
        ("SCIM_TLS_KEY", pem.key.as_path()),
    ];
    let mut started = None;
    for _attempt in 0..5 {
        let port = free_port();
        let log = pem.dir.path().join(format!("server-{port}.log"));
        let mut child = spawn(&db.url, port, &[], &env, &log);
        let origin = format!("https://127.0.0.1:{port}");
        let ours = wait_until_up(&agent, &format!("{origin}/healthz"), &mut child)
            && Req::new(&agent, "GET", format!("{origin}{SCIM}/Users?count=0"))
                .bearer(&token)
                .send()
                .status
                == 200;
        let running = Running { child, log };
        if ours {
            started = Some((running, origin, port));
            break;
        }
    }
    let (running, origin, port) = started.expect("the HTTPS server did not start");

    // A SCIM round trip over TLS: create, then read back.
    let created = Req::new(&agent, "POST", format!("{origin}{SCIM}/Users"))
        .bearer(&token)
        .json(&user_body("tls.user@example.com"))
        .send();
    assert_eq!(created.status, 201, "{created:?}");
    let body = created.json();
    let id = body["id"].as_str().expect("id").to_string();
    let location = body["meta"]["location"].as_str().unwrap_or_default();
    assert_eq!(
        location,
        format!("{origin}{SCIM}/Users/{id}"),
        "locations name the https origin: {body}"
    );
    let got = Req::new(&agent, "GET", format!("{origin}{SCIM}/Users/{id}"))
        .bearer(&token)
        .send();
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.json()["userName"], json!("tls.user@example.com"));

    // The same request in plain HTTP on the TLS port gets no HTTP answer at all.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let request = format!(
        "GET {SCIM}/Users/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer \
         {token}\r\nConnection: close\r\n\r\n"
    );
    let _ = plain.write_all(request.as_bytes());
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.starts_with("HTTP/") && !answer.contains("tls.user@example.com"),
        "plain HTTP got an HTTP answer from the TLS port: {answer:?}"
    );

    // A client that does not trust the certificate (the public roots) refuses the server.
    let untrusting = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    let refused = untrusting.get(&format!("{origin}/healthz")).call();
    assert!(
        refused.is_err(),
        "an unknown self-signed certificate was accepted: {refused:?}"
    );
    // The server writes its log every `FLUSH_EVERY`: wait for the start lines.
    std::thread::sleep(scim_server::log_writer::FLUSH_EVERY * 3);
    let log = std::fs::read_to_string(&running.log).unwrap_or_default();
    assert!(
        log.contains("https"),
        "the start log names the scheme:\n{log}"
    );
}

/// The base64 lines of the private keys in these PEM files: what must never be printed.
fn key_lines(keys: &[&Path]) -> Vec<String> {
    keys.iter()
        .flat_map(|k| {
            std::fs::read_to_string(k)
                .expect("read key")
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .collect()
}

/// Starts the binary expecting it to refuse: exit code 1 within the deadline and a message
/// on stderr containing `expected`, without a panic or any line of `secret_lines`. Returns
/// stderr.
#[track_caller]
fn refuses_to_start(
    db_url: &str,
    args: &[&str],
    expected: &str,
    secret_lines: &[String],
) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");
    let mut child = spawn(db_url, free_port(), args, &[], &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{args:?}: still running after 60 s\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!status.success(), "{args:?} started: {stderr}");
    assert_eq!(status.code(), Some(1), "{args:?}: {status}\n{stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    for line in secret_lines {
        assert!(
            !stderr.contains(line.as_str()),
            "key material in the message: {stderr}"
        );
    }
    stderr
}

#[test]
fn bad_certificate_or_key_files_stop_the_start_with_a_message() {
    let db = TestDb::sqlite();
    let a = make_pem("a");
    let b = make_pem("b");
    let (a_cert, a_key, b_key) = (
        a.cert.to_str().expect("utf-8 path"),
        a.key.to_str().expect("utf-8 path"),
        b.key.to_str().expect("utf-8 path"),
    );
    let missing = a.dir.path().join("missing.pem");
    let missing = missing.to_str().expect("utf-8 path");
    let garbage = a.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not PEM\n").expect("write");
    let garbage = garbage.to_str().expect("utf-8 path");
    let keys = key_lines(&[&a.key, &b.key]);
    assert!(!keys.is_empty());

    let stderr = refuses_to_start(
        &db.url,
        &["--tls-cert", a_cert, "--tls-key", b_key],
        "does not fit the certificate",
        &keys,
    );
    assert!(
        stderr.contains(a_cert) && stderr.contains(b_key),
        "names both files: {stderr}"
    );
    refuses_to_start(
        &db.url,
        &["--tls-cert", a_cert],
        "--tls-key is missing",
        &keys,
    );
    refuses_to_start(
        &db.url,
        &["--tls-key", a_key],
        "--tls-cert is missing",
        &keys,
    );
    refuses_to_start(
        &db.url,
        &["--tls-cert", missing, "--tls-key", a_key],
        "cannot read the TLS certificate file",
        &keys,
    );
    refuses_to_start(
        &db.url,
        &["--tls-cert", garbage, "--tls-key", a_key],
        "no certificate in it",
        &keys,
    );
    refuses_to_start(
        &db.url,
        &["--tls-cert", a_cert, "--tls-key", a_cert],
        "no unencrypted private key",
        &keys,
    );
}
