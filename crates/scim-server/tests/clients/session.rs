//! Session files (the format is described in `tests/clients.rs` and `tests/clients/README.md`)
//! and running one against a server: substitute variables, send each request as the client
//! would, check the answer, save what later steps need.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::matcher::{check, pointer, short, substitute, substitute_str};
use super::server::Server;

/// Where the API is mounted; request paths in session files are relative to it.
const SCIM: &str = "/scim/v2";

/// One recorded client conversation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// What the session replays.
    pub name: String,
    /// The `clients.md` rows (and other sources) it is built from.
    pub source: Vec<String>,
    /// How requests authenticate unless a step says otherwise.
    #[serde(default)]
    pub auth: Auth,
    /// Headers the client sends on every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers the client adds to requests that carry a body.
    #[serde(default)]
    pub body_headers: BTreeMap<String, String>,
    /// The conversation, in order.
    pub steps: Vec<Step>,
}

/// How a request authenticates. The runner supplies the credentials.
#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// `Authorization: Bearer <id>.<secret>` (Okta's HTTP Header template, Entra's Secret Token).
    #[default]
    Bearer,
    /// `Authorization: Basic base64(<id>:<secret>)` (Okta's Basic Auth template).
    Basic,
    /// A bearer token with the right id and a wrong secret (what a mistyped token looks like).
    WrongBearer,
    /// Basic with the right token id as user name and a wrong password.
    WrongBasic,
    /// No `Authorization` header.
    None,
}

/// One request and what must come back, or one check of saved variables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown when the step fails.
    pub name: String,
    /// Run the step this many times with `${i}` = 1, 2, …
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Overrides the session's `auth`.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// The request (absent for an `assert` step).
    #[serde(default)]
    pub request: Option<Request>,
    /// What the response must look like.
    #[serde(default)]
    pub expect: Expect,
    /// A check of a value built from variables, without a request.
    #[serde(default)]
    pub assert: Option<Assert>,
}

/// A request as the client sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// HTTP method.
    pub method: String,
    /// Path relative to `/scim/v2`, with an optional `?query`.
    pub path: String,
    /// Headers of this request; `null` drops a session default.
    #[serde(default)]
    pub headers: BTreeMap<String, Option<String>>,
    /// A JSON body, or a string sent as it is.
    #[serde(default)]
    pub body: Option<Value>,
}

/// What a response must look like, and what to keep from it.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// Header name (any case) → matcher on its value.
    #[serde(default)]
    pub headers: BTreeMap<String, Value>,
    /// Matcher on the JSON body; `""` means the body must be empty.
    #[serde(default)]
    pub body: Option<Value>,
    /// Variable → `/json/pointer` into the body (may contain `*`), or `header:<name>`.
    #[serde(default)]
    pub save: BTreeMap<String, String>,
    /// Like `save`, but appends to an array variable (created empty).
    #[serde(default)]
    pub collect: BTreeMap<String, String>,
}

/// A check without a request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assert {
    /// The value to check, usually `"${var}"`.
    pub value: Value,
    /// The matcher.
    pub matches: Value,
}

/// What came back.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    text: String,
    json: Option<Value>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads and parses a session file.
pub fn load(path: &Path) -> Session {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs every step against `server`; the error is a report of the first failing step.
pub fn run(session: &Session, server: &Server) -> Result<usize, String> {
    let agent = super::server::agent();
    let mut vars = Map::new();
    vars.insert("base".into(), json!(format!("{}{SCIM}", server.origin)));
    let token_id = server.token.split_once('.').map_or("", |(id, _)| id);
    vars.insert("token_id".into(), json!(token_id));
    let mut requests = 0;
    for step in &session.steps {
        for i in 1..=step.repeat.unwrap_or(1) {
            vars.insert("i".into(), json!(i));
            let label = match step.repeat {
                Some(n) => format!("{} (i = {i} of {n})", step.name),
                None => step.name.clone(),
            };
            if step.assert.is_some() == step.request.is_some() {
                return Err(format!(
                    "step {label:?} needs exactly one of request and assert"
                ));
            }
            if let Some(a) = &step.assert {
                run_assert(&label, a, &vars)?;
                continue;
            }
            run_request(&agent, session, server, &label, step, &mut vars)?;
            requests += 1;
        }
    }
    Ok(requests)
}

fn run_assert(label: &str, a: &Assert, vars: &Map<String, Value>) -> Result<(), String> {
    let value = substitute(&a.value, vars).map_err(|e| format!("step {label:?}: {e}"))?;
    let matcher = substitute(&a.matches, vars).map_err(|e| format!("step {label:?}: {e}"))?;
    let mut errs = Vec::new();
    check(&matcher, Some(&value), "", &mut errs);
    if errs.is_empty() {
        return Ok(());
    }
    Err(format!(
        "step {label:?} failed:\n  {}\nvalue: {}\nexpected: {matcher}",
        errs.join("\n  "),
        short(&value)
    ))
}

fn run_request(
    agent: &ureq::Agent,
    session: &Session,
    server: &Server,
    label: &str,
    step: &Step,
    vars: &mut Map<String, Value>,
) -> Result<(), String> {
    let Some(req) = &step.request else {
        return Err(format!("step {label:?} has no request"));
    };
    let auth = step.auth.unwrap_or(session.auth);
    let expect = &step.expect;
    let authoring = |e: String| format!("step {label:?}: {e}");
    let path = substitute_str(&req.path, vars).map_err(authoring)?;
    let url = format!("{}{SCIM}{}", server.origin, encode(&path));
    let body: Option<Vec<u8>> = match &req.body {
        None => None,
        Some(Value::String(raw)) => {
            Some(substitute_str(raw, vars).map_err(authoring)?.into_bytes())
        }
        Some(v) => Some(
            serde_json::to_vec(&substitute(v, vars).map_err(authoring)?)
                .map_err(|e| e.to_string())?,
        ),
    };
    // Headers: session defaults, body defaults when there is a body, then the step's own.
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: Option<String>| {
        headers.retain(|h, _| !h.eq_ignore_ascii_case(k));
        if let Some(v) = v {
            headers.insert(k.to_string(), v);
        }
    };
    for (k, v) in &session.headers {
        set(k, Some(v.clone()));
    }
    if body.is_some() {
        for (k, v) in &session.body_headers {
            set(k, Some(v.clone()));
        }
    }
    for (k, v) in &req.headers {
        let v = v
            .as_deref()
            .map(|v| substitute_str(v, vars))
            .transpose()
            .map_err(authoring)?;
        set(k, v);
    }
    let (id, secret) = server.token.split_once('.').unwrap_or((&server.token, ""));
    match auth {
        Auth::Bearer => set("Authorization", Some(format!("Bearer {}", server.token))),
        Auth::Basic => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            set("Authorization", Some(format!("Basic {b64}")));
        }
        Auth::WrongBearer => set("Authorization", Some(format!("Bearer {id}.not-the-secret"))),
        Auth::WrongBasic => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{id}:not-it"));
            set("Authorization", Some(format!("Basic {b64}")));
        }
        Auth::None => {}
    }
    let resp = send(agent, &req.method, &url, &headers, body.clone())?;
    let expect_status = expect.status;
    let expect_headers: BTreeMap<String, Value> = expect
        .headers
        .iter()
        .map(|(k, v)| Ok((k.clone(), substitute(v, vars)?)))
        .collect::<Result<_, String>>()
        .map_err(authoring)?;
    let expect_body = expect
        .body
        .as_ref()
        .map(|b| substitute(b, vars))
        .transpose()
        .map_err(authoring)?;

    let mut errs = invariants(&resp);
    if let Some(s) = expect_status
        && s != resp.status
    {
        errs.push(format!("status: expected {s}, got {}", resp.status));
    }
    for (name, m) in &expect_headers {
        let actual = resp.header(name).map(|v| Value::String(v.to_string()));
        check(m, actual.as_ref(), &format!("header {name}"), &mut errs);
    }
    match (&expect_body, &resp.json) {
        (None, _) => {}
        (Some(Value::String(s)), _) if s.is_empty() => {
            if !resp.text.is_empty() {
                errs.push("body: expected none".into());
            }
        }
        (Some(m), Some(actual)) => check(m, Some(actual), "body", &mut errs),
        (Some(_), None) => errs.push("body: expected JSON".into()),
    }
    if errs.is_empty() {
        for (var, at) in &expect.save {
            let var = substitute_str(var, vars).map_err(authoring)?;
            match extract(&resp, at) {
                Some(v) => {
                    vars.insert(var, v);
                }
                None => errs.push(format!("save {var}: nothing at {at}")),
            }
        }
        for (var, at) in &expect.collect {
            let var = substitute_str(var, vars).map_err(authoring)?;
            match extract(&resp, at) {
                Some(v) => {
                    let slot = vars.entry(var).or_insert_with(|| json!([]));
                    if let (Value::Array(list), Value::Array(more)) = (slot, v) {
                        list.extend(more);
                    } else {
                        errs.push(format!(
                            "collect: {at} is not a list, or the variable isn't"
                        ));
                    }
                }
                None => errs.push(format!("collect: nothing at {at}")),
            }
        }
    }
    if errs.is_empty() {
        return Ok(());
    }
    let mut report = String::new();
    let _ = writeln!(report, "step {label:?} failed:");
    for e in &errs {
        let _ = writeln!(report, "  - {e}");
    }
    let _ = writeln!(report, "request: {} {url}", req.method);
    for (k, v) in &headers {
        if !k.eq_ignore_ascii_case("authorization") {
            let _ = writeln!(report, "  {k}: {v}");
        }
    }
    if let Some(b) = &body {
        let _ = writeln!(report, "  {}", String::from_utf8_lossy(b));
    }
    let _ = writeln!(report, "expected: status {expect_status:?}");
    for (k, v) in &expect_headers {
        let _ = writeln!(report, "  {k}: {v}");
    }
    if let Some(b) = &expect_body {
        let _ = writeln!(report, "  {b}");
    }
    let _ = writeln!(report, "actual: status {}", resp.status);
    for (k, v) in &resp.headers {
        let _ = writeln!(report, "  {k}: {v}");
    }
    let body = match &resp.json {
        Some(j) => serde_json::to_string_pretty(j).unwrap_or_default(),
        None => resp.text.clone(),
    };
    let _ = writeln!(report, "{}", truncate(&body, 6000));
    Err(report)
}

/// What every response must satisfy whatever the step expects (clients.md §0, E19): a body
/// comes as `application/scim+json`, 204 has none, and an error is a SCIM Error whose
/// `status` is the HTTP status as a string.
fn invariants(resp: &Response) -> Vec<String> {
    let mut errs = Vec::new();
    if resp.status == 204 && !resp.text.is_empty() {
        errs.push("a 204 must have no body".into());
    }
    if !resp.text.is_empty() {
        let ct = resp.header("content-type").unwrap_or("");
        if !ct.starts_with("application/scim+json") {
            errs.push(format!(
                "content-type {ct:?}: every SCIM body must be application/scim+json"
            ));
        }
        if resp.json.is_none() {
            errs.push("the body is not JSON".into());
        }
    }
    if resp.status >= 400 {
        let status = resp.status.to_string();
        let ok = resp.json.as_ref().is_some_and(|j| {
            j["schemas"] == json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
                && j["status"] == json!(status)
        });
        if !ok {
            errs.push(format!(
                "an error must be a SCIM Error with \"status\": \"{status}\""
            ));
        }
    }
    errs
}

fn extract(resp: &Response, at: &str) -> Option<Value> {
    match at.strip_prefix("header:") {
        Some(name) => resp.header(name).map(|v| Value::String(v.to_string())),
        None => pointer(resp.json.as_ref()?, at),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}\n… ({} bytes in all)", s.len())
}

/// Percent-encodes what a URI can't carry (spaces, quotes, brackets, non-ASCII), the way an
/// HTTP client library encodes a query a client built; `%XX` escapes and `+` written in the
/// session are sent as they are.
pub fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 16);
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &BTreeMap<String, String>,
    body: Option<Vec<u8>>,
) -> Result<Response, String> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let result = match body {
        Some(b) => agent.run(builder.body(b).map_err(|e| e.to_string())?),
        None => agent.run(builder.body(()).map_err(|e| e.to_string())?),
    };
    let mut resp = result.map_err(|e| format!("{method} {url} failed: {e}"))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("{method} {url}: reading the body: {e}"))?;
    let json = serde_json::from_str(&text).ok();
    Ok(Response {
        status,
        headers,
        text,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn queries_are_encoded_like_a_client_would() {
        assert_eq!(
            encode("/Users?filter=userName eq \"a@b.c\"&startIndex=1"),
            "/Users?filter=userName%20eq%20%22a@b.c%22&startIndex=1"
        );
        assert_eq!(
            encode("/Groups?filter=members[value eq \"x\"]"),
            "/Groups?filter=members%5Bvalue%20eq%20%22x%22%5D"
        );
        assert_eq!(
            encode("/Users?filter=a+eq+%22b%22"),
            "/Users?filter=a+eq+%22b%22"
        );
    }
}
