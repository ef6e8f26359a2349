//! The real `scim-server` binary on a loopback port over a fresh database (SQLite file or
//! PostgreSQL schema), with a tenant and a token made by the binary's own CLI, as an operator
//! would. Adapted from the black-box harness (`tests/black_box/common`), kept separate so the
//! two suites can change independently.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scim_store::BackendKind;
use scim_store::testing::TestDb;

/// The binary under test, built by cargo for this test target.
const BIN: &str = env!("CARGO_BIN_EXE_scim-server");

/// A running server over its own database, with one tenant and a token for it.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The token exactly as `scim-server token create` printed it: `<id>.<secret>`.
    pub token: String,
    log: PathBuf,
    _logdir: tempfile::TempDir,
    // Dropped after the child is killed (fields drop after `Drop::drop`).
    _db: TestDb,
}

/// `sqlite` or `postgres`.
pub fn backend_name(db: &TestDb) -> &'static str {
    match db.kind() {
        BackendKind::Sqlite => "sqlite",
        BackendKind::Postgres => "postgres",
    }
}

/// The HTTP client: statuses are data, no redirects, generous timeouts.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

impl Server {
    /// Creates tenant `idp` and a token for it with the CLI, then starts the server on `db`.
    pub fn start(db: TestDb) -> Server {
        let backend = backend_name(&db);
        let logdir = tempfile::tempdir().expect("log dir");
        let log = logdir.path().join("server.log");
        cli_ok(&db.url, &["tenant", "create", "idp"]);
        let token = cli_ok(&db.url, &["token", "create", "--tenant", "idp"]);
        let agent = agent();
        for _attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("an ephemeral port")
                .port();
            let origin = format!("http://127.0.0.1:{port}");
            let mut child = Command::new(BIN)
                .args(["--database-url", &db.url, "serve", "--bind"])
                .arg(format!("127.0.0.1:{port}"))
                .env("SCIM_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).expect("server log file"))
                .spawn()
                .expect("start scim-server");
            if wait_until_up(&agent, &format!("{origin}/healthz"), &mut child) {
                return Server {
                    child,
                    origin,
                    backend,
                    token,
                    log,
                    _logdir: logdir,
                    _db: db,
                };
            }
            // Lost the port to someone else (or failed outright): show why, try another.
            eprintln!("[{backend}] server exited early:\n{}", tail(&log));
        }
        panic!(
            "[{backend}] scim-server would not start; last log:\n{}",
            tail(&log)
        );
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `url` until it answers 200 (`true`) or `child` exits (`false`).
fn wait_until_up(agent: &ureq::Agent, url: &str, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(r) = agent.get(url).call()
            && r.status().as_u16() == 200
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{url} did not come up within 60 s");
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Runs the CLI against `db_url`; panics unless it succeeds. Returns stdout trimmed.
fn cli_ok(db_url: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["--database-url", db_url])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run scim-server CLI");
    assert!(
        out.status.success(),
        "scim-server {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("CLI stdout is UTF-8")
        .trim()
        .to_string()
}
