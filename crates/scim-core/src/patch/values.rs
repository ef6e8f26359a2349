//! Value-level PATCH work: multi-valued elements, sub-attributes, `primary`, and the
//! shorthand forms clients use for complex values.

use serde_json::{Map, Value};

use super::apply::Ctx;
use super::request::PatchOp;
use crate::error::{Error, Result};
use crate::filter::{CompareOp, Filter, Literal, eval::matches_element};
use crate::schema::{AttrType, AttributeDef, Resolved};

/// add/replace/remove on a singular attribute (simple or complex, with or without a sub-attribute).
pub(super) fn singular(
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
            set_sub(ctx, object_entry(container, name)?, sub, v)?;
        }
    }
    Ok(())
}

/// add/replace/remove on a multi-valued attribute, keeping its position in the document.
pub(super) fn multi(
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

pub(super) fn multi_items(
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
pub(super) fn set_sub(
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
pub(super) fn merge_into(
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

pub(super) fn normalize_items(
    ctx: &Ctx<'_>,
    attr: &AttributeDef,
    value: &Value,
) -> Result<Vec<Value>> {
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
pub(super) fn add_element(attr: &AttributeDef, items: &mut Vec<Value>, new: Value) {
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
pub(super) fn same_element(attr: &AttributeDef, a: &Value, b: &Value) -> bool {
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
pub(super) fn enforce_single_primary(
    attr: &AttributeDef,
    items: &mut [Value],
    preferred: Option<usize>,
) {
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
pub(super) fn template_from_filter(
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
pub(super) fn shorthand_complex(attr: &AttributeDef, v: &Value) -> Value {
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

pub(super) fn is_removal(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

pub(super) fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

pub(super) fn as_array(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

pub(super) fn field_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    crate::json::get_ci(m, key)
}

/// Renames a key that differs from `canonical` only in case, so lookups by canonical name
/// find values a client stored in another case.
pub(super) fn canonicalize_key(m: &mut Map<String, Value>, canonical: &str) {
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

/// The object under `key`, created (or replacing a non-object) when needed: the parent of a
/// sub-attribute or extension attribute being written.
pub(super) fn object_entry<'m>(
    m: &'m mut Map<String, Value>,
    key: &str,
) -> Result<&'m mut Map<String, Value>> {
    let slot = m
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
        .ok_or_else(|| Error::invalid_value(format!("{key} must be an object")))
}
