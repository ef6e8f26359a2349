//! Per-tenant rate limits: a tenant whose settings carry `rate_limit_per_sec` gets a token
//! bucket of that rate (burst of one second's worth); past it, requests answer 429 with
//! `Retry-After`, which Okta and Entra both honour (clients.md, "Rate limiting").
//!
//! Settings are read from the store at most every [`REFRESH`] per tenant, so a changed limit
//! takes effect within seconds without a restart and without a read per request.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use scim_store::{Store, TenantId, tenants};

use crate::error::ApiError;

/// How long a tenant's limit setting is trusted before it is read again.
pub const REFRESH: Duration = Duration::from_secs(5);

struct Entry {
    rate: Option<u32>,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    loaded: Instant,
}

/// The limiters of every tenant seen by this instance.
#[derive(Clone)]
pub struct TenantLimits {
    store: Store,
    entries: Arc<Mutex<HashMap<TenantId, Entry>>>,
}

impl TenantLimits {
    /// Limits backed by the tenants' stored settings.
    pub fn new(store: Store) -> Self {
        TenantLimits {
            store,
            entries: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn cached(&self, tenant: &TenantId) -> Option<Option<Arc<DefaultDirectRateLimiter>>> {
        let map = self.entries.lock().ok()?;
        let e = map.get(tenant)?;
        (e.loaded.elapsed() < REFRESH).then(|| e.limiter.clone())
    }

    /// Admits the request or answers 429 with the wait in whole seconds (at least 1).
    pub async fn check(&self, tenant: &TenantId) -> Result<(), ApiError> {
        let limiter = match self.cached(tenant) {
            Some(l) => l,
            None => self.reload(tenant).await?,
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests(wait.as_secs_f64().ceil().max(1.0) as u64)
        })
    }

    async fn reload(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Arc<DefaultDirectRateLimiter>>, ApiError> {
        let store = self.store.clone();
        let t = tenant.clone();
        let settings = actix_web::web::block(move || store.read(|c| tenants::settings(c, &t)))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
        let rate = settings.rate_limit_per_sec;
        let mut map = self
            .entries
            .lock()
            .map_err(|_| ApiError::Internal("rate-limit table poisoned".into()))?;
        let entry = map.entry(tenant.clone()).or_insert(Entry {
            rate: None,
            limiter: None,
            loaded: Instant::now(),
        });
        if entry.rate != rate || (rate.is_some() && entry.limiter.is_none()) {
            entry.limiter = rate
                .and_then(NonZeroU32::new)
                .map(|r| Arc::new(RateLimiter::direct(Quota::per_second(r))));
            entry.rate = rate;
        }
        entry.loaded = Instant::now();
        Ok(entry.limiter.clone())
    }
}

#[cfg(test)]
mod tests {
    use scim_store::settings::TenantSettings;
    use scim_store::testing::TestDb;

    use super::*;

    #[actix_web::test]
    async fn limits_only_tenants_with_a_rate() {
        let db = TestDb::sqlite();
        let now = chrono::Utc::now().naive_utc();
        let limited = db
            .store
            .write(move |c| tenants::create(c, "limited", now))
            .unwrap()
            .id;
        let free = db
            .store
            .write(move |c| tenants::create(c, "free", now))
            .unwrap()
            .id;
        let settings = TenantSettings {
            rate_limit_per_sec: Some(2),
            ..TenantSettings::default()
        };
        let t = limited.clone();
        db.store
            .write(move |c| tenants::update_settings(c, &t, &settings))
            .unwrap();
        let limits = TenantLimits::new(db.store.clone());
        assert!(limits.check(&limited).await.is_ok());
        assert!(limits.check(&limited).await.is_ok());
        match limits.check(&limited).await {
            Err(ApiError::TooManyRequests(secs)) => assert!(secs >= 1),
            other => panic!("expected 429, got {other:?}"),
        }
        for _ in 0..50 {
            assert!(limits.check(&free).await.is_ok());
        }
    }
}
