//! Where the last pages of each tenant's unfiltered lists ended, so the page an importing
//! client asks for next (`startIndex` = previous start + count) is read from that key instead
//! of skipping every earlier entry (see `scim_store::query::PageCursor`). Per instance and
//! bounded: a tenant keeps at most [`PER_TENANT`] cursors per resource type, and a request
//! for which none is kept is answered with OFFSET as before.
//!
//! Also the totals of those lists: counting every user of a tenant costs time proportional to
//! their number (30 ms at 100 000 on SQLite), paid by each page of an import. A total is
//! reused for at most [`TOTAL_TTL`], which bounds how long a change made by another instance
//! or process can go unseen in `totalResults` (for a large list, [`TOTAL_TTL`] plus
//! [`STALE_GRACE`]: see below). A list of fewer than [`EXACT_BELOW`] entries
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
//!
//! When a large list's total or marks pass [`TOTAL_TTL`], one request counts or reads them
//! again and the others go on with the old ones meanwhile, for at most [`STALE_GRACE`] more.
//! Before, every request that arrived during the recount counted too: with 16 importers on
//! 100 000 users, each second's expiry cost 16 counts of 30 ms, and list pages ran at
//! 2 033/s with p99 45 ms; without the recounts, 2 357/s with p99 17 ms (BENCHMARKS.md
//! "session 7"). Small lists keep their exact rules and are never served old.

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

/// How long past [`TOTAL_TTL`] a large list's total and marks are still served while one
/// request counts or reads them again (see the module docs); past it every request counts.
pub const STALE_GRACE: Duration = TOTAL_TTL;

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
    /// Tenants whose total a request is counting again, since when.
    recounts: Arc<Mutex<HashMap<Key, Instant>>>,
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
        let i = usize::try_from(offset / MARK_EVERY).ok()?.checked_sub(1)?;
        let k = key(tenant, kind);
        let marks = self.marks.lock().ok()?;
        let m = marks.get(&k)?;
        let large = large_marks(&m.cursors);
        if m.generation != generation && !large {
            return None;
        }
        // Old marks of a large list serve while another request reads new ones.
        if m.at.elapsed() >= TOTAL_TTL
            && !(large && within_grace(m.at) && held(&self.claims, &k, MARKS_CLAIM))
        {
            return None;
        }
        m.cursors.get(i).or(m.cursors.last()).cloned()
    }

    /// Whether this request should read the tenant's marks: its page lies beyond
    /// [`MARKS_FROM`] and no other request is reading them. The caller then reads them and
    /// hands them to [`PageCursors::keep_marks`].
    pub fn claim_marks(&self, tenant: &TenantId, kind: Kind, offset: u64) -> bool {
        if offset < MARKS_FROM {
            return false;
        }
        claim(&self.claims, key(tenant, kind), MARKS_CLAIM)
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
    /// generation `generation`: counted at it, or large (see the module docs). A large total
    /// past its time, within [`STALE_GRACE`], is answered to every request but one: that one
    /// gets `None`, counts, and hands the count to [`PageCursors::keep_total`].
    pub fn total(&self, tenant: &TenantId, kind: Kind, generation: u64) -> Option<u64> {
        let k = key(tenant, kind);
        let t = *self.totals.lock().ok()?.get(&k)?;
        let large = t.value >= EXACT_BELOW;
        if !(t.generation == generation || large) {
            return None;
        }
        if t.at.elapsed() < TOTAL_TTL {
            return Some(t.value);
        }
        if !large || !within_grace(t.at) {
            return None;
        }
        // The one that takes the recount counts; the others keep the old total meanwhile.
        if claim(&self.recounts, k, STALE_GRACE) {
            None
        } else {
            Some(t.value)
        }
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
        let k = key(tenant, kind);
        if let Ok(mut recounts) = self.recounts.lock() {
            recounts.remove(&k);
        }
        if !(unchanged || value >= EXACT_BELOW) {
            return;
        }
        if let Ok(mut totals) = self.totals.lock() {
            totals.insert(
                k,
                Total {
                    value,
                    generation,
                    at: Instant::now(),
                },
            );
        }
    }
}

/// Whether something kept `at` is past [`TOTAL_TTL`] by less than [`STALE_GRACE`] (or not
/// past it at all).
fn within_grace(at: Instant) -> bool {
    at.elapsed() < TOTAL_TTL + STALE_GRACE
}

/// Whether a request holds `claims`' claim on `k`, taken less than `lasts` ago.
fn held(claims: &Mutex<HashMap<Key, Instant>>, k: &Key, lasts: Duration) -> bool {
    claims
        .lock()
        .is_ok_and(|c| c.get(k).is_some_and(|since| since.elapsed() < lasts))
}

/// Takes `claims`' claim on `k` for this request, unless another holds one ([`held`]);
/// whether it was taken. Marks and recounts are claimed alike.
fn claim(claims: &Mutex<HashMap<Key, Instant>>, k: Key, lasts: Duration) -> bool {
    let Ok(mut c) = claims.lock() else {
        return false;
    };
    if c.get(&k).is_some_and(|since| since.elapsed() < lasts) {
        return false;
    }
    c.insert(k, Instant::now());
    true
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

    #[test]
    fn an_expired_large_total_is_recounted_by_one_request_while_the_others_keep_it() {
        let c = PageCursors::default();
        let t = tenant();
        c.keep_total(&t, Kind::Users, 50_000, 1, true);
        c.keep_total(&t, Kind::Groups, 500, 1, true);
        std::thread::sleep(TOTAL_TTL + Duration::from_millis(50));
        // The first request after the expiry counts; the others get the old total meanwhile.
        assert_eq!(c.total(&t, Kind::Users, 2), None, "the first one counts");
        assert_eq!(c.total(&t, Kind::Users, 2), Some(50_000));
        assert_eq!(c.total(&t, Kind::Users, 3), Some(50_000));
        // A small list is never served old, recount or not.
        assert_eq!(c.total(&t, Kind::Groups, 1), None);
        assert_eq!(c.total(&t, Kind::Groups, 1), None);
        // The count arrives: fresh again, and the next expiry has a new counter.
        c.keep_total(&t, Kind::Users, 50_001, 3, false);
        assert_eq!(c.total(&t, Kind::Users, 4), Some(50_001));
        // Past the grace the old total is no longer served, even while one is counting.
        std::thread::sleep(TOTAL_TTL + STALE_GRACE + Duration::from_millis(50));
        assert_eq!(c.total(&t, Kind::Users, 4), None);
        assert_eq!(c.total(&t, Kind::Users, 4), None);
    }

    #[test]
    fn expired_marks_of_a_large_list_serve_only_while_a_request_reads_new_ones() {
        let c = PageCursors::default();
        let t = tenant();
        let n = usize::try_from(EXACT_BELOW / MARK_EVERY).unwrap_or(100);
        let marks: Vec<PageCursor> = (1..=n)
            .map(|i| {
                let offset = i as u64 * MARK_EVERY;
                PageCursor::new(offset, chrono::NaiveDateTime::default(), format!("u{i}"))
            })
            .collect();
        c.keep_marks(&t, Kind::Users, marks, Some((1, true)));
        let at = |c: &PageCursors| c.mark(&t, Kind::Users, 5 * MARK_EVERY, 9).map(|m| m.offset);
        assert_eq!(at(&c), Some(5 * MARK_EVERY), "large: valid across writes");
        std::thread::sleep(TOTAL_TTL + Duration::from_millis(50));
        assert_eq!(at(&c), None, "expired, and nobody is reading new ones");
        assert!(c.claim_marks(&t, Kind::Users, MARKS_FROM));
        assert_eq!(at(&c), Some(5 * MARK_EVERY), "served while they are read");
        assert!(
            !c.claim_marks(&t, Kind::Users, MARKS_FROM),
            "one reader at a time"
        );
        std::thread::sleep(STALE_GRACE);
        assert_eq!(at(&c), None, "past the grace");
    }
}
