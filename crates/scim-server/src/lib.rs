//! `scim-server`: the SCIM 2.0 HTTP API on actix-web, usable as a library mounted into another
//! actix-web app and as the `scim-server` binary.
//!
//! Architecture invariant: this is the only crate that knows HTTP, content types, tokens and
//! time. Handlers read top to bottom: extract → core → store → respond.

pub mod admin_auth;
pub mod admin_cli;
pub mod auth;
pub mod auth_throttle;
pub mod cli;
pub mod cursors;
pub mod error;
pub mod events;
pub mod handlers;
pub mod http;
pub mod known_orgs;
pub mod ldap;
pub mod log_format;
pub mod log_writer;
pub mod memory;
pub mod observe;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod secrets;
pub mod service;
pub mod settings_cache;
pub mod state;
pub mod tls;
pub mod webhooks;
pub mod worker;
pub mod write_locks;

pub use routes::{configure, configure_admin, scope};
pub use service::passwords::verify_password;
pub use state::{AppState, Clock, ServerConfig, SystemClock};
