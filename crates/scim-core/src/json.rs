//! JSON text of a document, written into a buffer sized for a SCIM resource up front, and
//! the case-insensitive member lookup every layer uses.
//!
//! `serde_json::to_vec` starts at 128 bytes and `Value::to_string` at nothing, so a user of
//! ~500 bytes was reallocated (and copied) three to eight times on its way out: on the
//! 2-core benchmark machine that growth was ~5% of a request thread's time per user create
//! (`perf`: `grow_impl_runtime` under `resource_response` and the stored columns). The text
//! is the same compact JSON either way.

use serde_json::{Map, Value};

/// Room for a typical single resource (a user with a few emails and its `meta`); a larger
/// document grows from there as before.
pub const RESOURCE_CAPACITY: usize = 1024;

/// The compact JSON bytes of `value`, in a buffer of at least `capacity` bytes.
pub fn to_vec_with(value: &Value, capacity: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(capacity);
    // Writing a `Value` into a `Vec` can't fail: its map keys are strings and the writer
    // never errors. Were it to, the Display text below is the same JSON.
    if serde_json::to_writer(&mut buf, value).is_err() {
        return value.to_string().into_bytes();
    }
    buf
}

/// The compact JSON text of `value`, in a buffer of at least `capacity` bytes (the text
/// `value.to_string()` gives, without growing into it).
pub fn to_string_with(value: &Value, capacity: usize) -> String {
    String::from_utf8(to_vec_with(value, capacity)).unwrap_or_else(|_| value.to_string())
}

/// The compact JSON text of `value` in a string of exactly its length, for text that is kept
/// (a stored column of a user waiting in a Bulk of 1 000): written into a scratch buffer of
/// [`RESOURCE_CAPACITY`] and copied once, where the buffer itself would hold up to four times
/// the text and `value.to_string()` reallocates its way up to twice it.
pub fn to_string_exact(value: &Value) -> String {
    let buf = to_vec_with(value, RESOURCE_CAPACITY);
    match std::str::from_utf8(&buf) {
        Ok(text) => text.to_owned(),
        Err(_) => value.to_string(),
    }
}

/// Objects up to this many members are searched by one pass over their keys rather than by
/// hashing: serde_json's maps hash with SipHash, which for a short key costs more than
/// comparing it with every member of a SCIM object (a user has ~10), and most lookups are of
/// attributes a document doesn't have, which then paid the hash and a second scan.
const SCAN_UP_TO: usize = 16;

/// A member of `obj` by name, ignoring ASCII case (SCIM names are case-insensitive, RFC 7643
/// §2.1): the exact spelling if present, else the first member whose name matches ignoring
/// case, so a document with both `userName` and `USERNAME` answers with `userName`.
pub fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if obj.len() <= SCAN_UP_TO {
        let mut folded = None;
        for (key, value) in obj {
            if key == name {
                return Some(value);
            }
            // The length test first: it settles almost every key without a call.
            if folded.is_none() && key.len() == name.len() && key.eq_ignore_ascii_case(name) {
                folded = Some(value);
            }
        }
        return folded;
    }
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// Removes and returns the member named exactly `name`. A small object is scanned before it
/// is hashed, so a miss (the common case when walking a schema's attributes over a document
/// that has a few of them) costs a few comparisons rather than a SipHash.
pub fn take(obj: &mut Map<String, Value>, name: &str) -> Option<Value> {
    if obj.len() <= SCAN_UP_TO && !obj.keys().any(|key| key == name) {
        return None;
    }
    obj.remove(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_the_text_display_writes_with_room_to_spare() {
        let doc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace \"the first\""},
            "emails": [{"value": "ada@example.com", "primary": true}],
            "active": true, "n": 1.5, "none": null, "ünï": "cödé\u{1F600}"
        });
        let text = to_string_with(&doc, RESOURCE_CAPACITY);
        assert_eq!(text, doc.to_string());
        assert!(text.capacity() >= RESOURCE_CAPACITY);
        assert_eq!(to_vec_with(&doc, 8), doc.to_string().into_bytes());
        let kept = to_string_exact(&doc);
        assert_eq!(kept, doc.to_string());
        assert_eq!(kept.capacity(), kept.len());
    }

    /// Both paths (scan and hash) answer alike: the exact spelling wins over an earlier
    /// spelling that differs in case, otherwise the first case-insensitive match.
    #[test]
    fn exact_spelling_first_then_the_first_folded_match() {
        for padding in [0, SCAN_UP_TO] {
            let mut obj = Map::new();
            for i in 0..padding {
                obj.insert(format!("pad{i}"), json!(i));
            }
            obj.insert("USERNAME".into(), json!("upper"));
            obj.insert("username".into(), json!("lower"));
            obj.insert("userName".into(), json!("exact"));
            assert_eq!(get_ci(&obj, "userName"), Some(&json!("exact")), "{padding}");
            assert_eq!(get_ci(&obj, "UserName"), Some(&json!("upper")), "{padding}");
            assert_eq!(get_ci(&obj, "nickName"), None, "{padding}");
            assert_eq!(take(&mut obj, "UserName"), None, "{padding}");
            assert_eq!(
                take(&mut obj, "userName"),
                Some(json!("exact")),
                "{padding}"
            );
            assert_eq!(take(&mut obj, "userName"), None, "{padding}");
        }
    }
}
