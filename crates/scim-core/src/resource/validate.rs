//! Whole-document checks of canonical resources: types, required attributes, `primary`, and
//! keeping `schemas` in step with the extension objects present.

use serde_json::{Map, Value};

use super::normalize::{Ctx, check_attr, is_unassigned};
use crate::error::{Error, Result};
use crate::json::get_ci;
use crate::schema::{AttrType, AttributeDef, ResourceType, Schema, SchemaRegistry};

/// Full check of a canonical document, run by [`super::prepare`] on every POST/PUT and by the
/// PATCH engine on its result: every declared attribute has the right type, required attributes
/// (and required sub-attributes of present values, and required extension schemas) are
/// present and not empty, at most one element of a multi-valued attribute is `primary`, and
/// elements of reference lists such as `members` carry a `value`.
///
/// `schemas` is not checked: it is derived data, so callers fix it with [`sync_schemas`]
/// instead of rejecting a document over it. Keys the schema does not declare are ignored here;
/// [`super::prepare`] never writes them and PATCH rejects unknown paths itself.
pub fn validate(registry: &SchemaRegistry, rt: &ResourceType, doc: &Value) -> Result<()> {
    let Value::Object(map) = doc else {
        return Err(Error::InvalidSyntax(format!(
            "a {} resource must be a JSON object",
            rt.name
        )));
    };
    for attr in registry.common_attributes() {
        check_top(attr, map, None)?;
    }
    for schema in registry.schemas_of(rt) {
        if schema.id.eq_ignore_ascii_case(&rt.schema) {
            for attr in &schema.attributes {
                check_top(attr, map, None)?;
            }
            continue;
        }
        let required = rt
            .schema_extensions
            .iter()
            .any(|e| e.required && e.schema.eq_ignore_ascii_case(&schema.id));
        match get_ci(map, &schema.id) {
            Some(Value::Object(ext)) => {
                for attr in &schema.attributes {
                    check_top(attr, ext, Some(schema))?;
                }
            }
            Some(v) if !v.is_null() => {
                return Err(Error::invalid_value(format!(
                    "the {} extension must be a JSON object",
                    schema.id
                )));
            }
            _ if required => {
                return Err(Error::invalid_value(format!(
                    "extension schema {} is required for {} resources",
                    schema.id, rt.name
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Rewrites `schemas` to the core schema followed by the URNs of the extension objects actually
/// present, in the resource type's order. Clients send stale, missing, malformed or foreign
/// URNs (clients.md E11, E12), and PATCH adds and removes extension objects, so the list is
/// derived from the data rather than trusted.
pub fn sync_schemas(registry: &SchemaRegistry, rt: &ResourceType, doc: &mut Value) {
    let Value::Object(map) = doc else { return };
    let mut list = vec![Value::String(rt.schema.clone())];
    for schema in registry.schemas_of(rt).skip(1) {
        if get_ci(map, &schema.id).is_some_and(|v| !is_unassigned(v)) {
            list.push(Value::String(schema.id.clone()));
        }
    }
    match map.get_mut("schemas") {
        Some(v) => *v = Value::Array(list),
        None => {
            // `schemas` leads the document; rebuild so it comes first.
            let old = std::mem::take(map);
            map.insert("schemas".into(), Value::Array(list));
            map.extend(old);
        }
    }
}

fn check_top(attr: &AttributeDef, map: &Map<String, Value>, ext: Option<&Schema>) -> Result<()> {
    let parent = ext.map(|s| Ctx::root(&s.id));
    let ctx = match &parent {
        Some(p) => p.child(&attr.name),
        None => Ctx::root(&attr.name),
    };
    match get_ci(map, &attr.name) {
        Some(v) if !is_missing(v) => {
            check_attr(attr, v, &ctx)?;
            check_contents(attr, v, &ctx)
        }
        _ if attr.required => Err(Error::invalid_value(format!("attribute {ctx} is required"))),
        _ => Ok(()),
    }
}

/// Unassigned, or an empty/blank string: neither satisfies `required`.
fn is_missing(v: &Value) -> bool {
    is_unassigned(v) || v.as_str().is_some_and(|s| s.trim().is_empty())
}

/// Required sub-attributes, `primary` uniqueness and reference `value`s inside a present value.
fn check_contents(attr: &AttributeDef, v: &Value, ctx: &Ctx<'_>) -> Result<()> {
    if attr.ty != AttrType::Complex {
        return Ok(());
    }
    match v {
        Value::Array(items) => {
            // Elements of a reference list (a `value` plus a `$ref`) point at a resource, so
            // they mean nothing without the `value` (Group `members`, clients.md E8).
            let needs_value = attr.sub("value").is_some() && attr.sub("$ref").is_some();
            let mut primaries = 0usize;
            for item in items {
                let Value::Object(el) = item else { continue };
                check_subs(attr, el, ctx)?;
                if needs_value && get_ci(el, "value").is_none_or(is_missing) {
                    return Err(Error::invalid_value(format!(
                        "every element of {ctx} needs a non-empty value"
                    )));
                }
                if get_ci(el, "primary") == Some(&Value::Bool(true)) {
                    primaries += 1;
                }
            }
            if primaries > 1 {
                return Err(Error::invalid_value(format!(
                    "at most one element of {ctx} may have primary set to true"
                )));
            }
            Ok(())
        }
        Value::Object(obj) => check_subs(attr, obj, ctx),
        _ => Ok(()),
    }
}

fn check_subs(attr: &AttributeDef, obj: &Map<String, Value>, ctx: &Ctx<'_>) -> Result<()> {
    for sub in attr.sub_attributes.iter().filter(|s| s.required) {
        if get_ci(obj, &sub.name).is_none_or(is_missing) {
            return Err(Error::invalid_value(format!(
                "attribute {} is required",
                ctx.child(&sub.name)
            )));
        }
    }
    Ok(())
}
