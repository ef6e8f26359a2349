//! The tenants' policy settings, cached per instance for [`TTL`]. Every user write needs
//! them (validation, password sync, deactivation delay, mappings); reading and parsing the
//! tenant row per request cost about a tenth of a create's CPU. A change made through this
//! instance's admin API applies at once ([`SettingsCache::forget`]); one made through another
//! instance or the CLI applies within [`TTL`], the same bound as token revocation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scim_core::policy::PolicySettings;
use scim_store::{Store, TenantId};

use crate::error::ApiError;
use crate::service::lifecycle::policy_settings;

/// How long a tenant's settings are trusted before they are read again.
pub const TTL: Duration = Duration::from_secs(1);

/// A tenant's settings and when they were read.
type Entry = (Instant, Arc<PolicySettings>);

/// Per-tenant settings with the time they were read.
#[derive(Clone, Default)]
pub struct SettingsCache {
    entries: Arc<Mutex<HashMap<TenantId, Entry>>>,
}

impl SettingsCache {
    /// The tenant's settings, read from `store` when the cached copy is older than [`TTL`].
    pub fn get(&self, store: &Store, tenant: &TenantId) -> Result<Arc<PolicySettings>, ApiError> {
        if let Some(s) = self.cached(tenant) {
            return Ok(s);
        }
        let read = Arc::new(store.read(|c| policy_settings(c, tenant))?);
        if let Ok(mut map) = self.entries.lock() {
            map.insert(tenant.clone(), (Instant::now(), read.clone()));
        }
        Ok(read)
    }

    /// The tenant's cached settings if they are fresh, without reading the store: for a
    /// caller on an async thread, which must not block on a database read.
    pub fn cached(&self, tenant: &TenantId) -> Option<Arc<PolicySettings>> {
        let map = self.entries.lock().ok()?;
        let (at, s) = map.get(tenant)?;
        (at.elapsed() < TTL).then(|| s.clone())
    }

    /// Drops the tenant's cached settings (after this instance changed them).
    pub fn forget(&self, tenant: &TenantId) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(tenant);
        }
    }
}
