//! The table of hostile requests: one line per case (what, method, path, content type, body,
//! expected answer). Paths are relative to `/scim/v2`; `uid` and `gid` are a user and a group
//! (holding the user) that exist when the table runs.
//!
//! Cases already asserted elsewhere are not repeated: black_box/errors.rs (405s, 2 MB bodies,
//! text/plain and form bodies, the four malformed bodies on every write endpoint, short invalid
//! filters, the `no_input_produces_a_500` sweep), limits.rs, users.rs and groups.rs (missing
//! userName, ghost members), bulk.rs (1 001 operations, unknown method, missing bulkId).
//!
//! A few inputs are accepted on purpose; their lines say which rule accepts them (RFC 7644, or
//! a choice of docs/clients.md), so the table is also the list of what this server tolerates.

use serde_json::{Value, json};

use crate::common::urn;

/// `application/scim+json`.
const SJ: Option<&str> = Some("application/scim+json");
/// No `Content-Type` header (accepted: some clients omit it).
const NONE: Option<&str> = None;
/// 10 MB, ten times the request limit (1 MiB).
const TEN_MB: usize = 10 * 1024 * 1024;

/// What a case must get back.
pub enum Want {
    /// A SCIM Error with this status and, where RFC 7644 §3.12 defines one, this `scimType`.
    Error(u16, Option<&'static str>),
    /// Accepted on purpose (the line says by which rule), with this status.
    Accepted(u16),
    /// `/Bulk` answered 200; its operations got these statuses, each failure a SCIM Error.
    Bulk(&'static [&'static str]),
    /// Refused by the HTTP layer (actix-http) before the application sees the request, so the
    /// answer has no SCIM body. FIXME: the request head limit is actix-http's; a SCIM body
    /// here would need a head limit the application enforces itself.
    Framework(u16),
}

/// One hostile request.
pub struct Case {
    /// What it is, for failure messages.
    pub what: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Path and query under `/scim/v2`, already percent-encoded.
    pub path: String,
    /// The `Content-Type` sent, if any.
    pub content_type: Option<&'static str>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Send the tenant's token (the default) or no credentials.
    pub auth: bool,
    /// Send the body chunked, without a length.
    pub chunked: bool,
    /// The expected answer.
    pub want: Want,
}

impl Case {
    fn header(mut self, name: &'static str, value: &str) -> Case {
        self.headers.push((name, value.to_string()));
        self
    }
    fn chunked(mut self) -> Case {
        self.chunked = true;
        self
    }
    fn anonymous(mut self) -> Case {
        self.auth = false;
        self
    }
}

fn c(
    what: &'static str,
    method: &'static str,
    path: impl Into<String>,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    want: Want,
) -> Case {
    Case {
        what,
        method,
        path: path.into(),
        content_type,
        body: body.into(),
        headers: Vec::new(),
        auth: true,
        chunked: false,
        want,
    }
}

use Want::{Accepted, Bulk, Error, Framework};

/// A JSON body.
fn j(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).expect("serialize")
}

/// A user create body with these attributes on top of a fresh userName.
fn user(name: &str, extra: Value) -> Vec<u8> {
    let mut doc = json!({"schemas": [urn::USER], "userName": format!("{name}@hostile.example")});
    if let (Some(d), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    j(doc)
}

/// A group create body with these attributes on top of a displayName.
fn group(name: &str, extra: Value) -> Vec<u8> {
    let mut doc = json!({"schemas": [urn::GROUP], "displayName": name});
    if let (Some(d), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    j(doc)
}

/// A PATCH body.
fn patch(ops: Value) -> Vec<u8> {
    j(json!({"schemas": [urn::PATCH_OP], "Operations": ops}))
}

/// A Bulk body.
fn bulk(fail_on_errors: Value, ops: Value) -> Vec<u8> {
    let mut doc = json!({"schemas": [urn::BULK_REQUEST], "Operations": ops});
    if !fail_on_errors.is_null() {
        doc["failOnErrors"] = fail_on_errors;
    }
    j(doc)
}

/// A `/.search` body with this filter.
fn search(filter: &str) -> Vec<u8> {
    j(json!({"schemas": [urn::SEARCH], "filter": filter}))
}

/// `n` copies of `term` joined by ` op `.
fn chain(term: &str, op: &str, n: usize) -> String {
    vec![term; n].join(&format!(" {op} "))
}

/// `term` inside `n` levels of `open` … `)`.
fn nest(open: &str, term: &str, n: usize) -> String {
    format!("{}{term}{}", open.repeat(n), ")".repeat(n))
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn q(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A syntactically fine user of about `n` bytes: the size alone is the problem.
fn big_user(n: usize) -> Vec<u8> {
    user("big", json!({"nickName": "x".repeat(n)}))
}

/// Every case, for a user `uid` in group `gid`.
pub fn table(uid: &str, gid: &str) -> Vec<Case> {
    let u = format!("/Users/{uid}");
    let g = format!("/Groups/{gid}");
    let ext = urn::ENTERPRISE;
    vec![
        // Malformed JSON (errors.rs has `{"userName": `, `not json`, empty and \xff\xfe{}).
        c("truncated in a string", "POST", "/Users", SJ, &br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"tr"#[..], Error(400, Some("invalidSyntax"))),
        c("truncated in an array", "POST", "/Groups", SJ, &br#"{"displayName":"t","members":[{"value":"a"},"#[..], Error(400, Some("invalidSyntax"))),
        c("trailing garbage", "POST", "/Users", SJ, [user("trail", json!({})), b" garbage".to_vec()].concat(), Error(400, Some("invalidSyntax"))),
        c("two documents", "POST", "/Users", SJ, [user("two1", json!({})), user("two2", json!({}))].concat(), Error(400, Some("invalidSyntax"))),
        c("trailing comma", "POST", "/Users", SJ, &br#"{"userName":"comma@x.example",}"#[..], Error(400, Some("invalidSyntax"))),
        c("single quotes", "POST", "/Users", SJ, &b"{'userName':'quote@x.example'}"[..], Error(400, Some("invalidSyntax"))),
        c("NaN", "POST", "/Users", SJ, &br#"{"userName":"nan@x.example","active":NaN}"#[..], Error(400, Some("invalidSyntax"))),
        c("number out of range", "POST", "/Users", SJ, &br#"{"userName":"inf@x.example","active":1e999}"#[..], Error(400, Some("invalidSyntax"))),
        c("UTF-8 byte order mark", "POST", "/Users", SJ, [b"\xEF\xBB\xBF".to_vec(), user("bom", json!({}))].concat(), Error(400, Some("invalidSyntax"))),
        c("a string, not an object", "POST", "/Users", SJ, &br#""userName""#[..], Error(400, Some("invalidSyntax"))),
        c("null, not an object", "POST", "/Groups", SJ, &b"null"[..], Error(400, Some("invalidSyntax"))),
        c("a number, not an object", "PUT", &u, SJ, &b"42"[..], Error(400, Some("invalidSyntax"))),
        c("an array, not an object", "PUT", &g, SJ, &b"[{\"displayName\":\"x\"}]"[..], Error(400, Some("invalidSyntax"))),
        c("PATCH body a string", "PATCH", &u, SJ, &br#""replace""#[..], Error(400, Some("invalidSyntax"))),
        c("PATCH body an array", "PATCH", &g, SJ, &b"[]"[..], Error(400, Some("invalidSyntax"))),
        c("Bulk body an array", "POST", "/Bulk", SJ, &b"[]"[..], Error(400, Some("invalidSyntax"))),
        c(".search body a string", "POST", "/.search", SJ, &br#""userName eq 1""#[..], Error(400, Some("invalidSyntax"))),
        // Deep nesting: serde_json stops at 128 levels; below that, core must not recurse badly.
        c("100 000 [", "POST", "/Users", SJ, "[".repeat(100_000), Error(400, Some("invalidSyntax"))),
        c("100 000 {\"a\":", "POST", "/Bulk", SJ, "{\"a\":".repeat(100_000), Error(400, Some("invalidSyntax"))),
        c("100 000 [ in PATCH", "PATCH", &u, SJ, format!(r#"{{"Operations":[{{"op":"add","path":"nickName","value":{}"#, "[".repeat(100_000)), Error(400, Some("invalidSyntax"))),
        c("120 levels in name", "POST", "/Users", SJ, user("deep1", json!({"name": {"givenName": serde_json::from_str::<Value>(&nest("[", "1", 120).replace(')', "]")).expect("nested")}})), Error(400, Some("invalidValue"))),
        c("120 levels in manager", "POST", "/Users", SJ, user("deep2", json!({ext: {"manager": serde_json::from_str::<Value>(&nest("[", "\"m\"", 120).replace(')', "]")).expect("nested")}})), Error(400, Some("invalidValue"))),
        c("120 levels in a PATCH value", "PATCH", &u, SJ, patch(json!([{"op": "replace", "path": "displayName", "value": serde_json::from_str::<Value>(&nest("[", "1", 120).replace(')', "]")).expect("nested")}])), Error(400, Some("invalidValue"))),
        // Wrong types for every kind of core attribute.
        c("userName a number", "POST", "/Users", SJ, j(json!({"schemas": [urn::USER], "userName": 12})), Error(400, Some("invalidValue"))),
        c("userName an array", "POST", "/Users", SJ, j(json!({"schemas": [urn::USER], "userName": ["a@x.example"]})), Error(400, Some("invalidValue"))),
        c("userName an object", "POST", "/Users", SJ, j(json!({"schemas": [urn::USER], "userName": {"value": "a"}})), Error(400, Some("invalidValue"))),
        c("userName null", "POST", "/Users", SJ, j(json!({"schemas": [urn::USER], "userName": null})), Error(400, Some("invalidValue"))),
        c("userName true (PUT)", "PUT", &u, SJ, j(json!({"schemas": [urn::USER], "userName": true})), Error(400, Some("invalidValue"))),
        c("active \"yes\"", "POST", "/Users", SJ, user("wt1", json!({"active": "yes"})), Error(400, Some("invalidValue"))),
        c("active 1", "POST", "/Users", SJ, user("wt2", json!({"active": 1})), Error(400, Some("invalidValue"))),
        c("active [true]", "POST", "/Users", SJ, user("wt3", json!({"active": [true]})), Error(400, Some("invalidValue"))),
        c("name a string", "POST", "/Users", SJ, user("wt4", json!({"name": "Bob"})), Error(400, Some("invalidValue"))),
        c("name an array", "POST", "/Users", SJ, user("wt5", json!({"name": [{"givenName": "Bob"}, {"givenName": "Al"}]})), Error(400, Some("invalidValue"))),
        c("name.givenName a number", "POST", "/Users", SJ, user("wt6", json!({"name": {"givenName": 5}})), Error(400, Some("invalidValue"))),
        c("name.givenName an object", "POST", "/Users", SJ, user("wt7", json!({"name": {"givenName": {"x": 1}}})), Error(400, Some("invalidValue"))),
        c("displayName an object", "POST", "/Users", SJ, user("wt8", json!({"displayName": {"x": 1}})), Error(400, Some("invalidValue"))),
        c("externalId a number", "POST", "/Users", SJ, user("wt9", json!({"externalId": 5})), Error(400, Some("invalidValue"))),
        c("emails value an array", "POST", "/Users", SJ, user("wt10", json!({"emails": [{"value": ["a@x.example"]}]})), Error(400, Some("invalidValue"))),
        c("emails value an object", "POST", "/Users", SJ, user("wt11", json!({"emails": [{"value": {"a": 1}}]})), Error(400, Some("invalidValue"))),
        c("emails primary \"yes\"", "POST", "/Users", SJ, user("wt12", json!({"emails": [{"value": "a@x.example", "primary": "yes"}]})), Error(400, Some("invalidValue"))),
        c("emails nested arrays", "POST", "/Users", SJ, user("wt13", json!({"emails": [[{"value": "a@x.example"}]]})), Error(400, Some("invalidValue"))),
        c("emails a number", "POST", "/Users", SJ, user("wt14", json!({"emails": 5})), Error(400, Some("invalidValue"))),
        c("addresses postalCode a number", "POST", "/Users", SJ, user("wt15", json!({"addresses": [{"postalCode": 12345}]})), Error(400, Some("invalidValue"))),
        c("enterprise extension a string", "POST", "/Users", SJ, user("wt16", json!({ext: "x"})), Error(400, Some("invalidValue"))),
        c("enterprise manager a number", "POST", "/Users", SJ, user("wt17", json!({ext: {"manager": 5}})), Error(400, Some("invalidValue"))),
        c("enterprise employeeNumber an array", "POST", "/Users", SJ, user("wt18", json!({ext: {"employeeNumber": ["1", "2"]}})), Error(400, Some("invalidValue"))),
        c("group displayName a number", "POST", "/Groups", SJ, group("ignored", json!({"displayName": 5})), Error(400, Some("invalidValue"))),
        c("members a number", "POST", "/Groups", SJ, group("wtg1", json!({"members": 5})), Error(400, Some("invalidValue"))),
        c("members value a number", "POST", "/Groups", SJ, group("wtg2", json!({"members": [{"value": 5}]})), Error(400, Some("invalidValue"))),
        c("members value an array", "POST", "/Groups", SJ, group("wtg3", json!({"members": [{"value": [uid]}]})), Error(400, Some("invalidValue"))),
        c("members a string (PUT)", "PUT", &g, SJ, group("Victims", json!({"members": "not-an-id"})), Error(400, Some("invalidValue"))),
        // Accepted on purpose (clients.md "Accepted as sent" and E11): a single value where an
        // array is expected is read as a one-element array, a bare string as its `value`.
        c("emails an object (one-element array)", "POST", "/Users", SJ, user("ok1", json!({"emails": {"value": "ok1@x.example"}})), Accepted(201)),
        c("emails a string (its value)", "POST", "/Users", SJ, user("ok2", json!({"emails": "ok2@x.example"})), Accepted(201)),
        c("members as bare ids", "POST", "/Groups", SJ, group("ok3", json!({"members": [uid]})), Accepted(201)),
        // Invalid UTF-8, and NUL characters, in the body, the filter and the path.
        c("invalid UTF-8 in a string", "POST", "/Users", SJ, [&b"{\"userName\":\"bad"[..], b"\xff\xfe", b"@x.example\"}"].concat(), Error(400, Some("invalidSyntax"))),
        c("lone surrogate escape", "POST", "/Users", SJ, &br#"{"userName":"\ud800@x.example"}"#[..], Error(400, Some("invalidSyntax"))),
        c("UTF-16 body", "POST", "/Users", SJ, "{\"userName\":\"u16\"}".encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>(), Error(400, Some("invalidSyntax"))),
        c("invalid UTF-8 in a PATCH path", "PATCH", &u, SJ, [&b"{\"Operations\":[{\"op\":\"replace\",\"path\":\"nick"[..], b"\xc3\x28", b"\",\"value\":1}]}"].concat(), Error(400, Some("invalidSyntax"))),
        c("invalid UTF-8 in a filter", "GET", "/Users?filter=userName%20eq%20%22%FF%FE%22", NONE, "", Error(400, Some("invalidValue"))),
        c("invalid UTF-8 in sortBy", "GET", "/Users?sortBy=user%C3Name", NONE, "", Error(400, Some("invalidValue"))),
        c("invalid UTF-8 in attributes", "GET", "/Users?attributes=%FF", NONE, "", Error(400, Some("invalidValue"))),
        c("invalid UTF-8 in an id", "GET", "/Users/%FF%FE", NONE, "", Error(404, None)),
        c("invalid UTF-8 in a DELETE id", "DELETE", "/Groups/%C3%28", NONE, "", Error(404, None)),
        c("NUL in userName", "POST", "/Users", SJ, user("nul", json!({"userName": "nul\u{0}@x.example"})), Error(400, Some("invalidValue"))),
        c("NUL in name.givenName", "POST", "/Users", SJ, user("nul2", json!({"name": {"givenName": "a\u{0}b"}})), Error(400, Some("invalidValue"))),
        c("NUL in an extension value", "POST", "/Users", SJ, user("nul3", json!({ext: {"department": "\u{0}"}})), Error(400, Some("invalidValue"))),
        c("NUL in a group displayName", "POST", "/Groups", SJ, group("nul\u{0}group", json!({})), Error(400, Some("invalidValue"))),
        c("NUL in a member value", "POST", "/Groups", SJ, group("nulmember", json!({"members": [{"value": format!("{uid}\u{0}")}]})), Error(400, Some("invalidValue"))),
        c("NUL in a PATCH value", "PATCH", &u, SJ, patch(json!([{"op": "replace", "path": "nickName", "value": "a\u{0}"}])), Error(400, Some("invalidValue"))),
        c("NUL in a PATCH path filter", "PATCH", &u, SJ, patch(json!([{"op": "replace", "path": "emails[type eq \"a\u{0}\"].value", "value": "x@x.example"}])), Error(400, Some("invalidValue"))),
        c("NUL in a filter", "GET", "/Users?filter=userName%20eq%20%22a%00%22", NONE, "", Error(400, Some("invalidValue"))),
        c("NUL in a .search filter", "POST", "/Groups/.search", SJ, search("displayName eq \"\u{0}\""), Error(400, Some("invalidValue"))),
        c("NUL after an id", "GET", format!("/Users/{uid}%00"), NONE, "", Error(404, None)),
        c("NUL in a PUT id", "PUT", format!("/Groups/{gid}%00"), SJ, group("Victims", json!({})), Error(404, None)),
        // Bodies of 10 MB: 413 before they are read (errors.rs sends 2 MB to /Users and /Bulk).
        c("10 MB user", "POST", "/Users", SJ, big_user(TEN_MB), Error(413, None)),
        c("10 MB PUT", "PUT", &u, SJ, big_user(TEN_MB), Error(413, None)),
        c("10 MB PATCH", "PATCH", &g, SJ, patch(json!([{"op": "replace", "path": "displayName", "value": "x".repeat(TEN_MB)}])), Error(413, None)),
        c("10 MB Bulk", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "x".repeat(TEN_MB)}}])), Error(413, None)),
        c("10 MB .search", "POST", "/.search", SJ, search(&"x".repeat(TEN_MB)), Error(413, None)),
        c("10 MB chunked, no length", "POST", "/Groups", SJ, group(&"x".repeat(TEN_MB), json!({})), Error(413, None)).chunked(),
        c("10 MB without credentials", "POST", "/Users", SJ, big_user(TEN_MB), Error(401, None)).anonymous(),
        // Long filters. The parser refuses more than 64 KiB, 32 levels of nesting and
        // MAX_TERMS attribute expressions; below those the SQL must still run on both backends.
        c("10 000 or-terms", "POST", "/Users/.search", SJ, search(&chain("userName eq \"a\"", "or", 10_000)), Error(400, Some("invalidFilter"))),
        c("10 000 and-terms", "POST", "/.search", SJ, search(&chain("userName eq \"a\"", "and", 10_000)), Error(400, Some("invalidFilter"))),
        c("10 000 nested parentheses", "POST", "/Users/.search", SJ, search(&nest("(", "userName eq \"a\"", 10_000)), Error(400, Some("invalidFilter"))),
        c("10 000 nested not", "POST", "/Groups/.search", SJ, search(&nest("not (", "displayName eq \"a\"", 10_000)), Error(400, Some("invalidFilter"))),
        c("10 000 terms in a value path", "POST", "/Users/.search", SJ, search(&format!("emails[{}]", chain("value eq \"a\"", "or", 10_000))), Error(400, Some("invalidFilter"))),
        c("1 001 short terms", "GET", format!("/Users?filter={}", q(&chain("title pr", "or", 1001))), NONE, "", Error(400, Some("invalidFilter"))),
        c("1 000 or-terms", "POST", "/Users/.search", SJ, search(&chain("userName eq \"a\"", "or", 1000)), Error(400, Some("invalidFilter"))),
        c("600 and-terms", "POST", "/Groups/.search", SJ, search(&chain("members.value eq \"a\"", "and", 600)), Error(400, Some("invalidFilter"))),
        c("201 value-path terms", "GET", format!("/Users?filter={}", q(&chain("emails[value co \"a\"]", "or", 201))), NONE, "", Error(400, Some("invalidFilter"))),
        c("200 terms under 31 not()", "POST", "/Users/.search", SJ, search(&nest("not (", &chain("emails.value sw \"zz\"", "and", 200), 31)), Accepted(200)),
        c("200 or-terms in a GET", "GET", format!("/Groups?filter={}", q(&chain("displayName eq \"zz\"", "or", 200))), NONE, "", Accepted(200)),
        c("filter of 10 000 terms in the URL", "GET", format!("/Users?filter={}", q(&chain("userName eq \"a\"", "or", 10_000))), NONE, "", Framework(431)),
        c("filter longer than 64 KiB", "POST", "/Users/.search", SJ, search(&format!("userName eq \"{}\"", "a".repeat(70_000))), Error(400, Some("invalidFilter"))),
        c("unknown filter attribute", "GET", "/Users?filter=nosuch%20eq%20%22x%22", NONE, "", Error(400, Some("invalidFilter"))),
        // A dateTime compared with text that is no dateTime compares as text (filter::eval).
        c("filter a date with text", "GET", "/Users?filter=meta.created%20gt%20%22yesterday%22", NONE, "", Accepted(200)),
        c("filter a boolean with gt", "GET", "/Users?filter=active%20gt%20true", NONE, "", Error(400, Some("invalidFilter"))),
        c("filter on members.display", "GET", "/Groups?filter=members.display%20eq%20%22x%22", NONE, "", Error(400, Some("invalidFilter"))),
        c("filter on meta.location", "GET", "/Users?filter=meta.location%20co%20%22x%22", NONE, "", Error(400, Some("invalidFilter"))),
        // Unknown schemas and attributes: never trusted, never a 400 (clients.md E11).
        c("unknown schemas URN only", "POST", "/Users", SJ, j(json!({"schemas": ["urn:example:unknown:1.0:Thing"], "userName": "us1@x.example"})), Accepted(201)),
        c("unknown extension object", "POST", "/Users", SJ, user("us2", json!({"urn:example:unknown:1.0:Thing": {"secret": "x"}})), Accepted(201)),
        c("unknown attribute", "POST", "/Groups", SJ, group("us3", json!({"nickName": "x", "roles": [{"value": 1}]})), Accepted(201)),
        c("schemas a string", "POST", "/Users", SJ, j(json!({"schemas": urn::USER, "userName": "us4@x.example"})), Accepted(201)),
        // List parameters: RFC 7644 §3.4.2.4 clamps count and startIndex.
        c("count 10^12 (clamped)", "GET", "/Users?count=1000000000000", NONE, "", Accepted(200)),
        c("count -1 (as 0)", "GET", "/Groups?count=-1", NONE, "", Accepted(200)),
        c("count 10^30", "GET", "/Users?count=1000000000000000000000000000000", NONE, "", Accepted(200)),
        c("count not a number", "GET", "/Users?count=ten", NONE, "", Error(400, Some("invalidValue"))),
        c("count a fraction", "GET", "/Users?count=1.5", NONE, "", Error(400, Some("invalidValue"))),
        c("startIndex 0 (as 1)", "GET", "/Users?startIndex=0", NONE, "", Accepted(200)),
        c("startIndex -3 (as 1)", "GET", "/Groups?startIndex=-3", NONE, "", Accepted(200)),
        c("startIndex not a number", "GET", "/Users?startIndex=first", NONE, "", Error(400, Some("invalidValue"))),
        c("startIndex 1e3", "GET", "/Users?startIndex=1e3", NONE, "", Error(400, Some("invalidValue"))),
        c("startIndex past u64", "GET", "/Users?startIndex=100000000000000000000", NONE, "", Accepted(200)),
        c("sortBy unknown", "GET", "/Users?sortBy=nosuch", NONE, "", Error(400, Some("invalidValue"))),
        c("sortBy multi-valued", "GET", "/Users?sortBy=emails", NONE, "", Error(400, Some("invalidValue"))),
        c("sortBy members", "GET", "/Groups?sortBy=members", NONE, "", Error(400, Some("invalidValue"))),
        c("sortBy a quote", "GET", "/Users?sortBy=%22", NONE, "", Error(400, Some("invalidValue"))),
        c("sortBy meta.location", "GET", "/Users?sortBy=meta.location", NONE, "", Error(400, Some("invalidValue"))),
        c("sortOrder sideways", "GET", "/Users?sortOrder=sideways", NONE, "", Error(400, Some("invalidValue"))),
        c("attributes garbage", "GET", "/Users?attributes=%40%40%40", NONE, "", Error(400, Some("invalidValue"))),
        c("attributes 10 000 commas", "GET", format!("/Users?attributes={}", ",".repeat(10_000)), NONE, "", Accepted(200)),
        c("attributes 2 000 names", "GET", format!("/Users?attributes={}", vec!["userName"; 2000].join(",")), NONE, "", Accepted(200)),
        c("excludedAttributes a filter", "GET", format!("{g}?excludedAttributes=members%5Bvalue%20eq%20%22x%22%5D"), NONE, "", Error(400, Some("invalidValue"))),
        // /.search with the wrong body.
        c(".search filter a number", "POST", "/Users/.search", SJ, j(json!({"schemas": [urn::SEARCH], "filter": 5})), Error(400, Some("invalidValue"))),
        c(".search filter an array", "POST", "/.search", SJ, j(json!({"schemas": [urn::SEARCH], "filter": ["a"]})), Error(400, Some("invalidValue"))),
        c(".search startIndex text", "POST", "/Groups/.search", SJ, j(json!({"schemas": [urn::SEARCH], "startIndex": "x"})), Error(400, Some("invalidValue"))),
        c(".search startIndex 1.5", "POST", "/Users/.search", SJ, j(json!({"schemas": [urn::SEARCH], "startIndex": 1.5})), Error(400, Some("invalidValue"))),
        c(".search count an object", "POST", "/Users/.search", SJ, j(json!({"schemas": [urn::SEARCH], "count": {}})), Error(400, Some("invalidValue"))),
        c(".search sortOrder sideways", "POST", "/Users/.search", SJ, j(json!({"schemas": [urn::SEARCH], "sortOrder": "sideways"})), Error(400, Some("invalidValue"))),
        c(".search foreign schemas", "POST", "/Users/.search", SJ, j(json!({"schemas": ["urn:example:x"]})), Error(400, Some("invalidSyntax"))),
        c(".search attributes a number", "POST", "/Users/.search", SJ, j(json!({"schemas": [urn::SEARCH], "attributes": 5})), Error(400, Some("invalidValue"))),
        // Media types (errors.rs has text/plain and form bodies).
        c("application/xml", "POST", "/Users", Some("application/xml"), "<user><userName>x</userName></user>", Error(415, None)),
        c("multipart", "POST", "/Groups", Some("multipart/form-data; boundary=x"), "--x\r\n\r\n{}\r\n--x--", Error(415, None)),
        c("text/json", "PATCH", &u, Some("text/json"), patch(json!([{"op": "replace", "path": "nickName", "value": "x"}])), Error(415, None)),
        c("application/scim+xml", "POST", "/Bulk", Some("application/scim+xml"), bulk(json!(1), json!([])), Error(415, None)),
        c("application/jsonp", "POST", "/.search", Some("application/jsonp"), search("userName pr"), Error(415, None)),
        // PATCH.
        c("PATCH unknown op", "PATCH", &u, SJ, patch(json!([{"op": "move", "path": "nickName", "value": "x"}])), Error(400, Some("invalidSyntax"))),
        c("PATCH op a number", "PATCH", &g, SJ, patch(json!([{"op": 5, "path": "displayName", "value": "x"}])), Error(400, Some("invalidSyntax"))),
        c("PATCH op missing", "PATCH", &u, SJ, patch(json!([{"path": "nickName", "value": "x"}])), Error(400, Some("invalidSyntax"))),
        c("PATCH Operations an object", "PATCH", &u, SJ, j(json!({"schemas": [urn::PATCH_OP], "Operations": {"op": "replace"}})), Error(400, Some("invalidSyntax"))),
        c("PATCH remove without path", "PATCH", &g, SJ, patch(json!([{"op": "remove"}])), Error(400, Some("noTarget"))),
        c("PATCH path a number", "PATCH", &u, SJ, patch(json!([{"op": "replace", "path": 5, "value": 1}])), Error(400, Some("invalidPath"))),
        c("PATCH unclosed value path", "PATCH", &u, SJ, patch(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])), Error(400, Some("invalidPath"))),
        c("PATCH bad value-path operator", "PATCH", &g, SJ, patch(json!([{"op": "remove", "path": "members[value zz \"x\"]"}])), Error(400, Some("invalidPath"))),
        c("PATCH 10 000-term value path", "PATCH", &u, SJ, patch(json!([{"op": "remove", "path": format!("emails[{}]", chain("value eq \"a\"", "or", 10_000))}])), Error(400, Some("invalidPath"))),
        c("PATCH unknown attribute", "PATCH", &u, SJ, patch(json!([{"op": "add", "path": "nosuch", "value": "x"}])), Error(400, Some("invalidPath"))),
        c("PATCH id", "PATCH", &u, SJ, patch(json!([{"op": "replace", "path": "id", "value": "x"}])), Error(400, Some("mutability"))),
        c("PATCH meta.created", "PATCH", &g, SJ, patch(json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}])), Error(400, Some("mutability"))),
        c("PATCH groups of a user", "PATCH", &u, SJ, patch(json!([{"op": "add", "path": "groups", "value": [{"value": gid}]}])), Error(400, Some("mutability"))),
        c("PATCH remove userName", "PATCH", &u, SJ, patch(json!([{"op": "remove", "path": "userName"}])), Error(400, Some("invalidValue"))),
        c("PATCH active \"yes\"", "PATCH", &u, SJ, patch(json!([{"op": "replace", "path": "active", "value": "yes"}])), Error(400, Some("invalidValue"))),
        c("PATCH members a string", "PATCH", &g, SJ, patch(json!([{"op": "add", "path": "members", "value": 5}])), Error(400, Some("invalidValue"))),
        c("PATCH 10 000 operations, one bad", "PATCH", &u, SJ, patch(Value::Array((0..10_000).map(|i| if i == 9_999 { json!({"op": "replace", "path": "active", "value": "no"}) } else { json!({"op": "replace", "path": "nickName", "value": format!("n{i}")}) }).collect())), Error(400, Some("invalidValue"))),
        c("PATCH 10 000 ghost members", "PATCH", &g, SJ, patch(Value::Array((0..10_000).map(|i| json!({"op": "add", "path": "members", "value": [{"value": format!("00000000-0000-4000-8000-{i:012}")}]})).collect())), Error(400, Some("invalidValue"))),
        c("PATCH 10 000 operations", "PATCH", &u, SJ, patch(Value::Array((0..10_000).map(|i| json!({"op": "replace", "path": "nickName", "value": format!("n{i}")})).collect())), Accepted(200)),
        // Bulk: failOnErrors edge cases and oversized requests (bulk.rs has 1 001 operations).
        c("Bulk failOnErrors text", "POST", "/Bulk", SJ, bulk(json!("one"), json!([])), Error(400, Some("invalidValue"))),
        c("Bulk failOnErrors -1", "POST", "/Bulk", SJ, bulk(json!(-1), json!([])), Error(400, Some("invalidValue"))),
        c("Bulk failOnErrors 1.5", "POST", "/Bulk", SJ, bulk(json!(1.5), json!([])), Error(400, Some("invalidValue"))),
        c("Bulk failOnErrors 0", "POST", "/Bulk", SJ, bulk(json!(0), json!([{"method": "DELETE", "path": "/Users/nobody"}])), Error(400, Some("invalidValue"))),
        c("Bulk failOnErrors 10^12", "POST", "/Bulk", SJ, bulk(json!(1_000_000_000_000_u64), json!([{"method": "DELETE", "path": "/Users/nobody"}, {"method": "DELETE", "path": "/Groups/nobody"}])), Bulk(&["404", "404"])),
        c("Bulk Operations an object", "POST", "/Bulk", SJ, j(json!({"schemas": [urn::BULK_REQUEST], "Operations": {"method": "POST"}})), Error(400, Some("invalidSyntax"))),
        c("Bulk operation a string", "POST", "/Bulk", SJ, bulk(Value::Null, json!(["DELETE /Users/x"])), Error(400, Some("invalidSyntax"))),
        c("Bulk without method", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"path": "/Users/x"}])), Error(400, Some("invalidValue"))),
        c("Bulk 1 MiB + 1", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "x".repeat(1024 * 1024)}}])), Error(413, None)),
        c("Bulk nested Bulk", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "POST", "path": "/Bulk", "bulkId": "n", "data": {"schemas": [urn::BULK_REQUEST], "Operations": []}}])), Bulk(&["404"])),
        c("Bulk path traversal", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "DELETE", "path": format!("/Users/{uid}/../../Groups/{gid}")}])), Error(400, Some("invalidValue"))),
        c("Bulk GET", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "GET", "path": u}])), Error(400, Some("invalidValue"))),
        c("Bulk data not an object", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "POST", "path": "/Users", "bulkId": "s", "data": "userName"}])), Error(400, Some("invalidValue"))),
        c("Bulk duplicate bulkId", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "POST", "path": "/Groups", "bulkId": "d", "data": {"displayName": "dup1"}}, {"method": "POST", "path": "/Groups", "bulkId": "d", "data": {"displayName": "dup2"}}])), Error(400, Some("invalidValue"))),
        c("Bulk circular bulkIds", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"displayName": "circA", "members": [{"value": "bulkId:b"}]}}, {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"displayName": "circB", "members": [{"value": "bulkId:a"}]}}])), Bulk(&["409", "409"])),
        c("Bulk version garbage", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "PATCH", "path": u, "version": "garbage", "data": {"schemas": [urn::PATCH_OP], "Operations": [{"op": "replace", "path": "nickName", "value": "v"}]}}])), Bulk(&["412"])),
        c("Bulk with a NUL", "POST", "/Bulk", SJ, bulk(Value::Null, json!([{"method": "POST", "path": "/Users", "bulkId": "z", "data": {"userName": "z\u{0}@x.example"}}])), Error(400, Some("invalidValue"))),
        // Ids that are not ours, and values too long to be stored or indexed.
        c("id not a uuid", "GET", "/Users/not-a-uuid", NONE, "", Error(404, None)),
        c("id upper-cased", "GET", format!("/Users/{}", uid.to_uppercase()), NONE, "", Error(404, None)),
        c("id of a group as a user", "PATCH", format!("/Users/{gid}"), SJ, patch(json!([{"op": "replace", "path": "nickName", "value": "x"}])), Error(404, None)),
        c("id of 4 KB", "DELETE", format!("/Groups/{}", "a".repeat(4096)), NONE, "", Error(404, None)),
        c("id of 1 MB", "GET", format!("/Users/{}", "a".repeat(1024 * 1024)), NONE, "", Framework(431)),
        c("userName of 1 MB", "POST", "/Users", SJ, j(json!({"schemas": [urn::USER], "userName": "u".repeat(1024 * 1024)})), Error(413, None)),
        c("userName of 900 KB", "POST", "/Users", SJ, j(json!({"schemas": [urn::USER], "userName": "u".repeat(900 * 1024)})), Error(400, Some("invalidValue"))),
        c("userName of 64 KB (PUT)", "PUT", &u, SJ, j(json!({"schemas": [urn::USER], "userName": "u".repeat(64 * 1024)})), Error(400, Some("invalidValue"))),
        c("externalId of 900 KB", "POST", "/Users", SJ, user("long1", json!({"externalId": "e".repeat(900 * 1024)})), Error(400, Some("invalidValue"))),
        c("email of 900 KB", "POST", "/Users", SJ, user("long2", json!({"emails": [{"value": "e".repeat(900 * 1024)}]})), Error(400, Some("invalidValue"))),
        c("group displayName of 900 KB", "POST", "/Groups", SJ, group(&"g".repeat(900 * 1024), json!({})), Error(400, Some("invalidValue"))),
        c("group externalId of 900 KB (PATCH)", "PATCH", &g, SJ, patch(json!([{"op": "replace", "path": "externalId", "value": "e".repeat(900 * 1024)}])), Error(400, Some("invalidValue"))),
        c("member id of 900 KB", "PATCH", &g, SJ, patch(json!([{"op": "add", "path": "members", "value": [{"value": "m".repeat(900 * 1024)}]}])), Error(400, Some("invalidValue"))),
        c("userName of 2 000 random-ish bytes", "POST", "/Users", SJ, j(json!({"schemas": [urn::USER], "userName": (0..500).map(|i| char::from_u32(0x4E00 + i * 37 % 20000).unwrap_or('x')).collect::<String>()})), Accepted(201)),
        c("nickName of 900 KB (not indexed)", "POST", "/Users", SJ, big_user(900 * 1024), Accepted(201)),
        // Conditional headers.
        c("If-Match garbage", "PUT", &u, SJ, user("victim", json!({})), Error(412, None)).header("If-Match", "garbage"),
        c("If-Match half an ETag", "PATCH", &g, SJ, patch(json!([{"op": "replace", "path": "displayName", "value": "x"}])), Error(412, None)).header("If-Match", "W/\""),
        c("If-Match a huge version", "DELETE", &u, NONE, "", Error(412, None)).header("If-Match", "W/\"99999999999999999999999\""),
        c("If-Match negative", "DELETE", &g, NONE, "", Error(412, None)).header("If-Match", "W/\"-1\""),
        c("If-None-Match garbage (ignored)", "GET", &u, NONE, "", Accepted(200)).header("If-None-Match", "garbage, W/\""),
        c("control character in a header", "GET", &u, NONE, "", Framework(400)).header("If-None-Match", "\u{1}garbage"),
    ]
}
