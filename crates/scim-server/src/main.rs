//! The `scim-server` binary: a thin command line around the library.

use std::process::ExitCode;
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use clap::Parser;
use scim_server::auth_throttle::{AuthThrottle, ThrottleConfig};
use scim_server::cli::{Cli, Command, LegalHoldAction, TenantAction, TokenAction, UserAction};
use scim_server::events::Dispatcher;
use scim_server::secrets::{hash_secret, issue_token};
use scim_server::webhooks::WebhookSink;
use scim_server::{AppState, ServerConfig};
use scim_store::{Store, StoreOptions, tenants, tokens};

fn main() -> ExitCode {
    scim_server::memory::limit_arenas();
    let cli = Cli::parse();
    // Logs go to stderr (stdout carries the ids and tokens scripts read). `SCIM_LOG` sets the
    // level filter; `SCIM_LOG_FORMAT=json` switches to one JSON object per line.
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Lines reach stderr a few times a second in one write, not one write per line (see
    // `log_writer`); the guard writes the rest when `main` returns.
    let (log_writer, log_guard) = scim_server::log_writer::LogWriter::install(std::io::stderr());
    // Lines as the default format writes them, for less CPU each (see `log_format`).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log_writer)
        .with_timer(scim_server::log_format::LineTime);
    if std::env::var("SCIM_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder
            .fmt_fields(scim_server::log_format::LineFields)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let outcome = run(cli);
    // Queued log lines first, so they come out before the final word.
    drop(log_guard);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Openapi => {
            println!("{}", scim_server::openapi::document().to_pretty_json()?);
        }
        Command::User {
            action: UserAction::State { tenant, user_id },
        } => scim_server::admin_cli::user_state(&cli.database_url, &tenant, &user_id)?,
        Command::LegalHold { action } => {
            let (tenant, user_id, set) = match action {
                LegalHoldAction::Set { tenant, user_id } => (tenant, user_id, true),
                LegalHoldAction::Clear { tenant, user_id } => (tenant, user_id, false),
            };
            scim_server::admin_cli::legal_hold(&cli.database_url, &tenant, &user_id, set)?
        }
        Command::ApplyMappings { tenant } => {
            scim_server::admin_cli::apply_mappings(&cli.database_url, &tenant)?
        }
        Command::Ldap { action } => scim_server::admin_cli::ldap(&cli.database_url, action)?,
        Command::SyncLog {
            tenant,
            user,
            since,
        } => scim_server::admin_cli::sync_log(&cli.database_url, &tenant, user, since)?,
        Command::Migrate => {
            let store = Store::open(
                &cli.database_url,
                StoreOptions {
                    run_migrations: false,
                    ..StoreOptions::default()
                },
            )?;
            store.migrate()?;
            eprintln!("migrations applied");
        }
        Command::Tenant {
            action: TenantAction::Create { name },
        } => {
            if scim_server::admin_auth::is_reserved_tenant_name(&name) {
                return Err(format!("the tenant name {name:?} is reserved").into());
            }
            let store = Store::open(&cli.database_url, StoreOptions::default())?;
            let t = store.write(move |c| tenants::create(c, &name, now()))?;
            println!("{}", t.id);
        }
        Command::Tenant {
            action:
                TenantAction::Set {
                    name,
                    deactivation_delay,
                },
        } => {
            let store = Store::open(&cli.database_url, StoreOptions::default())?;
            let t = store
                .read(|c| tenants::by_name(c, &name))?
                .ok_or_else(|| format!("no tenant named {name:?}"))?;
            store.write(move |c| {
                let mut settings = tenants::settings(c, &t.id)?;
                if let Some(secs) = deactivation_delay {
                    settings.deactivation_delay_secs = secs;
                }
                tenants::update_settings(c, &t.id, &settings)
            })?;
            eprintln!("tenant {name} updated");
        }
        Command::Token {
            action: TokenAction::Create {
                admin: true, label, ..
            },
        } => {
            let store = Store::open(&cli.database_url, StoreOptions::default())?;
            let issued = scim_server::admin_auth::issue_admin_token(&store, label, now())?;
            println!("{}", issued.bearer().expose());
        }
        Command::Token {
            action: TokenAction::Create { tenant, label, .. },
        } => {
            let tenant = tenant.ok_or("--tenant NAME or --admin is required")?;
            if scim_server::admin_auth::is_reserved_tenant_name(&tenant) {
                return Err(format!(
                    "{tenant:?} is reserved for administrator tokens; use `token create --admin`"
                )
                .into());
            }
            let store = Store::open(&cli.database_url, StoreOptions::default())?;
            let t = store
                .read(|c| tenants::by_name(c, &tenant))?
                .ok_or_else(|| {
                    format!(
                        "no tenant named {tenant:?}; create it with `scim-server tenant create`"
                    )
                })?;
            let issued = issue_token()?;
            let hash = hash_secret(&issued.secret)?;
            let id = issued.id.clone();
            store.write(move |c| {
                tokens::create(c, &t.id, &id, &hash, "scim", label.as_deref(), now())
            })?;
            println!("{}", issued.bearer().expose());
        }
        Command::Token {
            action: TokenAction::Revoke { token_id },
        } => {
            let store = Store::open(&cli.database_url, StoreOptions::default())?;
            let id = token_id.clone();
            let revoked = store.write(move |c| match tokens::get(c, &id)? {
                Some(t) => tokens::revoke(c, &t.tenant_id, &id, now()),
                None => Ok(false),
            })?;
            if !revoked {
                return Err(format!("no token {token_id:?}").into());
            }
            eprintln!("token {token_id} revoked");
        }
        Command::Serve {
            bind,
            public_url,
            webhook_url,
            record_events,
            tls_cert,
            tls_key,
            auth_failure_burst,
            auth_failure_refill,
            pool_size,
        } => {
            scim_server::memory::trim_in_background();
            // TLS and webhooks: set up before anything else so bad files, a bad URL or a
            // missing secret stop the start. An empty SCIM_WEBHOOK_URL means none.
            let tls = scim_server::tls::files(tls_cert, tls_key)?
                .map(|f| scim_server::tls::server_config(&f))
                .transpose()?;
            let webhook = webhook_url
                .filter(|u| !u.trim().is_empty())
                .map(WebhookSink::from_env)
                .transpose()?;
            // Events are for a consumer; without one they would pile up in the outbox forever
            // and cost every change their rows.
            let record_events = record_events || webhook.is_some();
            if !record_events {
                tracing::info!(
                    "no webhook URL: provisioning events are not recorded (--record-events keeps them)"
                );
            }
            let options = StoreOptions {
                record_events,
                pool_size,
                ..StoreOptions::default()
            };
            let store = Store::open(&cli.database_url, options)?;
            let config = ServerConfig {
                public_url,
                ..ServerConfig::default()
            };
            let mut state = AppState::new(store, config)?;
            state
                .verifier
                .set_throttle(AuthThrottle::new(ThrottleConfig {
                    burst: auth_failure_burst,
                    refill: std::time::Duration::from_secs(auth_failure_refill),
                }));
            serve(state, &bind, webhook, tls)?;
        }
    }
    Ok(())
}

#[actix_web::main]
async fn serve(
    state: AppState,
    bind: &str,
    webhook: Option<WebhookSink>,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<()> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%bind, %scheme, "scim-server listening");
    // Webhook delivery runs beside the HTTP server (started once the port is bound, stopped
    // after the server has drained).
    let store = state.store.clone();
    let clock = state.clock.clone();
    let worker = scim_server::worker::DeactivationWorker::new(state.clone());
    let ldap = scim_server::ldap::scheduler::LdapScheduler::new(state.clone());
    let mount = state.config.mount_path.clone();
    let metrics = state.metrics.clone();
    let server = HttpServer::new(move || {
        let state = state.clone();
        let ready = state.store.clone();
        let metrics = metrics.clone();
        let observed = state.metrics.clone();
        App::new()
            // One middleware for every route (health, metrics and the API alike): request ids,
            // access logs, metrics, SCIM bodies for framework errors.
            .wrap(actix_web::middleware::from_fn(move |req, next| {
                scim_server::observe::middleware(observed.clone(), req, next)
            }))
            .route(
                "/healthz",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/plain; charset=utf-8")
                        .body("ok")
                }),
            )
            .route(
                "/readyz",
                web::get().to(move || {
                    let store = ready.clone();
                    async move {
                        match web::block(move || store.ping()).await {
                            Ok(Ok(())) => HttpResponse::Ok()
                                .content_type("text/plain; charset=utf-8")
                                .body("ready"),
                            _ => HttpResponse::ServiceUnavailable()
                                .content_type("text/plain; charset=utf-8")
                                .body("database unreachable"),
                        }
                    }
                }),
            )
            .route(
                "/metrics",
                web::get().to(move || {
                    let body = metrics.render();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/plain; version=0.0.4")
                            .body(body)
                    }
                }),
            )
            .service(web::scope(&mount).configure({
                let state = state.clone();
                move |c| scim_server::configure(c, state)
            }))
            .service(
                web::scope("/admin/v1").configure(move |c| scim_server::configure_admin(c, state)),
            )
    });
    // Nagle's algorithm held back the tail of any response written in more than one piece (a
    // Group of a thousand members, a streamed list) until the client's delayed ACK, 40 ms
    // later. One client PATCHing a 1 000-member group: 161/s with p99 45 ms before, 483/s with
    // p99 4.5 ms after. Responses are written whole or in 256 KiB chunks, so there are no small
    // writes for Nagle to merge.
    let server = server.tcp_nodelay(true);
    let server = match tls {
        Some(config) => server.bind_rustls_0_23(bind, config)?,
        None => server.bind(bind)?,
    }
    .run();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let dispatcher = webhook.map(|sink| {
        tracing::info!(url = %sink.display_url(), "delivering events by webhook");
        let d = Dispatcher::new(store, Arc::new(sink), clock);
        actix_web::rt::spawn(d.run(async move {
            let _ = stopped.await;
        }))
    });
    // The deactivation worker runs on every instance; jobs are claimed, so each runs once.
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker_task = actix_web::rt::spawn(worker.run(async move {
        let _ = worker_stopped.await;
    }));
    // Every instance runs the LDAP scheduler; a tenant's sync takes the tenant's lock, so one
    // instance runs it at a time.
    let (stop_ldap, ldap_stopped) = tokio::sync::oneshot::channel::<()>();
    let ldap_task = actix_web::rt::spawn(ldap.run(async move {
        let _ = ldap_stopped.await;
    }));
    let result = server.await;
    let _ = stop_worker.send(());
    let _ = worker_task.await;
    let _ = stop_ldap.send(());
    let _ = ldap_task.await;
    let _ = stop.send(());
    if let Some(task) = dispatcher {
        // Waits for the delivery in hand (at most the webhook timeout); the rest of the batch
        // is given back to the outbox for the next start or another instance.
        let _ = task.await;
        tracing::info!("webhook delivery stopped");
    }
    result
}
