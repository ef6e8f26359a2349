//! Replayed client sessions: what Okta and Microsoft Entra ID send (`shared/clients.md`),
//! stored as data in `tests/clients/*.json` at the repository root and replayed against the
//! real binary on SQLite and, when `SCIM_TEST_PG_URL` is set, PostgreSQL — each session on a
//! fresh database, each backend on its own server, in parallel.
//!
//! # Session file format
//!
//! ```json
//! {
//!   "name": "what the session replays",
//!   "source": ["clients.md a.1 #1", "…"],          // the rows it is built from
//!   "auth": "bearer",             // bearer | basic | wrong-bearer | wrong-basic | none (default bearer)
//!   "headers": {"User-Agent": "Okta SCIM Client 1.0.0"},        // sent on every request
//!   "body_headers": {"Content-Type": "application/scim+json"},  // added when there is a body
//!   "steps": [
//!     {
//!       "name": "create the user",                  // printed when the step fails
//!       "repeat": 250,                              // optional: run 250 times, ${i} = 1…250
//!       "auth": "basic",                            // optional: overrides the session's
//!       "request": {
//!         "method": "POST",
//!         "path": "/Users?attributes=id",            // relative to /scim/v2; spaces and quotes
//!                                                   // are percent-encoded by the runner
//!         "headers": {"Content-Type": "application/json"},  // null drops a default
//!         "body": {"userName": "user${i}@example.com"}      // JSON, or a string sent verbatim
//!       },
//!       "expect": {
//!         "status": 201,
//!         "headers": {"ETag": {"$prefix": "W/"}},   // name in any case → matcher
//!         "body": {"userName": "user${i}@example.com", "password": {"$absent": true}},
//!         "save": {"uid": "/id", "etag": "header:ETag", "me": ""},
//!         "collect": {"ids": "/Resources/*/id"}     // appends to an array variable
//!       }
//!     },
//!     {"name": "pages did not overlap", "assert": {"value": "${ids}", "matches": {"$distinct": true}}}
//!   ]
//! }
//! ```
//!
//! - **Bodies** are matched partially: every key given must match, arrays element by element
//!   (same length), or with the operators `$contains`, `$notContains`, `$each`, `$len`,
//!   `$distinct`, `$absent`, `$type`, `$prefix`, `$ne` (see `clients/matcher.rs`). `"body": ""`
//!   means no body.
//! - **Variables** `${name}` are substituted in paths, headers, bodies, expectations and saved
//!   names. A string that is exactly `"${name}"` becomes the saved JSON value (an object or
//!   array stays one). Predefined: `${base}` (`http://127.0.0.1:PORT/scim/v2`), `${token_id}`,
//!   and `${i}` inside a `repeat`.
//! - **Credentials** are the runner's: the token printed by `scim-server token create` is
//!   `<id>.<secret>`; `bearer` sends it whole, `basic` sends the id as user name and the secret
//!   as password (Okta's Basic Auth template); `wrong-bearer` and `wrong-basic` keep the id
//!   with a wrong secret.
//! - **Invariants** checked on every response: a body is `application/scim+json` JSON, a 204
//!   has no body, an error status carries a SCIM Error whose `status` is that status as a
//!   string.
//!
//! A failure prints the step, the request, the expectation and the whole response. Each
//! session file has a test below; `every_session_file_has_a_test` keeps the list complete.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly, with the request and response that broke them"
)]

mod clients {
    pub mod matcher;
    pub mod server;
    pub mod session;
}

use std::path::PathBuf;

use clients::server::{Server, backend_name};
use clients::session;
use scim_store::testing::TestDb;

/// `tests/clients` at the repository root.
fn sessions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients")
}

/// Replays one session file on every backend available, each on a fresh server and database.
fn replay(file: &str) {
    let path = sessions_dir().join(file);
    let session = session::load(&path);
    let dbs = TestDb::all();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = dbs
            .into_iter()
            .map(|db| {
                let session = &session;
                let name = backend_name(&db);
                let h = s.spawn(move || {
                    let server = Server::start(db);
                    match session::run(session, &server) {
                        Ok(n) => {
                            eprintln!("[{}] {file}: {n} requests passed", server.backend);
                            None
                        }
                        Err(report) => Some(format!(
                            "[{}] {file} ({}):\n{report}\nserver log (last lines):\n{}",
                            server.backend,
                            session.name,
                            server.log_tail()
                        )),
                    }
                });
                (name, h)
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|(name, h)| match h.join() {
                Ok(r) => r,
                Err(_) => Some(format!("[{name}] {file}: the runner panicked")),
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One test per session file, so they run in parallel and fail separately.
macro_rules! sessions {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(concat!(stringify!($name), ".json"));
            }
        )*
        const SESSIONS: &[&str] = &[$(concat!(stringify!($name), ".json")),*];
    };
}

sessions!(
    okta_oin,
    okta_aiw,
    entra_default,
    entra_aadoptscim062020,
    entra_validator_add_missing,
);

#[test]
fn every_session_file_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(sessions_dir())
        .expect("tests/clients exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = SESSIONS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "add new session files to the sessions! list in tests/clients.rs"
    );
    for f in &files {
        // Parses (typos in keys are errors: the format denies unknown fields).
        let s = session::load(&sessions_dir().join(f));
        assert!(!s.steps.is_empty() && !s.source.is_empty(), "{f}");
    }
}
