//! Server-maintained `meta` (RFC 7643 §3.1) and weak ETags built from version numbers.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

/// Server-maintained metadata of one resource. Core renders it into the document from values
/// the caller supplies (the store's version counter, the server's clock and base URL), because
/// core itself reads no clock and generates no ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// `User` or `Group` (the resource type's name).
    pub resource_type: String,
    /// When the resource was created.
    pub created: DateTime<Utc>,
    /// When the resource last changed.
    pub last_modified: DateTime<Utc>,
    /// Absolute URL of the resource (`https://host/scim/v2/Users/<id>`).
    pub location: String,
    /// Version counter, published as the weak ETag `W/"<version>"`.
    pub version: u64,
}

impl Meta {
    /// The `meta` object exactly as responses carry it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::with_capacity(5);
        m.insert(
            "resourceType".into(),
            Value::String(self.resource_type.clone()),
        );
        m.insert("created".into(), Value::String(timestamp(&self.created)));
        m.insert(
            "lastModified".into(),
            Value::String(timestamp(&self.last_modified)),
        );
        m.insert("location".into(), Value::String(self.location.clone()));
        m.insert("version".into(), Value::String(etag(self.version)));
        Value::Object(m)
    }
}

/// RFC 3339 in UTC with a `Z`, with only as many fractional digits as the instant has, so a
/// stored timestamp prints back exactly.
fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Writes `id` and `meta` into a prepared document, replacing whatever the client sent, and
/// orders the document as clients expect to read it: `schemas`, `id`, the attributes, `meta`
/// last. Documents that are not JSON objects are left unchanged ([`super::prepare`] always
/// returns an object).
pub fn stamp(doc: &mut Value, id: &str, meta: &Meta) {
    let Value::Object(map) = doc else {
        return;
    };
    let old = std::mem::take(map);
    let mut out = Map::with_capacity(old.len() + 2);
    let mut schemas = None;
    let mut rest = Vec::with_capacity(old.len());
    for (k, v) in old {
        match k.as_str() {
            "schemas" => schemas = Some(v),
            "id" | "meta" => {}
            _ => rest.push((k, v)),
        }
    }
    if let Some(s) = schemas {
        out.insert("schemas".into(), s);
    }
    out.insert("id".into(), Value::String(id.to_string()));
    out.extend(rest);
    out.insert("meta".into(), meta.to_json());
    *map = out;
}

/// The weak ETag of a version number, `W/"<n>"` (RFC 7644 §3.14). Weak because two versions
/// may render to different bytes (projection, attribute order) while being the same resource.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Reads a version number back from an `If-Match`/`If-None-Match` value or `meta.version`.
/// Accepts `W/"7"`, `"7"`, `W/7` and `7` (surrounding whitespace ignored), because clients
/// strip quotes or the weak prefix; returns `None` for anything else, including `*`, which
/// the server handles itself.
pub fn parse_etag(tag: &str) -> Option<u64> {
    let t = tag.trim();
    let t = t
        .strip_prefix("W/")
        .or_else(|| t.strip_prefix("w/"))
        .unwrap_or(t);
    let t = match t.strip_prefix('"') {
        Some(inner) => inner.strip_suffix('"')?,
        None => t,
    };
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}
