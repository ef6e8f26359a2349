//! Where the last pages of each tenant's unfiltered lists ended, so the page an importing
//! client asks for next (`startIndex` = previous start + count) is read from that key instead
//! of skipping every earlier entry (see `scim_store::query::PageCursor`). Per instance and
//! bounded: a tenant keeps at most [`PER_TENANT`] cursors per resource type, and a request
//! for which none is kept is answered with OFFSET as before.
//!
//! Also the totals of those lists: counting every user of a tenant costs time proportional to
//! their number (30 ms at 100 000 on SQLite), paid by each page of an import. A total is
//! reused for at most [`TOTAL_TTL`], which bounds how long a change made by another instance
//! or process can go unseen in `totalResults`. A list of fewer than [`EXACT_BELOW`] entries
//! also follows this process's own writes exactly: its total is counted again after any write
//! went through this process's store ([`scim_store::Store::write_generation`]). A larger list
//! keeps its total through them, for the same [`TOTAL_TTL`]: otherwise, with creates and
//! PATCHes arriving while an identity provider imports, as they do in Okta's and Entra's
//! sync cycles, every page recounted the whole tenant (the Okta-like benchmark mix spent a
//! third of its CPU counting and ran 2 000 requests/s, p99 over 150 ms).
//!
//! And page marks (`scim_store::query::user_page_marks`): the key at every [`MARK_EVERY`]-th
//! position, so a page at a random `startIndex` (several importers at once, a client jumping
//! to a page) starts from the mark before it instead of an OFFSET over every earlier entry.
//! Kept under the same rule as totals; read again, by one request at a time, when a page
//! beyond [`MARKS_FROM`] finds none valid. A create adds its entry at the end (ids are UUIDv7,
//! lists run in creation order), so it moves no mark; a delete within the last [`TOTAL_TTL`]
//! can shift a page read from a mark by one entry, as an OFFSET page shifts when an earlier
//! entry goes between two requests (RFC 7644 §3.4.2.4 leaves paging under concurrent change
//! unspecified).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scim_store::TenantId;
use scim_store::query::PageCursor;

use crate::service::list::Kind;

/// Cursors kept per tenant and resource type; several clients paging at once each leave one
/// per page they read.
pub const PER_TENANT: usize = 64;

/// Longest a list total is reused (see the module docs).
pub const TOTAL_TTL: Duration = Duration::from_secs(1);

/// Lists with fewer entries than this keep exact totals and marks across this process's
/// writes (see the module docs); counting them costs under 3 ms.
pub const EXACT_BELOW: u64 = 10_000;

/// Positions between two page marks: a page read from a mark skips fewer than this.
pub const MARK_EVERY: u64 = 100;

/// Offsets below this are read with OFFSET (cheap there) and never ask for marks.
pub const MARKS_FROM: u64 = 1_000;

/// How long one request's reading of the marks keeps others from starting another.
const MARKS_CLAIM: Duration = Duration::from_secs(5);

type Key = (TenantId, bool);

/// A tenant's page marks, with when and at which write generation they were read.
struct Marks {
    cursors: Arc<Vec<PageCursor>>,
    generation: u64,
    at: Instant,
}

/// The cursors of every tenant seen by this instance.
#[derive(Clone, Default)]
pub struct PageCursors {
    map: Arc<Mutex<HashMap<Key, HashMap<u64, PageCursor>>>>,
    totals: Arc<Mutex<HashMap<Key, Total>>>,
    marks: Arc<Mutex<HashMap<Key, Marks>>>,
    /// Tenants whose marks a request is reading, since when.
    claims: Arc<Mutex<HashMap<Key, Instant>>>,
}

/// A list total with when and at which write generation it was counted.
#[derive(Clone, Copy)]
struct Total {
    value: u64,
    generation: u64,
    at: Instant,
}

fn key(tenant: &TenantId, kind: Kind) -> Key {
    (tenant.clone(), kind == Kind::Users)
}

impl PageCursors {
    /// The cursor leading to `offset`, if one is kept.
    pub fn find(&self, tenant: &TenantId, kind: Kind, offset: u64) -> Option<PageCursor> {
        let map = self.map.lock().ok()?;
        map.get(&key(tenant, kind))?.get(&offset).cloned()
    }

    /// Keeps `cursor` (the end of a page just served); a full set is emptied first.
    pub fn keep(&self, tenant: &TenantId, kind: Kind, cursor: PageCursor) {
        if let Ok(mut map) = self.map.lock() {
            let cursors = map.entry(key(tenant, kind)).or_default();
            if cursors.len() >= PER_TENANT {
                cursors.clear();
            }
            cursors.insert(cursor.offset, cursor);
        }
    }

    /// The page mark at or before `offset`, when the tenant's marks are valid at
    /// `generation` (same rule as [`PageCursors::total`]).
    pub fn mark(
        &self,
        tenant: &TenantId,
        kind: Kind,
        offset: u64,
        generation: u64,
    ) -> Option<PageCursor> {
        let k = usize::try_from(offset / MARK_EVERY).ok()?.checked_sub(1)?;
        let marks = self.marks.lock().ok()?;
        let m = marks.get(&key(tenant, kind))?;
        if m.at.elapsed() >= TOTAL_TTL || (m.generation != generation && !large_marks(&m.cursors)) {
            return None;
        }
        m.cursors.get(k).or(m.cursors.last()).cloned()
    }

    /// Whether this request should read the tenant's marks: its page lies beyond
    /// [`MARKS_FROM`] and no other request is reading them. The caller then reads them and
    /// hands them to [`PageCursors::keep_marks`].
    pub fn claim_marks(&self, tenant: &TenantId, kind: Kind, offset: u64) -> bool {
        if offset < MARKS_FROM {
            return false;
        }
        let Ok(mut claims) = self.claims.lock() else {
            return false;
        };
        let k = key(tenant, kind);
        if claims.get(&k).is_some_and(|t| t.elapsed() < MARKS_CLAIM) {
            return false;
        }
        claims.insert(k, Instant::now());
        true
    }

    /// Keeps marks read from write generation `generation`, when no write went through
    /// while they were read (`unchanged`) or the list is large (see the module docs), and lets
    /// the next request claim a reading. `None` (a failed read) keeps nothing.
    pub fn keep_marks(
        &self,
        tenant: &TenantId,
        kind: Kind,
        cursors: Vec<PageCursor>,
        generation: Option<(u64, bool)>,
    ) {
        let k = key(tenant, kind);
        if let Some((generation, unchanged)) = generation
            && (unchanged || large_marks(&cursors))
            && let Ok(mut marks) = self.marks.lock()
        {
            marks.insert(
                k.clone(),
                Marks {
                    cursors: Arc::new(cursors),
                    generation,
                    at: Instant::now(),
                },
            );
        }
        if let Ok(mut claims) = self.claims.lock() {
            claims.remove(&k);
        }
    }

    /// The tenant's unfiltered total, if one younger than [`TOTAL_TTL`] is valid at write
    /// generation `generation`: counted at it, or large (see the module docs).
    pub fn total(&self, tenant: &TenantId, kind: Kind, generation: u64) -> Option<u64> {
        let totals = self.totals.lock().ok()?;
        let t = totals.get(&key(tenant, kind))?;
        let valid = t.generation == generation || t.value >= EXACT_BELOW;
        (valid && t.at.elapsed() < TOTAL_TTL).then_some(t.value)
    }

    /// Keeps a total just counted from write generation `generation`, when no write went
    /// through while it was counted (`unchanged`) or the list is large. Its [`TOTAL_TTL`]
    /// starts now; a total served from here is never kept again, so reuse can't extend it.
    pub fn keep_total(
        &self,
        tenant: &TenantId,
        kind: Kind,
        value: u64,
        generation: u64,
        unchanged: bool,
    ) {
        if !(unchanged || value >= EXACT_BELOW) {
            return;
        }
        if let Ok(mut totals) = self.totals.lock() {
            totals.insert(
                key(tenant, kind),
                Total {
                    value,
                    generation,
                    at: Instant::now(),
                },
            );
        }
    }
}

/// Whether marks describe a list of at least [`EXACT_BELOW`] entries (one mark per
/// [`MARK_EVERY`]).
fn large_marks(cursors: &[PageCursor]) -> bool {
    (cursors.len() as u64).saturating_mul(MARK_EVERY) >= EXACT_BELOW
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId("t1".to_string())
    }

    #[test]
    fn a_small_total_follows_every_write_and_a_large_one_only_its_time_to_live() {
        let c = PageCursors::default();
        let t = tenant();
        // Counted while a write went through: a small total is not kept at all.
        c.keep_total(&t, Kind::Users, 500, 5, false);
        assert_eq!(c.total(&t, Kind::Users, 5), None);
        c.keep_total(&t, Kind::Users, 500, 5, true);
        assert_eq!(c.total(&t, Kind::Users, 5), Some(500));
        assert_eq!(c.total(&t, Kind::Users, 6), None, "a write went through");
        // Groups are kept apart from users.
        assert_eq!(c.total(&t, Kind::Groups, 5), None);

        c.keep_total(&t, Kind::Users, EXACT_BELOW, 7, false);
        assert_eq!(c.total(&t, Kind::Users, 7), Some(EXACT_BELOW));
        assert_eq!(c.total(&t, Kind::Users, 90), Some(EXACT_BELOW));
        std::thread::sleep(TOTAL_TTL + Duration::from_millis(50));
        assert_eq!(c.total(&t, Kind::Users, 7), None, "older than TOTAL_TTL");
    }
}
