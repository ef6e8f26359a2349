//! The harness of the lifecycle scenarios: the real `scim-server` binary on a loopback port
//! over a fresh database (SQLite file or PostgreSQL schema), stopped with SIGTERM and started
//! again on the same database when a scenario needs a restart; setup and state checks through
//! the binary's own CLI (`tenant set`, `user state`, `legal-hold`, `sync-log`), events read
//! from the outbox through the store API (no dispatcher runs: `serve` has no `--webhook-url`
//! here, so every event stays in the outbox where a zero-length claim lease can read it).
//!
//! Time is the real clock: scenarios use delays of one to three seconds and poll with a
//! deadline instead of sleeping a fixed time.

use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use scim_store::testing::TestDb;
use scim_store::{BackendKind, TenantId, jobs, outbox, tenants};
use serde_json::{Value, json};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_scim-server");
/// The tenant every scenario provisions into.
pub const TENANT: &str = "acme";
/// Core User schema URN.
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// PATCH request schema URN.
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The kinds of events a lifecycle change raises (user.created/updated left out).
pub const LIFECYCLE_KINDS: [&str; 5] = [
    "user.deactivation_scheduled",
    "user.deactivated",
    "user.reactivated",
    "user.blocked",
    "access.revoked",
];

/// Runs `scenario` on every backend available (SQLite always, PostgreSQL when
/// `SCIM_TEST_PG_URL` is set), each in its own thread named after the backend, at the same
/// time; fails naming the backends it failed on.
pub fn each_backend(scenario: impl Fn(&mut Lab) + Sync) {
    std::thread::scope(|s| {
        let handles: Vec<_> = TestDb::all()
            .into_iter()
            .map(|db| {
                let scenario = &scenario;
                let name = backend_name(&db);
                std::thread::Builder::new()
                    .name(name.to_string())
                    .spawn_scoped(s, move || scenario(&mut Lab::start(db)))
                    .expect("spawn backend thread")
            })
            .collect();
        let failed: Vec<String> = handles
            .into_iter()
            .filter_map(|h| {
                let name = h.thread().name().unwrap_or("?").to_string();
                h.join().err().map(|_| name)
            })
            .collect();
        assert!(failed.is_empty(), "scenario failed on: {failed:?}");
    });
}

fn backend_name(db: &TestDb) -> &'static str {
    match db.kind() {
        BackendKind::Sqlite => "sqlite",
        BackendKind::Postgres => "postgres",
    }
}

/// A response: status and body.
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub text: String,
}

impl Resp {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.text)
    }
}

/// One sync-log line as `scim-server sync-log` prints it.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// When.
    pub at: DateTime<Utc>,
    /// provider, admin, system, …
    pub actor: String,
    /// schedule_deactivation, deactivate, block, …
    pub action: String,
    /// The detail JSON.
    pub detail: Value,
}

/// One scenario's world: a database, tenant `acme` with a token, and the server (when running).
pub struct Lab {
    server: Option<Child>,
    /// `http://127.0.0.1:PORT` of the current server.
    pub origin: String,
    /// `sqlite` or `postgres`, for messages.
    pub backend: &'static str,
    /// The tenant's bearer token.
    pub token: String,
    /// The tenant's id, for store calls.
    pub tenant: TenantId,
    agent: ureq::Agent,
    log: PathBuf,
    _logdir: tempfile::TempDir,
    /// The database (a second store on the server's database).
    pub db: TestDb,
}

impl Lab {
    /// Creates the tenant and token with the CLI and starts the server.
    pub fn start(db: TestDb) -> Lab {
        let backend = backend_name(&db);
        let tenant = TenantId(cli_ok(&db.url, &["tenant", "create", TENANT]));
        let token = cli_ok(&db.url, &["token", "create", "--tenant", TENANT]);
        let logdir = tempfile::tempdir().expect("log dir");
        let mut lab = Lab {
            server: None,
            origin: String::new(),
            backend,
            token,
            tenant,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .new_agent(),
            log: logdir.path().join("server.log"),
            _logdir: logdir,
            db,
        };
        lab.serve();
        lab
    }

    /// Starts the server on the lab's database (first start or restart); returns once it
    /// answers our token.
    pub fn serve(&mut self) {
        assert!(self.server.is_none(), "a server is already running");
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let log: File = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .expect("server log");
            let mut child = Command::new(BIN)
                .args(["--database-url", &self.db.url, "serve", "--bind"])
                .arg(format!("127.0.0.1:{port}"))
                // Lifecycle scenarios check the events each step raised.
                .arg("--record-events")
                .env("SCIM_LOG", "info")
                .env_remove("SCIM_WEBHOOK_URL")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start scim-server");
            self.origin = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                // Up, and ours: our token works there.
                if self
                    .try_request("GET", "/Users?count=0", None)
                    .map(|r| r.status)
                    == Some(200)
                {
                    self.server = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("[{}] server did not start on {}", self.backend, self.origin);
        }
        panic!(
            "[{}] scim-server would not start:\n{}",
            self.backend,
            self.log_tail()
        );
    }

    /// Stops the server with SIGTERM and waits for it to exit (at most 20 s).
    pub fn stop(&mut self) {
        let mut child = self.server.take().expect("a running server");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = child.try_wait().expect("wait") {
                assert!(s.success(), "[{}] server exit {s}", self.backend);
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("[{}] no exit 20 s after SIGTERM", self.backend);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last lines of the server's log (all runs).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn try_request(&self, method: &str, path: &str, body: Option<&Value>) -> Option<Resp> {
        let builder = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}/scim/v2{path}", self.origin))
            .header("Authorization", format!("Bearer {}", self.token));
        let result = match body {
            Some(b) => self.agent.run(
                builder
                    .header("Content-Type", "application/scim+json")
                    .body(b.to_string())
                    .expect("request"),
            ),
            None => self.agent.run(builder.body(()).expect("request")),
        };
        let mut resp = result.ok()?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Some(Resp { status, text })
    }

    /// A SCIM request (`path` under `/scim/v2`) as the tenant's provider.
    pub fn scim(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.try_request(method, path, body)
            .unwrap_or_else(|| panic!("[{}] {method} {path}: no response", self.backend))
    }

    /// PATCH a user with these operations; asserts 200 and returns the body.
    pub fn patch_user(&self, id: &str, ops: Value) -> Value {
        let r = self.scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(&json!({"schemas": [PATCH_URN], "Operations": ops})),
        );
        assert_eq!(r.status, 200, "[{}] PATCH {ops}: {r:?}", self.backend);
        r.json()
    }

    /// Okta's pathless form: `{"op":"replace","value":{"active":…}}`.
    pub fn set_active(&self, id: &str, active: bool) -> Value {
        self.patch_user(id, json!([{"op": "replace", "value": {"active": active}}]))
    }

    /// GET a user; asserts 200.
    pub fn get_user(&self, id: &str) -> Value {
        let r = self.scim("GET", &format!("/Users/{id}"), None);
        assert_eq!(r.status, 200, "[{}] GET user: {r:?}", self.backend);
        r.json()
    }

    /// Creates a user (Okta's create body); returns its id.
    pub fn create_user(&self, user_name: &str) -> String {
        let r = self.scim("POST", "/Users", Some(&user_body(user_name)));
        assert_eq!(
            r.status, 201,
            "[{}] create {user_name}: {r:?}",
            self.backend
        );
        r.json()["id"].as_str().expect("id").to_string()
    }

    /// Runs the CLI on the lab's database; panics unless it succeeds; stdout trimmed.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        cli_ok(&self.db.url, args)
    }

    /// `tenant set acme --deactivation-delay SECS`.
    pub fn set_delay(&self, secs: u64) {
        self.cli_ok(&[
            "tenant",
            "set",
            TENANT,
            "--deactivation-delay",
            &secs.to_string(),
        ]);
    }

    /// `user state --tenant acme ID`: one word.
    pub fn state(&self, user: &str) -> String {
        let word = self.cli_ok(&["user", "state", "--tenant", TENANT, user]);
        assert!(
            !word.contains(char::is_whitespace),
            "more than a word: {word:?}"
        );
        word
    }

    /// `legal-hold set|clear --tenant acme ID`.
    pub fn legal_hold(&self, user: &str, set: bool) {
        let verb = if set { "set" } else { "clear" };
        self.cli_ok(&["legal-hold", verb, "--tenant", TENANT, user]);
    }

    /// The state straight from the database (cheaper than the CLI, for tight timing); `None`
    /// once the row is gone.
    fn state_word(&self, user: &str) -> Option<String> {
        let (t, u) = (self.tenant.clone(), user.to_string());
        self.db
            .store
            .read(move |c| scim_store::lifecycle::state_name(c, &t, &u))
            .expect("read state")
    }

    /// The state straight from the database; the user must exist.
    pub fn state_in_db(&self, user: &str) -> String {
        self.state_word(user).expect("user exists")
    }

    /// Whether the user's row still exists (hidden or not): false once it was purged.
    pub fn present(&self, user: &str) -> bool {
        self.state_word(user).is_some()
    }

    /// Polls until the user's row is gone; false if it is still there after `within`.
    pub fn wait_purged(&self, user: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline && self.present(user) {
            std::thread::sleep(Duration::from_millis(100));
        }
        !self.present(user)
    }

    /// Polls the state (from the database) until it is `want`; returns how long it took.
    /// Panics after `within`, with the state seen and the server's log.
    #[track_caller]
    pub fn wait_state(&self, user: &str, want: &str, within: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let now = self.state_in_db(user);
            if now == want {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "[{}] user {user}: {now}, not {want}, after {within:?}\n{}",
                self.backend,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The user's open deactivation job, if any.
    pub fn open_job(&self, user: &str) -> Option<jobs::Job> {
        let (t, u) = (self.tenant.clone(), user.to_string());
        self.db
            .store
            .read(move |c| jobs::open_job(c, &t, &u))
            .expect("read job")
    }

    /// The user's events in the outbox, in order: (kind, payload). A claim with a zero lease
    /// reads them without holding them (nothing else consumes this outbox).
    pub fn events(&self, user: &str) -> Vec<(String, Value)> {
        let now = Utc::now().naive_utc();
        let all = self
            .db
            .store
            .write(move |c| outbox::claim(c, "lifecycle-test", now, Duration::ZERO, 100_000))
            .expect("read outbox");
        all.into_iter()
            .filter(|e| e.user_id.as_deref() == Some(user) && e.tenant_id == self.tenant)
            .map(|e| (e.kind, e.payload))
            .collect()
    }

    /// The kinds of the user's lifecycle events (see [`LIFECYCLE_KINDS`]), in order.
    pub fn lifecycle_events(&self, user: &str) -> Vec<String> {
        self.events(user)
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| LIFECYCLE_KINDS.contains(&k.as_str()))
            .collect()
    }

    /// `sync-log --tenant acme --user ID`, oldest first.
    pub fn sync_log(&self, user: &str) -> Vec<LogLine> {
        let out = self.cli_ok(&["sync-log", "--tenant", TENANT, "--user", user]);
        let mut lines: Vec<LogLine> = out
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.splitn(6, '\t').collect();
                assert_eq!(f.len(), 6, "sync-log line {l:?}");
                assert_eq!(f[4], user, "sync-log --user filter: {l:?}");
                LogLine {
                    at: DateTime::parse_from_rfc3339(f[0])
                        .unwrap_or_else(|e| panic!("time in {l:?}: {e}"))
                        .with_timezone(&Utc),
                    actor: f[1].to_string(),
                    action: f[2].to_string(),
                    detail: serde_json::from_str(f[5])
                        .unwrap_or_else(|e| panic!("detail in {l:?}: {e}")),
                }
            })
            .collect();
        lines.reverse();
        lines
    }

    /// The (actor, action) pairs of the user's lifecycle entries, oldest first.
    pub fn lifecycle_log(&self, user: &str) -> Vec<(String, String)> {
        const ACTIONS: [&str; 6] = [
            "schedule_deactivation",
            "deactivate",
            "reactivate",
            "block",
            "legal_hold_set",
            "legal_hold_released",
        ];
        self.sync_log(user)
            .into_iter()
            .filter(|l| ACTIONS.contains(&l.action.as_str()))
            .map(|l| (l.actor, l.action))
            .collect()
    }

    /// Changes the tenant's settings through the store.
    pub fn update_settings(&self, change: impl FnOnce(&mut scim_store::settings::TenantSettings)) {
        let t = self.tenant.clone();
        let mut s = self
            .db
            .store
            .read(|c| tenants::settings(c, &t))
            .expect("read settings");
        change(&mut s);
        self.db
            .store
            .write(move |c| tenants::update_settings(c, &t, &s))
            .expect("update settings");
        // Written behind the running server's back (not through its admin API), so it applies
        // once the server's cached copy expires.
        std::thread::sleep(
            scim_server::settings_cache::TTL + std::time::Duration::from_millis(100),
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("[{}] server log:\n{}", self.backend, self.log_tail());
        }
    }
}

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
        "scim-server {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 stdout")
        .trim()
        .to_string()
}

/// The body Okta sends to create a user.
pub fn user_body(user_name: &str) -> Value {
    let local = user_name.split('@').next().unwrap_or(user_name);
    json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": local, "familyName": "Tester"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{local} Tester"),
        "externalId": format!("00u{local}"),
        "active": true
    })
}
