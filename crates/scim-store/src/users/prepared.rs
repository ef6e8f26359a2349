//! A user insert split in two: [`prepare_insert`] derives every column (search document,
//! folded keys, email rows, resource text) on the caller's thread, and [`insert_prepared`]
//! only runs SQL. On SQLite every write goes through one writer thread, so what the writer
//! does per request bounds write throughput; the derivation is pure and can run anywhere.
//! A replace (PUT, PATCH) is split the same way: [`prepare_replace`], then
//! [`replace_prepared`].

use chrono::NaiveDateTime;
use diesel::IntoSql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use scim_core::policy::UserLifecycle;
use scim_core::schema::SchemaRegistry;
use serde_json::Value;

use super::columns::{Columns, columns, emails};
use super::{PasswordChange, document_active, missing_or_stale, write_emails};
use crate::conn::Conn;
use crate::error::{Result, StoreError, classify};
use crate::flat::Row;
use crate::keyed::cached;
use crate::lifecycle::{LifecycleRow, from_row, lifecycle_columns, state_json};
use crate::model::{RawResource, StoredResource, TenantId};
use crate::stamp::Stamp;
use crate::with_conn;

use super::NewUser;

/// A user ready to insert: its columns derived, its lifecycle decided.
pub struct PreparedUser {
    id: String,
    now: NaiveDateTime,
    password_hash: Option<String>,
    doc: Value,
    cols: Columns,
    search_text: String,
    state: String,
    lifecycle: UserLifecycle,
    sign_in_allowed: bool,
}

impl std::fmt::Debug for PreparedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedUser")
            .field("id", &self.id)
            .field("user_name", &self.cols.user_name)
            .finish_non_exhaustive()
    }
}

impl PreparedUser {
    /// The id the user will have.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The userName as sent (what a uniqueness conflict names).
    pub fn user_name(&self) -> &str {
        &self.cols.user_name
    }
    /// The document that will be stored (without `id` and `meta`).
    pub fn resource(&self) -> &Value {
        &self.doc
    }
    /// The argon2 PHC string, if a password was set.
    pub fn password_hash(&self) -> Option<&str> {
        self.password_hash.as_deref()
    }
    /// The user as [`insert_prepared_row`] stored it, keeping the document: a caller that
    /// holds the only reference after the write builds its answer without copying it.
    pub fn into_stored(self) -> StoredResource {
        stored(self.id, self.doc, self.now)
    }
    /// [`into_stored`](Self::into_stored) for a shared reference (copies the document).
    pub fn to_stored(&self) -> StoredResource {
        stored(self.id.clone(), self.doc.clone(), self.now)
    }
    /// The user as stored, with the stored text instead of the document: an answer copied
    /// from the text (as a GET's is) needs no second serialisation of the document, and is
    /// byte for byte what a GET returns next.
    pub fn into_raw(self) -> RawResource {
        raw(self.id, self.cols.resource, self.now)
    }
    /// [`into_raw`](Self::into_raw) for a shared reference (copies the text).
    pub fn to_raw(&self) -> RawResource {
        raw(self.id.clone(), self.cols.resource.clone(), self.now)
    }
}

/// A user's stored text as a fresh insert leaves it (see [`stored`]).
fn raw(id: String, text: String, now: NaiveDateTime) -> RawResource {
    RawResource {
        id,
        version: 1,
        created_at: now,
        updated_at: now,
        text,
    }
}

/// A user as a fresh insert leaves it: version 1, created and modified at `now`.
fn stored(id: String, resource: Value, now: NaiveDateTime) -> StoredResource {
    StoredResource {
        id,
        version: 1,
        created_at: now,
        updated_at: now,
        resource,
    }
}

/// Derives the row of a new user, as [`super::insert_with_lifecycle`] would, without touching
/// the database. The same checks apply: origins must agree, `password` must not be in the
/// document, userName must be present.
pub fn prepare_insert(
    registry: &SchemaRegistry,
    mut new: NewUser,
    lifecycle: &UserLifecycle,
    sign_in_allowed: bool,
) -> Result<PreparedUser> {
    if scim_core::policy::Origin::from(new.origin) != lifecycle.origin {
        return Err(StoreError::Invalid(format!(
            "user {} is inserted as {} but its lifecycle says {}",
            new.id,
            new.origin.as_str(),
            lifecycle.origin.as_str()
        )));
    }
    if document_active(&new.resource) != lifecycle.provider_active
        && let Some(obj) = new.resource.as_object_mut()
    {
        obj.insert("active".into(), Value::Bool(lifecycle.provider_active));
    }
    let (doc, cols) = columns(registry, new.resource)?;
    Ok(PreparedUser {
        id: new.id,
        now: new.now,
        password_hash: new.password_hash,
        search_text: scim_core::json::to_string_exact(&cols.search),
        doc,
        cols,
        state: state_json(&lifecycle.state)?,
        lifecycle: *lifecycle,
        sign_in_allowed,
    })
}

/// Inserts a prepared user at version 1 with its email rows. `Ok(None)` when the userName
/// (in any case) or the id is already held in the tenant — by a visible user, a hidden one
/// waiting for its purge, or a local account — so the caller decides what that means without
/// a failed statement (which would abort a PostgreSQL transaction).
pub fn insert_prepared(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    p: &PreparedUser,
) -> Result<Option<StoredResource>> {
    Ok(insert_prepared_row(conn, tenant, p)?.then(|| p.to_stored()))
}

/// [`insert_prepared`] without building the stored user: `true` when inserted. For the SQLite
/// writer thread, which every write shares: the caller builds the answer on its own thread
/// ([`PreparedUser::into_stored`]) instead of the writer copying the document.
pub fn insert_prepared_row(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    p: &PreparedUser,
) -> Result<bool> {
    /// The statement's prepared-cache key (see [`keyed`]).
    struct Key;
    let (cols, lc) = (&p.cols, &p.lifecycle);
    let inserted = with_conn!(conn, |c| {
        Row::<Key, _>::new(users::table, 20)
            .set(users::tenant_id, tenant.as_str())
            .set(users::id, &p.id)
            .set(users::user_name, &cols.user_name)
            .set(users::user_name_key, &cols.user_name_key)
            .set(users::external_id, cols.external_id.as_deref())
            .set(users::display_name, cols.display_name.as_deref())
            .set(users::active, cols.active)
            .set(users::password_hash, p.password_hash.as_deref())
            .set(users::resource, &cols.resource)
            .set(users::search, search_prepared(&p.search_text, &cols.search))
            .set(users::version, 1_i64)
            .set(users::created_at, Stamp(p.now))
            .set(users::updated_at, Stamp(p.now))
            .set(users::lifecycle_state, Some(p.state.as_str()))
            .set(users::lifecycle, lc.state.name())
            .set(users::origin, lc.origin.as_str())
            .set(users::legal_hold, lc.legal_hold)
            .set(users::provider_active, lc.provider_active)
            .set(users::mapped, lc.mapped)
            .set(users::sign_in_allowed, p.sign_in_allowed)
            .on_conflict_do_nothing()
            .execute(&mut **c)
            .map_err(|e| classify(e, Some(("userName", &cols.user_name))))?
    });
    if inserted == 0 {
        return Ok(false);
    }
    write_emails(conn, tenant, &p.id, &cols.emails, false)?;
    Ok(true)
}

/// A user's replacement document, checked and turned into its row's columns off the writer
/// thread (see the module).
pub struct PreparedReplace {
    doc: Value,
    cols: Columns,
    search_text: String,
    /// A version whose document has the same email rows as this one (see
    /// [`PreparedReplace::emails_as_in`]).
    emails_unchanged_at: Option<i64>,
}

impl std::fmt::Debug for PreparedReplace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedReplace")
            .field("userName", &self.cols.user_name)
            .finish_non_exhaustive()
    }
}

/// Derives the row [`replace_prepared`] writes, without touching the database; the checks of
/// [`super::replace`] apply (`password` must not be in the document, userName must be
/// present).
pub fn prepare_replace(registry: &SchemaRegistry, resource: Value) -> Result<PreparedReplace> {
    let (doc, cols) = columns(registry, resource)?;
    Ok(PreparedReplace {
        search_text: scim_core::json::to_string_exact(&cols.search),
        doc,
        cols,
        emails_unchanged_at: None,
    })
}

impl PreparedReplace {
    /// Notes whether this document's email rows are those of `previous`, the document the
    /// caller read at `version`. [`replace_prepared`] with `expected_version` equal to
    /// `version` then leaves the stored rows alone without reading them: the version check
    /// proves they are `previous`'s, since email rows are only ever written with the document
    /// they come from, in its transaction. Most replaces keep the emails (Okta's deactivation,
    /// a rename), and on PostgreSQL the read was one of a PATCH's round trips.
    #[must_use]
    pub fn emails_as_in(mut self, previous: &Value, version: i64) -> PreparedReplace {
        let same = previous
            .as_object()
            .is_some_and(|obj| emails(obj) == self.cols.emails);
        self.emails_unchanged_at = same.then_some(version);
        self
    }
}

/// What [`replace_prepared`] stored, and the user's lifecycle columns as its UPDATE found them
/// (it doesn't change them). A lifecycle step later in the same transaction can start from
/// these instead of reading the row again: on PostgreSQL the UPDATE holds the row's lock until
/// COMMIT, and on SQLite the one writer runs the whole transaction, so they stay current.
#[derive(Debug)]
pub struct Replaced {
    /// The document as stored, with its new version.
    pub stored: StoredResource,
    lifecycle: LifecycleRow,
}

impl Replaced {
    /// The stored document and the user's lifecycle record (a row stored before lifecycle
    /// states had JSON may need its open job read, as [`crate::lifecycle::load`] does).
    pub fn with_lifecycle(
        self,
        conn: &mut Conn<'_>,
        tenant: &TenantId,
    ) -> Result<(StoredResource, UserLifecycle)> {
        let lifecycle = from_row(conn, tenant, &self.stored.id, self.lifecycle)?;
        Ok((self.stored, lifecycle))
    }
}

/// [`super::replace`] with the row already derived: the UPDATE (with its version check) and
/// the email rows, nothing else.
pub fn replace_prepared(
    conn: &mut Conn<'_>,
    tenant: &TenantId,
    id: &str,
    expected_version: Option<i64>,
    prepared: PreparedReplace,
    password: PasswordChange,
    now: NaiveDateTime,
) -> Result<Replaced> {
    let PreparedReplace {
        doc,
        cols,
        search_text,
        emails_unchanged_at,
    } = prepared;
    let (check, any_version) = (expected_version.unwrap_or(0), expected_version.is_none());
    let hash: Option<Option<String>> = match password {
        PasswordChange::Keep => None,
        PasswordChange::Set(h) => Some(Some(h)),
        PasswordChange::Clear => Some(None),
    };
    let with_hash = hash.is_some();
    let row: Option<(i64, NaiveDateTime, LifecycleRow)> = with_conn!(conn, |c| {
        let update = diesel::update(
            users::table
                .filter(users::tenant_id.eq(tenant.as_str()))
                .filter(users::id.eq(id))
                // A user the provider deleted is gone, even for a write that read it before
                // the DELETE committed (`hide` keeps the version).
                .filter(users::deleted_at.is_null())
                .filter(users::version.eq(check).or(any_version.into_sql::<Bool>())),
        )
        .set((
            users::user_name.eq(&cols.user_name),
            users::user_name_key.eq(&cols.user_name_key),
            users::external_id.eq(cols.external_id.as_deref()),
            users::display_name.eq(cols.display_name.as_deref()),
            users::active.eq(cols.active),
            users::resource.eq(&cols.resource),
            users::search.eq(search_prepared(&search_text, &cols.search)),
            users::version.eq(users::version + 1),
            users::updated_at.eq(now),
            hash.map(|h| users::password_hash.eq(h)),
        ))
        .returning((users::version, users::created_at, lifecycle_columns!()));
        // Two texts (with and without the password column), so two cache keys.
        let row = if with_hash {
            cached!(update).get_result(&mut **c)
        } else {
            cached!(update).get_result(&mut **c)
        };
        row.optional()
            .map_err(|e| classify(e, Some(("userName", &cols.user_name))))?
    });
    let Some((version, created_at, lifecycle)) = row else {
        return Err(missing_or_stale(conn, tenant, id));
    };
    if expected_version.is_none() || expected_version != emails_unchanged_at {
        write_emails(conn, tenant, id, &cols.emails, true)?;
    }
    Ok(Replaced {
        stored: StoredResource {
            id: id.to_string(),
            version,
            created_at,
            updated_at: now,
            resource: doc,
        },
        lifecycle,
    })
}
