//! Throttling of failed authentication, per client address.
//!
//! Every credential the verification cache does not know costs an argon2id verification (about
//! 30 ms of a core and 19 MiB). Without a limit, one client sending wrong tokens in a loop keeps
//! every core busy hashing. So each client gets a budget of failures: a token bucket of
//! [`ThrottleConfig::burst`] failures, refilled one every [`ThrottleConfig::refill`]. A client
//! whose bucket is empty is *locked*: until the next failure would be allowed again, every
//! credential it presents that needs an argon2 verification is answered 429 with `Retry-After`
//! and a SCIM Error body, at once, without hashing — a cheap rejection is the point.
//!
//! What counts and what is keyed:
//! - Only failures count: a wrong secret, an unknown token id, a revoked token. A client that
//!   authenticates successfully spends nothing, however often it connects.
//! - Credentials already verified by this process (in [`crate::auth::TokenVerifier`]'s cache)
//!   are never throttled: they cost no argon2, and only a client that holds the real secret
//!   can present them. So an identity provider that shares an address with an attacker (a NAT,
//!   a proxy) keeps working with a token it has already used; only credentials not yet seen are
//!   refused while the address is locked.
//! - Missing and malformed `Authorization` headers are answered 401 and not counted: they cost
//!   nothing.
//! - The key is the TCP peer address (an IPv6 client by its /64, the unit one host usually
//!   gets). `X-Forwarded-For` is not trusted: a client could write anything there, and the
//!   server has no trusted-proxy setting. Behind a reverse proxy all clients share the proxy's
//!   address, which the rule above about cached credentials makes tolerable. A request with no
//!   peer address (an in-process test harness) is not throttled.
//!
//! Memory is bounded: the failure counters are governor's keyed state, pruned of clients whose
//! bucket is full again (`retain_recent`) once more than [`PRUNE_AT`] are tracked; locks are a
//! map pruned of expired entries at the same size, and never grow past [`MAX_LOCKED`]. Because
//! every counted failure cost an argon2 verification, and those run at most one per core at a
//! time, failures arrive at most at a few dozen a second, and a counter lives for at most
//! `burst × refill` after its last failure: the tables stay in the thousands on their own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::error::ApiError;

/// How many tracked clients make the tables prune themselves.
pub const PRUNE_AT: usize = 4096;
/// The most clients locked at once; past it (tens of thousands of attacking addresses), new
/// locks are not recorded and those clients are held back by the argon2 concurrency bound
/// alone.
pub const MAX_LOCKED: usize = 65_536;

/// How many failures a client may have, and how fast it earns them back.
///
/// The defaults, 10 failures at once and one more every 6 s (10 a minute sustained): an
/// operator pasting a token into an identity provider's form by hand, or a provider retrying a
/// request with a stale token a few times, stays well inside; a script guessing tokens is
/// held to 10 argon2 verifications a minute, about 0.3 s of one core, instead of all cores all
/// the time; and a client that stops failing is back to its full budget within a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures allowed at once; 0 turns throttling off.
    pub burst: u32,
    /// Time to earn back one failure (and at most the wait a locked client is told).
    pub refill: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            burst: 10,
            refill: Duration::from_secs(6),
        }
    }
}

type Failures =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

struct Inner {
    failures: Failures,
    refill: Duration,
    locked: Mutex<HashMap<IpAddr, Instant>>,
}

/// The per-client failure budgets of one process; cheap to clone (clones share the budgets).
#[derive(Clone)]
pub struct AuthThrottle {
    inner: Option<Arc<Inner>>,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        AuthThrottle::new(ThrottleConfig::default())
    }
}

impl std::fmt::Debug for AuthThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Some(i) => f
                .debug_struct("AuthThrottle")
                .field("tracked", &i.failures.len())
                .field("refill", &i.refill)
                .finish(),
            None => f.write_str("AuthThrottle(off)"),
        }
    }
}

/// The key a peer address is throttled under: IPv4 addresses (also IPv4-mapped IPv6) as they
/// are, other IPv6 addresses by their /64 prefix.
pub fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

fn retry_after(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

impl AuthThrottle {
    /// Budgets of this shape (`burst` 0: throttling off).
    pub fn new(config: ThrottleConfig) -> Self {
        let inner = NonZeroU32::new(config.burst).and_then(|burst| {
            let refill = config.refill.max(Duration::from_millis(1));
            let quota = Quota::with_period(refill)?.allow_burst(burst);
            Some(Arc::new(Inner {
                failures: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
                refill,
                locked: Mutex::new(HashMap::new()),
            }))
        });
        AuthThrottle { inner }
    }

    /// Whether `client` may have a credential verified now: `Err` (429, with the seconds until
    /// it may retry) while it is locked.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        let (Some(inner), Some(addr)) = (&self.inner, client) else {
            return Ok(());
        };
        let key = client_key(addr);
        let mut locked = inner
            .locked
            .lock()
            .map_err(|_| ApiError::Internal("authentication throttle poisoned".into()))?;
        match locked.get(&key) {
            Some(until) => {
                let now = Instant::now();
                if *until > now {
                    Err(ApiError::TooManyRequests(retry_after(*until - now)))
                } else {
                    locked.remove(&key);
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    /// Records a failed authentication by `client`. Returns the lock's length when this
    /// failure spent the client's budget (its later attempts are refused until then).
    pub fn failed(&self, client: Option<IpAddr>) -> Option<Duration> {
        let (Some(inner), Some(addr)) = (&self.inner, client) else {
            return None;
        };
        let key = client_key(addr);
        let lock_for = match inner.failures.check_key(&key) {
            // The last failure of the budget: the next one is earned within one refill
            // period (exactly one when the failures came together).
            Ok(state) if state.remaining_burst_capacity() == 0 => Some(inner.refill),
            Ok(_) => None,
            // Several requests passed `check` before the lock was recorded.
            Err(not_until) => Some(not_until.wait_time_from(DefaultClock::default().now())),
        };
        if inner.failures.len() > PRUNE_AT {
            inner.failures.retain_recent();
            inner.failures.shrink_to_fit();
        }
        let wait = lock_for?;
        if let Ok(mut locked) = inner.locked.lock() {
            let now = Instant::now();
            if locked.len() >= PRUNE_AT {
                locked.retain(|_, until| *until > now);
            }
            if locked.len() < MAX_LOCKED || locked.contains_key(&key) {
                locked.insert(key, now + wait);
            }
        }
        tracing::warn!(
            client = %key,
            retry_after_secs = retry_after(wait),
            "repeated failed authentication; refusing this client's new credentials for a while"
        );
        Some(wait)
    }

    /// Clients with failures on record and clients locked now, for tests and diagnostics.
    pub fn tracked(&self) -> (usize, usize) {
        match &self.inner {
            Some(i) => (
                i.failures.len(),
                i.locked.lock().map(|m| m.len()).unwrap_or_default(),
            ),
            None => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    fn locked_secs(t: &AuthThrottle, client: IpAddr) -> Option<u64> {
        match t.check(Some(client)) {
            Ok(()) => None,
            Err(ApiError::TooManyRequests(secs)) => Some(secs),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_client_is_locked_after_its_burst_and_others_are_not() {
        let t = AuthThrottle::new(ThrottleConfig {
            burst: 3,
            refill: Duration::from_secs(60),
        });
        for _ in 0..2 {
            assert_eq!(locked_secs(&t, A), None);
            assert_eq!(t.failed(Some(A)), None);
        }
        assert_eq!(locked_secs(&t, A), None);
        assert_eq!(t.failed(Some(A)), Some(Duration::from_secs(60)));
        let secs = locked_secs(&t, A).expect("locked after 3 failures");
        assert!((1..=60).contains(&secs), "{secs}");
        assert_eq!(locked_secs(&t, B), None, "another client is not affected");
        assert!(locked_secs(&t, A).is_some(), "still locked");
        assert_eq!(t.tracked(), (1, 1));
    }

    #[test]
    fn a_locked_client_recovers_after_the_refill_period() {
        let t = AuthThrottle::new(ThrottleConfig {
            burst: 1,
            refill: Duration::from_millis(200),
        });
        assert_eq!(t.failed(Some(A)), Some(Duration::from_millis(200)));
        assert_eq!(locked_secs(&t, A), Some(1), "Retry-After is at least 1 s");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(locked_secs(&t, A), None);
        assert_eq!(t.tracked().1, 0, "the expired lock is dropped");
        assert!(t.failed(Some(A)).is_some(), "one failure again spends it");
    }

    #[test]
    fn off_and_unknown_peers_are_never_throttled() {
        let off = AuthThrottle::new(ThrottleConfig {
            burst: 0,
            refill: Duration::from_secs(60),
        });
        let on = AuthThrottle::new(ThrottleConfig {
            burst: 1,
            refill: Duration::from_secs(60),
        });
        for _ in 0..20 {
            assert_eq!(off.failed(Some(A)), None);
            assert_eq!(on.failed(None), None);
        }
        assert_eq!(locked_secs(&off, A), None);
        assert!(on.check(None).is_ok());
        assert_eq!(on.tracked(), (0, 0));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let a1: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let a2: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a1), client_key(a2));
        assert_ne!(client_key(a1), client_key(other));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(client_key(mapped), A);
        assert_eq!(
            client_key(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            "::1 is keyed by its /64, ::/64"
        );
        let t = AuthThrottle::new(ThrottleConfig {
            burst: 1,
            refill: Duration::from_secs(60),
        });
        assert!(t.failed(Some(a1)).is_some());
        assert!(locked_secs(&t, a2).is_some(), "same /64");
        assert_eq!(locked_secs(&t, other), None);
    }

    #[test]
    fn tables_stay_bounded_under_many_clients() {
        let t = AuthThrottle::new(ThrottleConfig {
            burst: 1,
            refill: Duration::from_millis(1),
        });
        for i in 0..(3 * PRUNE_AT as u32) {
            let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            assert!(t.failed(Some(addr)).is_some());
            if i % 512 == 0 {
                // Let earlier locks and counters expire, as time would.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let (counters, locks) = t.tracked();
        assert!(counters <= PRUNE_AT + 1, "{counters} counters");
        assert!(locks <= PRUNE_AT + 1, "{locks} locks");
    }
}
