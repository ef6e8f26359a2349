//! Organizations this process knows to exist, per tenant.
//!
//! Every create asks whether the organization its rules would give the new user exists: one
//! key lookup on the SQLite writer thread, which every write of the process waits on, and one
//! round trip on PostgreSQL. Once the answer is yes it stays yes: organizations are only ever
//! created (`scim_store::entitlements::ensure_organizations`, when settings are saved or an
//! attribute names a new one), never deleted or renamed, and a tenant's id is never reused.
//! So a name here is true on every instance sharing the database, however old the entry.
//!
//! Only a write that has committed adds a name (the create's caller, after `Store::write`
//! answered success), so a transaction that created an organization and then rolled back
//! leaves nothing behind. A name not here is simply looked up, so the set may be partial:
//! it stops growing at [`KnownOrganizations::LIMIT`] names.
//!
//! Were organizations ever deleted, this set would have to forget them first.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use scim_store::TenantId;

/// The set (see the module).
#[derive(Debug, Default)]
pub struct KnownOrganizations {
    names: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    by_tenant: HashMap<TenantId, HashSet<String>>,
    count: usize,
}

impl KnownOrganizations {
    /// The most names kept in all: far more than the organizations a tenant has (a handful
    /// to a few hundred), and a bound on memory if some tenant names one per user.
    pub const LIMIT: usize = 10_000;

    /// Which of `names` the tenant is known to have.
    pub fn among(&self, tenant: &TenantId, names: &[String]) -> BTreeSet<String> {
        let known = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(set) = known.by_tenant.get(tenant) else {
            return BTreeSet::new();
        };
        names.iter().filter(|n| set.contains(*n)).cloned().collect()
    }

    /// Records that the tenant has organization `name`, which a committed write showed. A
    /// blank name (a user given no organization) is not one.
    pub fn add(&self, tenant: &TenantId, name: &str) {
        if name.trim().is_empty() {
            return;
        }
        let mut known = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        if known.count >= Self::LIMIT {
            return;
        }
        let fresh = known
            .by_tenant
            .entry(tenant.clone())
            .or_default()
            .insert(name.to_string());
        if fresh {
            known.count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId(s.to_string())
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn knows_only_what_was_added_for_that_tenant() {
        let k = KnownOrganizations::default();
        assert!(k.among(&t("a"), &names(&["Default"])).is_empty());
        k.add(&t("a"), "Default");
        k.add(&t("a"), "  ");
        assert_eq!(
            k.among(&t("a"), &names(&["Default", "Sales", " "])),
            BTreeSet::from(["Default".to_string()])
        );
        assert!(k.among(&t("b"), &names(&["Default"])).is_empty());
    }

    #[test]
    fn stops_growing_at_its_limit() {
        let k = KnownOrganizations::default();
        for i in 0..KnownOrganizations::LIMIT + 5 {
            k.add(&t("a"), &format!("org-{i}"));
        }
        // Adding a name it has doesn't count twice.
        k.add(&t("a"), "org-0");
        let all: Vec<String> = (0..KnownOrganizations::LIMIT + 5)
            .map(|i| format!("org-{i}"))
            .collect();
        assert_eq!(k.among(&t("a"), &all).len(), KnownOrganizations::LIMIT);
        assert!(k.among(&t("a"), &names(&["org-10004"])).is_empty());
    }
}
