//! Provisioning events for the host: every change the SCIM API commits leaves events in the
//! store's outbox (in the same transaction), and a [`Dispatcher`] hands them to the host's
//! [`EventHandler`] — at least once, in order per user — so the host can react: end a
//! deactivated user's sessions, archive data, send mail.
//!
//! Several dispatchers (one per server instance) can run against one PostgreSQL database:
//! events are claimed with a lease, so each is handled by one of them at a time, and one that
//! dies mid-batch leaves its events to be claimed again when the lease ends.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use scim_store::Store;
use scim_store::outbox::{self, Event};

use crate::state::Clock;

/// What the host does with an event. `Err` means "not handled; try again later": the event and
/// that user's later events are retried after a back-off, other users' events go on.
pub trait EventHandler: Send + Sync + 'static {
    /// Handles one event. Must be idempotent: delivery is at least once.
    fn handle(&self, event: &Event) -> Result<(), String>;
}

impl<F> EventHandler for F
where
    F: Fn(&Event) -> Result<(), String> + Send + Sync + 'static,
{
    fn handle(&self, event: &Event) -> Result<(), String> {
        self(event)
    }
}

/// Delivers outbox events to a handler.
pub struct Dispatcher {
    store: Store,
    handler: Arc<dyn EventHandler>,
    clock: Arc<dyn Clock>,
    consumer: String,
    /// How long a claimed batch is ours before others may take it.
    pub lease: Duration,
    /// Back-off after a failed delivery.
    pub retry_after: Duration,
    /// Most events per claim.
    pub batch: usize,
    /// Sleep between polls when the outbox is empty.
    pub idle: Duration,
}

impl Dispatcher {
    /// A dispatcher with a unique consumer id and defaults suited to webhooks and in-process
    /// handlers alike (30 s lease, 10 s back-off, 100 per batch, 200 ms idle poll).
    pub fn new(store: Store, handler: Arc<dyn EventHandler>, clock: Arc<dyn Clock>) -> Dispatcher {
        Dispatcher {
            store,
            handler,
            clock,
            consumer: format!("dispatcher-{}", uuid::Uuid::new_v4().simple()),
            lease: Duration::from_secs(30),
            retry_after: Duration::from_secs(10),
            batch: 100,
            idle: Duration::from_millis(200),
        }
    }

    /// Claims one batch and delivers it; returns how many events were handled. Blocking.
    pub fn run_once(&self) -> scim_store::Result<usize> {
        let now = self.clock.now().naive_utc();
        let consumer = self.consumer.clone();
        let (lease, batch) = (self.lease, self.batch);
        let events = self
            .store
            .write(move |c| outbox::claim(c, &consumer, now, lease, batch))?;
        let mut delivered = Vec::new();
        let mut blocked_users: HashSet<String> = HashSet::new();
        for event in &events {
            if let Some(u) = &event.user_id
                && blocked_users.contains(u)
            {
                continue; // given back with the failed event before it
            }
            match self.handler.handle(event) {
                Ok(()) => delivered.push(event.id),
                Err(why) => {
                    tracing::warn!(event = event.id, kind = %event.kind, %why, "event handler failed; will retry");
                    if let Some(u) = &event.user_id {
                        blocked_users.insert(u.clone());
                    }
                    let (consumer, id, now, backoff) = (
                        self.consumer.clone(),
                        event.id,
                        self.clock.now().naive_utc(),
                        self.retry_after,
                    );
                    self.store
                        .write(move |c| outbox::fail(c, &[id], &consumer, now, backoff))?;
                }
            }
        }
        let n = delivered.len();
        if !delivered.is_empty() {
            let now = self.clock.now().naive_utc();
            self.store
                .write(move |c| outbox::mark_delivered(c, &delivered, now))?;
        }
        Ok(n)
    }

    /// Runs until `shutdown` resolves: delivers batches back to back while there are events,
    /// sleeps `idle` when there are none, and backs off when the database is unreachable.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let this = Arc::new(self);
        tokio::pin!(shutdown);
        loop {
            let worker = this.clone();
            let result = tokio::task::spawn_blocking(move || worker.run_once()).await;
            let pause = match result {
                Ok(Ok(n)) if n > 0 => Duration::ZERO,
                Ok(Ok(_)) => this.idle,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "event dispatch failed");
                    Duration::from_secs(1)
                }
                Err(e) => {
                    tracing::error!(error = %e, "event dispatch task panicked");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use scim_store::testing::TestDb;
    use serde_json::json;

    use super::*;
    use crate::state::{AppState, ServerConfig, SystemClock};

    #[test]
    fn delivers_in_order_and_retries_failures() {
        for db in TestDb::all() {
            let state = AppState::new(db.store.clone(), ServerConfig::default()).unwrap();
            let tenant = db
                .store
                .write(|c| scim_store::tenants::create(c, "t", chrono::Utc::now().naive_utc()))
                .unwrap()
                .id;
            let a =
                crate::service::users::create(&state, &tenant, json!({"userName": "a"})).unwrap();
            let b =
                crate::service::users::create(&state, &tenant, json!({"userName": "b"})).unwrap();
            let patch = scim_core::patch::PatchRequest::parse(&json!({
                "Operations": [{"op": "replace", "value": {"active": false}}]
            }))
            .unwrap();
            crate::service::users::patch(&state, &tenant, &a.id, None, &patch).unwrap();

            // First pass: the handler refuses user a's first event; b's goes through.
            let seen = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
            let refuse_a = Arc::new(Mutex::new(true));
            let (s, r, a_id) = (seen.clone(), refuse_a.clone(), a.id.clone());
            let handler = move |e: &Event| {
                let user = e.user_id.clone().unwrap_or_default();
                if user == a_id && *r.lock().unwrap() {
                    return Err("host busy".to_string());
                }
                s.lock().unwrap().push((user, e.kind.clone()));
                Ok(())
            };
            let mut d = Dispatcher::new(db.store.clone(), Arc::new(handler), Arc::new(SystemClock));
            d.retry_after = Duration::ZERO;
            assert_eq!(d.run_once().unwrap(), 1);
            assert_eq!(
                *seen.lock().unwrap(),
                vec![(b.id.clone(), "user.created".to_string())]
            );

            // Second pass: a's events arrive, in order, exactly once.
            *refuse_a.lock().unwrap() = false;
            assert_eq!(d.run_once().unwrap(), 3);
            let kinds: Vec<String> = seen.lock().unwrap()[1..]
                .iter()
                .map(|(_, k)| k.clone())
                .collect();
            assert_eq!(kinds, ["user.created", "user.updated", "user.deactivated"]);
            assert_eq!(
                d.run_once().unwrap(),
                0,
                "nothing is delivered twice ({:?})",
                db.kind()
            );
        }
    }
}
