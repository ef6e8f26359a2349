//! How a directory user's values become a SCIM User document, and how an owned user is
//! named as a group member: the mapping the sync applies on every create and update.

use scim_core::patch::Member;
use serde_json::{Map, Value, json};

use super::directory::DirUser;

/// Sets `key` to `value`, or removes it when there is none (the directory owns the value).
fn set_or_remove(obj: &mut Map<String, Value>, key: &str, value: Option<&String>) {
    match value {
        Some(v) => {
            obj.insert(key.to_string(), Value::String(v.clone()));
        }
        None => {
            obj.remove(key);
        }
    }
}

/// Writes the directory's values into a User document: userName, externalId, name.givenName,
/// name.familyName, displayName and the emails (the directory's mail as the one primary work
/// email). Other attributes are left as they are.
pub(crate) fn apply_fields(doc: &mut Map<String, Value>, user: &DirUser) {
    doc.insert("userName".into(), Value::String(user.user_name.clone()));
    doc.insert("externalId".into(), Value::String(user.external_id.clone()));
    let mut name = match doc.remove("name") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    set_or_remove(&mut name, "givenName", user.given_name.as_ref());
    set_or_remove(&mut name, "familyName", user.family_name.as_ref());
    if !name.is_empty() {
        doc.insert("name".into(), Value::Object(name));
    }
    set_or_remove(doc, "displayName", user.display_name.as_ref());
    match &user.email {
        Some(mail) => {
            doc.insert(
                "emails".into(),
                json!([{"value": mail, "type": "work", "primary": true}]),
            );
        }
        None => {
            doc.remove("emails");
        }
    }
}

/// A group member entry for user `id`.
pub(crate) fn member(id: &str) -> Member {
    Member {
        value: id.to_string(),
        display: None,
        kind: Some("User".into()),
    }
}
