//! Server-maintained `meta` (RFC 7643 §3.1) and weak ETags built from version numbers.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
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

    /// Appends the JSON text of [`to_json`](Self::to_json) to `out` without building the
    /// object: for answers copied from stored text, where the `meta` map (five keys hashed,
    /// five strings copied in and freed) was a fifth of a User's rendering.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let fields: [(&[u8], &str); 5] = [
            (b"{\"resourceType\":", &self.resource_type),
            (b",\"created\":", &timestamp(&self.created)),
            (b",\"lastModified\":", &timestamp(&self.last_modified)),
            (b",\"location\":", &self.location),
            (b",\"version\":", &etag(self.version)),
        ];
        for (key, value) in fields {
            out.extend_from_slice(key);
            // Writing a string into a `Vec` can't fail.
            let _ = serde_json::to_writer(&mut *out, value);
        }
        out.push(b'}');
    }
}

/// RFC 3339 in UTC with a `Z`, with only as many fractional digits as the instant has, so a
/// stored timestamp prints back exactly.
fn timestamp(t: &DateTime<Utc>) -> String {
    let mut out = String::with_capacity(30);
    write_timestamp(&mut out, t);
    out
}

/// Appends [`timestamp`]'s text, `to_rfc3339_opts(AutoSi, true)`'s, written digit by digit
/// ([`push_datetime`]): two of these through chrono's general formatter were ~60% of
/// rendering a `meta`.
fn write_timestamp(out: &mut String, t: &DateTime<Utc>) {
    if push_datetime(out, &t.naive_utc(), 'T') {
        out.push('Z');
    } else {
        out.push_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
}

/// Appends `YYYY-MM-DD`, `sep`, `HH:MM:SS`, then `.` and 3, 6 or 9 digits when the instant
/// has a fraction (the fewest that hold it): the text chrono writes for `%F{sep}%T%.f` and,
/// with `T` and a `Z`, for RFC 3339 with `AutoSi`, without its format machinery. Returns
/// `false`, having written nothing, for years outside 0..=9999 and leap seconds, which
/// chrono writes its own way: the caller asks chrono then. Shared with the store, which
/// writes SQLite's timestamps (`%F %T%.f`) the same way.
pub fn push_datetime(out: &mut String, t: &NaiveDateTime, sep: char) -> bool {
    use chrono::{Datelike, Timelike};
    fn digits(out: &mut String, n: u32, width: u32) {
        for place in (0..width).rev() {
            let d = n / 10_u32.pow(place) % 10;
            out.push(char::from(b'0' + d as u8));
        }
    }
    let (year, nanos) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return false;
    }
    digits(out, year.unsigned_abs(), 4);
    let parts = [
        ('-', t.month()),
        ('-', t.day()),
        (sep, t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ];
    for (before, n) in parts {
        out.push(before);
        digits(out, n, 2);
    }
    if nanos != 0 {
        out.push('.');
        if nanos % 1_000_000 == 0 {
            digits(out, nanos / 1_000_000, 3);
        } else if nanos % 1_000 == 0 {
            digits(out, nanos / 1_000, 6);
        } else {
            digits(out, nanos, 9);
        }
    }
    true
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

#[cfg(test)]
mod write_tests {
    use super::*;
    use chrono::TimeZone;

    /// The digit-by-digit text is chrono's, for every instant (fractions of each length,
    /// years of every width, leap seconds).
    #[test]
    fn timestamps_are_chronos_text() {
        use chrono::{NaiveDate, SecondsFormat};
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut instants = vec![
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 1).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 120_000_000).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 123_400_000).unwrap(),
            Utc.timestamp_opt(253_402_300_799, 999_999_999).unwrap(),
            Utc.timestamp_opt(-62_135_596_800, 0).unwrap(),
            Utc.timestamp_opt(-62_135_596_801, 0).unwrap(),
            Utc.timestamp_opt(253_402_300_800, 0).unwrap(),
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
                .unwrap()
                .and_utc(),
        ];
        for _ in 0..20_000 {
            let secs = (next() % 400_000_000_000) as i64 - 100_000_000_000;
            let nanos = match next() % 4 {
                0 => 0,
                1 => (next() % 1000) as u32 * 1_000_000,
                2 => (next() % 1_000_000) as u32 * 1000,
                _ => (next() % 1_000_000_000) as u32,
            };
            instants.extend(Utc.timestamp_opt(secs, nanos).single());
        }
        for t in instants {
            assert_eq!(
                timestamp(&t),
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                "{t:?}"
            );
        }
    }

    /// The bytes `write_json` appends are the serialised `to_json`, escapes included.
    #[test]
    fn write_json_is_to_json_serialised() {
        for (resource_type, location, micros) in [
            ("User", "https://scim.example/scim/v2/Users/1", 0),
            ("Group", "http://h/\"quoted\"/\u{7}/é", 123_456),
        ] {
            let meta = Meta {
                resource_type: resource_type.into(),
                created: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
                last_modified: Utc.timestamp_opt(1_700_000_001, micros * 1000).unwrap(),
                location: location.into(),
                version: 42,
            };
            let mut out = b"x".to_vec();
            meta.write_json(&mut out);
            assert_eq!(out[1..], serde_json::to_vec(&meta.to_json()).unwrap());
        }
    }
}
