//! The command line. Its shape is a contract operators' scripts depend on (issue #4):
//!
//! ```text
//! scim-server [--database-url URL] serve [--bind ADDR] [--webhook-url URL]
//! scim-server [--database-url URL] tenant create NAME
//! scim-server [--database-url URL] token create --tenant NAME
//! scim-server [--database-url URL] token create --admin
//! scim-server [--database-url URL] token revoke TOKEN_ID
//! scim-server [--database-url URL] migrate
//! scim-server openapi
//! ```
//!
//! Machine-readable results (ids, tokens) go alone on stdout; everything else on stderr.

use clap::{Parser, Subcommand};

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
