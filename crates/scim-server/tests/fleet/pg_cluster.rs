//! A private, throwaway PostgreSQL cluster that a test may stop and start: `initdb` into a
//! temporary directory and `pg_ctl start` on a free loopback port, as `scripts/services.sh`
//! starts the shared test server (same Debian binaries; as the `postgres` OS user when running
//! as root, since PostgreSQL refuses to run as root). Stopped and deleted on drop.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::instances::Rng;

/// A cluster in a temporary directory.
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    /// The TCP port it listens on (127.0.0.1 only).
    pub port: u16,
    as_postgres: bool,
    running: bool,
    _dir: tempfile::TempDir,
}

/// The newest `/usr/lib/postgresql/*/bin` that has `initdb` (what `scripts/services.sh` uses).
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgCluster {
    /// Creates and starts a cluster, or `None` (after saying so) when PostgreSQL's server
    /// binaries are not installed. Under `CI` their absence fails the test instead: CI installs
    /// them (`scripts/services.sh`), and a skipped test would pass by testing nothing.
    pub fn start_new(test: &str) -> Option<PgCluster> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: CI is set but no PostgreSQL server binaries are installed \
                 (/usr/lib/postgresql/*/bin/initdb)"
            );
            eprintln!(
                "{test}: skipped: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin); \
                 scripts/services.sh installs them"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        // The postgres user must reach its data directory inside.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod temp dir");
        let home = dir.path().join("pg");
        std::fs::create_dir(&home).expect("cluster dir");
        let as_postgres = running_as_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&home)
                .status()
                .expect("run chown");
            assert!(status.success(), "chown postgres {}", home.display());
        }
        let mut cluster = PgCluster {
            data: home.join("data"),
            log: home.join("server.log"),
            bin,
            port: 0,
            as_postgres,
            running: false,
            _dir: dir,
        };
        let out = cluster.pg(
            "initdb",
            &[
                "-D",
                path(&cluster.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "initdb: {}", text(&out));
        // A port below the ephemeral range (a client socket can't take it between our stop
        // and start); another one when it is taken.
        let mut rng = Rng::from_env_or_clock(test);
        for _ in 0..10 {
            let port = rng.range(20_000, 32_000) as u16;
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                continue;
            }
            cluster.port = port;
            if cluster.try_start() {
                return Some(cluster);
            }
        }
        panic!(
            "{test}: PostgreSQL would not start:\n{}",
            cluster.log_tail()
        );
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl stop -m immediate`: every backend is killed at once, nothing is flushed or
    /// said goodbye to; the next start runs crash recovery.
    pub fn stop_immediate(&mut self) {
        let out = self.pg(
            "pg_ctl",
            &["-D", path(&self.data), "-m", "immediate", "-w", "stop"],
        );
        assert!(out.status.success(), "pg_ctl stop: {}", text(&out));
        self.running = false;
    }

    /// Starts the stopped cluster again on the same port.
    pub fn start(&mut self) {
        assert!(
            self.try_start(),
            "PostgreSQL did not start again on port {}:\n{}",
            self.port,
            self.log_tail()
        );
    }

    fn try_start(&mut self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            path(self.data.parent().expect("cluster dir"))
        );
        let out = self.pg(
            "pg_ctl",
            &[
                "-D",
                path(&self.data),
                "-l",
                path(&self.log),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        );
        self.running = out.status.success();
        self.running
    }

    /// The last lines of the server log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Runs one of the cluster's programs, as `postgres` when we are root.
    fn pg(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg(
                "pg_ctl",
                &["-D", path(&self.data), "-m", "immediate", "-w", "stop"],
            );
        }
        if std::thread::panicking() {
            eprintln!("PostgreSQL log (last lines):\n{}", self.log_tail());
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
