//! The check of a parsed filter against the schema, so that a filter naming unknown attributes
//! or comparing values in ways their type can't support is answered with 400 `invalidFilter`
//! and a detail that says what to fix, instead of silently matching nothing.

use super::EvalContext;
use super::compare::{Num, parse_bool};
use crate::error::{Error, Result};
use crate::filter::{CompareOp, Filter, Literal};
use crate::path::AttrPath;
use crate::schema::{AttrType, AttributeDef, Resolved};

/// Rejects filters the evaluator could only answer with "no match": attributes the resource
/// type doesn't have, sub-attributes of simple attributes, value paths on singular simple
/// attributes or nested inside another value path, `gt`/`ge`/`lt`/`le` on booleans and binary
/// data (RFC 7644 §3.4.2.2), `co`/`sw`/`ew` on booleans and numbers, and literals of the wrong
/// type. Fails with [`Error::UnsupportedFilter`] (400 `invalidFilter`).
pub fn validate(filter: &Filter, ctx: &EvalContext<'_>) -> Result<()> {
    match filter {
        Filter::Not(inner) => validate(inner, ctx),
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate(a, ctx)?;
            validate(b, ctx)
        }
        Filter::Present(path) => resolve(path, ctx).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let r = resolve(path, ctx)?;
            let leaf = match r.sub {
                Some(sub) => sub,
                None => whole_value_leaf(path, r.attr)?,
            };
            check_compare(path, leaf, *op, value)
        }
        Filter::ValuePath { path, filter } => {
            if let Some(sub) = &path.sub {
                return Err(bad(format!(
                    "{path}[...] filters the sub-attribute {sub:?}, which has no elements; put the \
                     brackets on the attribute and name {sub} inside or after them, e.g. \
                     {}[{sub} eq \"...\"]",
                    path.parent()
                )));
            }
            let r = resolve(path, ctx)?;
            if r.attr.ty != AttrType::Complex && !r.attr.multi_valued {
                return Err(bad(format!(
                    "{path} is a single {} value, so there are no elements to select with \
                     {path}[...]; compare it directly, e.g. {path} eq \"...\"",
                    type_name(r.attr.ty)
                )));
            }
            validate_element(filter, r.attr, path)
        }
    }
}

/// Checks a filter inside `outer[...]`, whose paths name sub-attributes of `attr`.
fn validate_element(filter: &Filter, attr: &AttributeDef, outer: &AttrPath) -> Result<()> {
    match filter {
        Filter::Not(inner) => validate_element(inner, attr, outer),
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate_element(a, attr, outer)?;
            validate_element(b, attr, outer)
        }
        Filter::ValuePath { path, .. } => Err(bad(format!(
            "value paths cannot be nested: {outer}[...] contains {path}[...]; combine the \
             conditions with and/or inside one pair of brackets"
        ))),
        Filter::Present(path) => element_leaf(path, attr, outer).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let leaf = element_leaf(path, attr, outer)?;
            check_compare(path, leaf, *op, value)
        }
    }
}

/// The definition an inner path of `outer[...]` names.
fn element_leaf<'s>(
    path: &AttrPath,
    attr: &'s AttributeDef,
    outer: &AttrPath,
) -> Result<&'s AttributeDef> {
    if path.urn.is_some() {
        return Err(bad(format!(
            "inside {outer}[...] name sub-attributes without a schema URN, e.g. {}",
            example_sub(attr)
        )));
    }
    if let Some(sub) = &path.sub {
        return Err(bad(format!(
            "inside {outer}[...], {path} names a sub-attribute {sub:?} of {:?}, but \
             sub-attributes have no sub-attributes of their own; use one of: {}",
            path.name,
            sub_names(attr)
        )));
    }
    if attr.ty == AttrType::Complex {
        return attr.sub(&path.name).ok_or_else(|| {
            bad(format!(
                "{} has no sub-attribute {:?}; inside {outer}[...] use one of: {}",
                attr.name,
                path.name,
                sub_names(attr)
            ))
        });
    }
    if path.name.eq_ignore_ascii_case("value") {
        return Ok(attr);
    }
    Err(bad(format!(
        "{} is a multi-valued {}; inside {outer}[...] refer to each of its values as `value`, \
         e.g. {outer}[value eq \"...\"]",
        attr.name,
        type_name(attr.ty)
    )))
}

/// The definition compared when a filter compares a whole attribute: the `value` sub-attribute
/// of a complex attribute (RFC 7644: `emails eq "x"`), or the attribute itself.
fn whole_value_leaf<'s>(path: &AttrPath, attr: &'s AttributeDef) -> Result<&'s AttributeDef> {
    if attr.ty != AttrType::Complex {
        return Ok(attr);
    }
    attr.sub("value").ok_or_else(|| {
        bad(format!(
            "{path} is complex and has no `value` to compare; compare one of its \
             sub-attributes ({}) as {path}.{}, or test it with {path} pr",
            sub_names(attr),
            example_sub(attr)
        ))
    })
}

/// Checks that `op` and the literal make sense for the leaf's type.
fn check_compare(path: &AttrPath, leaf: &AttributeDef, op: CompareOp, lit: &Literal) -> Result<()> {
    let op_name = op.as_str();
    if matches!(lit, Literal::Null) {
        return if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            Ok(())
        } else {
            Err(bad(format!(
                "{path} {op_name} null: null can only be compared with eq or ne \
                 (eq null means the attribute is unassigned); to test for a value use {path} pr"
            )))
        };
    }
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    match leaf.ty {
        AttrType::Boolean => {
            if substring || ordering {
                return Err(bad(format!(
                    "{path} is a boolean, so {op_name} cannot be applied to it; use eq or ne \
                     with true or false"
                )));
            }
            let ok = match lit {
                Literal::Bool(_) => true,
                Literal::String(s) => parse_bool(s).is_some(),
                Literal::Number(_) | Literal::Null => false,
            };
            if !ok {
                return Err(bad(format!(
                    "{path} is a boolean; compare it with true or false, not {lit}"
                )));
            }
        }
        AttrType::Integer | AttrType::Decimal => {
            if substring {
                return Err(bad(format!(
                    "{path} is a number, so {op_name} cannot be applied to it; use eq, ne, gt, \
                     ge, lt or le"
                )));
            }
            let ok = match lit {
                Literal::Number(_) => true,
                Literal::String(s) => Num::parse(s).is_some(),
                Literal::Bool(_) | Literal::Null => false,
            };
            if !ok {
                return Err(bad(format!(
                    "{path} is {} number; compare it with a number such as 42, not {lit}",
                    if leaf.ty == AttrType::Integer {
                        "an integer"
                    } else {
                        "a decimal"
                    }
                )));
            }
        }
        AttrType::DateTime => {
            if !matches!(lit, Literal::String(_)) {
                return Err(bad(format!(
                    "{path} is a dateTime; compare it with a quoted timestamp such as \
                     \"2011-05-13T04:42:34Z\", not {lit}"
                )));
            }
        }
        AttrType::Binary => {
            if ordering {
                return Err(bad(format!(
                    "{path} holds binary data, so {op_name} cannot be applied to it \
                     (RFC 7644 §3.4.2.2); use eq, ne, co, sw or ew"
                )));
            }
            if !matches!(lit, Literal::String(_)) {
                return Err(bad(format!(
                    "{path} holds binary data; compare it with a quoted base64 string, not {lit}"
                )));
            }
        }
        AttrType::String | AttrType::Reference => {}
        AttrType::Complex => {
            return Err(bad(format!(
                "{path} is complex; compare one of its sub-attributes ({}) or test it with \
                 {path} pr",
                sub_names(leaf)
            )));
        }
    }
    Ok(())
}

/// Resolves a path, or explains precisely which part of it is unknown.
fn resolve<'a>(path: &AttrPath, ctx: &EvalContext<'a>) -> Result<Resolved<'a>> {
    let (registry, rt) = (ctx.registry, ctx.resource_type);
    if let Some(r) = registry.resolve(rt, path) {
        return Ok(r);
    }
    if let Some(urn) = &path.urn
        && !registry
            .schemas_of(rt)
            .any(|s| s.id.eq_ignore_ascii_case(urn))
    {
        let known: Vec<&str> = registry.schemas_of(rt).map(|s| s.id.as_str()).collect();
        return Err(bad(format!(
            "{urn} is not a schema of resource type {}; its schemas are {}",
            rt.name,
            known.join(", ")
        )));
    }
    if let Some(sub) = &path.sub
        && let Some(parent) = registry.resolve(rt, &path.parent())
    {
        let attr = parent.attr;
        return Err(bad(if attr.ty == AttrType::Complex {
            format!(
                "{} has no sub-attribute {sub:?}; use one of: {}",
                attr.name,
                sub_names(attr)
            )
        } else {
            format!(
                "{} is a {} and has no sub-attributes; filter on {} itself",
                attr.name,
                type_name(attr.ty),
                path.parent()
            )
        }));
    }
    Err(bad(format!(
        "attribute {path} is not defined for resource type {}; GET /Schemas lists the \
         attributes that can be filtered",
        rt.name
    )))
}

fn bad(detail: String) -> Error {
    Error::UnsupportedFilter(detail)
}

fn sub_names(attr: &AttributeDef) -> String {
    let names: Vec<&str> = attr
        .sub_attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    names.join(", ")
}

fn example_sub(attr: &AttributeDef) -> &str {
    attr.sub_attributes
        .first()
        .map_or("value", |a| a.name.as_str())
}

fn type_name(ty: AttrType) -> &'static str {
    match ty {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}
