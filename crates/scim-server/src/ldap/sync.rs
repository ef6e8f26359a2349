//! One synchronization run of a tenant: take the tenant's sync lock, record the start, read the
//! whole directory, reconcile, record the end. Blocking (call it from `spawn_blocking` in async
//! code); the CLI's `ldap sync`, the scheduler and the admin API all come here.
//!
//! A run that fails before the reconciliation (no password, directory unreachable, bind
//! refused, partial answer) has changed nothing and is recorded as failed with its error. A
//! database error during the reconciliation stops it; the changes already made stand (each was
//! one complete transaction) and the run is recorded as failed with the counts so far.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use chrono::{NaiveDateTime, TimeDelta};
use scim_store::ldap_runs::{self, RunCounts, RunEnd, RunStatus};
use scim_store::settings::{LdapSource, TenantSettings};
use scim_store::sync_log::{self, NewLogEntry};
use scim_store::{Actor, BackendKind, StoreError, TenantId, tenants};
use serde_json::json;

use super::directory::{self, DirectoryError};
use super::reconcile::{Outcome, reconcile};
use crate::state::AppState;

/// On SQLite (no advisory locks), a run still `running` after this long is taken for dead and
/// no longer keeps another run from starting.
pub const STALE_RUN: TimeDelta = TimeDelta::hours(1);

/// What started a run (recorded with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartedBy {
    /// The scheduler of a `serve` process.
    Schedule,
    /// `scim-server ldap sync`.
    Cli,
    /// The admin API's "Synchronize Users".
    AdminApi,
}

impl StartedBy {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            StartedBy::Schedule => "schedule",
            StartedBy::Cli => "cli",
            StartedBy::AdminApi => "admin_api",
        }
    }
}

/// What a successful run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The run's id in `ldap_runs`.
    pub run_id: i64,
    /// Users created, updated, deactivated, reactivated.
    pub counts: RunCounts,
    /// Entries skipped, one sentence each.
    pub warnings: Vec<String>,
}

impl std::fmt::Display for SyncReport {
    /// The one-line summary scripts read: `created=N updated=N deactivated=N reactivated=N`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counts;
        write!(
            f,
            "created={} updated={} deactivated={} reactivated={}",
            c.created, c.updated, c.deactivated, c.reactivated
        )
    }
}

/// Why a run did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The tenant has no LDAP source.
    #[error("the tenant has no LDAP source; configure one with `scim-server ldap configure`")]
    NotConfigured,
    /// Another run of this tenant holds the lock (another instance, or the CLI beside a
    /// server on SQLite).
    #[error("another synchronization of this tenant is running; try again when it has finished")]
    Busy,
    /// The scheduler found that another instance ran the sync since it looked.
    #[error("the synchronization already ran since this instance found it due")]
    AlreadyRan,
    /// The directory could not be read; nothing was changed.
    #[error("LDAP sync run {run_id} failed and changed nothing: {error}")]
    Directory {
        /// The failed run.
        run_id: i64,
        /// Why.
        error: DirectoryError,
    },
    /// A database error stopped the reconciliation part-way.
    #[error("LDAP sync run {run_id} stopped by a database error: {error}")]
    Interrupted {
        /// The failed run.
        run_id: i64,
        /// The database error.
        error: StoreError,
    },
    /// The database failed before the run started or while recording it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs one synchronization of `tenant` now.
pub fn sync_tenant(
    st: &AppState,
    tenant: &TenantId,
    started_by: StartedBy,
) -> Result<SyncReport, SyncError> {
    sync_checked(st, tenant, started_by, None)
}

/// [`sync_tenant`], but when `expect_latest` is given, only if the tenant's latest run is
/// still that one (`Some(None)`: no run yet): the scheduler's "still due?" check, made under
/// the lock so two instances that both found a tenant due don't both run it.
pub(crate) fn sync_checked(
    st: &AppState,
    tenant: &TenantId,
    started_by: StartedBy,
    expect_latest: Option<Option<i64>>,
) -> Result<SyncReport, SyncError> {
    let settings = st.store.read(|c| tenants::settings(c, tenant))?;
    let source = settings.ldap.clone().ok_or(SyncError::NotConfigured)?;
    let job = Job {
        st,
        tenant,
        settings: &settings,
        source: &source,
        started_by,
        expect_latest,
    };
    match st.store.backend() {
        BackendKind::Sqlite => job.run(false),
        // Several instances share PostgreSQL: a session advisory lock, held on this connection
        // for the whole run, lets only one of them sync the tenant.
        BackendKind::Postgres => st.store.read(|c| {
            if !ldap_runs::try_lock(c, tenant)? {
                return Ok(Err(SyncError::Busy));
            }
            let result = catch_unwind(AssertUnwindSafe(|| job.run(true)));
            // The connection goes back to the pool: never with the lock still held.
            let unlocked = ldap_runs::unlock(c, tenant);
            match result {
                Ok(r) => unlocked.map(|()| r),
                Err(panic) => resume_unwind(panic),
            }
        })?,
    }
}

struct Job<'a> {
    st: &'a AppState,
    tenant: &'a TenantId,
    settings: &'a TenantSettings,
    source: &'a LdapSource,
    started_by: StartedBy,
    expect_latest: Option<Option<i64>>,
}

/// Why a run could not start.
enum NoStart {
    Busy,
    AlreadyRan,
}

impl Job<'_> {
    fn now(&self) -> NaiveDateTime {
        crate::service::now(self.st)
    }

    fn run(&self, locked: bool) -> Result<SyncReport, SyncError> {
        let started = self.now();
        let (t, by, expect) = (self.tenant.clone(), self.started_by, self.expect_latest);
        let run_id = self.st.store.write(move |c| {
            if let Some(expected) = expect
                && ldap_runs::latest(c, &t)?.map(|r| r.id) != expected
            {
                return Ok(Err(NoStart::AlreadyRan));
            }
            if locked {
                // Holding the lock: any run still marked running belongs to a dead process.
                ldap_runs::abandon(c, &t, started + TimeDelta::seconds(1), started)?;
            } else {
                if ldap_runs::running_since(c, &t, started - STALE_RUN)?.is_some() {
                    return Ok(Err(NoStart::Busy));
                }
                ldap_runs::abandon(c, &t, started - STALE_RUN, started)?;
            }
            ldap_runs::start(c, &t, by.as_str(), started).map(Ok)
        })?;
        let run_id = match run_id {
            Ok(id) => id,
            Err(NoStart::Busy) => return Err(SyncError::Busy),
            Err(NoStart::AlreadyRan) => return Err(SyncError::AlreadyRan),
        };
        let snapshot =
            directory::bind_password(self.source).and_then(|pw| directory::read(self.source, &pw));
        let snapshot = match snapshot {
            Ok(s) => s,
            Err(error) => {
                tracing::warn!(tenant = %self.tenant, run = run_id, %error, "LDAP sync failed; nothing changed");
                self.finish(
                    run_id,
                    RunStatus::Failed,
                    &Outcome::default(),
                    Some(error.to_string()),
                )?;
                return Err(SyncError::Directory { run_id, error });
            }
        };
        let mut outcome = Outcome {
            warnings: snapshot.warnings.clone(),
            ..Outcome::default()
        };
        let at = self.now().and_utc();
        let policy = self.settings.to_policy();
        if let Err(error) = reconcile(self.st, self.tenant, policy, &snapshot, at, &mut outcome) {
            tracing::warn!(tenant = %self.tenant, run = run_id, %error, "LDAP sync stopped by a database error");
            let message = format!("database error during the reconciliation: {error}");
            self.finish(run_id, RunStatus::Failed, &outcome, Some(message))?;
            return Err(SyncError::Interrupted { run_id, error });
        }
        self.finish(run_id, RunStatus::Succeeded, &outcome, None)?;
        let report = SyncReport {
            run_id,
            counts: outcome.counts,
            warnings: outcome.warnings,
        };
        tracing::info!(tenant = %self.tenant, run = run_id, summary = %report, warnings = report.warnings.len(), "LDAP sync finished");
        Ok(report)
    }

    /// Completes the run and, for a successful one that changed or skipped anything, appends
    /// its summary to the sync log (action `ldap_sync` on the tenant) in the same write. A
    /// failed run changed nothing and a quiet hourly run has nothing to say, so the sync log
    /// doesn't mention them (`ldap_runs` does).
    fn finish(
        &self,
        run_id: i64,
        status: RunStatus,
        outcome: &Outcome,
        error: Option<String>,
    ) -> Result<(), SyncError> {
        let end = RunEnd {
            status,
            at: self.now(),
            counts: outcome.counts,
            error,
            warnings: outcome.warnings.clone(),
        };
        let t = self.tenant.clone();
        self.st.store.write(move |c| {
            ldap_runs::finish(c, &t, run_id, &end)?;
            let quiet = end.counts == RunCounts::default() && end.warnings.is_empty();
            if end.status != RunStatus::Succeeded || quiet {
                return Ok(());
            }
            let n = &end.counts;
            let detail = json!({
                "run": run_id,
                "created": n.created,
                "updated": n.updated,
                "deactivated": n.deactivated,
                "reactivated": n.reactivated,
                "warnings": end.warnings.len(),
            });
            let entry = NewLogEntry {
                at: end.at,
                actor: Actor::Ldap,
                action: "ldap_sync".to_string(),
                resource_type: "Tenant".to_string(),
                resource_id: t.as_str().to_string(),
                detail,
            };
            sync_log::append(c, &t, &entry).map(|_| ())
        })?;
        Ok(())
    }
}
