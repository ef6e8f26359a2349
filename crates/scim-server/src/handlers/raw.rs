//! Responses copied from a resource's stored JSON text instead of parsed into a `Value`,
//! stamped, projected and serialised again. A page of 100 users spent most of its time in the
//! allocator doing exactly that (perf, BENCHMARKS.md "Lists"); here the stored text is split
//! into its top-level entries (values left unparsed, borrowed from the text) and each entry
//! the projection keeps whole is copied as it is.
//!
//! The bytes are the ones the parsing path ([`render_user_doc`](super::users::render_user_doc)
//! then [`Projection::apply`]) would produce for text that serde_json wrote: `schemas`, `id`,
//! the stored entries in order, `meta`, `groups`. Whenever the projection needs to look inside
//! a value (`attributes=name.givenName`, an extension with `returned: request` attributes), an
//! extension URN would have to be pruned from `schemas`, or the text holds keys the server
//! stamps itself, [`user_bytes`] answers `None` and the caller takes the parsing path.

use std::borrow::Cow;
use std::fmt;

use scim_core::projection::{KeyPlan, Projection};
use scim_core::schema::ResourceType;
use scim_store::RawResource;
use scim_store::members::GroupRef;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::common::meta_of;
use super::users::groups_value;

/// The projected User as JSON bytes, or `None` when the parsing path must answer (see the
/// module docs).
pub fn user_bytes(
    rt: &ResourceType,
    raw: &RawResource,
    groups: &[GroupRef],
    base: &str,
    projection: &Projection,
) -> Option<Vec<u8>> {
    let Entries(entries) = serde_json::from_str(&raw.text).ok()?;
    let mut schemas: Option<&RawValue> = None;
    let mut kept: Vec<(&str, &RawValue)> = Vec::with_capacity(entries.len());
    for (key, value) in &entries {
        let key: &str = key;
        if ["id", "meta", "groups"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
        {
            return None;
        }
        if key == "schemas" {
            schemas = Some(value);
            continue;
        }
        match projection.key_plan(key) {
            KeyPlan::Keep => kept.push((key, value)),
            KeyPlan::Drop => {}
            KeyPlan::Partial => return None,
        }
    }
    // `apply` drops an extension's URN from `schemas` when its object is not returned; the
    // copy only serves documents where that changes nothing.
    if let Some(list) = schemas {
        let urns: Vec<Cow<'_, str>> = serde_json::from_str(list.get()).ok()?;
        let unreturned = urns.iter().any(|urn| {
            projection.is_extension(urn) && !kept.iter().any(|(k, _)| k.eq_ignore_ascii_case(urn))
        });
        if unreturned {
            return None;
        }
    }
    let mut out = Vec::with_capacity(raw.text.len() + 256);
    out.push(b'{');
    if let Some(list) = schemas {
        out.extend_from_slice(b"\"schemas\":");
        out.extend_from_slice(list.get().as_bytes());
        out.push(b',');
    }
    out.extend_from_slice(b"\"id\":");
    serde_json::to_writer(&mut out, &raw.id).ok()?;
    for (key, value) in kept {
        out.push(b',');
        serde_json::to_writer(&mut out, key).ok()?;
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
    }
    match projection.key_plan("meta") {
        KeyPlan::Keep => {
            let meta = meta_of(
                rt,
                &raw.id,
                raw.version,
                (raw.created_at, raw.updated_at),
                base,
            );
            out.extend_from_slice(b",\"meta\":");
            meta.write_json(&mut out);
        }
        KeyPlan::Drop => {}
        KeyPlan::Partial => return None,
    }
    if !groups.is_empty() {
        match projection.key_plan("groups") {
            KeyPlan::Keep => {
                out.extend_from_slice(b",\"groups\":");
                serde_json::to_writer(&mut out, &groups_value(groups, base)).ok()?;
            }
            KeyPlan::Drop => {}
            KeyPlan::Partial => return None,
        }
    }
    out.push(b'}');
    Some(out)
}

/// The top-level entries of a JSON object in order, values unparsed and borrowed.
struct Entries<'a>(Vec<(Key<'a>, &'a RawValue)>);

/// An object key, borrowed unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl std::ops::Deref for Key<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(entry) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
#[path = "raw_tests.rs"]
mod tests;
