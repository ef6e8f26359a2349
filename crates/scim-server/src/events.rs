//! Provisioning events for the host: every change the SCIM API commits leaves events in the
//! store's outbox (in the same transaction), and a [`Dispatcher`] hands them to the host's
//! [`EventHandler`] — at least once, in order per user — so the host can react: end a
//! deactivated user's sessions, archive data, send mail.
//!
//! Several dispatchers (one per server instance) can run against one PostgreSQL database:
//! events are claimed with a lease, so each is handled by one of them at a time, and one that
//! dies mid-batch leaves its events to be claimed again when the lease ends.
//!
//! A failed event is retried after a back-off that doubles with each failure of that event
//! ([`Dispatcher::backoff`]: 1 s, 2 s, 4 s … capped at 5 min by default). Stopping
//! ([`Dispatcher::run`]'s shutdown) waits for the event in hand only and gives the rest of the
//! batch back at once, so another instance (or the next start) delivers them without waiting
//! for the lease.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Back-off after an event's first failed delivery; it doubles with each further failure
    /// of that event, up to `max_retry_after`.
    pub retry_after: Duration,
    /// Longest back-off, however often an event failed.
    pub max_retry_after: Duration,
    /// Most events per claim.
    pub batch: usize,
    /// Sleep between polls when the outbox is empty.
    pub idle: Duration,
    /// Set when [`Dispatcher::run`] is told to stop: the batch in hand is given back.
    stopping: AtomicBool,
}

impl Dispatcher {
    /// A dispatcher with a unique consumer id and defaults suited to webhooks and in-process
    /// handlers alike (30 s lease, back-off from 1 s doubling to at most 5 min, 100 per batch,
    /// 200 ms idle poll).
    pub fn new(store: Store, handler: Arc<dyn EventHandler>, clock: Arc<dyn Clock>) -> Dispatcher {
        Dispatcher {
            store,
            handler,
            clock,
            consumer: format!("dispatcher-{}", uuid::Uuid::new_v4().simple()),
            lease: Duration::from_secs(30),
            retry_after: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(300),
            batch: 100,
            idle: Duration::from_millis(200),
            stopping: AtomicBool::new(false),
        }
    }

    /// How long an event that has already failed `attempts` times waits after failing again:
    /// `retry_after × 2^attempts`, at most `max_retry_after` — a receiver that is down for
    /// hours is asked a few times an hour, not hammered, and one that blipped is retried soon.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts).unwrap_or(0).min(31);
        self.retry_after
            .saturating_mul(1u32 << doublings)
            .min(self.max_retry_after)
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
        let mut unhandled = Vec::new();
        for event in &events {
            if self.stopping.load(Ordering::Relaxed) {
                unhandled.push(event.id);
                continue;
            }
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
                        self.backoff(event.attempts),
                    );
                    self.store
                        .write(move |c| outbox::fail(c, &[id], &consumer, now, backoff))?;
                }
            }
        }
        if !unhandled.is_empty() {
            let consumer = self.consumer.clone();
            self.store
                .write(move |c| outbox::release(c, &unhandled, &consumer))?;
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
    /// On shutdown it finishes the event in hand (bounded by the handler, e.g. the webhook
    /// timeout), gives the rest of its batch back, and returns.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let this = Arc::new(self);
        tokio::pin!(shutdown);
        loop {
            let worker = this.clone();
            let mut task = tokio::task::spawn_blocking(move || worker.run_once());
            let result = tokio::select! {
                r = &mut task => r,
                _ = &mut shutdown => {
                    this.stopping.store(true, Ordering::Relaxed);
                    if let Ok(Err(e)) = task.await {
                        tracing::warn!(error = %e, "event dispatch failed while stopping");
                    }
                    return;
                }
            };
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
    fn backoff_doubles_per_failure_up_to_the_cap() {
        let db = TestDb::sqlite();
        let noop = |_: &Event| Ok(());
        let d = Dispatcher::new(db.store.clone(), Arc::new(noop), Arc::new(SystemClock));
        let secs: Vec<u64> = [0, 1, 2, 3, 8, 9, 40, -1]
            .iter()
            .map(|a| d.backoff(*a).as_secs())
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 256, 300, 300, 1]);
    }

    #[test]
    fn stopping_gives_the_rest_of_the_batch_back_at_once() {
        for db in TestDb::all() {
            let now = chrono::Utc::now().naive_utc();
            let tenant = db
                .store
                .write(move |c| scim_store::tenants::create(c, "t", now))
                .unwrap()
                .id;
            for (kind, user) in [
                ("user.created", "a"),
                ("user.created", "b"),
                ("user.updated", "a"),
            ] {
                let (tenant, event) = (
                    tenant.clone(),
                    outbox::NewEvent {
                        kind: kind.to_string(),
                        user_id: Some(user.to_string()),
                        payload: json!({}),
                        at: now,
                    },
                );
                db.store
                    .write(move |c| outbox::push(c, &tenant, &event))
                    .unwrap();
            }
            // The first event's handler is where shutdown arrives.
            let (entered, go_on) = (std::sync::mpsc::channel(), std::sync::mpsc::channel());
            let (tx, rx) = (Mutex::new(entered.0), Mutex::new(go_on.1));
            let handler = move |_: &Event| {
                tx.lock().unwrap().send(()).unwrap();
                rx.lock().unwrap().recv().unwrap();
                Ok(())
            };
            let d = Dispatcher::new(db.store.clone(), Arc::new(handler), Arc::new(SystemClock));
            let handled = std::thread::scope(|s| {
                let run = s.spawn(|| d.run_once().unwrap());
                entered.1.recv().unwrap();
                d.stopping.store(true, Ordering::Relaxed);
                go_on.0.send(()).unwrap();
                run.join().unwrap()
            });
            assert_eq!(handled, 1, "{:?}: only the event in hand", db.kind());
            // Another instance takes the other two at once, without waiting out the lease.
            let seen = Arc::new(Mutex::new(Vec::new()));
            let s = seen.clone();
            let record = move |e: &Event| {
                s.lock().unwrap().push((e.user_id.clone(), e.kind.clone()));
                Ok(())
            };
            let other = Dispatcher::new(db.store.clone(), Arc::new(record), Arc::new(SystemClock));
            assert_eq!(other.run_once().unwrap(), 2, "{:?}", db.kind());
            let seen = seen.lock().unwrap();
            let kinds: Vec<&str> = seen.iter().map(|(_, k)| k.as_str()).collect();
            assert_eq!(kinds, ["user.created", "user.updated"], "{:?}", db.kind());
        }
    }

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
            assert_eq!(d.run_once().unwrap(), 4);
            let kinds: Vec<String> = seen.lock().unwrap()[1..]
                .iter()
                .map(|(_, k)| k.clone())
                .collect();
            assert_eq!(
                kinds,
                [
                    "user.created",
                    "user.updated",
                    "user.deactivation_scheduled",
                    "access.revoked"
                ]
            );
            assert_eq!(
                d.run_once().unwrap(),
                0,
                "nothing is delivered twice ({:?})",
                db.kind()
            );
        }
    }
}
