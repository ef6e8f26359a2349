//! Deciding what became of the write each client had in flight when the server was killed,
//! from the database as the restarted server will find it. A write may have landed or not,
//! but only whole: the document shows either the state before it (with the version before)
//! or the state after it (with the version after), and anything else is a half-applied write.
//! The decision is recorded in the world, and the exact checks in `verify` then hold every
//! other trace of the write (sync log, outbox, jobs, memberships, counts) to it.

use std::collections::BTreeSet;

use scim_store::{Store, TenantId, groups, members, users};

use crate::model::{GroupDoc, MemberRef, Op, UserDoc, World};

/// What became of in-flight writes, for the run's summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Writes found applied.
    pub applied: u64,
    /// Writes found not applied.
    pub not_applied: u64,
}

/// Resolves `world`'s in-flight write (if any) against `store` and records the outcome.
pub fn resolve(
    world: &mut World,
    store: &Store,
    tenant: &TenantId,
    tally: &mut Tally,
) -> Result<(), String> {
    let Some(op) = world.in_flight.take() else {
        return Ok(());
    };
    let parts = match op {
        Op::Bulk(parts) => parts,
        single => vec![single],
    };
    for part in parts {
        let applied = resolve_one(world, store, tenant, &part)
            .map_err(|e| format!("thread {}: in-flight {}: {e}", world.thread, part.kind()))?;
        if applied {
            tally.applied += 1;
        } else {
            tally.not_applied += 1;
        }
    }
    Ok(())
}

fn db<R>(r: scim_store::Result<R>) -> Result<R, String> {
    r.map_err(|e| format!("store: {e}"))
}

/// Every member of a group, from the membership table.
pub fn member_set(store: &Store, tenant: &TenantId, id: &str) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = db(store.read(|c| members::members(c, tenant, id, after.as_deref(), 500)))?;
        let done = page.len() < 500;
        after = page.last().map(|m| m.value.clone());
        out.extend(page.into_iter().map(|m| m.value));
        if done {
            return Ok(out);
        }
    }
}

/// A group as stored: its tracked attributes, members and version.
pub fn stored_group(
    store: &Store,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<(GroupDoc, i64)>, String> {
    let Some(g) = db(store.read(|c| groups::get(c, tenant, id)))? else {
        return Ok(None);
    };
    let mut doc = GroupDoc::read(&g.resource);
    doc.members = member_set(store, tenant, id)?;
    Ok(Some((doc, g.version)))
}

/// Whether `op` was applied; records it in the world when it was.
fn resolve_one(
    world: &mut World,
    store: &Store,
    tenant: &TenantId,
    op: &Op,
) -> Result<bool, String> {
    match op {
        Op::CreateUser { doc } => {
            let Some(s) = db(store.read(|c| users::by_user_name(c, tenant, &doc.user_name)))?
            else {
                return Ok(false);
            };
            let found = UserDoc::read(&s.resource);
            if found != *doc || s.version != 1 {
                return Err(format!("created as {found:?} v{}, sent {doc:?}", s.version));
            }
            world.user_created(s.id, 1, doc.clone());
            Ok(true)
        }
        Op::UpdateUser { id, after, .. } => {
            let before = world.users[id].clone();
            let rec = db(store.read(|c| users::get_record(c, tenant, id)))?
                .ok_or_else(|| format!("user {id} is gone"))?;
            let found = UserDoc::read(&rec.stored.resource);
            let v = rec.stored.version;
            if found == before.doc && v == before.version {
                Ok(false)
            } else if found == *after && v == before.version + 1 {
                world.user_updated(id, v, after.clone());
                Ok(true)
            } else {
                Err(format!(
                    "user {id} is {found:?} v{v}: neither before ({:?} v{}) nor after ({after:?} v{})",
                    before.doc,
                    before.version,
                    before.version + 1
                ))
            }
        }
        Op::DeleteUser { id } => {
            let hidden = db(store.read(|c| users::is_hidden(c, tenant, id)))?;
            let visible = db(store.read(|c| users::get(c, tenant, id)))?;
            match (hidden, visible) {
                (false, Some(_)) => Ok(false),
                (true, None) => {
                    world.user_deleted(id);
                    Ok(true)
                }
                other => Err(format!("user {id}: hidden/visible {other:?}")),
            }
        }
        Op::CreateGroup {
            name,
            external_id,
            members,
        } => {
            let Some(g) = db(store.read(|c| groups::by_display_name(c, tenant, name)))? else {
                return Ok(false);
            };
            // Members created by the same Bulk request exist if the group does: their creates
            // ran (and committed) before the group's.
            let ids = members
                .iter()
                .map(|m| match m {
                    MemberRef::Id(id) => Some(id.clone()),
                    MemberRef::New(n) => world.user_named(n),
                })
                .collect::<Option<BTreeSet<String>>>()
                .ok_or_else(|| format!("group {name} exists but a member it names does not"))?;
            let want = GroupDoc {
                display_name: name.clone(),
                external_id: external_id.clone(),
                members: ids,
            };
            let (found, v) = stored_group(store, tenant, &g.id)?
                .ok_or_else(|| format!("group {name} vanished"))?;
            if found != want || v != 1 {
                return Err(format!("group {name} is {found:?} v{v}, sent {want:?}"));
            }
            world.group_created(g.id, 1, want);
            Ok(true)
        }
        Op::UpdateGroup {
            id, after, step, ..
        } => {
            let before = world.groups[id].clone();
            let (found, v) =
                stored_group(store, tenant, id)?.ok_or_else(|| format!("group {id} is gone"))?;
            if found == before.doc && v == before.version {
                Ok(false)
            } else if found == *after && v == before.version + 1 {
                world.group_updated(id, v, after.clone(), *step);
                Ok(true)
            } else {
                Err(format!(
                    "group {id} is {found:?} v{v}: neither before ({:?} v{}) nor after ({after:?})",
                    before.doc, before.version
                ))
            }
        }
        Op::DeleteGroup { id } => {
            if stored_group(store, tenant, id)?.is_some() {
                Ok(false)
            } else {
                world.group_deleted(id);
                Ok(true)
            }
        }
        Op::Bulk(_) => Err("nested Bulk".into()),
    }
}
