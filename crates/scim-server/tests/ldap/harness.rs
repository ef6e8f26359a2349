//! The harness of the LDAP sync scenarios: a real OpenLDAP `slapd` (started by
//! `scripts/services.sh`'s `start_slapd`, named by `SCIM_TEST_LDAP_*`), a subtree of its own
//! per scenario and backend loaded from `fixture.ldif` with `ldapadd` and changed with
//! `ldapmodify` (the operator's tools), a fresh database (SQLite file or PostgreSQL schema),
//! and the real `scim-server` binary: its CLI for configuration and on-demand runs, `serve`
//! for the SCIM API and the scheduler. State is read back through the store API.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scim_core::query::ListQuery;
use scim_core::schema::SchemaRegistry;
use scim_store::ldap_runs::{self, LdapRun};
use scim_store::sync_log::{self, LogEntry, LogQuery};
use scim_store::testing::TestDb;
use scim_store::{BackendKind, TenantId, groups, users};
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_scim-server");
/// The tenant every scenario synchronizes.
pub const TENANT: &str = "acme";
/// The variable the configured source names for its bind password (set on each command).
pub const PASSWORD_VAR: &str = "SCIM_LDAP_LAB_PASSWORD";
const FIXTURE: &str = include_str!("fixture.ldif");

static SEQ: AtomicU64 = AtomicU64::new(0);

/// The test directory server.
#[derive(Debug, Clone)]
pub struct Directory {
    /// `ldap://127.0.0.1:PORT`.
    pub url: String,
    /// The rootdn (used both to load data and as the sync's read account).
    pub bind_dn: String,
    /// Its password.
    pub password: String,
    /// The suffix every scenario's subtree goes under.
    pub suffix: String,
    /// `ldaps://127.0.0.1:PORT` and the PEM file of the CA that signed the server's
    /// certificate, when the server has TLS (StartTLS then works on `url` too).
    pub tls: Option<(String, String)>,
}

impl Directory {
    /// The server `start_slapd` exported, or `None` (with a note) outside CI when there is
    /// none; under CI a missing server fails the test, as a missing PostgreSQL does.
    pub fn from_env() -> Option<Directory> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let Some(url) = var("SCIM_TEST_LDAP_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but SCIM_TEST_LDAP_URL is not: the LDAP tests would be skipped"
            );
            eprintln!(
                "note: SCIM_TEST_LDAP_URL is not set; LDAP sync tests skipped (scripts/test-all \
                 starts slapd; locally: source scripts/services.sh && start_slapd)"
            );
            return None;
        };
        Some(Directory {
            url,
            bind_dn: var("SCIM_TEST_LDAP_BIND_DN")
                .unwrap_or_else(|| "cn=admin,dc=example,dc=org".into()),
            password: var("SCIM_TEST_LDAP_BIND_PASSWORD").unwrap_or_else(|| "secret".into()),
            suffix: var("SCIM_TEST_LDAP_BASE").unwrap_or_else(|| "dc=example,dc=org".into()),
            tls: var("SCIM_TEST_LDAPS_URL").zip(var("SCIM_TEST_LDAP_CA")),
        })
    }

    /// Runs an LDAP tool (`ldapadd`, `ldapmodify`, `ldapdelete`) as the rootdn with `input`
    /// on stdin; panics with its output when it fails.
    pub fn tool(&self, tool: &str, extra: &[&str], input: &str) {
        let mut child = Command::new(tool)
            .args([
                "-x",
                "-H",
                &self.url,
                "-D",
                &self.bind_dn,
                "-w",
                &self.password,
            ])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {tool} (apt-get install ldap-utils): {e}"));
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write LDIF");
        let out = child.wait_with_output().expect("wait for the LDAP tool");
        assert!(
            out.status.success(),
            "{tool} failed: {}\n{input}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs `scenario` on every backend available, each in its own thread and directory subtree,
/// at the same time; nothing when no directory server is configured.
pub fn each_backend(scenario: impl Fn(&mut Lab) + Sync) {
    let Some(dir) = Directory::from_env() else {
        return;
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = TestDb::all()
            .into_iter()
            .map(|db| {
                let (scenario, dir) = (&scenario, dir.clone());
                let name = match db.kind() {
                    BackendKind::Sqlite => "sqlite",
                    BackendKind::Postgres => "postgres",
                };
                std::thread::Builder::new()
                    .name(name.to_string())
                    .spawn_scoped(s, move || scenario(&mut Lab::new(db, dir, name)))
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

/// A finished CLI command.
pub struct Ran {
    /// Exit success.
    pub ok: bool,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(o: Output) -> Ran {
        Ran {
            ok: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// One scenario's world on one backend.
pub struct Lab {
    /// `sqlite` or `postgres`, for messages.
    pub backend: &'static str,
    /// The database.
    pub db: TestDb,
    /// The directory server.
    pub dir: Directory,
    /// This lab's subtree (`ou=…,dc=example,dc=org`): the sync's base DN.
    pub base: String,
    /// The tenant's id.
    pub tenant: TenantId,
    server: Option<Child>,
    /// `http://127.0.0.1:PORT` of the running server.
    pub origin: String,
    /// The tenant's SCIM token.
    pub token: String,
    registry: SchemaRegistry,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Best effort: leave the shared directory as it was.
        let _ = Command::new("ldapdelete")
            .args(["-x", "-H", &self.dir.url, "-D", &self.dir.bind_dn])
            .args(["-w", &self.dir.password, "-r", &self.base])
            .output();
    }
}

impl Lab {
    /// Loads the fixture under a new subtree and creates the tenant and its token.
    pub fn new(db: TestDb, dir: Directory, backend: &'static str) -> Lab {
        let ou = format!(
            "lab-{}-{}-{backend}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let base = format!("ou={ou},{}", dir.suffix);
        let ldif = FIXTURE.replace("{base}", &base).replace("{ou}", &ou);
        dir.tool("ldapadd", &[], &ldif);
        let mut lab = Lab {
            backend,
            db,
            dir,
            base,
            tenant: TenantId(String::new()),
            server: None,
            origin: String::new(),
            token: String::new(),
            registry: SchemaRegistry::standard(),
        };
        lab.tenant = TenantId(lab.cli_ok(&["tenant", "create", TENANT]));
        lab.token = lab.cli_ok(&["token", "create", "--tenant", TENANT]);
        lab
    }

    /// The DN of a user or group of the fixture (`uid=bob,ou=people` → full DN).
    pub fn dn(&self, rdn: &str) -> String {
        format!("{rdn},{}", self.base)
    }

    /// Applies an `ldapmodify` change; `{base}` in it is this lab's subtree.
    pub fn modify(&self, ldif: &str) {
        self.dir
            .tool("ldapmodify", &[], &ldif.replace("{base}", &self.base));
    }

    /// Runs the CLI on the lab's database with the bind password in [`PASSWORD_VAR`].
    pub fn cli(&self, args: &[&str]) -> Ran {
        self.cli_env(args, &[(PASSWORD_VAR, Some(&self.dir.password))])
    }

    /// Runs the CLI with these variables set (`Some`) or removed (`None`). The system's
    /// trusted CAs are used unless `SSL_CERT_FILE` is given.
    pub fn cli_env(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Ran {
        let mut cmd = Command::new(BIN);
        cmd.args(["--database-url", &self.db.url]).args(args);
        cmd.env("SCIM_LOG", "warn");
        cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.output().expect("run scim-server").into()
    }

    /// Runs the CLI and returns its trimmed stdout; panics when it fails.
    #[track_caller]
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let r = self.cli(args);
        assert!(r.ok, "[{}] {args:?} failed: {}", self.backend, r.stderr);
        r.stdout.trim().to_string()
    }

    /// `ldap configure` for the fixture's two groups over plain LDAP, plus `extra` flags.
    #[track_caller]
    pub fn configure(&self, extra: &[&str]) {
        let mut flags = vec!["--allow-plaintext"];
        flags.extend_from_slice(extra);
        let r = self.configure_source(&self.dir.url, &[], &flags);
        assert!(
            r.ok,
            "[{}] ldap configure failed: {}",
            self.backend, r.stderr
        );
    }

    /// `ldap configure` with this URL, the fixture's two groups plus `more_groups`, and
    /// `flags` (nothing else added).
    pub fn configure_source(&self, url: &str, more_groups: &[String], flags: &[&str]) -> Ran {
        let (admins, staff) = (
            self.dn("cn=admins,ou=groups"),
            self.dn("cn=staff,ou=groups"),
        );
        let mut args = vec![
            "ldap",
            "configure",
            "--tenant",
            TENANT,
            "--url",
            url,
            "--bind-dn",
            &self.dir.bind_dn,
            "--bind-password-env",
            PASSWORD_VAR,
            "--base-dn",
            &self.base,
            "--group",
            &admins,
            "--group",
            &staff,
        ];
        for g in more_groups {
            args.extend(["--group", g.as_str()]);
        }
        args.extend_from_slice(flags);
        self.cli(&args)
    }

    /// `ldap sync`; asserts success and returns the summary line.
    #[track_caller]
    pub fn sync(&self) -> String {
        self.cli_ok(&["ldap", "sync", "--tenant", TENANT])
    }

    /// The tenant's users by userName (the SCIM documents, `id` added).
    pub fn users(&self) -> BTreeMap<String, Value> {
        let q = ListQuery {
            count: 1000,
            ..ListQuery::default()
        };
        let page = self
            .db
            .store
            .read(|c| scim_store::query::list_users(c, &self.registry, &self.tenant, &q))
            .expect("list users");
        page.resources
            .into_iter()
            .map(|r| {
                let mut doc = r.resource;
                doc["id"] = Value::String(r.id);
                let name = doc["userName"].as_str().unwrap_or_default().to_string();
                (name, doc)
            })
            .collect()
    }

    /// The user's id; panics when there is no such user.
    #[track_caller]
    pub fn id_of(&self, user_name: &str) -> String {
        let user = self
            .db
            .store
            .read(|c| users::by_user_name(c, &self.tenant, user_name))
            .expect("read user");
        user.unwrap_or_else(|| panic!("[{}] no user {user_name}", self.backend))
            .id
    }

    /// The user's lifecycle state, as `scim-server user state` prints it.
    pub fn state(&self, user_name: &str) -> String {
        let id = self.id_of(user_name);
        self.cli_ok(&["user", "state", "--tenant", TENANT, &id])
    }

    /// The userNames of the SCIM group's members (`None`: no such group).
    pub fn members(&self, group: &str) -> Option<BTreeSet<String>> {
        self.db
            .store
            .read(|c| {
                let Some(g) = groups::by_display_name(c, &self.tenant, group)? else {
                    return Ok(None);
                };
                let ids: Vec<String> = groups::members(c, &self.tenant, &g.id, None, 10_000)?
                    .into_iter()
                    .map(|m| m.value)
                    .collect();
                let mut names = BTreeSet::new();
                for id in ids {
                    if let Some(u) = users::get(c, &self.tenant, &id)? {
                        names.insert(u.resource["userName"].as_str().unwrap_or("?").into());
                    }
                }
                Ok(Some(names))
            })
            .expect("read group")
    }

    /// The tenant's sync log, newest first (at most 1000 entries).
    pub fn log(&self) -> Vec<LogEntry> {
        let q = LogQuery {
            limit: 1000,
            ..LogQuery::default()
        };
        self.db
            .store
            .read(|c| sync_log::query(c, &self.tenant, &q))
            .expect("read sync log")
            .entries
    }

    /// The tenant's runs, newest first.
    pub fn runs(&self) -> Vec<LdapRun> {
        self.db
            .store
            .read(|c| ldap_runs::list(c, &self.tenant, 100))
            .expect("read runs")
    }

    /// Starts `serve` (with the bind password in its environment); returns once it answers.
    pub fn serve(&mut self) {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(BIN)
            .args(["--database-url", &self.db.url, "serve", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .env(PASSWORD_VAR, &self.dir.password)
            .env("SCIM_LOG", "warn")
            .env_remove("SCIM_WEBHOOK_URL")
            .env_remove("SSL_CERT_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scim-server");
        self.server = Some(child);
        self.origin = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.get("/ServiceProviderConfig").0 == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("[{}] scim-server did not start", self.backend);
    }

    /// Stops the server (SIGKILL: nothing of its shutdown is under test here).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// GET under `/scim/v2` with the tenant's token: status and JSON body (0 when no answer).
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, None)
    }

    /// POST a SCIM resource under `/scim/v2`: status and JSON body.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.request("POST", path, Some(body))
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}/scim/v2{path}", self.origin))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/scim+json");
        let sent = match body {
            Some(b) => agent.run(request.body(b.to_string()).expect("request")),
            None => agent.run(request.body(()).expect("request")),
        };
        match sent {
            Ok(mut r) => {
                let status = r.status().as_u16();
                let text = r.body_mut().read_to_string().unwrap_or_default();
                (status, serde_json::from_str(&text).unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    /// Polls `check` until it holds or `timeout` passes; returns whether it held.
    pub fn wait_for(&self, timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if check() {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
