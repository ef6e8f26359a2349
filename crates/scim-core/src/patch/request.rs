//! Parsing a PatchOp message into operations.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::filter::parse_path;
use crate::json::get_ci;
use crate::path::PatchPath;

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    /// `add`
    Add,
    /// `replace`
    Replace,
    /// `remove`
    Remove,
}

/// One entry of `Operations`, with its path already parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// The operation.
    pub op: PatchOp,
    /// The target; `None` means the value names its targets (pathless add/replace).
    pub path: Option<PatchPath>,
    /// The value; absent for most removes.
    pub value: Option<Value>,
}

/// A parsed PatchOp request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatchRequest {
    /// The operations, applied in order.
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// Parses a PatchOp body. Lenient where real clients differ from the RFC (op names in any
    /// case, `Operations` key in any case, a missing `schemas`), strict where a guess could
    /// corrupt data (unknown op, non-string path, missing value for add/replace).
    pub fn parse(body: &Value) -> Result<PatchRequest> {
        let obj = body.as_object().ok_or_else(|| {
            Error::InvalidSyntax(
                "a PATCH body must be a JSON object with an Operations array".into(),
            )
        })?;
        if let Some(schemas) = get_ci(obj, "schemas") {
            let ok = schemas.as_array().is_some_and(|a| {
                a.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(crate::schema::urn::PATCH_OP))
                })
            });
            if !ok {
                return Err(Error::InvalidSyntax(format!(
                    "schemas must contain {:?} for a PATCH request",
                    crate::schema::urn::PATCH_OP
                )));
            }
        }
        let ops = match get_ci(obj, "Operations") {
            Some(Value::Array(ops)) => ops,
            Some(_) => return Err(Error::InvalidSyntax("Operations must be an array".into())),
            None => {
                return Err(Error::InvalidSyntax(
                    "a PATCH request needs an Operations array".into(),
                ));
            }
        };
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, op)| parse_operation(i, op))
            .collect::<Result<Vec<_>>>()?;
        Ok(PatchRequest { operations })
    }
}

fn parse_operation(index: usize, op: &Value) -> Result<PatchOperation> {
    let obj = op.as_object().ok_or_else(|| {
        Error::InvalidSyntax(format!(
            "Operations[{index}] must be an object with op, path and value"
        ))
    })?;
    let name = get_ci(obj, "op").and_then(Value::as_str).ok_or_else(|| {
        Error::InvalidSyntax(format!(
            "Operations[{index}] needs an \"op\" of add, replace or remove"
        ))
    })?;
    let kind = if name.eq_ignore_ascii_case("add") {
        PatchOp::Add
    } else if name.eq_ignore_ascii_case("replace") {
        PatchOp::Replace
    } else if name.eq_ignore_ascii_case("remove") {
        PatchOp::Remove
    } else {
        return Err(Error::InvalidSyntax(format!(
            "Operations[{index}]: unknown op {name:?}; use add, replace or remove"
        )));
    };
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(parse_path(s)?),
        Some(_) => {
            return Err(Error::invalid_path(format!(
                "Operations[{index}]: path must be a string"
            )));
        }
    };
    let value = get_ci(obj, "value").cloned();
    if kind != PatchOp::Remove && value.is_none() {
        return Err(Error::invalid_value(format!(
            "Operations[{index}]: {name} needs a value"
        )));
    }
    if kind == PatchOp::Remove && path.is_none() && value.is_none() {
        return Err(Error::NoTarget(format!(
            "Operations[{index}]: remove needs a path naming what to remove"
        )));
    }
    Ok(PatchOperation {
        op: kind,
        path,
        value,
    })
}
