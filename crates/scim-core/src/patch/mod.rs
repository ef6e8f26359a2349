//! PATCH (RFC 7644 §3.5.2): operations, client dialects, atomic application and change sets.
//!
//! A request is parsed once ([`PatchRequest::parse`]) and applied with [`apply`] to a copy of
//! the stored document, so it either succeeds as a whole or changes nothing. Group membership
//! is never materialised here: operations on `members` become [`MemberOp`]s in the
//! [`ChangeSet`], which the store writes as a diff, so a one-member change to a group of 100 000
//! costs what it costs for a group of 10. Callers that hold the member list in memory apply the
//! same ops with [`MemberOp::apply_to`].
//!
//! Client dialects handled (see `shared/clients.md`): op names in any case (Entra E1); boolean
//! strings (E2); pathless values whose keys are dotted paths or URNs (E5); member removal by a
//! value list (E6); `$ref: null` (E8); manager as a bare string, object or array, empty meaning
//! removal (E10); add or replace on a filtered element that does not exist yet creates it from
//! the filter's equality terms (E23); an empty `Operations` list (E24); Okta's pathless replace
//! whose value carries the resource's own `id`.

mod apply;
mod members;
mod request;
mod values;

pub use apply::{ChangeSet, PatchOutcome, apply};
pub use members::{Member, MemberOp};
pub use request::{PatchOp, PatchOperation, PatchRequest};
