//! The operator commands of the binary beyond serving: what an administrator runs from a
//! script. Each opens the database itself, so they work while a server runs on it.

use chrono::{DateTime, NaiveDateTime, Utc};
use scim_store::sync_log::{self, LogQuery};
use scim_store::{Store, StoreOptions, Tenant, tenants};

/// Errors of a command, printed by `main` as `error: …`.
pub type CliResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Opens the store (migrating, as every command does).
pub fn open(database_url: &str) -> CliResult<Store> {
    Ok(Store::open(database_url, StoreOptions::default())?)
}

/// The tenant with this name, or an error that says how to create it.
pub fn tenant(store: &Store, name: &str) -> CliResult<Tenant> {
    store.read(|c| tenants::by_name(c, name))?.ok_or_else(|| {
        format!("no tenant named {name:?}; create it with `scim-server tenant create`").into()
    })
}

/// Parses `--since`: RFC 3339 (`2026-11-30T08:00:00Z`) or a date (`2026-11-30`, midnight UTC).
pub fn parse_time(text: &str) -> CliResult<NaiveDateTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc).naive_utc());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN));
    }
    Err(format!(
        "{text:?} is not a time; use RFC 3339 (2026-11-30T08:00:00Z) or a date (2026-11-30)"
    )
    .into())
}

/// `scim-server sync-log --tenant NAME [--user ID] [--since TIME]`: every matching entry,
/// newest first, one tab-separated line each: time, actor, action, resource type, id, detail.
pub fn sync_log(
    database_url: &str,
    tenant_name: &str,
    user: Option<String>,
    since: Option<String>,
) -> CliResult {
    let store = open(database_url)?;
    let t = tenant(&store, tenant_name)?;
    let from = since.as_deref().map(parse_time).transpose()?;
    let mut query = LogQuery {
        resource_id: user,
        from,
        limit: sync_log::MAX_PAGE,
        ..LogQuery::default()
    };
    loop {
        let page = store.read(|c| sync_log::query(c, &t.id, &query))?;
        for e in &page.entries {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                e.at.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                e.actor.as_str(),
                e.action,
                e.resource_type,
                e.resource_id,
                e.detail
            );
        }
        match page.next {
            Some(cursor) => query.before = Some(cursor),
            None => return Ok(()),
        }
    }
}

/// `scim-server user state --tenant NAME USER_ID`: one word, `active`,
/// `pending_deactivation`, `deactivated` or `blocked`.
pub fn user_state(database_url: &str, tenant_name: &str, user_id: &str) -> CliResult {
    let store = open(database_url)?;
    let t = tenant(&store, tenant_name)?;
    let state = store
        .read(|c| scim_store::lifecycle::state_name(c, &t.id, user_id))?
        .ok_or_else(|| format!("tenant {tenant_name} has no user {user_id:?}"))?;
    println!("{state}");
    Ok(())
}

/// `scim-server legal-hold set|clear --tenant NAME USER_ID`: puts a user on legal hold (never
/// deactivated; blocked at the due time instead) or releases it (deactivated at once if the
/// provider still has the user inactive). Recorded in the sync log as an administrator action.
pub fn legal_hold(database_url: &str, tenant_name: &str, user_id: &str, set: bool) -> CliResult {
    let store = open(database_url)?;
    let t = tenant(&store, tenant_name)?;
    let registry = std::sync::Arc::new(scim_core::schema::SchemaRegistry::standard());
    let event = if set {
        scim_core::policy::LifecycleEvent::LegalHoldSet
    } else {
        scim_core::policy::LifecycleEvent::LegalHoldReleased
    };
    let (tid, uid) = (t.id.clone(), user_id.to_string());
    let now = Utc::now();
    let (decision, _) = store.write(move |c| {
        crate::service::lifecycle::handle(
            c,
            &registry,
            &tid,
            &uid,
            event,
            scim_store::Actor::Admin,
            now,
        )
        .map_err(|e| match e {
            crate::service::lifecycle::LifecycleError::Store(e) => e,
            crate::service::lifecycle::LifecycleError::Policy(e) => {
                scim_store::StoreError::Invalid(e.to_string())
            }
        })
    })?;
    eprintln!(
        "user {user_id}: legal hold {}, state {}",
        if set { "set" } else { "released" },
        decision.user.state.name()
    );
    Ok(())
}

/// `scim-server apply-mappings --tenant NAME`: recomputes every user of the tenant under its
/// current mappings, a batch per transaction, recording each change as an administrator's;
/// prints the counts on stdout as `users_examined=N users_changed=N organizations_created=N`.
pub fn apply_mappings(database_url: &str, tenant_name: &str) -> CliResult {
    use chrono::{DurationRound, TimeDelta};
    let store = open(database_url)?;
    let t = tenant(&store, tenant_name)?;
    let registry = std::sync::Arc::new(scim_core::schema::SchemaRegistry::standard());
    // Microseconds, as PostgreSQL stores them (the server's writes truncate the same way).
    let now = Utc::now();
    let now = now
        .duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now);
    let report = crate::service::entitlements::apply_mappings(
        &store,
        registry,
        &t.id,
        scim_store::Actor::Admin,
        now,
    )?;
    println!(
        "users_examined={} users_changed={} organizations_created={}",
        report.users_examined, report.users_changed, report.organizations_created
    );
    eprintln!("tenant {tenant_name}: mappings applied");
    Ok(())
}

/// `scim-server ldap configure|sync|runs` (issue #7, docs/ldap.md).
pub fn ldap(database_url: &str, action: crate::cli::LdapAction) -> CliResult {
    use crate::cli::LdapAction;
    match action {
        LdapAction::Configure {
            tenant: name,
            url,
            bind_dn,
            bind_password_env,
            base_dn,
            groups,
            starttls,
            allow_plaintext,
            interval,
            user_name_attribute,
            user_object_class,
        } => {
            let store = open(database_url)?;
            let t = tenant(&store, &name)?;
            let var = bind_password_env.clone();
            let summary = format!("{url}, {} group(s)", groups.len());
            let interval_secs = store.write(move |c| {
                let mut settings = tenants::settings(c, &t.id)?;
                // Attribute names and object classes set earlier (admin API) are kept.
                let mut source = settings.ldap.take().unwrap_or_default();
                source.url = url;
                source.bind_dn = bind_dn;
                source.bind_password_env = Some(bind_password_env);
                source.bind_password_enc = None;
                source.base_dn = base_dn;
                source.groups = groups;
                source.starttls = starttls;
                source.allow_plaintext = allow_plaintext;
                if let Some(secs) = interval {
                    source.interval_secs = secs;
                }
                if let Some(a) = user_name_attribute {
                    source.attributes.user_name = a;
                }
                if let Some(class) = user_object_class {
                    source.user_object_class = class;
                }
                let secs = source.interval_secs;
                settings.ldap = Some(source);
                tenants::update_settings(c, &t.id, &settings).map(|_| secs)
            })?;
            eprintln!("tenant {name}: LDAP source set ({summary}, every {interval_secs} s)");
            if std::env::var_os(&var).is_none() {
                eprintln!(
                    "note: {var} is not set here; `serve` and `ldap sync` read the bind password \
                     from it"
                );
            }
            Ok(())
        }
        LdapAction::Sync { tenant: name } => {
            let store = open(database_url)?;
            let t = tenant(&store, &name)?;
            let state = crate::state::AppState::new(store, crate::state::ServerConfig::default())?;
            let report = crate::ldap::sync_tenant(&state, &t.id, crate::ldap::StartedBy::Cli)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            println!("{report}");
            eprintln!("tenant {name}: LDAP sync run {} finished", report.run_id);
            Ok(())
        }
        LdapAction::Runs {
            tenant: name,
            limit,
        } => {
            let store = open(database_url)?;
            let t = tenant(&store, &name)?;
            let runs = store.read(|c| scim_store::ldap_runs::list(c, &t.id, limit))?;
            let time = |t: NaiveDateTime| {
                t.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            };
            for r in runs {
                let n = r.counts;
                println!(
                    "{}\t{}\t{}\t{}\t{}\tcreated={} updated={} deactivated={} reactivated={}\t\
                     warnings={}\t{}",
                    r.id,
                    time(r.started_at),
                    r.finished_at.map(time).unwrap_or_else(|| "-".into()),
                    r.started_by,
                    r.status.as_str(),
                    n.created,
                    n.updated,
                    n.deactivated,
                    n.reactivated,
                    r.warnings.len(),
                    r.error.unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}
