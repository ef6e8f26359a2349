//! The crash test's world outside the model: a database that outlives the server (a SQLite
//! file, or a PostgreSQL schema), the real `scim-server` binary started on it and killed with
//! SIGKILL, and a store opened on the same database to check it while the server is down.
//!
//! On SQLite the checking store is opened after each kill and closed before the restart, so
//! the restarted server, like a server after a real crash, is the first to open the file (and
//! recover its WAL). On PostgreSQL the server's connections carry an `application_name` of
//! their own, and after a kill the check waits until PostgreSQL has ended all of them: a
//! COMMIT the server sent just before it died may still be running in its backend, and the
//! check must see the database as it finally is.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scim_store::testing::TestDb;
use scim_store::{Store, StoreOptions, TenantId};

use crate::client;
use crate::common::{BIN, SCIM, cli_ok, free_port};

static APP_SEQ: AtomicU64 = AtomicU64::new(0);

/// PostgreSQL's client: on PATH, or in `/usr/lib/postgresql/*/bin` (where
/// `scripts/services.sh` finds the server's tools).
fn psql() -> PathBuf {
    let on_path = Command::new("psql")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if on_path {
        return PathBuf::from("psql");
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(|d| d.ok())
                .map(|d| d.path().join("bin/psql"))
                .filter(|p| p.exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from("psql"))
}

enum Database {
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        db: TestDb,
        admin_url: String,
        app: String,
    },
}

/// A database with tenant `acme`, a token for it, and a log file for every server run.
pub struct Lab {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The URL the server and the CLI use.
    pub url: String,
    /// The tenant's id.
    pub tenant: TenantId,
    /// The tenant's bearer token.
    pub token: String,
    log: PathBuf,
    _logdir: tempfile::TempDir,
    db: Database,
}

/// A running server.
pub struct Proc {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Lab {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> Lab {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("scim.db").display());
        Lab::setup("sqlite", url, Database::Sqlite { _dir: dir })
    }

    /// A new schema on `SCIM_TEST_PG_URL` (None without one, outside CI).
    pub fn postgres() -> Option<Lab> {
        let db = TestDb::postgres()?;
        let admin_url = std::env::var("SCIM_TEST_PG_URL").expect("SCIM_TEST_PG_URL");
        let app = format!(
            "scim_crash_{}_{}",
            std::process::id(),
            APP_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let url = format!("{}&application_name={app}", db.url);
        Some(Lab::setup(
            "postgres",
            url,
            Database::Postgres { db, admin_url, app },
        ))
    }

    fn setup(backend: &'static str, url: String, db: Database) -> Lab {
        let tenant = TenantId(cli_ok(&url, &["tenant", "create", "acme"]));
        let token = cli_ok(&url, &["token", "create", "--tenant", "acme"]);
        // Jobs come due within the run, so the worker completes some between kills.
        cli_ok(
            &url,
            &["tenant", "set", "acme", "--deactivation-delay", "2"],
        );
        let logdir = tempfile::tempdir().expect("log dir");
        Lab {
            backend,
            log: logdir.path().join("server.log"),
            _logdir: logdir,
            url,
            tenant,
            token,
            db,
        }
    }

    /// Starts the server on the lab's database; returns once it answers the tenant's token.
    pub fn start(&self) -> Proc {
        let agent = client::agent();
        for _ in 0..5 {
            let port = free_port();
            let log: File = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .expect("server log");
            let child = Command::new(BIN)
                .args(["--database-url", &self.url, "serve", "--bind"])
                .arg(format!("127.0.0.1:{port}"))
                // The checks include each acknowledged change's events.
                .arg("--record-events")
                .env("SCIM_LOG", "warn")
                .env_remove("SCIM_WEBHOOK_URL")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start scim-server");
            let mut proc = Proc {
                child,
                origin: format!("http://127.0.0.1:{port}"),
            };
            let url = format!("{}{SCIM}/Users?count=0", proc.origin);
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline && matches!(proc.child.try_wait(), Ok(None)) {
                // Up, and ours: our token works there.
                if client::send(&agent, "GET", &url, &self.token, None, None).map(|r| r.status)
                    == Ok(200)
                {
                    return proc;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!("[{}] server did not start on {}", self.backend, proc.origin);
        }
        panic!(
            "[{}] scim-server would not start:\n{}",
            self.backend,
            self.log_tail()
        );
    }

    /// SIGKILL (no shutdown of any kind), then waits until the process and, on PostgreSQL,
    /// every backend serving it are gone.
    pub fn kill(&self, mut proc: Proc) {
        proc.child.kill().expect("SIGKILL the server");
        proc.child.wait().expect("reap the server");
        if let Database::Postgres { admin_url, app, .. } = &self.db {
            let sql =
                format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'");
            let deadline = Instant::now() + Duration::from_secs(60);
            let psql = psql();
            loop {
                let out = Command::new(&psql)
                    .args([admin_url.as_str(), "-Atc", &sql])
                    .stdin(Stdio::null())
                    .output()
                    .expect("run psql (PostgreSQL's client)");
                let n = String::from_utf8_lossy(&out.stdout).trim().to_string();
                assert!(
                    out.status.success(),
                    "psql failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                if n == "0" {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "[postgres] {n} backends of the killed server still run after 60 s"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Runs `f` with a store on the lab's database. On SQLite the store is opened for the
    /// call and closed after it.
    pub fn with_store<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        match &self.db {
            Database::Postgres { db, .. } => f(&db.store),
            Database::Sqlite { .. } => {
                let options = StoreOptions {
                    pool_size: 2,
                    run_migrations: false,
                    ..StoreOptions::default()
                };
                let store = Store::open(&self.url, options).expect("open the SQLite file");
                f(&store)
            }
        }
    }

    /// The SQLite file is in WAL mode: its header's write and read format versions (bytes 18
    /// and 19) are 2. (`journal_mode` persists in the file; `synchronous` is per connection.)
    pub fn assert_wal_mode(&self) {
        let path = self.url.trim_start_matches("sqlite://");
        let header = std::fs::read(path).expect("read the SQLite file");
        assert_eq!(
            header.get(18..20),
            Some(&[2u8, 2][..]),
            "the SQLite file is not in WAL mode"
        );
    }

    /// The last lines the server wrote to its log, over all runs.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}
