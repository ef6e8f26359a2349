//! Deriving a user row's columns from its SCIM document: the folded userName key, externalId,
//! displayName, `active`, the email rows and the search document, computed once per write.

use scim_core::filter::eval::fold_case;
use scim_core::schema::{ResourceType, SchemaRegistry};
use serde_json::{Map, Value};

use crate::error::{Result, StoreError, check_indexed};
use crate::search::search_document;

/// One `user_emails` row.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Email {
    pub(super) position: i32,
    pub(super) value_key: String,
    pub(super) kind: Option<String>,
    pub(super) primary: bool,
}

/// Everything a user write stores, derived from the document once.
pub(super) struct Columns {
    pub(super) user_name: String,
    pub(super) user_name_key: String,
    pub(super) external_id: Option<String>,
    pub(super) display_name: Option<String>,
    pub(super) active: bool,
    pub(super) resource: String,
    pub(super) search: Value,
    pub(super) emails: Vec<Email>,
}

/// The `user_emails` rows of a document (an object): one per `emails` item with a string
/// `value`, at the item's position, value and type case-folded.
pub(super) fn emails(obj: &Map<String, Value>) -> Vec<Email> {
    let Some(Value::Array(items)) = obj.get("emails") else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let value = e.get("value")?.as_str()?;
            Some(Email {
                position: i32::try_from(i).ok()?,
                value_key: fold_case(value).into_owned(),
                kind: e
                    .get("type")
                    .and_then(Value::as_str)
                    .map(|t| fold_case(t).into_owned()),
                primary: e.get("primary").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

pub(super) fn user_type(registry: &SchemaRegistry) -> Result<&ResourceType> {
    registry
        .resource_type("User")
        .ok_or_else(|| StoreError::Invalid("the schema registry has no User resource type".into()))
}

/// Checks the document and derives the columns. `id`, `meta` and `groups` are dropped (the
/// server stamps the first two; `groups` is derived from membership at read time).
pub(super) fn columns(registry: &SchemaRegistry, mut doc: Value) -> Result<(Value, Columns)> {
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| StoreError::Invalid("a User resource must be a JSON object".into()))?;
    if obj.contains_key("password") {
        return Err(StoreError::Invalid(
            "the password must be hashed by the server and passed as password_hash".into(),
        ));
    }
    for k in ["id", "meta", "groups"] {
        obj.remove(k);
    }
    let user_name = match obj.get("userName") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(StoreError::Invalid(
                "a User needs a non-empty userName".into(),
            ));
        }
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let emails = emails(obj);
    let external_id = text("externalId");
    let display_name = text("displayName");
    let active = obj.get("active").and_then(Value::as_bool).unwrap_or(true);
    let user_name_key = fold_case(&user_name).into_owned();
    check_indexed("userName", &user_name_key)?;
    check_indexed("externalId", external_id.as_deref().unwrap_or(""))?;
    for e in &emails {
        check_indexed("emails.value", &e.value_key)?;
    }
    let search = search_document(registry, user_type(registry)?, &doc);
    let cols = Columns {
        user_name_key,
        user_name,
        external_id,
        display_name,
        active,
        resource: scim_core::json::to_string_exact(&doc),
        search,
        emails,
    };
    Ok((doc, cols))
}
