//! Reading one string out of a user document by SCIM path or JSONPath: the organization name
//! of the attribute-based organization mappings (Code42's `c42OrgName`, a custom attribute).
//!
//! Two notations, told apart by the first character:
//! - **SCIM path** (`urn:…:User:c42OrgName`, `c42OrgName`, `addresses[primary eq true].country`):
//!   resolved once through the [`SchemaRegistry`], case-insensitively, with or without the URN,
//!   exactly like filters and PATCH paths. An unknown attribute fails when the rule is built.
//! - **JSONPath** (RFC 9535, starts with `$`): run with `jsonpath-rust` on the stored document,
//!   whose keys are canonical (declared case, extension objects under their URN). Extension
//!   objects need bracket notation (`$['urn:…:2.0:User'].c42OrgName`) because URNs contain
//!   `:` and `.`; the shorthand `$.urn:…:User.c42OrgName` (or `…:User:c42OrgName`) is accepted
//!   and rewritten to it when the URN is a schema of the User resource type.
//!
//! Multi-valued values: the elements a value filter selects, primary first, then in order; the
//! first that yields a non-empty string wins. JSONPath: the first non-empty string result.
//! Surrounding whitespace is trimmed; non-string values never name anything.

use jsonpath_rust::parser::model::JpQuery;
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::filter::eval::matches_element;
use crate::filter::{Filter, parse_path};
use crate::json::get_ci;
use crate::schema::{AttrType, AttributeDef, ResourceType, SchemaRegistry};

/// A compiled "where is the string" rule over User documents.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeReader {
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Scim(Box<ScimPath>),
    JsonPath(Box<JpQuery>),
}

/// A SCIM path resolved against the registry, in canonical names.
#[derive(Debug, Clone, PartialEq)]
struct ScimPath {
    /// The extension object's key, for extension attributes.
    urn: Option<String>,
    attr: AttributeDef,
    sub: Option<String>,
    filter: Option<Filter>,
}

impl AttributeReader {
    /// Compiles `text` (SCIM path or JSONPath) against the User resource type of `registry`.
    /// Errors are `invalidValue` and name `setting`, the setting the text came from.
    pub fn parse(text: &str, setting: &str, registry: &SchemaRegistry) -> Result<Self> {
        let rt = user_type(registry)?;
        let trimmed = text.trim();
        let bad = |why: String| Error::invalid_value(format!("{setting} {text:?}: {why}"));
        let kind = if trimmed.starts_with('$') {
            let expanded = expand_urn_shorthand(trimmed, registry, rt);
            let query = parse_json_path(expanded.as_deref().unwrap_or(trimmed))
                .map_err(|e| bad(format!("is not a valid JSONPath (RFC 9535): {e}")))?;
            Kind::JsonPath(Box::new(query))
        } else {
            let path = parse_path(trimmed).map_err(|e| bad(e.to_string()))?;
            let r = registry.resolve(rt, &path.attr).ok_or_else(|| {
                bad(
                    "names no attribute of the User resource type (register the extension \
                     that declares it)"
                        .to_string(),
                )
            })?;
            if path.filter.is_some() && !r.attr.multi_valued && r.attr.ty != AttrType::Complex {
                return Err(bad(format!(
                    "a value filter needs a multi-valued or complex attribute, and {} is neither",
                    r.attr.name
                )));
            }
            Kind::Scim(Box::new(ScimPath {
                urn: r.extension_urn().map(str::to_string),
                attr: r.attr.clone(),
                sub: r.sub.map(|s| s.name.clone()),
                filter: path.filter,
            }))
        };
        Ok(AttributeReader {
            text: trimmed.to_string(),
            kind,
        })
    }

    /// The rule as configured.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The string the rule points at in `doc`, trimmed; `None` when absent, empty or not a
    /// string.
    pub fn read(&self, doc: &Value) -> Option<String> {
        match &self.kind {
            Kind::JsonPath(query) => js_path_process(query, doc)
                .ok()?
                .into_iter()
                .find_map(|r| non_empty(r.val)),
            Kind::Scim(scim) => {
                let ScimPath {
                    urn,
                    attr,
                    sub,
                    filter,
                } = scim.as_ref();
                let obj = doc.as_object()?;
                let container = match urn {
                    Some(u) => get_ci(obj, u)?.as_object()?,
                    None => obj,
                };
                let value = get_ci(container, &attr.name)?;
                let elements: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    single => vec![single],
                };
                let selected = elements
                    .into_iter()
                    .filter(|e| filter.as_ref().is_none_or(|f| matches_element(f, e, attr)));
                let (primary, rest): (Vec<&Value>, Vec<&Value>) =
                    selected.partition(|e| is_primary(e));
                primary
                    .into_iter()
                    .chain(rest)
                    .find_map(|e| leaf(e, attr, sub.as_deref()).and_then(non_empty))
            }
        }
    }
}

/// The User resource type; a registry always has one, but a hand-built one might not.
fn user_type(registry: &SchemaRegistry) -> Result<&ResourceType> {
    registry
        .resource_type("User")
        .ok_or_else(|| Error::invalid_value("the schema registry serves no User resource type"))
}

fn is_primary(element: &Value) -> bool {
    element
        .as_object()
        .and_then(|o| get_ci(o, "primary"))
        .is_some_and(|p| p == &Value::Bool(true))
}

/// The value inside one element: its sub-attribute, the `value` of a complex element, or the
/// element itself.
fn leaf<'d>(element: &'d Value, attr: &AttributeDef, sub: Option<&str>) -> Option<&'d Value> {
    match (sub, element) {
        (Some(s), Value::Object(o)) => get_ci(o, s),
        (None, Value::Object(o)) if attr.ty == AttrType::Complex => get_ci(o, "value"),
        (Some(_), _) => None,
        (None, other) => Some(other),
    }
}

fn non_empty(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `$.urn:…:User.attr` or `$.urn:…:User:attr` → `$['urn:…:User'].attr` when the URN is an
/// extension of the User type (core-schema URNs address top-level keys: `$.attr`).
fn expand_urn_shorthand(
    text: &str,
    registry: &SchemaRegistry,
    rt: &ResourceType,
) -> Option<String> {
    let rest = text.strip_prefix("$.")?;
    if !rest.get(..4)?.eq_ignore_ascii_case("urn:") {
        return None;
    }
    let schema = registry
        .schemas_of(rt)
        .filter(|s| {
            rest.get(..s.id.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(&s.id))
                && matches!(rest.as_bytes().get(s.id.len()), Some(b'.' | b':' | b'['))
        })
        .max_by_key(|s| s.id.len())?;
    let remainder = rest.get(schema.id.len()..)?;
    let remainder = match remainder.strip_prefix(':') {
        Some(r) => format!(".{r}"),
        None => remainder.to_string(),
    };
    if schema.id.eq_ignore_ascii_case(&rt.schema) {
        Some(format!("${remainder}"))
    } else {
        Some(format!("$['{}']{remainder}", schema.id))
    }
}
