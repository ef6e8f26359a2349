//! The README's promise, checked the way a newcomer would try it: the first code block holds
//! the run command and the test command, CI runs the same test command, and the run command,
//! typed in an empty directory, starts a server that makes `./scim.db` and answers; the
//! tenant and token commands that follow it work against that server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::free_port;
use crate::common::http::agent;

const RUN: &str = "cargo run -p scim-server -- serve";
const TEST: &str = "scripts/test-all";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The code blocks of a Markdown document, in order.
fn code_blocks(markdown: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(b) => blocks.push(b),
                None => current = Some(Vec::new()),
            }
        } else if let Some(b) = current.as_mut() {
            b.push(line.to_string());
        }
    }
    blocks
}

/// The commands of a shell block: comments and blank lines dropped, trailing comments cut.
fn commands(block: &[String]) -> Vec<String> {
    block
        .iter()
        .map(|l| l.split(" #").next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// A README `cargo run …` line as a command run from `dir` against this workspace.
fn cargo_command(line: &str, dir: &Path) -> Command {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.get(..2), Some(&["cargo", "run"][..]), "{line}");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.arg("run")
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .args(&words[2..])
        .current_dir(dir)
        .env_remove("SCIM_DATABASE_URL")
        .env_remove("SCIM_BIND")
        .stdin(Stdio::null());
    cmd
}

#[test]
fn readme_names_the_run_and_test_commands_and_ci_runs_the_tests() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let blocks = code_blocks(&readme);
    let first = commands(blocks.first().expect("README has a code block"));
    assert!(first.contains(&RUN.to_string()), "first block: {first:?}");
    assert!(first.contains(&TEST.to_string()), "first block: {first:?}");
    assert!(workspace().join(TEST).is_file(), "{TEST} is missing");
    let ci = std::fs::read_to_string(workspace().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.lines()
            .map(str::trim)
            .any(|l| !l.starts_with('#') && l.split_whitespace().next() == Some(TEST)),
        ".ci/run does not call {TEST}:\n{ci}"
    );
}

#[test]
fn the_readme_run_command_works_in_an_empty_directory() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let blocks = code_blocks(&readme);
    // Empty, but under target/: cargo finds the workspace's `.cargo/config.toml` from there as
    // it does from a clone, so `cargo run` reuses the build `scripts/test-all` makes next
    // instead of compiling a second copy of every dependency (CI has run out of disk on that).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
    let mut server = cargo_command(RUN, dir.path())
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("cargo run");
    let show_log = || std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    let http = agent();
    let up =
        crate::common::wait_until_up_within(&http, &format!("{origin}/healthz"), &mut server, 600);
    if !up {
        panic!("`{RUN}` exited:\n{}", show_log());
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(
            dir.path().join("scim.db").is_file(),
            "no ./scim.db in the working directory"
        );
        let r = http
            .get(format!("{origin}/scim/v2/ServiceProviderConfig"))
            .call()
            .expect("GET /ServiceProviderConfig");
        assert_eq!(r.status().as_u16(), 200);

        // The next block: a tenant and a token, "in another shell, same directory".
        let next = blocks
            .iter()
            .map(|b| commands(b))
            .find(|c| c.iter().any(|l| l.contains("token create")))
            .expect("README shows how to create a token");
        let mut token = String::new();
        for line in &next {
            let out = cargo_command(line, dir.path()).output().expect("cargo run");
            assert!(
                out.status.success(),
                "`{line}` failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            token = String::from_utf8(out.stdout)
                .expect("utf-8")
                .trim()
                .to_string();
        }
        assert!(
            token.starts_with("tok_") && token.contains('.'),
            "{token:?}"
        );
        let r = http
            .get(format!("{origin}/scim/v2/Users"))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .expect("GET /Users");
        assert_eq!(r.status().as_u16(), 200, "the README's token is refused");
    }));
    // Graceful shutdown on SIGTERM (`cargo run` execs the binary, so this is the server).
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = server.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            let _ = server.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Err(panic) = result {
        eprintln!("server log:\n{}", show_log());
        std::panic::resume_unwind(panic);
    }
    let status = status.unwrap_or_else(|| panic!("no exit 40 s after SIGTERM:\n{}", show_log()));
    assert!(
        status.success(),
        "exit after SIGTERM: {status}\n{}",
        show_log()
    );
}

/// `SCIM_DATABASE_URL` and `SCIM_BIND` work as `--database-url` and `--bind` do (issue #4's
/// command-line contract), for the server and for the tenant and token commands.
#[test]
fn environment_variables_work_as_the_flags_do() {
    for db in scim_store::testing::TestDb::all() {
        let port = free_port();
        let origin = format!("http://127.0.0.1:{port}");
        let with_env = |args: &[&str]| {
            let mut c = Command::new(crate::common::BIN);
            c.args(args)
                .env("SCIM_DATABASE_URL", &db.url)
                .env("SCIM_BIND", format!("127.0.0.1:{port}"))
                .stdin(Stdio::null());
            c
        };
        let out = with_env(&["tenant", "create", "env-tenant"])
            .output()
            .expect("tenant create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = with_env(&["token", "create", "--tenant", "env-tenant"])
            .output()
            .expect("token create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string();
        let mut server = with_env(&["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve");
        let http = agent();
        let up = crate::common::wait_until_up_within(
            &http,
            &format!("{origin}/healthz"),
            &mut server,
            600,
        );
        let status = up.then(|| {
            http.get(format!("{origin}/scim/v2/Users"))
                .header("Authorization", format!("Bearer {token}"))
                .call()
                .map(|r| r.status().as_u16())
        });
        let _ = server.kill();
        let _ = server.wait();
        assert!(
            up,
            "serve with SCIM_BIND={port} did not come up ({:?})",
            db.kind()
        );
        assert_eq!(
            status.and_then(Result::ok),
            Some(200),
            "token from SCIM_DATABASE_URL refused ({:?})",
            db.kind()
        );
    }
}
