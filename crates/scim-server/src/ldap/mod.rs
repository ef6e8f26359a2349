//! Pull-mode provisioning from an LDAP directory (issue #7): a tenant's users and groups kept
//! in line with the members of mapped directory groups, hourly by default and on demand.
//!
//! - [`directory`] reads one complete snapshot of the mapped groups and their members (or
//!   fails, changing nothing);
//! - [`reconcile`] makes the tenant match it through the same store and policy functions as
//!   SCIM writes, with actor `ldap`;
//! - [`sync`] is one run: the tenant's lock, the `ldap_runs` record, read, reconcile;
//! - [`scheduler`] runs each tenant's sync every `interval_secs` in `serve`.
//!
//! The users a sync owns carry an `externalId` beginning with `ldap:`; nothing else is touched.
//! Operator documentation: `docs/ldap.md`.

pub mod directory;
mod fields;
pub mod reconcile;
pub mod scheduler;
pub mod sync;

pub use sync::{StartedBy, SyncError, SyncReport, sync_tenant};
