//! A host product that mounts the SCIM API next to its own routes and reacts to provisioning
//! events: when a user loses access (the identity provider deactivates it, or an admin tier is
//! dropped) or is deleted, the host ends that user's sessions.
//!
//! ```sh
//! cargo run -p scim-examples --example host_app          # listens on 127.0.0.1:8090
//! ```
//! It prints a bearer token for its demo tenant; then, for example:
//! ```sh
//! curl -s -X POST localhost:8090/scim/v2/Users -H "Authorization: Bearer $TOKEN" \
//!      -H 'Content-Type: application/scim+json' -d '{"userName":"lee@example.com"}'
//! ```
//! and watch the host log `session ended` after a PATCH that sets `active` to false.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use scim_server::events::{Dispatcher, EventHandler};
use scim_server::secrets::{hash_secret, issue_token};
use scim_server::{AppState, ServerConfig, SystemClock};
use scim_store::outbox::Event;
use scim_store::{Store, StoreOptions, tenants, tokens};

/// The host's own session table (a stand-in for whatever the product uses).
#[derive(Default)]
struct Sessions {
    by_user: Mutex<HashMap<String, usize>>,
}

impl EventHandler for Sessions {
    fn handle(&self, event: &Event) -> Result<(), String> {
        let Some(user) = &event.user_id else {
            return Ok(());
        };
        match event.kind.as_str() {
            // `access.revoked` and `privileges.decreased` are the policy's "end this user's
            // sessions"; a deletion ends them too.
            "access.revoked" | "privileges.decreased" | "user.deleted" => {
                let ended = self
                    .by_user
                    .lock()
                    .map_err(|_| "session table poisoned".to_string())?
                    .remove(user)
                    .unwrap_or(0);
                println!(
                    "host: session ended for user {user} ({ended} open) after {}",
                    event.kind
                );
            }
            other => println!("host: {other} for user {user}"),
        }
        Ok(())
    }
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("scim-host-app-example");
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}", dir.join("host.db").display());
    let store = Store::open(&url, StoreOptions::default())?;

    // A tenant and token for the demo (a real host does this once, from its admin UI).
    let now = chrono::Utc::now().naive_utc();
    let tenant = match store.read(|c| tenants::by_name(c, "demo"))? {
        Some(t) => t,
        None => store.write(move |c| tenants::create(c, "demo", now))?,
    };
    let issued = issue_token()?;
    let hash = hash_secret(&issued.secret)?;
    let (tid, id) = (tenant.id.clone(), issued.id.clone());
    store.write(move |c| tokens::create(c, &tid, &id, &hash, "scim", Some("example"), now))?;
    println!("bearer token for tenant demo: {}", issued.bearer().expose());

    let state = AppState::new(store.clone(), ServerConfig::default())?;
    let sessions = Arc::new(Sessions::default());
    let dispatcher = Dispatcher::new(store, sessions.clone(), Arc::new(SystemClock));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let events = actix_web::rt::spawn(dispatcher.run(async {
        let _ = stop_rx.await;
    }));

    HttpServer::new(move || {
        App::new()
            // The host's own routes...
            .route(
                "/",
                web::get().to(|| async { HttpResponse::Ok().body("my product") }),
            )
            // ...and the SCIM API under the prefix the host chooses.
            .service(scim_server::scope("/scim/v2", state.clone()))
    })
    // actix keeps Nagle's algorithm on by default; a Group response written in several pieces
    // then waits up to 40 ms for the client's delayed ACK. The binary turns it off too.
    .tcp_nodelay(true)
    .bind("127.0.0.1:8090")?
    .run()
    .await?;

    let _ = stop_tx.send(());
    let _ = events.await;
    Ok(())
}
