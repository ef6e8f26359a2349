//! Provisioning policy: what happens to accounts after SCIM moved them, as pure functions.
//!
//! Everything here is a function of (tenant settings, user record, memberships, `now`) →
//! decision; nothing reads a clock or a database. The store persists decisions in one
//! transaction, the server's workers run them. The rules come from the vendor documents the
//! product is modelled on (Code42/Incydr's deactivation delay, legal hold and local users;
//! DivvyCloud's organization, role and admin-tier mappings and session-ending events;
//! Invicti's email-as-identifier) and are described in `DESIGN.md`, "Provisioning policy":
//!
//! - [`lifecycle`]: active → pending deactivation → deactivated / blocked, with the delay,
//!   legal hold, administrator actions and unmapped users ([`decide`], [`create`]);
//! - [`origin`]: local accounts that the provider may not touch ([`check_provider_op`]);
//! - [`entitlements`]: organization, roles and admin tier from groups and attributes
//!   ([`EntitlementRules`]), read by SCIM path or JSONPath ([`attribute`]);
//! - [`mappings`]: what recomputing a user changed and what that means for sessions and the
//!   lifecycle ([`diff`], [`EntitlementRules::apply_mappings`]);
//! - [`validation`]: the per-tenant userName / primary email / country rules
//!   ([`validate_user`], with the ISO 3166-1 list in [`countries`]);
//! - [`password`]: whether a sent password is kept ([`password_decision`]);
//! - [`events`] and [`log`]: what the outbox and the sync log receive.

pub mod attribute;
pub mod countries;
pub mod entitlements;
pub mod events;
pub mod lifecycle;
pub mod log;
pub mod mappings;
pub mod origin;
pub mod password;
pub mod settings;
pub mod validation;

pub use attribute::AttributeReader;
pub use countries::is_iso3166_alpha2;
pub use entitlements::{AdminTier, EntitlementRules, Entitlements, OrgCatalog};
pub use events::{PolicyEvent, RevocationCause, merge_events};
pub use lifecycle::{
    BlockReason, DeactivationReason, Decision, JobAction, LifecycleEvent, LifecycleState,
    UserLifecycle, create, decide, due_after,
};
pub use log::{LogAction, LogRecord};
pub use mappings::{EntitlementChange, MappingInput, MappingOutcome, MappingReport, diff};
pub use origin::{Origin, ProviderOp, check_provider_op};
pub use password::{PasswordDecision, password_decision};
pub use settings::{
    AdminTiers, DEFAULT_DEACTIVATION_DELAY_SECS, DEFAULT_ORG, OrgMapping, PolicySettings,
    RoleMapping, ValidationRules,
};
pub use validation::{is_valid_email, validate_user};
