//! Group membership changes as operations, so the store can write them as a diff.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::filter::Filter;

/// One member reference as a group stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's resource id (a User or Group id).
    pub value: String,
    /// Display name as the client sent it.
    pub display: Option<String>,
    /// `User` or `Group`, when the client said.
    pub kind: Option<String>,
}

impl Member {
    /// Reads a member element (`{"value": …, "display": …, "type": …, "$ref": …}`), ignoring
    /// `$ref` (clients send `null` or URLs we would derive anyway) and key case.
    pub fn from_value(v: &Value) -> Result<Member> {
        let obj = match v {
            Value::Object(o) => o,
            // A bare id string is what some clients send for a member; accept it.
            Value::String(s) if !s.is_empty() => {
                return Ok(Member {
                    value: s.clone(),
                    display: None,
                    kind: None,
                });
            }
            _ => {
                return Err(Error::invalid_value(
                    "each member must be an object with a \"value\" holding the member's id",
                ));
            }
        };
        let field = |name: &str| {
            crate::json::get_ci(obj, name)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let value = field("value").filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::invalid_value("each member needs a non-empty \"value\" (the member's id)")
        })?;
        Ok(Member {
            value,
            display: field("display"),
            kind: field("type"),
        })
    }

    /// The JSON element for responses.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("value".into(), Value::String(self.value.clone()));
        if let Some(d) = &self.display {
            m.insert("display".into(), Value::String(d.clone()));
        }
        if let Some(t) = &self.kind {
            m.insert("type".into(), Value::String(t.clone()));
        }
        Value::Object(m)
    }
}

/// A change to a group's membership, in request order.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    /// Add these members; members already present are left as they are (a no-op, so
    /// retried requests are harmless).
    Add(Vec<Member>),
    /// Remove the members with these ids; absent ids are ignored.
    Remove(Vec<String>),
    /// Remove the members an element filter selects (`members[value eq "…"]`); the filter's
    /// paths name member sub-attributes (`value`, `display`, `type`).
    RemoveWhere(Filter),
    /// Remove every member.
    RemoveAll,
    /// Make the membership exactly this list.
    ReplaceAll(Vec<Member>),
}

impl MemberOp {
    /// Applies the op to a member list held in memory (tests, small groups, evaluators).
    pub fn apply_to(&self, members: &mut Vec<Member>, members_def: &crate::schema::AttributeDef) {
        match self {
            MemberOp::Add(add) => {
                for m in add {
                    if !members.iter().any(|x| x.value == m.value) {
                        members.push(m.clone());
                    }
                }
            }
            MemberOp::Remove(ids) => members.retain(|m| !ids.contains(&m.value)),
            MemberOp::RemoveWhere(filter) => members.retain(|m| {
                !crate::filter::eval::matches_element(filter, &m.to_value(), members_def)
            }),
            MemberOp::RemoveAll => members.clear(),
            MemberOp::ReplaceAll(new) => {
                members.clear();
                for m in new {
                    if !members.iter().any(|x| x.value == m.value) {
                        members.push(m.clone());
                    }
                }
            }
        }
    }
}

/// Reads a value that should be a list of members (an array, or one object).
pub(crate) fn members_from(value: &Value) -> Result<Vec<Member>> {
    match value {
        Value::Array(items) => items.iter().map(Member::from_value).collect(),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![Member::from_value(other)?]),
    }
}
