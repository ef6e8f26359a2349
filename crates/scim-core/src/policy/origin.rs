//! Who owns a user account: this tenant's provider, or the product itself (a local account).
//!
//! Code42/Incydr: "Local users cannot be created, updated, or deleted from the provisioning
//! provider. These users can only be managed in the Incydr console." DivvyCloud: a SAML
//! username "already in use by a local user" needs an administrator. So every provider write
//! that touches a local account is refused here, with a message that says why.
//!
//! Status choice: a create that collides with a local account is a **409 `uniqueness`** (the
//! name is taken, and the detail says by a local account, so the provider's admin knows to
//! rename or ask the product's admin). A change or delete of a local account is a **400
//! `mutability`**: RFC 7644 §3.12 defines it as a modification "not compatible with the
//! target attribute's mutability or current state", and being local is that state. Core's
//! one error enum has no 403/409-conflict variant, and reusing these keeps the server's single
//! error conversion unchanged.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a user account came from. Stored with the user; never changed by a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Created by this tenant's provider (SCIM, LDAP sync or JIT): the provider's values win.
    #[default]
    Provisioned,
    /// Created in the product: the provider may not create, change or delete it.
    Local,
}

impl Origin {
    /// The snake_case name stored in the database and shown in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Provisioned => "provisioned",
            Origin::Local => "local",
        }
    }
}

/// A provider write on a user, as far as ownership is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderOp {
    /// `POST /Users` (or a Bulk POST) whose userName already exists.
    Create,
    /// `PUT /Users/{id}`.
    Replace,
    /// `PATCH /Users/{id}`.
    Modify,
    /// `DELETE /Users/{id}`.
    Delete,
}

impl ProviderOp {
    fn verb(self) -> &'static str {
        match self {
            ProviderOp::Create => "create",
            ProviderOp::Replace => "replace",
            ProviderOp::Modify => "modify",
            ProviderOp::Delete => "delete",
        }
    }
}

/// May the provider perform `op` on a user of this origin? For [`ProviderOp::Create`], `origin`
/// is that of the existing user whose userName collides, so a create always fails here: with
/// a 409 that says the name belongs to a local account, or the ordinary "already exists" 409.
/// Other operations fail only on local accounts (400 `mutability`).
pub fn check_provider_op(op: ProviderOp, origin: Origin, user_name: &str) -> Result<()> {
    match (op, origin) {
        (ProviderOp::Create, Origin::Local) => Err(Error::Uniqueness(format!(
            "userName {user_name:?} belongs to a local account, which the identity provider \
             cannot create or manage; give the provider's user another userName, or have an \
             administrator remove the local account"
        ))),
        (ProviderOp::Create, Origin::Provisioned) => Err(Error::Uniqueness(format!(
            "userName {user_name:?} is already taken by another user"
        ))),
        (_, Origin::Provisioned) => Ok(()),
        (op, Origin::Local) => Err(local_account_error(op.verb(), Some(user_name))),
    }
}

/// The refusal for a provider change to a local account; `user_name` is named when known.
pub(crate) fn local_account_error(verb: &str, user_name: Option<&str>) -> Error {
    let who = match user_name {
        Some(n) => format!("user {n:?}"),
        None => "this user".to_string(),
    };
    Error::Mutability(format!(
        "{who} is a local account, managed only in the product; the identity provider cannot \
         {verb} it"
    ))
}
