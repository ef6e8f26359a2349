//! The admin tests' world: the real `scim-server` binary on a loopback port over a fresh
//! database, tenant `acme` with a SCIM token and an administrator token made by the binary's
//! own CLI, and a small HTTP client that never treats a status as an error.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use scim_store::BackendKind;
use scim_store::testing::TestDb;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_scim-server");

/// Runs the binary's CLI on `url`.
pub fn cli(url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .output()
        .unwrap()
}

fn cli_ok(url: &str, args: &[&str]) -> String {
    let out = cli(url, args);
    assert!(out.status.success(), "scim-server {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Runs `scenario` on every backend available, each in its own thread at the same time;
/// fails naming the backends it failed on.
pub fn each_backend(scenario: impl Fn(&Lab) + Sync) {
    std::thread::scope(|s| {
        let handles: Vec<_> = TestDb::all()
            .into_iter()
            .map(|db| {
                let scenario = &scenario;
                let name = match db.kind() {
                    BackendKind::Sqlite => "sqlite",
                    BackendKind::Postgres => "postgres",
                };
                std::thread::Builder::new()
                    .name(name.to_string())
                    .spawn_scoped(s, move || scenario(&Lab::start(db)))
                    .unwrap()
            })
            .collect();
        let failed: Vec<String> = handles
            .into_iter()
            .filter_map(|h| {
                let name = h.thread().name().unwrap_or("?").to_string();
                h.join().err().map(|_| name)
            })
            .collect();
        assert!(failed.is_empty(), "failed on: {failed:?}");
    });
}

/// A response.
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub text: String,
}

impl Resp {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The Content-Type, or "".
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.text)
    }
}

/// A running server over its database.
pub struct Lab {
    server: Child,
    origin: String,
    agent: ureq::Agent,
    /// Tenant `acme`'s SCIM token.
    pub scim_token: String,
    /// An administrator token.
    pub admin_token: String,
    /// The database.
    pub db: TestDb,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Lab {
    /// Creates tenant `acme`, its SCIM token and an administrator token with the CLI, and
    /// starts the server.
    pub fn start(db: TestDb) -> Lab {
        cli_ok(&db.url, &["tenant", "create", "acme"]);
        let scim_token = cli_ok(&db.url, &["token", "create", "--tenant", "acme"]);
        let admin_token = cli_ok(&db.url, &["token", "create", "--admin"]);
        assert!(
            !admin_token.contains(char::is_whitespace),
            "token create --admin printed more than the token: {admin_token:?}"
        );
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let mut server = Command::new(BIN)
                .args(["--database-url", &db.url, "serve", "--bind"])
                .arg(format!("127.0.0.1:{port}"))
                .env_remove("SCIM_WEBHOOK_URL")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let origin = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline && matches!(server.try_wait(), Ok(None)) {
                let up = agent
                    .get(format!("{origin}/healthz"))
                    .call()
                    .is_ok_and(|r| r.status() == 200);
                if up {
                    return Lab {
                        server,
                        origin,
                        agent,
                        scim_token,
                        admin_token,
                        db,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = server.kill();
            let _ = server.wait();
        }
        panic!("scim-server did not start");
    }

    fn send(&self, method: &str, path: &str, auth: Option<String>, body: Option<&Value>) -> Resp {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.origin));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let result = match body {
            Some(b) => self.agent.run(
                req.header("content-type", "application/json")
                    .body(serde_json::to_vec(b).unwrap())
                    .unwrap(),
            ),
            None => self.agent.run(req.body(()).unwrap()),
        };
        let mut resp = result.unwrap();
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Resp {
            status,
            headers,
            text,
        }
    }

    /// A request with an optional bearer token.
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        self.send(method, path, auth, body.as_ref())
    }

    /// A request with HTTP Basic credentials.
    pub fn basic(&self, method: &str, path: &str, user: &str, password: &str) -> Resp {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.send(method, path, Some(format!("Basic {encoded}")), None)
    }

    /// A request with the administrator token.
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.call(method, path, Some(&self.admin_token), body)
    }

    /// A request with tenant `acme`'s SCIM token.
    pub fn scim_call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.call(method, path, Some(&self.scim_token), body)
    }
}

/// The user's state from the admin API.
pub fn state_of(lab: &Lab, uid: &str) -> Value {
    lab.admin(
        "GET",
        &format!("/admin/v1/tenants/acme/users/{uid}/state"),
        None,
    )
    .json()
}

/// The user's state as `scim-server user state` prints it.
pub fn cli_state(lab: &Lab, uid: &str) -> String {
    let out = cli(&lab.db.url, &["user", "state", "--tenant", "acme", uid]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Every sync-log entry matching `filter`, a page of two at a time; checks the pages are
/// newest first and never repeat an entry.
pub fn page_all(lab: &Lab, filter: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/admin/v1/tenants/acme/sync-log?{filter}&limit=2{cursor}");
        let page = lab.admin("GET", &path, None);
        assert_eq!(page.status, 200, "{page:?}");
        let page = page.json();
        out.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let ids: BTreeSet<i64> = out.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), out.len(), "an entry was repeated");
    let times: Vec<&str> = out.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let parsed: Vec<_> = times
        .iter()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap())
        .collect();
    assert!(
        parsed.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {times:?}"
    );
    out
}
