//! The deactivation worker: runs due deactivation jobs through the policy, and purges the
//! users the provider deleted once nothing protects them (`users::due_purges`).
//!
//! Every instance runs one. Jobs are claimed with a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, a single-statement claim on SQLite), and a job's effect and its completion
//! commit in one transaction, so each job takes effect exactly once however many instances
//! run and whichever of them dies. The worker sleeps until the next job is due (at most
//! [`MAX_SLEEP`], so jobs scheduled by other instances are seen within about a second), and a
//! job that came due while no server ran is simply due at the next start. Time comes from the
//! state's injectable clock.

use std::sync::Arc;
use std::time::Duration;

use scim_core::policy::{DeactivationReason, JobAction, LifecycleEvent, LifecycleState, decide};
use scim_store::sync_log::{self, NewLogEntry};
use scim_store::{Actor, jobs, lifecycle, users};

use crate::service::lifecycle::{apply, policy_settings};
use crate::state::AppState;

/// Destroys a user the provider deleted, now that nothing protects it any more, and logs it.
fn purge(
    c: &mut scim_store::Conn<'_>,
    tenant: &scim_store::TenantId,
    user: &str,
    now: chrono::NaiveDateTime,
) -> scim_store::Result<()> {
    users::delete(c, tenant, user, None, now)?;
    sync_log::append(
        c,
        tenant,
        &NewLogEntry {
            at: now,
            actor: Actor::System,
            action: "purge".to_string(),
            resource_type: "User".to_string(),
            resource_id: user.to_string(),
            detail: serde_json::json!({"reason": "provider_delete"}),
        },
    )?;
    Ok(())
}

/// 1 when a job or purge took effect, 0 when it had nothing to do; a failure is logged with
/// `retry` (its transaction rolled back, and it is tried again later) and counts 0.
fn took_effect(outcome: scim_store::Result<bool>, retry: &str) -> usize {
    match outcome {
        Ok(acted) => usize::from(acted),
        Err(e) => {
            tracing::warn!(error = %e, "{retry}");
            0
        }
    }
}

/// Longest sleep between looks at the queue.
pub const MAX_SLEEP: Duration = Duration::from_secs(1);
/// How long a claimed job is this worker's.
pub const LEASE: Duration = Duration::from_secs(60);
/// Jobs claimed per round.
const BATCH: usize = 50;

/// One instance's worker.
pub struct DeactivationWorker {
    state: AppState,
    id: String,
}

impl DeactivationWorker {
    /// A worker with a unique id (claims are recorded under it).
    pub fn new(state: AppState) -> Self {
        DeactivationWorker {
            state,
            id: format!("worker-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Claims and runs the jobs due now; returns how many took effect. Blocking.
    pub fn run_once(&self) -> scim_store::Result<usize> {
        let now = self.state.clock.now();
        let id = self.id.clone();
        let due = self
            .state
            .store
            .write(move |c| jobs::claim_due(c, &id, now.naive_utc(), LEASE, BATCH))?;
        let mut done = 0;
        for job in due {
            let (registry, worker) = (self.state.registry.clone(), self.id.clone());
            let outcome = self.state.store.write(move |c| {
                // The user's row before the job's, as a provider's write takes them.
                lifecycle::lock_user(c, &job.tenant_id, &job.user_id)?;
                let settings = policy_settings(c, &job.tenant_id)?;
                let Some(current) = lifecycle::load(c, &job.tenant_id, &job.user_id)? else {
                    // The user is gone: nothing left to deactivate.
                    jobs::complete(c, job.id, &worker, now.naive_utc())?;
                    return Ok(false);
                };
                let decision = match decide(&current, LifecycleEvent::JobDue, &settings, now) {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(job = job.id, error = %e, "deactivation job refused by policy; completed without effect");
                        jobs::complete(c, job.id, &worker, now.naive_utc())?;
                        return Ok(false);
                    }
                };
                if decision.job == JobAction::Keep {
                    jobs::release(c, job.id, &worker)?;
                    return Ok(false);
                }
                // Completion first: if another worker's lease took over, this one does
                // nothing (the transaction still commits, but writes nothing else).
                if !jobs::complete(c, job.id, &worker, now.naive_utc())? {
                    return Ok(false);
                }
                apply(c, &registry, &job.tenant_id, &job.user_id, &decision, Actor::System, now)?;
                // The provider deleted this user and the delay is over: now the account and
                // its data go (the destructive step the delay protected).
                if matches!(
                    decision.user.state,
                    LifecycleState::Deactivated {
                        reason: DeactivationReason::ProviderDelete
                    }
                ) && users::is_hidden(c, &job.tenant_id, &job.user_id)?
                {
                    purge(c, &job.tenant_id, &job.user_id, now.naive_utc())?;
                }
                Ok(true)
            });
            done += took_effect(
                outcome,
                "deactivation job failed; it will be retried when its lease ends",
            );
        }
        Ok(done + self.purge_due()?)
    }

    /// Purges the users the provider deleted whose `purge_after` has passed and that no job
    /// or legal hold keeps (`users::due_purges`): those already deactivated or blocked when
    /// deleted, and those whose hold was released after their job ran. Returns how many.
    fn purge_due(&self) -> scim_store::Result<usize> {
        let now = self.state.clock.now().naive_utc();
        let due = self
            .state
            .store
            .read(move |c| users::due_purges(c, now, BATCH as i64))?;
        let mut done = 0;
        for (tenant, user) in due {
            let outcome = self.state.store.write(move |c| {
                // As a job does: the user's row first, then the check, so a re-create, a
                // legal hold or another instance's purge that came first wins.
                lifecycle::lock_user(c, &tenant, &user)?;
                if !users::purge_is_due(c, &tenant, &user, now)? {
                    return Ok(false);
                }
                purge(c, &tenant, &user, now)?;
                Ok(true)
            });
            done += took_effect(
                outcome,
                "purge failed; it will be retried on the next round",
            );
        }
        Ok(done)
    }

    /// How long to sleep before looking again: until the next due job, at most [`MAX_SLEEP`].
    fn pause(&self) -> Duration {
        let now = self.state.clock.now().naive_utc();
        match self.state.store.read(jobs::next_due_at) {
            Ok(Some(next)) if next > now => {
                (next - now).to_std().unwrap_or(MAX_SLEEP).min(MAX_SLEEP)
            }
            Ok(Some(_)) => Duration::from_millis(50),
            Ok(None) => MAX_SLEEP,
            Err(_) => MAX_SLEEP,
        }
    }

    /// Runs until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let this = Arc::new(self);
        tokio::pin!(shutdown);
        loop {
            let worker = this.clone();
            let pause = match tokio::task::spawn_blocking(move || {
                let n = worker.run_once();
                (n, worker.pause())
            })
            .await
            {
                Ok((Ok(n), _)) if n > 0 => Duration::ZERO,
                Ok((Ok(_), pause)) => pause,
                Ok((Err(e), _)) => {
                    tracing::warn!(error = %e, "deactivation worker could not reach the database");
                    MAX_SLEEP
                }
                Err(e) => {
                    tracing::error!(error = %e, "deactivation worker task panicked");
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
