//! Applying parsed operations to a resource document.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::members::{MemberOp, members_from};
use super::request::{PatchOp, PatchOperation, PatchRequest};
use super::values::{canonicalize_key, is_empty_value, multi, object_entry, singular};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::path::{AttrPath, PatchPath};
use crate::schema::{
    AttrType, Mutability, Resolved, ResolvedKey, ResourceType, SchemaRegistry, urn,
};

/// The new document and what changed in it.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The patched document (members of a Group only if the input carried them).
    pub resource: Value,
    /// What the request changed.
    pub changes: ChangeSet,
}

/// What a PATCH changed, for the store (which columns and which membership rows to write) and
/// for policy (did `active` change, did access shrink).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeSet {
    /// Canonical names of the top-level attributes whose value changed; extension attributes
    /// are URN-qualified (`urn:…:enterprise:2.0:User:manager`).
    pub attributes: BTreeSet<String>,
    /// Membership changes of a Group, in request order.
    pub members: Vec<MemberOp>,
}

impl ChangeSet {
    /// Whether the request changed nothing (an empty `Operations`, or values equal to the
    /// stored ones); the store can then skip the write and keep the version.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.members.is_empty()
    }

    /// Whether the named top-level attribute changed (canonical name, case-insensitive).
    pub fn touches(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

pub(super) struct Ctx<'a> {
    pub(super) registry: &'a SchemaRegistry,
    pub(super) rt: &'a ResourceType,
    /// Group membership is written as ops, not in the document.
    pub(super) members_as_ops: bool,
}

/// Applies a PATCH request to a stored document. Atomic: the input is never modified, and any
/// error leaves nothing applied. The result is validated as a whole (required attributes, at
/// most one primary), so a request can't leave a resource the schema forbids.
pub fn apply(
    registry: &SchemaRegistry,
    rt: &ResourceType,
    resource: &Value,
    request: &PatchRequest,
) -> Result<PatchOutcome> {
    let ctx = Ctx {
        registry,
        rt,
        members_as_ops: rt.schema.eq_ignore_ascii_case(urn::GROUP),
    };
    let mut doc = resource.clone();
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| Error::invalid_value("the stored resource is not a JSON object"))?;
    let mut member_ops = Vec::new();
    for op in &request.operations {
        apply_op(&ctx, obj, op, &mut member_ops)?;
    }
    if ctx.members_as_ops && obj.contains_key("members") {
        materialize_members(&ctx, obj, &member_ops)?;
    }
    // An extension whose last attribute was removed is unassigned as a whole.
    for ext in &rt.schema_extensions {
        if obj.get(&ext.schema).is_some_and(is_empty_value) {
            obj.shift_remove(&ext.schema);
        }
    }
    crate::resource::sync_schemas(registry, rt, &mut doc);
    crate::resource::validate(registry, rt, &doc)?;
    let mut attributes = crate::resource::changed_attributes(resource, &doc, rt);
    if !member_ops.is_empty() {
        attributes.insert("members".to_string());
    }
    Ok(PatchOutcome {
        resource: doc,
        changes: ChangeSet {
            attributes,
            members: member_ops,
        },
    })
}

fn apply_op(
    ctx: &Ctx<'_>,
    obj: &mut Map<String, Value>,
    op: &PatchOperation,
    member_ops: &mut Vec<MemberOp>,
) -> Result<()> {
    match (&op.path, op.op) {
        (None, PatchOp::Remove) => Err(Error::NoTarget(
            "remove needs a path naming what to remove".into(),
        )),
        (None, kind) => {
            let value = op.value.as_ref().unwrap_or(&Value::Null);
            apply_pathless(ctx, obj, kind, value, member_ops)
        }
        (Some(path), kind) => {
            // A path naming a whole extension (`urn:…:enterprise:2.0:User`) splits like an
            // attribute path (`urn:…:2.0` + `User`); treat it as that extension's object.
            if let (Some(urn), None, None) = (&path.attr.urn, &path.attr.sub, &path.filter)
                && let Some(ResolvedKey::Schema(schema)) = ctx
                    .registry
                    .resolve_key(ctx.rt, &format!("{urn}:{}", path.attr.name))
            {
                if kind == PatchOp::Remove {
                    obj.shift_remove(&schema.id);
                    return Ok(());
                }
                let mut wrapped = serde_json::Map::new();
                wrapped.insert(schema.id.clone(), op.value.clone().unwrap_or(Value::Null));
                return apply_pathless(ctx, obj, kind, &Value::Object(wrapped), member_ops);
            }
            let res = ctx.registry.resolve(ctx.rt, &path.attr).ok_or_else(|| {
                Error::invalid_path(format!(
                    "{path} is not an attribute of {}; check the name against /Schemas",
                    ctx.rt.name
                ))
            })?;
            check_writable(&res, path)?;
            apply_target(
                ctx,
                obj,
                kind,
                &res,
                path.filter.as_ref(),
                op.value.as_ref(),
                member_ops,
                true,
            )
        }
    }
}

/// A pathless add/replace: each key of the value is an attribute name, a dotted path
/// (`name.givenName`) or a URN (a whole extension object, or a qualified attribute) — Entra's
/// `aadOptscim062020` form and Okta's `{"active": false}` alike.
fn apply_pathless(
    ctx: &Ctx<'_>,
    obj: &mut Map<String, Value>,
    kind: PatchOp,
    value: &Value,
    member_ops: &mut Vec<MemberOp>,
) -> Result<()> {
    let Value::Object(entries) = value else {
        return Err(Error::invalid_value(
            "an add or replace without a path needs an object value whose keys are attribute names",
        ));
    };
    for (key, v) in entries {
        if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
            continue;
        }
        if key.eq_ignore_ascii_case("id") {
            // Okta sends the group's own id inside a rename; anything else is an attempt to
            // change a readOnly attribute.
            let current = obj.get("id");
            if current.is_some() && current != Some(v) {
                return Err(Error::Mutability(
                    "id is readOnly and cannot be changed".into(),
                ));
            }
            continue;
        }
        match ctx.registry.resolve_key(ctx.rt, key) {
            Some(ResolvedKey::Schema(schema)) => {
                let Value::Object(inner) = v else {
                    if v.is_null() && kind == PatchOp::Replace {
                        obj.shift_remove(&schema.id);
                        continue;
                    }
                    return Err(Error::invalid_value(format!(
                        "the value of {} must be an object of its attributes",
                        schema.id
                    )));
                };
                for (name, v2) in inner {
                    let Ok(mut path) = AttrPath::parse(name) else {
                        continue;
                    };
                    path.urn = Some(schema.id.clone());
                    if let Some(res) = ctx.registry.resolve(ctx.rt, &path) {
                        if res.leaf().mutability == Mutability::ReadOnly {
                            continue;
                        }
                        apply_target(ctx, obj, kind, &res, None, Some(v2), member_ops, false)?;
                    }
                }
            }
            Some(ResolvedKey::Attr(res)) => {
                if res.leaf().mutability == Mutability::ReadOnly {
                    // Clients echo what we returned (groups, meta); ignoring is what RFC 7644
                    // §3.5.2 allows for readOnly values in a pathless request.
                    continue;
                }
                apply_target(ctx, obj, kind, &res, None, Some(v), member_ops, false)?;
            }
            // Unknown attributes are ignored, as on create and replace (clients send extras).
            None => {}
        }
    }
    Ok(())
}

fn check_writable(res: &Resolved<'_>, path: &PatchPath) -> Result<()> {
    let readonly = res.attr.mutability == Mutability::ReadOnly
        || res
            .sub
            .is_some_and(|s| s.mutability == Mutability::ReadOnly);
    if readonly {
        return Err(Error::Mutability(format!(
            "{path} is readOnly; the service provider maintains it"
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn apply_target(
    ctx: &Ctx<'_>,
    obj: &mut Map<String, Value>,
    kind: PatchOp,
    res: &Resolved<'_>,
    filter: Option<&Filter>,
    value: Option<&Value>,
    member_ops: &mut Vec<MemberOp>,
    explicit_path: bool,
) -> Result<()> {
    if ctx.members_as_ops && !res.in_extension && res.attr.name == "members" {
        return member_op(kind, res, filter, value, member_ops, explicit_path);
    }
    let name = res.attr.name.as_str();
    // Locate the container: the resource itself, or its extension object.
    let container: &mut Map<String, Value> = match res.extension_urn() {
        None => obj,
        Some(ext) => {
            canonicalize_key(obj, ext);
            if kind == PatchOp::Remove && !obj.contains_key(ext) {
                return Ok(());
            }
            object_entry(obj, ext)?
        }
    };
    canonicalize_key(container, name);
    let before = container.get(name).cloned();
    let result = if res.attr.multi_valued {
        multi(ctx, container, kind, res, filter, value)
    } else {
        if filter.is_some() && res.attr.ty != AttrType::Complex {
            return Err(Error::invalid_path(format!(
                "{} is not multi-valued or complex, so it can't take a [filter]",
                res.attr.name
            )));
        }
        singular(ctx, container, kind, res, filter, value)
    };
    result?;
    if res.attr.mutability == Mutability::Immutable
        && before.is_some()
        && container.get(name) != before.as_ref()
    {
        return Err(Error::Mutability(format!(
            "{} is immutable: it can be set once but not changed",
            res.attr.name
        )));
    }
    if container.get(name).is_some_and(is_empty_value) {
        container.shift_remove(name);
    }
    Ok(())
}

fn member_op(
    kind: PatchOp,
    res: &Resolved<'_>,
    filter: Option<&Filter>,
    value: Option<&Value>,
    ops: &mut Vec<MemberOp>,
    explicit_path: bool,
) -> Result<()> {
    if res.sub.is_some() {
        return Err(Error::Mutability(
            "member sub-attributes are immutable; remove the member and add it again".into(),
        ));
    }
    let value = value.unwrap_or(&Value::Null);
    let op = match (kind, filter) {
        (PatchOp::Add, _) => MemberOp::Add(members_from(value)?),
        (PatchOp::Replace, None) => MemberOp::ReplaceAll(members_from(value)?),
        (PatchOp::Replace, Some(f)) => {
            ops.push(MemberOp::RemoveWhere(f.clone()));
            MemberOp::Add(members_from(value)?)
        }
        (PatchOp::Remove, Some(f)) => MemberOp::RemoveWhere(f.clone()),
        // Entra's default dialect: remove with path "members" and a value list removes only
        // the listed members (clients.md E6); without a value, every member goes.
        (PatchOp::Remove, None) if !value.is_null() => {
            MemberOp::Remove(members_from(value)?.into_iter().map(|m| m.value).collect())
        }
        (PatchOp::Remove, None) if explicit_path => MemberOp::RemoveAll,
        (PatchOp::Remove, None) => return Ok(()),
    };
    ops.push(op);
    Ok(())
}

/// Applies member ops to a document that carries its members inline.
fn materialize_members(
    ctx: &Ctx<'_>,
    obj: &mut Map<String, Value>,
    ops: &[MemberOp],
) -> Result<()> {
    let Some(def) = ctx
        .registry
        .schema(&ctx.rt.schema)
        .and_then(|s| s.attribute("members"))
    else {
        return Ok(());
    };
    let mut members = members_from(obj.get("members").unwrap_or(&Value::Null))?;
    for op in ops {
        op.apply_to(&mut members, def);
    }
    if members.is_empty() {
        obj.shift_remove("members");
    } else {
        obj.insert(
            "members".into(),
            Value::Array(members.iter().map(|m| m.to_value()).collect()),
        );
    }
    Ok(())
}
