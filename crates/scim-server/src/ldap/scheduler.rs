//! The LDAP scheduler: in every `serve` process, each tenant with an LDAP source is
//! synchronized every `interval_secs` (an hour by default).
//!
//! Whether a tenant is due comes from the database, not from this process's memory: the
//! latest run in `ldap_runs` (any instance's, the CLI's, the admin API's) plus the interval,
//! so a restart neither skips a sync nor repeats one, and an on-demand run postpones the next
//! scheduled one. A failed run is retried sooner, after [`RETRY_AFTER_FAILURE`] (or the
//! interval when shorter). With several instances on PostgreSQL each one looks, but only one
//! runs a tenant: the run takes the tenant's advisory lock and, under it, checks that the
//! latest run is still the one that made the tenant due.
//!
//! Tenants are synchronized one after the other on a blocking thread; the scheduler then
//! sleeps until the next tenant is due, at most [`MAX_SLEEP`] (so new or changed sources
//! are noticed within that). Time comes from the state's injectable clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use scim_store::ldap_runs::{self, RunStatus};
use scim_store::tenants;

use super::sync::{StartedBy, SyncError, sync_checked};
use crate::state::AppState;

/// Longest sleep between looks at the tenants' sources.
pub const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Shortest sleep (a tenant due again at once is not retried in a tight loop).
pub const MIN_SLEEP: Duration = Duration::from_millis(500);
/// How soon to look again at a tenant another process is synchronizing.
const BUSY_SLEEP: Duration = Duration::from_secs(5);
/// How soon a failed run is retried (unless the interval is shorter).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(300);

/// One process's scheduler.
pub struct LdapScheduler {
    state: AppState,
}

/// When `interval` after `from` is, saturating.
fn after(from: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(interval)
        .ok()
        .and_then(|d| from.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl LdapScheduler {
    /// A scheduler over the state's store and clock.
    pub fn new(state: AppState) -> Self {
        LdapScheduler { state }
    }

    /// Runs every sync due now, one tenant after the other; returns how many ran (failed runs
    /// included) and how long to sleep before looking again. Blocking.
    pub fn run_once(&self) -> scim_store::Result<(usize, Duration)> {
        let now = self.state.clock.now();
        let all = self.state.store.read(tenants::list)?;
        let mut ran = 0;
        let mut next = MAX_SLEEP;
        for tenant in all {
            let source = match scim_store::settings::TenantSettings::from_json(&tenant.settings) {
                Ok(s) => s.ldap,
                Err(e) => {
                    tracing::warn!(tenant = %tenant.name, error = %e, "tenant settings unreadable; LDAP sync not scheduled");
                    None
                }
            };
            let Some(source) = source else { continue };
            let interval = Duration::from_secs(source.interval_secs.max(1));
            let latest = self
                .state
                .store
                .read(|c| ldap_runs::latest(c, &tenant.id))?;
            let due = match &latest {
                None => now,
                Some(r) if r.status == RunStatus::Failed => {
                    after(r.started_at.and_utc(), interval.min(RETRY_AFTER_FAILURE))
                }
                Some(r) => after(r.started_at.and_utc(), interval),
            };
            if due > now {
                let wait = (due - now).to_std().unwrap_or(MAX_SLEEP);
                next = next.min(wait);
                continue;
            }
            let expect = Some(latest.map(|r| r.id));
            match sync_checked(&self.state, &tenant.id, StartedBy::Schedule, expect) {
                Ok(_) => ran += 1,
                Err(SyncError::Busy | SyncError::AlreadyRan) => {
                    tracing::debug!(tenant = %tenant.name, "LDAP sync run by another process");
                    next = next.min(BUSY_SLEEP);
                    continue;
                }
                Err(e @ (SyncError::Directory { .. } | SyncError::Interrupted { .. })) => {
                    ran += 1;
                    tracing::warn!(tenant = %tenant.name, error = %e, "scheduled LDAP sync failed");
                }
                Err(e) => {
                    tracing::warn!(tenant = %tenant.name, error = %e, "scheduled LDAP sync did not run");
                }
            }
            // Look again soon: the run just recorded decides the next due time.
            next = MIN_SLEEP;
        }
        Ok((ran, next.max(MIN_SLEEP)))
    }

    /// Runs until `shutdown` resolves (a sync in progress is finished first).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let this = Arc::new(self);
        tokio::pin!(shutdown);
        loop {
            let scheduler = this.clone();
            let pause = match tokio::task::spawn_blocking(move || scheduler.run_once()).await {
                Ok(Ok((_, pause))) => pause,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "LDAP scheduler could not reach the database");
                    MAX_SLEEP
                }
                Err(e) => {
                    tracing::error!(error = %e, "LDAP scheduler task panicked");
                    MAX_SLEEP
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}
