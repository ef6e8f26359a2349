//! Where the secrets test looks, and the world it runs in: the haystacks (responses, command
//! output, log and database files, PostgreSQL rows), the CLI and the server at trace level, and
//! the LDAP directory the sources bind to.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::common::{BIN, Resp, free_port, http, wait_until_up};

/// Everything the test looks in.
#[derive(Default)]
pub struct Haystacks(pub Vec<(String, Vec<u8>)>);

impl Haystacks {
    /// Adds a place to look.
    pub fn add(&mut self, name: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.0.push((name.into(), bytes.into()));
    }
    /// Adds a response, status line and headers included.
    pub fn resp(&mut self, what: &str, r: &Resp) {
        let head: String = r
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect();
        self.add(
            format!("response to {what}"),
            format!("{} {head}\n{}", r.status, r.text),
        );
    }
    /// Adds a command's stdout and stderr.
    pub fn output(&mut self, what: &str, out: &Output) {
        self.add(format!("stdout of {what}"), out.stdout.clone());
        self.add(format!("stderr of {what}"), out.stderr.clone());
    }
    /// Where each secret was found (empty when nowhere).
    pub fn hits(&self, secrets: &[(&str, &str)]) -> Vec<String> {
        let mut hits = Vec::new();
        for (label, s) in secrets {
            for (name, bytes) in &self.0 {
                if bytes.windows(s.len()).any(|w| w == s.as_bytes()) {
                    hits.push(format!("{label} ({s}) in {name}"));
                }
            }
        }
        hits
    }
}

/// The CLI with extra environment variables; stdout and stderr kept.
pub fn cli(db_url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["--database-url", db_url]).args(args);
    cmd.env("SCIM_LOG", "trace").stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run scim-server CLI")
}

/// [`cli`] that must succeed; its output goes into `hay` when given. Returns stdout, trimmed.
pub fn cli_ok(
    db_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
    hay: Option<&mut Haystacks>,
) -> String {
    let out = cli(db_url, args, env);
    assert!(
        out.status.success(),
        "scim-server {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(h) = hay {
        h.output(&format!("scim-server {args:?}"), &out);
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The binary serving at trace level, its whole log in a file.
pub struct Traced {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
}

impl Drop for Traced {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `serve` at `SCIM_LOG=trace` on a free port with these variables, its log in `dir/server.log`.
pub fn serve(db_url: &str, dir: &Path, env: &[(&str, &str)]) -> Traced {
    let agent = http::agent();
    let log = dir.join("server.log");
    for _attempt in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(BIN);
        cmd.args(["--database-url", db_url, "serve", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            // The outbox is one of the places searched for secrets: keep it filled.
            .arg("--record-events")
            .env("SCIM_LOG", "trace")
            .env_remove("SCIM_WEBHOOK_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start scim-server");
        let origin = format!("http://127.0.0.1:{port}");
        if wait_until_up(&agent, &format!("{origin}/healthz"), &mut child) {
            return Traced { child, origin };
        }
        let _ = child.wait();
    }
    panic!(
        "scim-server would not start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// The LDAP directory the sources bind to: (URL, the subtree to use, whether it is real).
pub struct Directory {
    /// `ldap://HOST:PORT`.
    pub url: String,
    /// The subtree (the sources' base DN).
    pub base: String,
    /// The directory's administrator (DN, password), when there is a directory.
    pub admin: Option<(String, String)>,
}

impl Directory {
    /// The test directory with a subtree of our own (a reader with `password`, a user in a
    /// group), or a closed port when there is none (outside CI).
    pub fn new(tag: &str, password: &str) -> Directory {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let Some(url) = var("SCIM_TEST_LDAP_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but SCIM_TEST_LDAP_URL is not: the LDAP bind would not be exercised"
            );
            eprintln!("note: no SCIM_TEST_LDAP_URL; the LDAP sources point at a closed port");
            return Directory {
                url: format!("ldap://127.0.0.1:{}", free_port()),
                base: "dc=example,dc=org".into(),
                admin: None,
            };
        };
        let suffix = var("SCIM_TEST_LDAP_BASE").unwrap_or_else(|| "dc=example,dc=org".into());
        let admin_dn =
            var("SCIM_TEST_LDAP_BIND_DN").unwrap_or_else(|| "cn=admin,dc=example,dc=org".into());
        let admin_pw = var("SCIM_TEST_LDAP_BIND_PASSWORD").unwrap_or_else(|| "secret".into());
        let base = format!("ou=secrets-{}-{tag},{suffix}", std::process::id());
        let ldif = format!(
            "dn: {base}\nobjectClass: organizationalUnit\nou: secrets-{pid}-{tag}\n\n\
             dn: cn=reader,{base}\nobjectClass: person\ncn: reader\nsn: reader\nuserPassword: {password}\n\n\
             dn: uid=lisa,{base}\nobjectClass: inetOrgPerson\nuid: lisa\ncn: Lisa Secret\nsn: Secret\nmail: lisa@secret.example\n\n\
             dn: cn=staff,{base}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=lisa,{base}\n",
            pid = std::process::id()
        );
        let mut child = Command::new("ldapadd")
            .args(["-x", "-H", &url, "-D", &admin_dn, "-w", &admin_pw])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapadd (apt-get install ldap-utils)");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(ldif.as_bytes())
            .expect("write LDIF");
        let out = child.wait_with_output().expect("ldapadd");
        assert!(
            out.status.success(),
            "ldapadd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Directory {
            url,
            base,
            admin: Some((admin_dn, admin_pw)),
        }
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        if let Some((dn, pw)) = &self.admin {
            let _ = Command::new("ldapdelete")
                .args(["-x", "-H", &self.url, "-D", dn, "-w", pw, "-r", &self.base])
                .output();
        }
    }
}

/// PostgreSQL's client: on PATH, or the newest in `/usr/lib/postgresql/*/bin` (where
/// `scripts/services.sh` finds the server's tools).
fn psql_path() -> PathBuf {
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
            dirs.filter_map(Result::ok)
                .map(|d| d.path().join("bin/psql"))
                .filter(|p| p.exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from("psql"))
}

/// Every row of every table of the test's PostgreSQL schema, as JSON text.
pub fn pg_rows(db_url: &str) -> String {
    let bin = psql_path();
    let psql = |sql: &str| {
        let out = Command::new(&bin)
            .args([db_url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql (apt-get install postgresql-client)");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tables: Vec<String> = psql(
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .lines()
    .map(str::to_string)
    .collect();
    for t in [
        "api_tokens",
        "tenants",
        "users",
        "sync_log",
        "outbox",
        "ldap_runs",
    ] {
        assert!(tables.iter().any(|x| x == t), "no table {t} in {tables:?}");
    }
    let sql: Vec<String> = tables
        .iter()
        .map(|t| format!("SELECT '{t}: ' || row_to_json(x)::text FROM \"{t}\" x"))
        .collect();
    psql(&sql.join(" UNION ALL "))
}

/// Every file of the directory holding the SQLite database.
pub fn sqlite_files(db_url: &str, hay: &mut Haystacks) {
    let path = PathBuf::from(db_url.trim_start_matches("sqlite://"));
    let dir = path.parent().expect("database directory");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("read database directory") {
        let p = entry.expect("entry").path();
        if p.is_file() {
            n += 1;
            hay.add(
                p.display().to_string(),
                std::fs::read(&p).expect("read database file"),
            );
        }
    }
    assert!(
        n >= 2,
        "expected the database and its WAL in {}",
        dir.display()
    );
}
