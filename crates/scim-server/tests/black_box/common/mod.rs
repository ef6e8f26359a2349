//! The harness: the real `scim-server` binary on a loopback port, over a fresh database per
//! test (SQLite file or PostgreSQL schema), with tenants and tokens made by the binary's own CLI.
//!
//! Nothing here reaches into the server: requests go over TCP with a plain HTTP client, and
//! setup uses the command line an operator would. The child is killed on drop, and its log is
//! printed when a test fails, so a failure shows what the server said.

pub mod http;

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use scim_store::BackendKind;
use scim_store::testing::TestDb;
use serde_json::{Value, json};

pub use http::{Req, Resp};

/// The binary under test, built by cargo for this test target.
pub const BIN: &str = env!("CARGO_BIN_EXE_scim-server");

/// Where the API is mounted.
pub const SCIM: &str = "/scim/v2";

/// Schema URNs the tests write.
pub mod urn {
    /// Core User.
    pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    /// Core Group.
    pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    /// Enterprise User extension.
    pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    /// PATCH request.
    pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    /// Error response.
    pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
    /// List response.
    pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
    /// Search request.
    pub const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
    /// Bulk request.
    pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
    /// Bulk response.
    pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
}

/// A running server over its own database, with one tenant (`acme`) and a token for it.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// The `--database-url` the server and the CLI use.
    pub db_url: String,
    /// `sqlite` or `postgres`, for assertion messages.
    pub backend: &'static str,
    /// Bearer token of the default tenant.
    pub token: String,
    agent: ureq::Agent,
    log: PathBuf,
    _logdir: tempfile::TempDir,
    // Dropped after the child is killed (fields drop after `Drop::drop`).
    _db: TestDb,
}

/// Runs `scenario` against a fresh server on every backend available (SQLite always,
/// PostgreSQL when `SCIM_TEST_PG_URL` is set), each in its own thread named after the backend.
pub fn each_backend(scenario: impl Fn(&Server) + Sync) {
    let dbs = TestDb::all();
    std::thread::scope(|s| {
        let handles: Vec<_> = dbs
            .into_iter()
            .map(|db| {
                let name = backend_name(&db);
                let scenario = &scenario;
                std::thread::Builder::new()
                    .name(name.to_string())
                    .spawn_scoped(s, move || scenario(&Server::start(db)))
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

/// A port nobody listened on a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Polls `url` until it answers 200 or `child` exits; `false` when the child died.
pub fn wait_until_up(agent: &ureq::Agent, url: &str, child: &mut Child) -> bool {
    wait_until_up_within(agent, url, child, 60)
}

/// [`wait_until_up`] with its own deadline: the README's command is `cargo run`, which first
/// builds the binary with the features of a plain build (tests build it with their
/// dev-dependencies' features), minutes on a busy two-core machine.
pub fn wait_until_up_within(agent: &ureq::Agent, url: &str, child: &mut Child, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
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
    panic!("{url} did not come up within {secs} s");
}

impl Server {
    /// Starts the binary on `db`, after creating tenant `acme` and a token for it by CLI.
    pub fn start(db: TestDb) -> Server {
        Server::start_with(db, &[])
    }

    /// [`Server::start`] with more `serve` arguments.
    pub fn start_with(db: TestDb, serve_args: &[&str]) -> Server {
        let backend = backend_name(&db);
        let db_url = db.url.clone();
        let agent = http::agent();
        let logdir = tempfile::tempdir().expect("log dir");
        let log = logdir.path().join("server.log");
        cli_ok(&db_url, &["tenant", "create", "acme"]);
        let token = cli_ok(&db_url, &["token", "create", "--tenant", "acme"]);
        for _attempt in 0..5 {
            let port = free_port();
            let origin = format!("http://127.0.0.1:{port}");
            let mut child = Command::new(BIN)
                .args(["--database-url", &db_url, "serve", "--bind"])
                .arg(format!("127.0.0.1:{port}"))
                // Scenarios read the events a change raised from the outbox.
                .arg("--record-events")
                .args(serve_args)
                .env("SCIM_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).expect("server log file"))
                .spawn()
                .expect("start scim-server");
            // Up, and it is ours: our token works there (another test's server could have
            // taken the port while ours was still migrating).
            let ours = wait_until_up(&agent, &format!("{origin}/healthz"), &mut child)
                && Req::new(&agent, "GET", format!("{origin}{SCIM}/Users?count=0"))
                    .bearer(&token)
                    .send()
                    .status
                    == 200;
            if ours {
                return Server {
                    child,
                    origin,
                    db_url,
                    backend,
                    token,
                    agent,
                    log,
                    _logdir: logdir,
                    _db: db,
                };
            }
            // Lost the port to someone else (or failed outright): show why, try another.
            let _ = child.kill();
            let _ = child.wait();
            eprintln!(
                "[{backend}] server did not start on {origin}:\n{}",
                tail(&log)
            );
        }
        panic!(
            "[{backend}] scim-server would not start; last log:\n{}",
            tail(&log)
        );
    }

    /// Runs the CLI against this server's database; panics unless it succeeds. Returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        cli_ok(&self.db_url, args)
    }

    /// Runs the CLI against this server's database.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli(&self.db_url, args)
    }

    /// A second tenant (name must be new) and a bearer token for it.
    pub fn new_tenant(&self, name: &str) -> String {
        self.cli_ok(&["tenant", "create", name]);
        self.cli_ok(&["token", "create", "--tenant", name])
    }

    /// The server's database, for setup no command or endpoint offers yet (tenant settings).
    pub fn store(&self) -> &scim_store::Store {
        &self._db.store
    }

    /// A request to a SCIM path (`/Users`), authenticated as the default tenant.
    pub fn req(&self, method: &str, scim_path: &str) -> Req<'_> {
        Req::new(
            &self.agent,
            method,
            format!("{}{SCIM}{scim_path}", self.origin),
        )
        .bearer(&self.token)
    }

    /// A request to a path outside the SCIM mount (`/healthz`), without credentials.
    pub fn raw(&self, method: &str, path: &str) -> Req<'_> {
        Req::new(&self.agent, method, format!("{}{path}", self.origin))
    }

    /// GET a SCIM path.
    pub fn get(&self, scim_path: &str) -> Resp {
        self.req("GET", scim_path).send()
    }

    /// POST JSON to a SCIM path.
    pub fn post(&self, scim_path: &str, body: &Value) -> Resp {
        self.req("POST", scim_path).json(body).send()
    }

    /// PUT JSON to a SCIM path.
    pub fn put(&self, scim_path: &str, body: &Value) -> Resp {
        self.req("PUT", scim_path).json(body).send()
    }

    /// PATCH a SCIM path with these operations.
    pub fn patch(&self, scim_path: &str, ops: &Value) -> Resp {
        self.req("PATCH", scim_path).json(&patch_body(ops)).send()
    }

    /// DELETE a SCIM path.
    pub fn delete(&self, scim_path: &str) -> Resp {
        self.req("DELETE", scim_path).send()
    }

    /// Creates a user (Okta's create body) and returns the 201 body.
    pub fn create_user(&self, user_name: &str) -> Value {
        let r = self.post("/Users", &user_body(user_name));
        assert_eq!(
            r.status, 201,
            "[{}] create {user_name}: {r:?}",
            self.backend
        );
        r.json()
    }

    /// Creates a group with these member ids and returns the 201 body.
    pub fn create_group(&self, name: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let r = self.post(
            "/Groups",
            &json!({"schemas": [urn::GROUP], "displayName": name, "members": members}),
        );
        assert_eq!(
            r.status, 201,
            "[{}] create group {name}: {r:?}",
            self.backend
        );
        r.json()
    }

    /// The server's whole log so far.
    pub fn log_text(&self) -> String {
        // The server writes its log every `FLUSH_EVERY`: wait for what was logged so far.
        std::thread::sleep(scim_server::log_writer::FLUSH_EVERY * 3);
        std::fs::read_to_string(&self.log).unwrap_or_default()
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
        if std::thread::panicking() {
            eprintln!(
                "[{}] server log (last lines):\n{}",
                self.backend,
                self.log_tail()
            );
        }
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Runs the binary's CLI against `db_url`.
pub fn cli(db_url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--database-url", db_url])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run scim-server CLI")
}

/// Runs the CLI, panics unless it succeeds, and returns its stdout trimmed.
pub fn cli_ok(db_url: &str, args: &[&str]) -> String {
    let out = cli(db_url, args);
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

/// The body Okta sends to create a user (clients.md a.1 #4), without the `password` Okta adds
/// (tests that need one set it: hashing it costs argon2 time on every create).
pub fn user_body(user_name: &str) -> Value {
    let local = user_name.split('@').next().unwrap_or(user_name);
    json!({
        "schemas": [urn::USER],
        "userName": user_name,
        "name": {"givenName": local, "familyName": "Tester"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{local} Tester"),
        "locale": "en-US",
        "externalId": format!("00u{local}"),
        "groups": [],
        "active": true
    })
}

/// A PATCH request body around these operations.
pub fn patch_body(ops: &Value) -> Value {
    json!({"schemas": [urn::PATCH_OP], "Operations": ops})
}

/// The `id` of a resource body.
pub fn id_of(doc: &Value) -> String {
    doc["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {doc}"))
        .to_string()
}

/// The `Resources` of a ListResponse (empty when absent).
pub fn resources(list: &Value) -> &[Value] {
    list["Resources"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Checks an error response: the status, `application/scim+json`, the Error schema, `status`
/// as a string equal to the HTTP status, `scimType` when expected, and a `detail` to act on.
#[track_caller]
pub fn assert_scim_error(resp: &Resp, status: u16, scim_type: Option<&str>) {
    assert_eq!(resp.status, status, "unexpected status: {resp:?}");
    assert_scim_json(resp);
    let body = resp.json();
    assert_eq!(body["schemas"], json!([urn::ERROR]), "{resp:?}");
    assert_eq!(body["status"], json!(status.to_string()), "{resp:?}");
    if let Some(t) = scim_type {
        assert_eq!(body["scimType"], json!(t), "{resp:?}");
    }
    let detail = body["detail"].as_str().unwrap_or("");
    assert!(!detail.trim().is_empty(), "no detail: {resp:?}");
}

/// Checks the response's media type is `application/scim+json`.
#[track_caller]
pub fn assert_scim_json(resp: &Resp) {
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("application/scim+json"),
        "content-type {ct:?}: {resp:?}"
    );
}
