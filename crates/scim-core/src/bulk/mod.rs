//! Bulk requests (RFC 7644 §3.7): parsing and limits, bulkId ordering and resolution,
//! failOnErrors bookkeeping and the BulkResponse.
//!
//! Everything pure lives here; the server's executor only walks [`BulkPlan::steps`], calls the
//! store for each runnable operation and records the outcome. The rules, decided once:
//!
//! - A request whose structure is wrong (not an object, no `Operations`, an operation with no
//!   or an unknown `method`, a POST without `bulkId` or `data`, a malformed `path`, a bulkId
//!   used twice) is refused as a whole with a 400 that names the operation: there is no
//!   reliable way to answer for an operation that can't be read.
//! - Too many operations is a 413 (`PayloadTooLarge`, RFC 7644 §3.7.4), as is a body over
//!   `maxPayloadSize`, which the server checks with [`check_payload_size`] before parsing.
//! - An operation may reference `bulkId:X` in its path or anywhere in its data; it runs after
//!   the POST that defines `X`, whatever their order in the request. Problems with references
//!   fail only the operations concerned, see [`PlanFailure`].

mod plan;
mod response;

pub use plan::{BulkPlan, BulkStep, PlanFailure, resolve_bulk_ids, resolve_path};
pub use response::{BulkOperationResponse, BulkResponse, FailOnErrors};

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::json::get_ci;
use crate::schema::{ResourceType, SchemaRegistry, urn};

/// The prefix that marks a bulkId reference (`"bulkId:qwerty"`), RFC 7644 §3.7.2.
pub const BULK_ID_PREFIX: &str = "bulkId:";

/// Size limits of `/Bulk`, advertised in the ServiceProviderConfig and enforced here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    /// Most operations in one request.
    pub max_operations: usize,
    /// Largest request body, in bytes.
    pub max_payload_size: usize,
}

impl Default for BulkLimits {
    /// 1000 operations and 1 MiB, the values of the RFC 7643 §5 example.
    fn default() -> Self {
        BulkLimits {
            max_operations: 1000,
            max_payload_size: 1024 * 1024,
        }
    }
}

/// Refuses a body longer than `maxPayloadSize` with the RFC 7644 §3.7.4 413 error. The server
/// calls it with the body length before parsing, so an oversized body is never parsed.
pub fn check_payload_size(len: usize, limits: &BulkLimits) -> Result<()> {
    if len > limits.max_payload_size {
        return Err(Error::PayloadTooLarge(format!(
            "The size of the bulk operation ({len} bytes) exceeds the maxPayloadSize ({}).",
            limits.max_payload_size
        )));
    }
    Ok(())
}

/// The HTTP method of one bulk operation; read case-insensitively, written in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkMethod {
    /// Create a resource.
    Post,
    /// Replace a resource.
    Put,
    /// Modify a resource.
    Patch,
    /// Delete a resource.
    Delete,
}

impl BulkMethod {
    /// The method as the RFC writes it (`POST`).
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }

    /// Reads a method name in any case; `None` for anything else (GET is not a bulk method).
    pub fn parse(text: &str) -> Option<BulkMethod> {
        [
            BulkMethod::Post,
            BulkMethod::Put,
            BulkMethod::Patch,
            BulkMethod::Delete,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl Serialize for BulkMethod {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BulkMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        BulkMethod::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown bulk method {text:?}; use POST, PUT, PATCH or DELETE"
            ))
        })
    }
}

/// One operation of a bulk request (RFC 7644 §3.7).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    /// What to do.
    pub method: BulkMethod,
    /// The client's name for the resource a POST creates; other operations may reference it
    /// as `bulkId:<bulk_id>`.
    pub bulk_id: Option<String>,
    /// The resource version the client expects (an ETag), for `If-Match` semantics.
    pub version: Option<String>,
    /// Path relative to the SCIM root: `/Users` for POST, `/Users/{id}` otherwise; the id may
    /// be a `bulkId:X` reference.
    pub path: String,
    /// The resource (POST, PUT) or PatchOp message (PATCH); absent for DELETE.
    pub data: Option<Value>,
}

/// The parts of an operation's path: `/Users/2819c223` → endpoint `Users`, id `2819c223`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkTarget<'a> {
    /// The resource type endpoint without its slash (`Users`).
    pub endpoint: &'a str,
    /// The resource id (possibly `bulkId:X`), absent for POST.
    pub id: Option<&'a str>,
}

impl BulkTarget<'_> {
    /// The resource type this path addresses, matching the endpoint case-insensitively.
    pub fn resource_type<'r>(&self, registry: &'r SchemaRegistry) -> Option<&'r ResourceType> {
        registry.resource_types().iter().find(|rt| {
            rt.endpoint
                .trim_start_matches('/')
                .eq_ignore_ascii_case(self.endpoint)
        })
    }
}

impl BulkOperation {
    /// Splits the path into endpoint and id; `/Users`, `Users`, `/Users/` and `/Users/{id}`
    /// are accepted, anything with more segments or a query string is not.
    pub fn target(&self) -> Result<BulkTarget<'_>> {
        let bad = |why: &str| {
            Error::invalid_value(format!(
                "bulk path {:?} {why}; use \"/Users\" for POST and \"/Users/{{id}}\" otherwise",
                self.path
            ))
        };
        let trimmed = self.path.trim();
        let rest = trimmed.strip_prefix('/').unwrap_or(trimmed);
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['?', '#']) {
            return Err(bad("must not carry a query string"));
        }
        let (endpoint, id) = match rest.split_once('/') {
            Some((e, i)) => (e, Some(i)),
            None => (rest, None),
        };
        if endpoint.is_empty() {
            return Err(bad("names no resource endpoint"));
        }
        if id.is_some_and(|i| i.is_empty() || i.contains('/')) {
            return Err(bad("has too many segments"));
        }
        Ok(BulkTarget { endpoint, id })
    }

    /// Parses operation `index` of a request (used in error messages).
    fn parse(index: usize, value: &Value) -> Result<BulkOperation> {
        let at = |why: String| Error::invalid_value(format!("Operations[{index}]: {why}"));
        let Value::Object(obj) = value else {
            return Err(Error::InvalidSyntax(format!(
                "Operations[{index}] must be a JSON object"
            )));
        };
        let string = |key: &str| -> Result<Option<String>> {
            match get_ci(obj, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(at(format!("{key} must be a string, found {other}"))),
            }
        };
        let method_text = string("method")?
            .ok_or_else(|| at("method is required (POST, PUT, PATCH or DELETE)".into()))?;
        let method = BulkMethod::parse(&method_text).ok_or_else(|| {
            at(format!(
                "method {method_text:?} is not a bulk method; use POST, PUT, PATCH or DELETE"
            ))
        })?;
        let bulk_id = string("bulkId")?;
        if bulk_id.as_deref().is_some_and(|b| b.trim().is_empty()) {
            return Err(at("bulkId must not be empty".into()));
        }
        let path = string("path")?.ok_or_else(|| at("path is required, e.g. \"/Users\"".into()))?;
        let data = match get_ci(obj, "data") {
            None | Some(Value::Null) => None,
            Some(d @ Value::Object(_)) => Some(d.clone()),
            Some(other) => return Err(at(format!("data must be a JSON object, found {other}"))),
        };
        let op = BulkOperation {
            method,
            bulk_id,
            version: string("version")?,
            path,
            data,
        };
        let target = op.target().map_err(|e| at(e.to_string()))?;
        match method {
            BulkMethod::Post => {
                if op.bulk_id.is_none() {
                    return Err(at("a POST operation requires a bulkId".into()));
                }
                if target.id.is_some() {
                    return Err(at(format!(
                        "a POST path names the resource endpoint only, e.g. \"/{}\"",
                        target.endpoint
                    )));
                }
            }
            BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete => {
                if target.id.is_none() {
                    return Err(at(format!(
                        "a {} path names one resource, e.g. \"/{}/{{id}}\"",
                        method.as_str(),
                        target.endpoint
                    )));
                }
            }
        }
        if method != BulkMethod::Delete && op.data.is_none() {
            return Err(at(format!("a {} operation requires data", method.as_str())));
        }
        Ok(op)
    }
}

/// A parsed bulk request.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors; `None` runs every operation.
    pub fail_on_errors: Option<u64>,
    /// The operations in request order.
    pub operations: Vec<BulkOperation>,
}

impl BulkRequest {
    /// Parses a BulkRequest message and checks it against `limits`. `schemas` may be omitted,
    /// but when present must name the BulkRequest URN; names match case-insensitively.
    pub fn parse(body: &Value, limits: &BulkLimits) -> Result<BulkRequest> {
        let Value::Object(obj) = body else {
            return Err(Error::InvalidSyntax(
                "a bulk request must be a JSON object".to_string(),
            ));
        };
        check_schemas(obj)?;
        let fail_on_errors = match get_ci(obj, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => Some(positive_integer(v).ok_or_else(|| {
                Error::invalid_value(format!("failOnErrors must be a positive integer, got {v}"))
            })?),
        };
        let ops = match get_ci(obj, "Operations") {
            Some(Value::Array(ops)) => ops,
            Some(other) => {
                return Err(Error::InvalidSyntax(format!(
                    "Operations must be an array, found {other}"
                )));
            }
            None => {
                return Err(Error::InvalidSyntax(
                    "a bulk request requires an Operations array".to_string(),
                ));
            }
        };
        if ops.len() > limits.max_operations {
            return Err(Error::PayloadTooLarge(format!(
                "The number of operations ({}) exceeds the maxOperations ({}).",
                ops.len(),
                limits.max_operations
            )));
        }
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, v)| BulkOperation::parse(i, v))
            .collect::<Result<Vec<_>>>()?;
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, op) in operations.iter().enumerate() {
            if let Some(id) = op.bulk_id.as_deref()
                && let Some(first) = seen.insert(id, i)
            {
                return Err(Error::invalid_value(format!(
                    "bulkId {id:?} is used by Operations[{first}] and Operations[{i}]; bulkIds must be unique within a request"
                )));
            }
        }
        Ok(BulkRequest {
            fail_on_errors,
            operations,
        })
    }
}

fn check_schemas(obj: &Map<String, Value>) -> Result<()> {
    let Some(schemas) = get_ci(obj, "schemas") else {
        return Ok(());
    };
    let ok = schemas.as_array().is_some_and(|items| {
        items.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(urn::BULK_REQUEST))
        })
    });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidSyntax(format!(
            "schemas must be [\"{}\"] in a bulk request",
            urn::BULK_REQUEST
        )))
    }
}

/// A JSON integer ≥ 1, or a string holding one.
fn positive_integer(v: &Value) -> Option<u64> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }?;
    (n >= 1).then_some(n)
}
