//! Data-driven tests of the lifecycle rules: every state × event that matters, with the exact
//! decision (new record, sign-in, job change, events, sync-log actions).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers report a broken fixture by panicking"
)]

use chrono::{DateTime, TimeZone, Utc};
use scim_core::policy::{
    BlockReason, DeactivationReason as R, Decision, JobAction, LifecycleEvent as E,
    LifecycleState as S, Origin, PolicySettings, UserLifecycle, create, decide,
};

/// Minutes after a fixed instant; every test runs at `t(5)` with a 15-minute delay.
fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap() + chrono::TimeDelta::minutes(min)
}

const NOW: i64 = 5;

fn minutes(at: DateTime<Utc>) -> i64 {
    (at - t(0)).num_minutes()
}

fn settings(unmapped: bool) -> PolicySettings {
    PolicySettings {
        deactivation_delay_secs: 15 * 60,
        deactivate_unmapped: unmapped,
        ..PolicySettings::default()
    }
}

fn pending(due: i64, reason: R) -> S {
    S::PendingDeactivation {
        due: t(due),
        reason,
    }
}

fn deact(reason: R) -> S {
    S::Deactivated { reason }
}

fn blocked(reason: BlockReason, cause: R) -> S {
    S::Blocked { reason, cause }
}

/// A provisioned user, provider-active, mapped, not on hold; flags in `f`: `h` on hold, `i`
/// provider-inactive, `u` unmapped, `l` local.
fn u(state: S, f: &str) -> UserLifecycle {
    UserLifecycle {
        state,
        origin: if f.contains('l') {
            Origin::Local
        } else {
            Origin::Provisioned
        },
        legal_hold: f.contains('h'),
        provider_active: !f.contains('i'),
        mapped: !f.contains('u'),
    }
}

fn state(s: &S) -> String {
    match s {
        S::Active => "active".into(),
        S::PendingDeactivation { due, reason } => {
            format!("pending({},{})", minutes(*due), reason.as_str())
        }
        S::Deactivated { reason } => format!("deactivated({})", reason.as_str()),
        S::Blocked { reason, cause } => format!("blocked({},{})", reason.as_str(), cause.as_str()),
    }
}

fn flags(u: &UserLifecycle) -> String {
    let mut f = String::new();
    for (on, c) in [
        (u.legal_hold, 'h'),
        (!u.provider_active, 'i'),
        (!u.mapped, 'u'),
        (u.origin == Origin::Local, 'l'),
    ] {
        if on {
            f.push(c);
        }
    }
    if f.is_empty() { f } else { format!(" [{f}]") }
}

fn show(d: &Decision) -> String {
    let job = match d.job {
        JobAction::Schedule { due, reason } => {
            format!("schedule({},{})", minutes(due), reason.as_str())
        }
        JobAction::Cancel => "cancel".into(),
        JobAction::Keep => "keep".into(),
        JobAction::None => "none".into(),
    };
    let events: Vec<_> = d.events.iter().map(|e| e.kind()).collect();
    let log: Vec<_> = d.log.iter().map(|l| l.action.as_str()).collect();
    assert_eq!(d.sign_in_allowed, d.user.state == S::Active);
    format!(
        "{}{} signin={} job={job} ev=[{}] log=[{}]",
        state(&d.user.state),
        flags(&d.user),
        if d.sign_in_allowed { "yes" } else { "no" },
        events.join(" "),
        log.join(" "),
    )
}

#[track_caller]
fn check_with(s: &PolicySettings, before: UserLifecycle, event: E, expected: &str) {
    let got = match decide(&before, event, s, t(NOW)) {
        Ok(d) => show(&d),
        Err(e) => format!(
            "ERR {} {}: {e}",
            e.status(),
            e.scim_type().unwrap().as_str()
        ),
    };
    assert_eq!(
        got,
        expected,
        "{} {:?} + {event:?}",
        state(&before.state),
        flags(&before)
    );
}

#[track_caller]
fn check(before: UserLifecycle, event: E, expected: &str) {
    check_with(&settings(false), before, event, expected);
}

#[track_caller]
fn check_unmapped(before: UserLifecycle, event: E, expected: &str) {
    check_with(&settings(true), before, event, expected);
}

#[test]
#[rustfmt::skip]
fn provider_deactivation_and_reactivation() {
    use BlockReason::*;
    check(u(S::Active, ""), E::ProviderSetActive(false), "pending(20,provider_inactive) [i] signin=no job=schedule(20,provider_inactive) ev=[user.deactivation_scheduled access.revoked] log=[schedule_deactivation]");
    check(u(S::Active, "h"), E::ProviderSetActive(false), "pending(20,provider_inactive) [hi] signin=no job=schedule(20,provider_inactive) ev=[user.deactivation_scheduled access.revoked] log=[schedule_deactivation]");
    check(u(pending(10, R::ProviderInactive), "i"), E::ProviderSetActive(false), "pending(10,provider_inactive) [i] signin=no job=none ev=[] log=[]");
    check(u(pending(10, R::ProviderInactive), "i"), E::ProviderSetActive(true), "active signin=yes job=cancel ev=[user.reactivated] log=[reactivate]");
    check(u(pending(10, R::ProviderDelete), "i"), E::ProviderSetActive(true), "active signin=yes job=cancel ev=[user.reactivated] log=[reactivate]");
    check(u(deact(R::ProviderInactive), "i"), E::ProviderSetActive(true), "active signin=yes job=none ev=[user.reactivated] log=[reactivate]");
    check(u(deact(R::ProviderInactive), "i"), E::ProviderSetActive(false), "deactivated(provider_inactive) [i] signin=no job=none ev=[] log=[]");
    check(u(blocked(LegalHold, R::ProviderInactive), "hi"), E::ProviderSetActive(true), "active [h] signin=yes job=none ev=[user.reactivated] log=[reactivate]");
    check(u(blocked(LegalHold, R::ProviderInactive), "hi"), E::ProviderSetActive(false), "blocked(legal_hold,provider_inactive) [hi] signin=no job=none ev=[] log=[]");
    // What an administrator did is not undone by the provider.
    check(u(deact(R::Admin), "i"), E::ProviderSetActive(true), "deactivated(admin) signin=no job=none ev=[] log=[]");
    check(u(blocked(Admin, R::Admin), "i"), E::ProviderSetActive(true), "blocked(admin,admin) signin=no job=none ev=[] log=[]");
    check(u(blocked(Admin, R::Admin), ""), E::ProviderSetActive(false), "blocked(admin,admin) [i] signin=no job=none ev=[] log=[]");
    check(u(blocked(LegalHold, R::Admin), "hi"), E::ProviderSetActive(true), "blocked(legal_hold,admin) [h] signin=no job=none ev=[] log=[]");
}

#[test]
#[rustfmt::skip]
fn zero_delay_is_due_at_once() {
    let s = PolicySettings {
        deactivation_delay_secs: 0,
        ..PolicySettings::default()
    };
    check_with(&s, u(S::Active, ""), E::ProviderSetActive(false), "pending(5,provider_inactive) [i] signin=no job=schedule(5,provider_inactive) ev=[user.deactivation_scheduled access.revoked] log=[schedule_deactivation]");
    check_with(&s, u(pending(5, R::ProviderInactive), "i"), E::JobDue, "deactivated(provider_inactive) [i] signin=no job=none ev=[user.deactivated] log=[deactivate]");
}

#[test]
#[rustfmt::skip]
fn provider_delete_never_extends_the_delay() {
    check(u(S::Active, ""), E::ProviderDelete, "pending(20,provider_delete) [i] signin=no job=schedule(20,provider_delete) ev=[user.deactivation_scheduled access.revoked] log=[schedule_deactivation]");
    check(u(pending(10, R::ProviderInactive), "i"), E::ProviderDelete, "pending(10,provider_delete) [i] signin=no job=schedule(10,provider_delete) ev=[] log=[schedule_deactivation]");
    check(u(pending(10, R::ProviderDelete), "i"), E::ProviderDelete, "pending(10,provider_delete) [i] signin=no job=none ev=[] log=[]");
    check(u(deact(R::ProviderInactive), "i"), E::ProviderDelete, "deactivated(provider_inactive) [i] signin=no job=none ev=[] log=[]");
    check(
        u(
            S::Blocked {
                reason: BlockReason::LegalHold,
                cause: R::ProviderInactive,
            },
            "hi",
        ),
        E::ProviderDelete,
        "blocked(legal_hold,provider_inactive) [hi] signin=no job=none ev=[] log=[]",
    );
}

#[test]
#[rustfmt::skip]
fn job_due() {
    check(u(pending(5, R::ProviderInactive), "i"), E::JobDue, "deactivated(provider_inactive) [i] signin=no job=none ev=[user.deactivated] log=[deactivate]");
    check(u(pending(1, R::ProviderDelete), "i"), E::JobDue, "deactivated(provider_delete) [i] signin=no job=none ev=[user.deactivated] log=[deactivate]");
    check(u(pending(5, R::ProviderInactive), "hi"), E::JobDue, "blocked(legal_hold,provider_inactive) [hi] signin=no job=none ev=[user.blocked] log=[block]");
    // Claimed before its time: give it back.
    check(u(pending(6, R::ProviderInactive), "i"), E::JobDue, "pending(6,provider_inactive) [i] signin=no job=keep ev=[] log=[]");
    // A stale job has no effect.
    check(u(S::Active, ""), E::JobDue, "active signin=yes job=none ev=[] log=[]");
    check(u(deact(R::Admin), ""), E::JobDue, "deactivated(admin) signin=no job=none ev=[] log=[]");
    // The reason went away without an event (deactivate_unmapped turned off): no deactivation.
    check(u(pending(0, R::Unmapped), "u"), E::JobDue, "active [u] signin=yes job=none ev=[user.reactivated] log=[reactivate]");
}

#[test]
#[rustfmt::skip]
fn administrator_actions() {
    use BlockReason::*;
    check(u(S::Active, ""), E::AdminDeactivate, "deactivated(admin) signin=no job=none ev=[user.deactivated access.revoked] log=[deactivate]");
    check(u(pending(10, R::ProviderInactive), "i"), E::AdminDeactivate, "deactivated(admin) [i] signin=no job=cancel ev=[user.deactivated] log=[deactivate]");
    check(u(S::Active, "h"), E::AdminDeactivate, "blocked(legal_hold,admin) [h] signin=no job=none ev=[user.blocked access.revoked] log=[block]");
    check(u(blocked(LegalHold, R::ProviderInactive), "hi"), E::AdminDeactivate, "blocked(legal_hold,admin) [hi] signin=no job=none ev=[] log=[block]");
    check(u(blocked(LegalHold, R::Admin), "h"), E::AdminDeactivate, "blocked(legal_hold,admin) [h] signin=no job=none ev=[] log=[]");
    check(u(deact(R::ProviderInactive), "i"), E::AdminDeactivate, "deactivated(admin) [i] signin=no job=none ev=[] log=[deactivate]");
    check(u(deact(R::Admin), ""), E::AdminDeactivate, "deactivated(admin) signin=no job=none ev=[] log=[]");
    check(u(blocked(Admin, R::Admin), ""), E::AdminDeactivate, "deactivated(admin) signin=no job=none ev=[user.deactivated] log=[deactivate]");

    check(u(S::Active, ""), E::AdminReactivate, "active signin=yes job=none ev=[] log=[]");
    check(u(pending(10, R::ProviderInactive), "i"), E::AdminReactivate, "active [i] signin=yes job=cancel ev=[user.reactivated] log=[reactivate]");
    check(u(deact(R::Admin), ""), E::AdminReactivate, "active signin=yes job=none ev=[user.reactivated] log=[reactivate]");
    check(u(blocked(Admin, R::Admin), ""), E::AdminReactivate, "active signin=yes job=none ev=[user.reactivated] log=[reactivate]");
    check(u(blocked(LegalHold, R::ProviderInactive), "hi"), E::AdminReactivate, "active [hi] signin=yes job=none ev=[user.reactivated] log=[reactivate]");

    check(u(S::Active, ""), E::AdminBlock, "blocked(admin,admin) signin=no job=none ev=[user.blocked access.revoked] log=[block]");
    check(u(pending(10, R::ProviderInactive), "i"), E::AdminBlock, "blocked(admin,admin) [i] signin=no job=cancel ev=[user.blocked] log=[block]");
    check(u(deact(R::ProviderInactive), "i"), E::AdminBlock, "deactivated(provider_inactive) [i] signin=no job=none ev=[] log=[]");
    check(u(blocked(LegalHold, R::ProviderInactive), "hi"), E::AdminBlock, "blocked(legal_hold,provider_inactive) [hi] signin=no job=none ev=[] log=[]");
}

#[test]
#[rustfmt::skip]
fn legal_hold() {
    use BlockReason::*;
    check(u(S::Active, ""), E::LegalHoldSet, "active [h] signin=yes job=none ev=[] log=[legal_hold_set]");
    check(u(S::Active, "h"), E::LegalHoldSet, "active [h] signin=yes job=none ev=[] log=[]");
    check(u(pending(10, R::ProviderInactive), "i"), E::LegalHoldSet, "pending(10,provider_inactive) [hi] signin=no job=none ev=[] log=[legal_hold_set]");
    check(u(S::Active, ""), E::LegalHoldReleased, "active signin=yes job=none ev=[] log=[]");
    check(u(pending(10, R::ProviderInactive), "hi"), E::LegalHoldReleased, "pending(10,provider_inactive) [i] signin=no job=none ev=[] log=[legal_hold_released]");
    // Released while the provider still has the user inactive: deactivated automatically.
    check(u(blocked(LegalHold, R::ProviderInactive), "hi"), E::LegalHoldReleased, "deactivated(provider_inactive) [i] signin=no job=none ev=[user.deactivated] log=[legal_hold_released deactivate]");
    check(u(blocked(LegalHold, R::ProviderDelete), "hi"), E::LegalHoldReleased, "deactivated(provider_delete) [i] signin=no job=none ev=[user.deactivated] log=[legal_hold_released deactivate]");
    // An administrator's deactivation applies whatever the provider says.
    check(u(blocked(LegalHold, R::Admin), "h"), E::LegalHoldReleased, "deactivated(admin) signin=no job=none ev=[user.deactivated] log=[legal_hold_released deactivate]");
    // Nothing left to deactivate for.
    check(u(blocked(LegalHold, R::ProviderInactive), "h"), E::LegalHoldReleased, "active signin=yes job=none ev=[user.reactivated] log=[legal_hold_released reactivate]");
    check(u(blocked(Admin, R::Admin), "h"), E::LegalHoldReleased, "blocked(admin,admin) signin=no job=none ev=[] log=[legal_hold_released]");
}

#[test]
#[rustfmt::skip]
fn unmapped_users() {
    use BlockReason::*;
    // Switched off: only the fact changes.
    check(u(S::Active, ""), E::UnmappedChanged { mapped: false }, "active [u] signin=yes job=none ev=[] log=[]");
    check_unmapped(u(S::Active, ""), E::UnmappedChanged { mapped: false }, "pending(20,unmapped) [u] signin=no job=schedule(20,unmapped) ev=[user.deactivation_scheduled access.revoked] log=[schedule_deactivation]");
    check_unmapped(u(pending(10, R::Unmapped), "u"), E::UnmappedChanged { mapped: true }, "active signin=yes job=cancel ev=[user.reactivated] log=[reactivate]");
    check_unmapped(u(deact(R::Unmapped), "u"), E::UnmappedChanged { mapped: true }, "active signin=yes job=none ev=[user.reactivated] log=[reactivate]");
    check_unmapped(u(blocked(LegalHold, R::Unmapped), "hu"), E::UnmappedChanged { mapped: true }, "active [h] signin=yes job=none ev=[user.reactivated] log=[reactivate]");
    check_unmapped(u(blocked(LegalHold, R::Unmapped), "hu"), E::LegalHoldReleased, "deactivated(unmapped) [u] signin=no job=none ev=[user.deactivated] log=[legal_hold_released deactivate]");
    // Another reason remains: returning to a mapped group is not enough.
    check_unmapped(u(deact(R::ProviderInactive), "iu"), E::UnmappedChanged { mapped: true }, "deactivated(provider_inactive) [i] signin=no job=none ev=[] log=[]");
    check_unmapped(u(pending(10, R::ProviderInactive), "iu"), E::ProviderSetActive(true), "pending(10,provider_inactive) [u] signin=no job=none ev=[] log=[]");
    check_unmapped(u(pending(10, R::Unmapped), "u"), E::ProviderSetActive(false), "pending(10,unmapped) [iu] signin=no job=none ev=[] log=[]");
    check_unmapped(u(deact(R::Admin), "u"), E::UnmappedChanged { mapped: true }, "deactivated(admin) signin=no job=none ev=[] log=[]");
    check_unmapped(u(pending(10, R::Unmapped), "u"), E::JobDue, "pending(10,unmapped) [u] signin=no job=keep ev=[] log=[]");
}

#[test]
#[rustfmt::skip]
fn local_accounts_refuse_the_provider() {
    check(u(S::Active, "l"), E::ProviderSetActive(false), "ERR 400 mutability: this user is a local account, managed only in the product; the identity provider cannot deactivate or reactivate it");
    check(u(deact(R::Admin), "l"), E::ProviderSetActive(true), "ERR 400 mutability: this user is a local account, managed only in the product; the identity provider cannot deactivate or reactivate it");
    check(u(S::Active, "l"), E::ProviderDelete, "ERR 400 mutability: this user is a local account, managed only in the product; the identity provider cannot delete it");
    check_unmapped(u(S::Active, "l"), E::UnmappedChanged { mapped: false }, "active [l] signin=yes job=none ev=[] log=[]");
    check(u(S::Active, "l"), E::AdminDeactivate, "deactivated(admin) [l] signin=no job=none ev=[user.deactivated access.revoked] log=[deactivate]");
    check(u(S::Active, "l"), E::LegalHoldSet, "active [hl] signin=yes job=none ev=[] log=[legal_hold_set]");
}

#[test]
#[rustfmt::skip]
fn creation() {
    let check_create = |origin, active, mapped, unmapped_rule, expected: &str| {
        let d = create(origin, active, mapped, &settings(unmapped_rule), t(NOW));
        assert_eq!(show(&d), expected);
    };
    check_create(Origin::Provisioned, true, true, true, "active signin=yes job=none ev=[user.created] log=[]");
    check_create(Origin::Provisioned, false, true, false, "deactivated(provider_inactive) [i] signin=no job=none ev=[user.created] log=[deactivate]");
    check_create(Origin::Provisioned, true, false, true, "pending(20,unmapped) [u] signin=no job=schedule(20,unmapped) ev=[user.created user.deactivation_scheduled] log=[schedule_deactivation]");
    check_create(Origin::Provisioned, true, false, false, "active [u] signin=yes job=none ev=[user.created] log=[]");
    check_create(Origin::Local, false, false, true, "active [iul] signin=yes job=none ev=[user.created] log=[]");
}

#[test]
fn log_details_record_from_and_to() {
    let d = decide(
        &u(S::Active, ""),
        E::ProviderSetActive(false),
        &settings(false),
        t(NOW),
    )
    .unwrap();
    assert_eq!(
        d.log[0].detail,
        serde_json::json!({
            "from": {"state": "active"},
            "to": {"state": "pending_deactivation", "due": "2030-01-01T00:20:00Z", "reason": "provider_inactive"},
        })
    );
    let d = decide(
        &u(
            S::Blocked {
                reason: BlockReason::LegalHold,
                cause: R::ProviderInactive,
            },
            "hi",
        ),
        E::LegalHoldReleased,
        &settings(false),
        t(NOW),
    )
    .unwrap();
    assert_eq!(d.log[0].detail, serde_json::json!({"legal_hold": false}));
    assert_eq!(
        d.log[1].detail,
        serde_json::json!({
            "from": {"state": "blocked", "reason": "legal_hold", "cause": "provider_inactive"},
            "to": {"state": "deactivated", "reason": "provider_inactive"},
        })
    );
}

#[test]
fn states_round_trip_through_serde_and_name_one_word() {
    for (s, name) in [
        (S::Active, "active"),
        (pending(20, R::ProviderDelete), "pending_deactivation"),
        (deact(R::Unmapped), "deactivated"),
        (blocked(BlockReason::Admin, R::Admin), "blocked"),
    ] {
        assert_eq!(s.name(), name);
        let json = serde_json::to_value(s).unwrap();
        assert_eq!(json, s.to_json());
        assert_eq!(serde_json::from_value::<S>(json).unwrap(), s);
    }
    assert_eq!(pending(20, R::ProviderDelete).due(), Some(t(20)));
    assert_eq!(S::Active.due(), None);
}

#[test]
fn an_absurd_delay_saturates_instead_of_overflowing() {
    assert_eq!(
        scim_core::policy::due_after(t(0), u64::MAX),
        DateTime::<Utc>::MAX_UTC
    );
    assert_eq!(scim_core::policy::due_after(t(0), 60), t(1));
}
