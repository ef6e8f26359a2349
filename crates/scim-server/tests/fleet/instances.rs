//! Server processes for the fleet tests: the real `scim-server serve` on a loopback port,
//! started, killed with SIGKILL and started again on the same database, each with its own log
//! file (kept across restarts, printed when a test fails).

use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_scim-server");

/// The webhook signing secret every instance is given.
pub const WEBHOOK_SECRET: &str = "whsec_fleet_0123456789abcdef0123456789";

/// Runs the CLI against `db_url`; panics unless it succeeds; returns stdout trimmed.
pub fn cli_ok(db_url: &str, args: &[&str]) -> String {
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

/// One `scim-server serve` process (while running) and what it takes to start it again.
pub struct Instance {
    /// For messages: `a`, `b`, `c`.
    pub name: String,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` of the current (or last) process.
    pub origin: String,
    db_url: String,
    token: String,
    webhook: Option<String>,
    log: PathBuf,
    /// How many times it was started.
    pub starts: u32,
}

impl Instance {
    /// Starts `serve` on `db_url` (with webhooks to `webhook` when given) and returns once it
    /// answers `token` (a SCIM bearer token of some tenant). Logs go to `log_dir/NAME.log`.
    pub fn start(
        name: &str,
        db_url: &str,
        token: &str,
        webhook: Option<&str>,
        log_dir: &std::path::Path,
    ) -> Instance {
        let mut inst = Instance {
            name: name.to_string(),
            child: None,
            origin: String::new(),
            db_url: db_url.to_string(),
            token: token.to_string(),
            webhook: webhook.map(str::to_string),
            log: log_dir.join(format!("{name}.log")),
            starts: 0,
        };
        inst.restart();
        inst
    }

    /// Whether the process is running (it was not killed or did not exit).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL: no graceful shutdown, no lease given back, in-flight transactions cut.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process (again) on a fresh port; returns once it answers our token.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "[{}] still running", self.name);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        for _attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let log: File = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .expect("instance log");
            let mut cmd = Command::new(BIN);
            cmd.args(["--database-url", &self.db_url, "serve", "--bind"])
                .arg(format!("127.0.0.1:{port}"))
                .env("SCIM_LOG", "info")
                .env_remove("SCIM_WEBHOOK_URL")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            if let Some(hook) = &self.webhook {
                cmd.args(["--webhook-url", hook])
                    .env("SCIM_WEBHOOK_SECRET", WEBHOOK_SECRET);
            }
            let mut child = cmd.spawn().expect("start scim-server");
            self.starts += 1;
            let origin = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                // Up, and ours: our token works there (not another test's server that took
                // the port meanwhile).
                let ours = agent
                    .get(format!("{origin}/scim/v2/Users?count=0"))
                    .header("Authorization", format!("Bearer {}", self.token))
                    .call()
                    .is_ok_and(|r| r.status() == 200);
                if ours {
                    self.origin = origin;
                    self.child = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("[{}] did not start on {origin}", self.name);
        }
        panic!(
            "[{}] scim-server would not start:\n{}",
            self.name,
            self.log_tail()
        );
    }

    /// The last lines of its log (all its runs).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Its whole log (all its runs).
    pub fn log_text(&self) -> String {
        // The server writes its log every `FLUSH_EVERY`: wait for what was logged so far.
        std::thread::sleep(scim_server::log_writer::FLUSH_EVERY * 3);
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("[{}] log (last lines):\n{}", self.name, self.log_tail());
        }
    }
}

/// A small seeded generator (xorshift64*), so a failing run's kill schedule can be replayed:
/// the seed is printed, and `SCIM_FLEET_SEED` sets it.
pub struct Rng(u64);

impl Rng {
    /// From `SCIM_FLEET_SEED` or the clock; prints the seed.
    pub fn from_env_or_clock(test: &str) -> Rng {
        let seed = std::env::var("SCIM_FLEET_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{test}: SCIM_FLEET_SEED={seed}");
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next() % (hi - lo)
    }

    /// A duration between `lo_ms` and `hi_ms` milliseconds.
    pub fn millis(&mut self, lo_ms: u64, hi_ms: u64) -> Duration {
        Duration::from_millis(self.range(lo_ms, hi_ms))
    }
}
