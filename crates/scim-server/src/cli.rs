//! The command line. Its shape is a contract operators' scripts depend on (issue #4):
//!
//! ```text
//! scim-server [--database-url URL] serve [--bind ADDR] [--webhook-url URL]
//!     [--tls-cert PEM --tls-key PEM] [--auth-failure-burst N] [--auth-failure-refill SECONDS]
//! scim-server [--database-url URL] tenant create NAME
//! scim-server [--database-url URL] token create --tenant NAME
//! scim-server [--database-url URL] token create --admin
//! scim-server [--database-url URL] token revoke TOKEN_ID
//! scim-server [--database-url URL] migrate
//! scim-server [--database-url URL] ldap configure --tenant NAME --url ldap[s]://HOST:PORT \
//!     --bind-dn DN --bind-password-env VAR --base-dn DN --group GROUP_DN [--group GROUP_DN ...] \
//!     [--starttls] [--allow-plaintext] [--interval SECONDS]
//! scim-server [--database-url URL] ldap sync --tenant NAME
//! scim-server [--database-url URL] ldap runs --tenant NAME
//! scim-server openapi
//! ```
//!
//! Machine-readable results (ids, tokens) go alone on stdout; everything else on stderr.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use scim_store::StoreOptions;

use crate::auth_throttle::ThrottleConfig;

/// Default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://scim.db";
/// Default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// SCIM 2.0 provisioning server for Okta and Microsoft Entra ID.
#[derive(Debug, Parser)]
#[command(name = "scim-server", version, about)]
pub struct Cli {
    /// Database URL: sqlite://PATH (default ./scim.db) or postgres://USER@HOST:PORT/DB.
    #[arg(long, global = true, env = "SCIM_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SCIM API (migrating the database first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "SCIM_BIND", default_value = DEFAULT_BIND)]
        bind: String,
        /// Public origin used in resource locations (default: from each request's Host).
        #[arg(long, env = "SCIM_PUBLIC_URL")]
        public_url: Option<String>,
        /// Deliver provisioning events as signed webhooks to this URL (POST, JSON, at least
        /// once, in order per user). The HMAC-SHA256 signing secret comes only from the
        /// environment variable SCIM_WEBHOOK_SECRET (at least 16 bytes), never from a flag.
        #[arg(long, env = "SCIM_WEBHOOK_URL")]
        webhook_url: Option<String>,
        /// Record provisioning events in the outbox even without --webhook-url, for a consumer
        /// that reads the outbox itself (another process using the library's Dispatcher).
        /// Without either, events are not recorded: nobody would ever take them.
        #[arg(long, env = "SCIM_RECORD_EVENTS")]
        record_events: bool,
        /// Serve HTTPS (rustls) with this certificate chain: a PEM file, leaf certificate
        /// first. Needs --tls-key; without both, plain HTTP (for a terminating proxy).
        #[arg(long, env = "SCIM_TLS_CERT", value_name = "PEM")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert's leaf certificate: a PEM file (PKCS#8, RSA or EC).
        #[arg(long, env = "SCIM_TLS_KEY", value_name = "PEM")]
        tls_key: Option<PathBuf>,
        /// Failed authentications one client address may have at once; past them, its
        /// credentials not yet verified are refused with 429 and Retry-After, without hashing.
        /// 0 turns the throttle off.
        #[arg(long, env = "SCIM_AUTH_FAILURE_BURST", value_name = "N",
              default_value_t = ThrottleConfig::default().burst)]
        auth_failure_burst: u32,
        /// Seconds for a client to earn back one failed authentication (a locked-out client
        /// waits at most this long).
        #[arg(long, env = "SCIM_AUTH_FAILURE_REFILL", value_name = "SECONDS",
              default_value_t = ThrottleConfig::default().refill.as_secs(),
              value_parser = clap::value_parser!(u64).range(1..))]
        auth_failure_refill: u64,
        /// Database connections this instance keeps at most: PostgreSQL connections (at least
        /// 2; every instance's count adds up against the server's max_connections), or SQLite
        /// read connections (writes have one of their own). /metrics shows how many are in use.
        #[arg(long, env = "SCIM_POOL_SIZE", value_name = "N",
              default_value_t = StoreOptions::default().pool_size,
              value_parser = clap::value_parser!(u32).range(1..=1024))]
        pool_size: u32,
    },
    /// Manage tenants (one per identity-provider connection).
    Tenant {
        /// Tenant action.
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Manage API tokens.
    Token {
        /// Token action.
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Users' lifecycle.
    User {
        /// User action.
        #[command(subcommand)]
        action: UserAction,
    },
    /// Put a user on legal hold, or release the hold.
    LegalHold {
        /// set or clear.
        #[command(subcommand)]
        action: LegalHoldAction,
    },
    /// Print a tenant's sync log, newest first (tab-separated: time, actor, action, type, id,
    /// detail).
    SyncLog {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// Only changes to this user (or group) id.
        #[arg(long)]
        user: Option<String>,
        /// Only changes at or after this time (RFC 3339, or a date).
        #[arg(long)]
        since: Option<String>,
    },
    /// Recompute every user's organization, roles and admin tier under the tenant's current
    /// mappings (nothing moves until this runs), recording each change; prints
    /// `users_examined=N users_changed=N organizations_created=N` on stdout.
    ApplyMappings {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
    },
    /// Synchronize a tenant's users and groups from an LDAP directory (docs/ldap.md).
    Ldap {
        /// LDAP action.
        #[command(subcommand)]
        action: LdapAction,
    },
    /// Print the OpenAPI document (JSON) on stdout; needs no database.
    Openapi,
}

/// `tenant` actions.
#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Create a tenant; prints its id.
    Create {
        /// Unique tenant name.
        name: String,
    },
    /// Change a tenant's settings (a running server picks them up for later changes).
    Set {
        /// Tenant name.
        name: String,
        /// Seconds between the provider's deactivation and the destructive step (0 allowed).
        #[arg(long)]
        deactivation_delay: Option<u64>,
    },
}

/// `token` actions.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Issue a token for a tenant's SCIM API (`--tenant NAME`), or an administrator token for
    /// the admin API under /admin/v1 (`--admin`); prints the bearer token alone on stdout.
    Create {
        /// Tenant name.
        #[arg(long, required_unless_present = "admin", conflicts_with = "admin")]
        tenant: Option<String>,
        /// Issue an administrator token (admin API only; refused by the SCIM API).
        #[arg(long)]
        admin: bool,
        /// Optional note (e.g. okta-prod).
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a token by its id (the part before the dot).
    Revoke {
        /// Token id.
        token_id: String,
    },
}

/// `user` actions.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Print the user's lifecycle state as one word: active | pending_deactivation |
    /// deactivated | blocked.
    State {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// User id.
        user_id: String,
    },
}

/// `legal-hold` actions.
#[derive(Debug, Subcommand)]
pub enum LegalHoldAction {
    /// Put the user on legal hold.
    Set {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// User id.
        user_id: String,
    },
    /// Release the user's legal hold.
    Clear {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// User id.
        user_id: String,
    },
}

/// `ldap` actions (issue #7; the shape of `configure` and `sync` is a contract).
#[derive(Debug, Subcommand)]
pub enum LdapAction {
    /// Set the tenant's LDAP source (replacing any previous one). The bind password is never
    /// stored or printed: only the name of the environment variable that holds it, which the
    /// processes that synchronize (`serve`, `ldap sync`) must have.
    Configure {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// `ldaps://HOST:PORT`, or `ldap://HOST:PORT` with --starttls (or --allow-plaintext).
        #[arg(long)]
        url: String,
        /// DN of the directory-read account.
        #[arg(long)]
        bind_dn: String,
        /// Name of the environment variable holding the bind password.
        #[arg(long)]
        bind_password_env: String,
        /// Where users (memberUid lookups) and groups given by name are searched.
        #[arg(long)]
        base_dn: String,
        /// A mapped group: its DN (or its cn under the base DN). Repeat for each group.
        #[arg(long = "group", required = true)]
        groups: Vec<String>,
        /// Upgrade an ldap:// connection with StartTLS.
        #[arg(long)]
        starttls: bool,
        /// Allow an unencrypted ldap:// connection (test directories only).
        #[arg(long)]
        allow_plaintext: bool,
        /// Seconds between scheduled synchronizations (default 3600).
        #[arg(long, value_name = "SECONDS")]
        interval: Option<u64>,
        /// LDAP attribute that becomes userName (default uid; `mail` for email user names).
        #[arg(long)]
        user_name_attribute: Option<String>,
        /// objectClass of user entries (default person).
        #[arg(long)]
        user_object_class: Option<String>,
    },
    /// Run one synchronization now; prints `created=N updated=N deactivated=N reactivated=N`
    /// on stdout. A directory that can't be read changes nothing and exits non-zero.
    Sync {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
    },
    /// Print the tenant's synchronization runs, newest first (tab-separated: id, started,
    /// finished, started by, status, counts, warnings, error).
    Runs {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// How many runs (at most 1000).
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}
