//! Resource documents: turning client JSON into the canonical document core stores
//! ([`prepare`]), checking documents ([`validate`]), and the server-maintained `id`/`meta`
//! ([`stamp`], [`etag`]).
//!
//! Documents stay `serde_json::Value` so that declared-but-unusual extension data round-trips
//! verbatim; the schema table decides names, types and mutability. A canonical document has
//! every attribute name in its declared case, extension attributes under their canonical URN
//! key, booleans as JSON booleans, multi-valued attributes as arrays, no `null`, `[]` or `{}`
//! values (RFC 7643 §2.5: unassigned is simply absent), and a `schemas` list that matches the
//! extension objects present. Values are otherwise stored as sent (clients.md E20).

mod meta;
mod normalize;
mod validate;

use serde_json::{Map, Value};

pub use meta::{Meta, etag, parse_etag, push_datetime, stamp};
pub use validate::{sync_schemas, validate};

use crate::error::{Error, Result};
use crate::json::{get_ci, take};
use crate::schema::{
    AttrType, AttributeDef, Mutability, ResolvedKey, ResourceType, Schema, SchemaRegistry,
};
use normalize::{Ctx, is_unassigned, normalize_attr};

/// Create (POST) or Replace (PUT): decides how readOnly and immutable input is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// A new resource: readOnly input is dropped, immutable attributes may be set.
    Create,
    /// A full replacement of a stored resource: readOnly values come from the stored
    /// document, immutable attributes must keep their stored value.
    Replace,
}

/// Turns a client's JSON into the canonical document core stores (see the module docs).
///
/// Leniency, chosen because Okta and Entra send these (clients.md E2, E11, E12, E20, E21):
/// - `schemas` is never trusted: it is rebuilt from the extension objects present, so missing,
///   foreign (`http://schemas.microsoft.com/…`) or malformed URNs never fail a request.
/// - Names match in any case and are rewritten to the declared case, also inside
///   sub-attributes and extension objects (whose URN key is rewritten too).
/// - A top-level URN-qualified key (`urn:…:enterprise:2.0:User:department`) or dotted key
///   (`name.givenName`) is moved to where it belongs. When two keys address the same
///   attribute, the later key wins.
/// - Attributes nobody declared for this resource type (unknown names, attributes of
///   unregistered schemas) are dropped silently: Entra sends extras, and rejecting them would
///   block provisioning over data we would not store anyway.
/// - `null`, `[]` and `{}` mean unassigned and are removed (also inside sub-attributes).
/// - `"True"`/`"False"` in any case become booleans; a single value for a multi-valued
///   attribute is wrapped into an array; a bare string for a complex attribute with a `value`
///   sub-attribute becomes `{"value": …}`. Every other type mismatch (a number for a string, a
///   string for an integer, an array for a singular attribute, a malformed dateTime) is an
///   `invalidValue` naming the attribute and the expected type.
///
/// Mutability (RFC 7644 §3.5.1): readOnly input (`id`, `meta`, User `groups`, readOnly
/// sub-attributes such as `manager.displayName`, readOnly custom attributes) is ignored; on
/// [`WriteMode::Replace`] the stored top-level readOnly values are carried over from
/// `existing`, so a PUT that echoes our response keeps `groups`. Immutable singular attributes
/// (top-level, or sub-attributes of a singular complex attribute) must keep their stored value
/// on Replace (`mutability` error otherwise) and are carried over when the PUT omits them;
/// elements of multi-valued attributes (Group `members`) may be added and removed freely.
/// Replace without `existing` behaves like Create.
///
/// writeOnly values (`password`) are kept in the returned document: the server hashes and
/// strips them before storage, and projection never returns them.
///
/// The result passed [`validate`]; its attributes are in schema order (`schemas`, `id`,
/// `externalId`, core attributes, extension objects, `meta`).
pub fn prepare(
    registry: &SchemaRegistry,
    rt: &ResourceType,
    input: Value,
    mode: WriteMode,
    existing: Option<&Value>,
) -> Result<Value> {
    let Value::Object(input) = input else {
        return Err(Error::InvalidSyntax(format!(
            "a {} resource must be a JSON object",
            rt.name
        )));
    };
    let mut staged = Staging::new(registry, rt, input.len());
    for (key, value) in input {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        match registry.resolve_key(rt, &key) {
            Some(ResolvedKey::Schema(schema)) => staged.place_object(rt, schema, value)?,
            Some(ResolvedKey::Attr(r)) => {
                let urn = r.extension_urn();
                let parent = urn.map(Ctx::root);
                let ctx = match &parent {
                    Some(p) => p.child(&r.attr.name),
                    None => Ctx::root(&r.attr.name),
                };
                let Some(target) = staged.target(urn) else {
                    continue;
                };
                match r.sub {
                    None => place(target, r.attr, value, &ctx)?,
                    Some(sub) => place_sub(target, r.attr, sub, value, &ctx)?,
                }
            }
            // Unknown names and attributes of schemas not registered for this type.
            None => {}
        }
    }
    let existing = match mode {
        WriteMode::Replace => existing.and_then(Value::as_object),
        WriteMode::Create => None,
    };
    let Staging { mut top, exts } = staged;
    let mut out = Map::with_capacity(top.len() + 2);
    out.insert("schemas".into(), Value::Array(Vec::new()));
    let common = registry.common_attributes();
    let core = registry
        .schemas_of(rt)
        .filter(|s| s.id.eq_ignore_ascii_case(&rt.schema))
        .flat_map(|s| s.attributes.iter());
    for attr in common.iter().filter(|a| a.name != "meta").chain(core) {
        let old = existing.and_then(|m| get_ci(m, &attr.name));
        finish(
            &mut out,
            attr,
            take(&mut top, &attr.name),
            old,
            &Ctx::root(&attr.name),
        )?;
    }
    for (schema, mut input_ext) in exts {
        let old_ext = existing
            .and_then(|m| get_ci(m, &schema.id))
            .and_then(Value::as_object);
        let mut ext = Map::with_capacity(input_ext.len());
        let parent = Ctx::root(&schema.id);
        for attr in &schema.attributes {
            let old = old_ext.and_then(|m| get_ci(m, &attr.name));
            let v = take(&mut input_ext, &attr.name);
            finish(&mut ext, attr, v, old, &parent.child(&attr.name))?;
        }
        if !ext.is_empty() {
            out.insert(schema.id.clone(), Value::Object(ext));
        }
    }
    for attr in common.iter().filter(|a| a.name == "meta") {
        let old = existing.and_then(|m| get_ci(m, &attr.name));
        finish(
            &mut out,
            attr,
            take(&mut top, &attr.name),
            old,
            &Ctx::root(&attr.name),
        )?;
    }
    let mut doc = Value::Object(out);
    sync_schemas(registry, rt, &mut doc);
    validate(registry, rt, &doc)?;
    Ok(doc)
}

/// Canonicalizes names and coerces one attribute's value without any required-attribute
/// check, for PATCH to run on operation values before applying them: canonical sub-attribute
/// names from any case (`"Primary"` → `primary`, `"Manager": {"Value": …}` → `{"value": …}`),
/// `"True"`/`"False"` → booleans, a single value wrapped for multi-valued attributes, a bare
/// string wrapped into `{"value": …}` for complex attributes with a `value` sub-attribute, and
/// `null`/`[]`/`{}` removed inside complex values. A `null` value itself comes back as `null`
/// (unassigned) and an empty array comes back empty, so the caller can tell "clear" apart.
/// Type mismatches are `invalidValue` errors naming the attribute. Mutability is not
/// checked: that depends on the operation, which only the caller knows.
///
/// `registry` is taken so that callers need not change when reference values get resolved
/// against it; today the definition alone decides.
pub fn normalize_value(
    registry: &SchemaRegistry,
    attr: &AttributeDef,
    value: Value,
) -> Result<Value> {
    let _ = registry;
    normalize_attr(attr, value, &Ctx::root(&attr.name))
}

/// Input sorted by destination while names are resolved: top-level attributes, and one object
/// per extension schema of the resource type (in the type's order).
struct Staging<'r> {
    top: Map<String, Value>,
    exts: Vec<(&'r Schema, Map<String, Value>)>,
}

impl<'r> Staging<'r> {
    fn new(registry: &'r SchemaRegistry, rt: &'r ResourceType, capacity: usize) -> Self {
        let exts = registry
            .schemas_of(rt)
            .filter(|s| !s.id.eq_ignore_ascii_case(&rt.schema))
            .map(|s| (s, Map::new()))
            .collect();
        Staging {
            top: Map::with_capacity(capacity),
            exts,
        }
    }

    /// Where attributes of the extension `urn` (or of the core schema, for `None`) go.
    fn target(&mut self, urn: Option<&str>) -> Option<&mut Map<String, Value>> {
        match urn {
            None => Some(&mut self.top),
            Some(urn) => self
                .exts
                .iter_mut()
                .find(|(s, _)| s.id.eq_ignore_ascii_case(urn))
                .map(|(_, m)| m),
        }
    }

    /// A whole schema object: `"urn:…:enterprise:2.0:User": {…}` (or, rarely, the core URN).
    fn place_object(&mut self, rt: &ResourceType, schema: &Schema, value: Value) -> Result<()> {
        let is_core = schema.id.eq_ignore_ascii_case(&rt.schema);
        let urn = (!is_core).then_some(schema.id.as_str());
        let Some(target) = self.target(urn) else {
            return Ok(());
        };
        let parent = Ctx::root(&schema.id);
        match value {
            Value::Null => {
                if !is_core {
                    target.clear();
                }
                Ok(())
            }
            Value::Object(map) => {
                for (key, v) in map {
                    if let Some(attr) = schema.attribute(&key) {
                        place(target, attr, v, &parent.child(&attr.name))?;
                    }
                }
                Ok(())
            }
            _ => Err(Error::invalid_value(format!(
                "the {} extension must be a JSON object",
                schema.id
            ))),
        }
    }
}

/// Normalizes a whole attribute value into `target` (removing it when unassigned).
fn place(
    target: &mut Map<String, Value>,
    attr: &AttributeDef,
    value: Value,
    ctx: &Ctx<'_>,
) -> Result<()> {
    let v = normalize_attr(attr, value, ctx)?;
    if is_unassigned(&v) {
        target.remove(&attr.name);
    } else {
        target.insert(attr.name.clone(), v);
    }
    Ok(())
}

/// A dotted key (`name.givenName`): merged into the singular complex attribute.
fn place_sub(
    target: &mut Map<String, Value>,
    attr: &AttributeDef,
    sub: &AttributeDef,
    value: Value,
    ctx: &Ctx<'_>,
) -> Result<()> {
    if attr.multi_valued {
        return Err(Error::invalid_value(format!(
            "attribute {ctx}.{} can't be set on its own: send {ctx} as an array of objects",
            sub.name
        )));
    }
    let v = normalize_attr(sub, value, &ctx.child(&sub.name))?;
    let slot = target
        .entry(attr.name.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(m) = slot {
        if is_unassigned(&v) {
            m.remove(&sub.name);
        } else {
            m.insert(sub.name.clone(), v);
        }
    }
    Ok(())
}

/// Applies mutability to one attribute's (normalized) input and writes the outcome into `out`.
/// `old` is the stored value, present only on Replace.
fn finish(
    out: &mut Map<String, Value>,
    attr: &AttributeDef,
    input: Option<Value>,
    old: Option<&Value>,
    ctx: &Ctx<'_>,
) -> Result<()> {
    let value = match attr.mutability {
        Mutability::ReadOnly => old.cloned(),
        Mutability::Immutable if !attr.multi_valued => keep_immutable(attr, input, old, ctx)?,
        _ => match input {
            Some(v) => Some(sub_mutability(attr, v, old, ctx)?),
            None => None,
        },
    };
    if let Some(v) = value
        && !is_unassigned(&v)
    {
        out.insert(attr.name.clone(), v);
    }
    Ok(())
}

/// An immutable value may be set once: a different value than the stored one is refused, an
/// omitted one is carried over (omitting it would otherwise clear it, which is a change too).
fn keep_immutable(
    attr: &AttributeDef,
    input: Option<Value>,
    old: Option<&Value>,
    ctx: &Ctx<'_>,
) -> Result<Option<Value>> {
    match (input, old) {
        (Some(new), Some(old)) if !is_unassigned(old) => {
            if same_value(attr, &new, old) {
                Ok(Some(old.clone()))
            } else {
                Err(Error::Mutability(format!(
                    "attribute {ctx} is immutable and can't be changed from its stored value"
                )))
            }
        }
        (None, Some(old)) => Ok(Some(old.clone())),
        (new, _) => Ok(new),
    }
}

/// readOnly sub-attributes are ignored in input; immutable sub-attributes of a singular complex
/// value keep their stored value. Elements of multi-valued attributes may be added and removed
/// freely, so their immutable sub-attributes are not compared.
fn sub_mutability(
    attr: &AttributeDef,
    value: Value,
    old: Option<&Value>,
    ctx: &Ctx<'_>,
) -> Result<Value> {
    if attr.ty != AttrType::Complex
        || attr
            .sub_attributes
            .iter()
            .all(|s| matches!(s.mutability, Mutability::ReadWrite | Mutability::WriteOnly))
    {
        return Ok(value);
    }
    let strip = |m: &mut Map<String, Value>| {
        for sub in &attr.sub_attributes {
            if sub.mutability == Mutability::ReadOnly {
                take(m, &sub.name);
            }
        }
    };
    match value {
        Value::Array(mut items) => {
            for item in &mut items {
                if let Value::Object(m) = item {
                    strip(m);
                }
            }
            items.retain(|v| !is_unassigned(v));
            Ok(Value::Array(items))
        }
        Value::Object(mut m) => {
            strip(&mut m);
            let old = old.and_then(Value::as_object);
            for sub in &attr.sub_attributes {
                if sub.mutability != Mutability::Immutable {
                    continue;
                }
                let stored = old.and_then(|o| get_ci(o, &sub.name));
                let kept =
                    keep_immutable(sub, take(&mut m, &sub.name), stored, &ctx.child(&sub.name))?;
                if let Some(v) = kept {
                    m.insert(sub.name.clone(), v);
                }
            }
            Ok(Value::Object(m))
        }
        other => Ok(other),
    }
}

/// Equality as SCIM compares values: strings of non-caseExact attributes ignore case.
fn same_value(attr: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if !attr.case_exact => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// The server-assigned `id`.
pub fn id(doc: &Value) -> Option<&str> {
    doc.get("id")?.as_str()
}

/// The User's `userName` (the store keeps it as sent and indexes a case-folded copy).
pub fn user_name(doc: &Value) -> Option<&str> {
    doc.get("userName")?.as_str()
}

/// `displayName`: the Group's unique name, or the User's display name.
pub fn display_name(doc: &Value) -> Option<&str> {
    doc.get("displayName")?.as_str()
}

/// The client's `externalId` (Entra's default matching attribute, clients.md E13).
pub fn external_id(doc: &Value) -> Option<&str> {
    doc.get("externalId")?.as_str()
}

/// The User's `active` flag; `None` when the client never set it (the caller picks the
/// default, because whether an absent flag means active is a provisioning policy).
pub fn active(doc: &Value) -> Option<bool> {
    doc.get("active")?.as_bool()
}

/// The version number in `meta.version`, read back through [`parse_etag`].
pub fn version(doc: &Value) -> Option<u64> {
    parse_etag(doc.get("meta")?.get("version")?.as_str()?)
}

/// Top-level attributes (and extension attributes, URN-qualified: `urn:…:User:manager`) whose
/// value differs between two documents: what a PATCH or PUT changed, for the store, the sync
/// log and policy. `schemas` and `meta` are bookkeeping and never reported.
pub fn changed_attributes(
    before: &Value,
    after: &Value,
    rt: &ResourceType,
) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let empty = serde_json::Map::new();
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
