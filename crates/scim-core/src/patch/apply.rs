//! Applying parsed operations to a resource document.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::members::{MemberOp, members_from};
use super::request::{PatchOp, PatchOperation, PatchRequest};
use crate::error::{Error, Result};
use crate::filter::{CompareOp, Filter, Literal, eval::matches_element};
use crate::path::{AttrPath, PatchPath};
use crate::schema::{
    AttrType, AttributeDef, Mutability, Resolved, ResolvedKey, ResourceType, SchemaRegistry, urn,
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

struct Ctx<'a> {
    registry: &'a SchemaRegistry,
    rt: &'a ResourceType,
    /// Group membership is written as ops, not in the document.
    members_as_ops: bool,
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
    let mut attributes = changed_attributes(resource, &doc, rt);
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
            let entry = obj
                .entry(ext.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            match entry.as_object_mut() {
                Some(m) => m,
                None => return Err(Error::invalid_value(format!("{ext} must be an object"))),
            }
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

fn singular(
    ctx: &Ctx<'_>,
    container: &mut Map<String, Value>,
    kind: PatchOp,
    res: &Resolved<'_>,
    filter: Option<&Filter>,
    value: Option<&Value>,
) -> Result<()> {
    let name = res.attr.name.as_str();
    // A singular complex attribute addressed with a filter (`manager[value eq "x"]`) acts on
    // its one value when the filter matches it.
    if let Some(f) = filter {
        let matched = container
            .get(name)
            .is_some_and(|cur| matches_element(f, cur, res.attr));
        if !matched {
            return match kind {
                PatchOp::Remove => Ok(()),
                _ => Err(Error::NoTarget(format!(
                    "{name}[{f}] matches nothing to {}",
                    if kind == PatchOp::Add {
                        "add to"
                    } else {
                        "replace"
                    }
                ))),
            };
        }
    }
    match (kind, res.sub) {
        (PatchOp::Remove, None) => {
            container.shift_remove(name);
        }
        (PatchOp::Remove, Some(sub)) => {
            if let Some(Value::Object(m)) = container.get_mut(name) {
                canonicalize_key(m, &sub.name);
                m.shift_remove(&sub.name);
            }
        }
        (_, None) => {
            let v = value.unwrap_or(&Value::Null);
            let v = shorthand_complex(res.attr, v);
            if is_removal(&v) {
                container.shift_remove(name);
                return Ok(());
            }
            let v = crate::resource::normalize_value(ctx.registry, res.attr, v)?;
            match (container.get_mut(name), v) {
                // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not in the value stay as they are.
                (Some(Value::Object(cur)), Value::Object(new)) => {
                    for (k, nv) in new {
                        canonicalize_key(cur, &k);
                        cur.insert(k, nv);
                    }
                }
                (_, v) => {
                    container.insert(name.to_string(), v);
                }
            }
        }
        (_, Some(sub)) => {
            let v = value.unwrap_or(&Value::Null);
            let cur = container
                .entry(name.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !cur.is_object() {
                *cur = Value::Object(Map::new());
            }
            if let Value::Object(m) = cur {
                set_sub(ctx, m, sub, v)?;
            }
        }
    }
    Ok(())
}

fn multi(
    ctx: &Ctx<'_>,
    container: &mut Map<String, Value>,
    kind: PatchOp,
    res: &Resolved<'_>,
    filter: Option<&Filter>,
    value: Option<&Value>,
) -> Result<()> {
    let attr = res.attr;
    let name = attr.name.as_str();
    let value = value.unwrap_or(&Value::Null);
    // Taken out in place (not removed) so the attribute keeps its position in the document.
    let mut items: Vec<Value> = match container.get_mut(name).map(Value::take) {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    };
    let outcome = multi_items(ctx, &mut items, kind, res, filter, value);
    if items.is_empty() {
        container.shift_remove(name);
    } else {
        container.insert(name.to_string(), Value::Array(items));
    }
    outcome
}

fn multi_items(
    ctx: &Ctx<'_>,
    items: &mut Vec<Value>,
    kind: PatchOp,
    res: &Resolved<'_>,
    filter: Option<&Filter>,
    value: &Value,
) -> Result<()> {
    let attr = res.attr;
    match (filter, res.sub) {
        (None, None) => match kind {
            PatchOp::Remove if value.is_null() => items.clear(),
            PatchOp::Remove => {
                // Remove the listed elements (by `value` for complex attributes).
                let listed = as_array(value);
                items.retain(|it| !listed.iter().any(|l| same_element(attr, it, l)));
            }
            PatchOp::Replace => {
                items.clear();
                if !is_removal(value) {
                    let new = normalize_items(ctx, attr, value)?;
                    items.extend(new);
                    enforce_single_primary(attr, items, None);
                }
            }
            PatchOp::Add => {
                if is_removal(value) {
                    return Ok(());
                }
                for new in normalize_items(ctx, attr, value)? {
                    add_element(attr, items, new);
                }
            }
        },
        (None, Some(sub)) => {
            // `emails.value`: every element's sub-attribute.
            match kind {
                PatchOp::Remove => {
                    for it in items.iter_mut() {
                        if let Value::Object(m) = it {
                            canonicalize_key(m, &sub.name);
                            m.shift_remove(&sub.name);
                        }
                    }
                    items.retain(|it| !is_empty_value(it));
                }
                _ => {
                    if items.is_empty() {
                        items.push(Value::Object(Map::new()));
                    }
                    for it in items.iter_mut() {
                        if let Value::Object(m) = it {
                            set_sub(ctx, m, sub, value)?;
                        }
                    }
                }
            }
        }
        (Some(f), sub) => {
            let hits: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, it)| matches_element(f, it, attr))
                .map(|(i, _)| i)
                .collect();
            match kind {
                PatchOp::Remove => {
                    if let Some(sub) = sub {
                        for &i in &hits {
                            if let Some(Value::Object(m)) = items.get_mut(i) {
                                canonicalize_key(m, &sub.name);
                                m.shift_remove(&sub.name);
                            }
                        }
                        items.retain(|it| !is_empty_value(it));
                    } else {
                        let mut i = 0;
                        items.retain(|_| {
                            let keep = !hits.contains(&i);
                            i += 1;
                            keep
                        });
                    }
                }
                _ if hits.is_empty() => {
                    // Entra's validator adds to `emails[type eq "work"].value` on a user with no
                    // work email: create the element from the filter's equality terms.
                    let mut element = template_from_filter(ctx, f, attr).ok_or_else(|| {
                        Error::NoTarget(format!(
                            "{}[{f}] matches no element, and the filter is not a set of \
                             equality terms an element could be created from",
                            attr.name
                        ))
                    })?;
                    match sub {
                        Some(sub) => set_sub(ctx, &mut element, sub, value)?,
                        None => merge_into(ctx, attr, &mut element, value)?,
                    }
                    let element = Value::Object(element);
                    if !is_empty_value(&element) {
                        items.push(element);
                        let last = items.len() - 1;
                        enforce_single_primary(attr, items, Some(last));
                    }
                }
                _ => {
                    for &i in &hits {
                        if let Some(Value::Object(m)) = items.get_mut(i) {
                            match sub {
                                Some(sub) => set_sub(ctx, m, sub, value)?,
                                None => merge_into(ctx, attr, m, value)?,
                            }
                        }
                    }
                    items.retain(|it| !is_empty_value(it));
                    let preferred = hits.last().copied().filter(|&i| i < items.len());
                    enforce_single_primary(attr, items, preferred);
                }
            }
        }
    }
    Ok(())
}

/// Sets (or, for `null`/empty, removes) one sub-attribute of a complex value.
fn set_sub(
    ctx: &Ctx<'_>,
    m: &mut Map<String, Value>,
    sub: &AttributeDef,
    value: &Value,
) -> Result<()> {
    canonicalize_key(m, &sub.name);
    if value.is_null() {
        m.shift_remove(&sub.name);
        return Ok(());
    }
    let v = crate::resource::normalize_value(ctx.registry, sub, value.clone())?;
    if v.is_null() {
        m.shift_remove(&sub.name);
    } else {
        m.insert(sub.name.clone(), v);
    }
    Ok(())
}

/// Merges an object value into an element (sub-attributes not named stay).
fn merge_into(
    ctx: &Ctx<'_>,
    attr: &AttributeDef,
    element: &mut Map<String, Value>,
    value: &Value,
) -> Result<()> {
    let Value::Object(entries) = value else {
        return Err(Error::invalid_value(format!(
            "the value for an element of {} must be an object of its sub-attributes",
            attr.name
        )));
    };
    for (k, v) in entries {
        let Some(sub) = attr.sub(k) else {
            continue;
        };
        set_sub(ctx, element, sub, v)?;
    }
    Ok(())
}

fn normalize_items(ctx: &Ctx<'_>, attr: &AttributeDef, value: &Value) -> Result<Vec<Value>> {
    let arr = match value {
        Value::Array(_) => value.clone(),
        other => Value::Array(vec![other.clone()]),
    };
    let items: Vec<Value> = match crate::resource::normalize_value(ctx.registry, attr, arr)? {
        Value::Array(items) => items.into_iter().filter(|v| !is_empty_value(v)).collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let primaries = items
        .iter()
        .filter(|v| v.get("primary").and_then(Value::as_bool) == Some(true))
        .count();
    if primaries > 1 {
        return Err(Error::invalid_value(format!(
            "at most one element of {} may have primary set to true",
            attr.name
        )));
    }
    Ok(items)
}

/// Adds one element, merging it into an equal existing one instead of duplicating it (adding
/// an email or member that is already there is a no-op, as Okta and Entra retries expect).
fn add_element(attr: &AttributeDef, items: &mut Vec<Value>, new: Value) {
    if let Some(pos) = items.iter().position(|it| same_element(attr, it, &new)) {
        if let (Some(Value::Object(cur)), Value::Object(n)) = (items.get_mut(pos), new) {
            for (k, v) in n {
                cur.insert(k, v);
            }
        }
        enforce_single_primary(attr, items, Some(pos));
    } else {
        items.push(new);
        let last = items.len() - 1;
        enforce_single_primary(attr, items, Some(last));
    }
}

/// Two elements are the same when their `value` (and `type`, when both have one) are equal;
/// simple multi-valued attributes compare whole values.
fn same_element(attr: &AttributeDef, a: &Value, b: &Value) -> bool {
    if attr.ty != AttrType::Complex {
        return a == b;
    }
    let (Some(am), Some(bm)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let av = field_ci(am, "value");
    let bv = field_ci(bm, "value");
    if av.is_none() || bv.is_none() {
        return a == b;
    }
    let case_exact = attr.sub("value").is_none_or(|d| d.case_exact);
    let values_equal = match (av.and_then(Value::as_str), bv.and_then(Value::as_str)) {
        (Some(x), Some(y)) if !case_exact => x.to_lowercase() == y.to_lowercase(),
        _ => av == bv,
    };
    let types_conflict = match (field_ci(am, "type"), field_ci(bm, "type")) {
        (Some(x), Some(y)) => x != y,
        _ => false,
    };
    values_equal && !types_conflict
}

/// At most one element may be primary (RFC 7643 §2.4): when one is set primary, the others
/// stop being primary.
fn enforce_single_primary(attr: &AttributeDef, items: &mut [Value], preferred: Option<usize>) {
    if !attr.has_primary() {
        return;
    }
    let is_primary = |v: &Value| v.get("primary").and_then(Value::as_bool) == Some(true);
    let primaries: Vec<usize> = (0..items.len())
        .filter(|&i| is_primary(&items[i]))
        .collect();
    if primaries.len() <= 1 {
        return;
    }
    let keep = preferred
        .filter(|p| primaries.contains(p))
        .or_else(|| primaries.last().copied());
    for i in primaries {
        if Some(i) != keep
            && let Some(Value::Object(m)) = items.get_mut(i)
        {
            m.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// The element a filter of `eq` terms joined by `and` describes (`type eq "work" and primary
/// eq true`), or `None` when the filter can't describe one.
fn template_from_filter(
    ctx: &Ctx<'_>,
    f: &Filter,
    attr: &AttributeDef,
) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    fn walk(
        ctx: &Ctx<'_>,
        f: &Filter,
        attr: &AttributeDef,
        m: &mut Map<String, Value>,
    ) -> Option<()> {
        match f {
            Filter::And(a, b) => {
                walk(ctx, a, attr, m)?;
                walk(ctx, b, attr, m)
            }
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.urn.is_none() && path.sub.is_none() => {
                let sub = attr.sub(&path.name)?;
                let v = match value {
                    Literal::String(s) => Value::String(s.clone()),
                    Literal::Bool(b) => Value::Bool(*b),
                    Literal::Number(n) => Value::Number(n.clone()),
                    Literal::Null => return None,
                };
                let v = crate::resource::normalize_value(ctx.registry, sub, v).ok()?;
                m.insert(sub.name.clone(), v);
                Some(())
            }
            _ => None,
        }
    }
    walk(ctx, f, attr, &mut m)?;
    Some(m)
}

/// Entra sends `manager` as a bare id string, an object, or a one-element array, and "remove
/// the manager" as `""` or `{"value": ""}` (clients.md E10). Any singular complex attribute
/// with a `value` sub-attribute gets the same shorthand.
fn shorthand_complex(attr: &AttributeDef, v: &Value) -> Value {
    if attr.ty != AttrType::Complex || attr.multi_valued || attr.sub("value").is_none() {
        return v.clone();
    }
    let v = match v {
        Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    match v {
        Value::String(s) if s.is_empty() => Value::Null,
        Value::String(s) => {
            let mut m = Map::new();
            m.insert("value".into(), Value::String(s));
            Value::Object(m)
        }
        Value::Object(m) => {
            let empty =
                field_ci(&m, "value").is_some_and(|x| x.is_null() || x.as_str() == Some(""));
            if empty { Value::Null } else { Value::Object(m) }
        }
        other => other,
    }
}

fn is_removal(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn as_array(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

fn field_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    super::request::get_ci(m, key)
}

/// Renames a key that differs from `canonical` only in case, so lookups by canonical name
/// find values a client stored in another case.
fn canonicalize_key(m: &mut Map<String, Value>, canonical: &str) {
    if m.contains_key(canonical) {
        return;
    }
    let other = m
        .keys()
        .find(|k| k.eq_ignore_ascii_case(canonical))
        .cloned();
    if let Some(k) = other
        && let Some(v) = m.shift_remove(&k)
    {
        m.insert(canonical.to_string(), v);
    }
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

/// Top-level attributes (and extension attributes, URN-qualified) whose value differs.
fn changed_attributes(before: &Value, after: &Value, rt: &ResourceType) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let is_ext = |k: &str| rt.schema_extensions.iter().any(|e| e.schema == k);
    for key in b.keys().chain(a.keys()) {
        if key == "schemas" || key == "meta" || out.contains(key.as_str()) {
            continue;
        }
        if is_ext(key) {
            let eb = b.get(key).and_then(Value::as_object).unwrap_or(&empty);
            let ea = a.get(key).and_then(Value::as_object).unwrap_or(&empty);
            for k2 in eb.keys().chain(ea.keys()) {
                if eb.get(k2) != ea.get(k2) {
                    out.insert(format!("{key}:{k2}"));
                }
            }
        } else if b.get(key) != a.get(key) {
            out.insert(key.clone());
        }
    }
    out
}
