//! Tenants: one per provisioning connection (one identity provider). Everything else in the
//! store hangs off a tenant and is deleted with it (`ON DELETE CASCADE`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::conn::Conn;
use crate::error::{Result, StoreError, classify};
use crate::keyed::cached;
use crate::model::{Tenant, TenantId};
use crate::settings::TenantSettings;
use crate::with_conn;

/// Longest tenant name accepted; names are typed by operators on a command line.
pub const MAX_NAME_LEN: usize = 200;

type Row = (String, String, String, NaiveDateTime);

fn to_tenant((id, name, settings, created_at): Row) -> Result<Tenant> {
    let settings: Value = serde_json::from_str(&settings).map_err(|e| {
        StoreError::Database(format!("tenant {id} has unreadable settings JSON: {e}"))
    })?;
    Ok(Tenant {
        id: TenantId(id),
        name,
        settings,
        created_at,
    })
}

fn check_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid(
            "a tenant name must not be empty".into(),
        ));
    }
    if name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "a tenant name has at most {MAX_NAME_LEN} characters and no control characters"
        )));
    }
    Ok(name)
}

/// Creates a tenant with default settings and a new random (UUID v4) id. The name (trimmed)
/// must be unique: a taken name is `Conflict { attribute: "name" }`.
pub fn create(conn: &mut Conn<'_>, name: &str, now: NaiveDateTime) -> Result<Tenant> {
    let name = check_name(name)?;
    let id = uuid::Uuid::new_v4().to_string();
    let settings = TenantSettings::default().to_json()?;
    let text = settings.to_string();
    with_conn!(conn, |c| {
        diesel::insert_into(tenants::table)
            .values((
                tenants::id.eq(&id),
                tenants::name.eq(name),
                tenants::settings.eq(&text),
                tenants::created_at.eq(now),
            ))
            .execute(&mut **c)
            .map_err(|e| classify(e, Some(("name", name))))?;
    });
    Ok(Tenant {
        id: TenantId(id),
        name: name.to_string(),
        settings,
        created_at: now,
    })
}

/// The tenant with this id, if any.
pub fn get(conn: &mut Conn<'_>, id: &TenantId) -> Result<Option<Tenant>> {
    let row: Option<Row> = with_conn!(conn, |c| {
        tenants::table
            .filter(tenants::id.eq(id.as_str()))
            .select((
                tenants::id,
                tenants::name,
                tenants::settings,
                tenants::created_at,
            ))
            .first::<Row>(&mut **c)
            .optional()?
    });
    row.map(to_tenant).transpose()
}

/// The tenant with this exact name (as the CLI and admin API name tenants), if any.
pub fn by_name(conn: &mut Conn<'_>, name: &str) -> Result<Option<Tenant>> {
    let name = name.trim();
    let row: Option<Row> = with_conn!(conn, |c| {
        tenants::table
            .filter(tenants::name.eq(name))
            .select((
                tenants::id,
                tenants::name,
                tenants::settings,
                tenants::created_at,
            ))
            .first::<Row>(&mut **c)
            .optional()?
    });
    row.map(to_tenant).transpose()
}

/// Every tenant, by name (there are few; operators list them).
pub fn list(conn: &mut Conn<'_>) -> Result<Vec<Tenant>> {
    let rows: Vec<Row> = with_conn!(conn, |c| {
        tenants::table
            .order(tenants::name.asc())
            .select((
                tenants::id,
                tenants::name,
                tenants::settings,
                tenants::created_at,
            ))
            .load::<Row>(&mut **c)?
    });
    rows.into_iter().map(to_tenant).collect()
}

/// Validates and stores new settings (replacing the old ones). An unknown tenant is
/// `NotFound`; invalid settings are `Invalid` and change nothing.
pub fn update_settings(
    conn: &mut Conn<'_>,
    id: &TenantId,
    settings: &TenantSettings,
) -> Result<()> {
    settings.validate()?;
    let text = settings.to_json()?.to_string();
    let n = with_conn!(conn, |c| {
        cached!(
            diesel::update(tenants::table.filter(tenants::id.eq(id.as_str())))
                .set(tenants::settings.eq(&text))
                .returning(tenants::id)
        )
        .load::<String>(&mut **c)?
        .len()
    });
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// The tenant's typed settings. An unknown tenant is `NotFound`; stored settings that no
/// longer parse (edited by hand) are a `Database` error rather than silently defaulted.
pub fn settings(conn: &mut Conn<'_>, id: &TenantId) -> Result<TenantSettings> {
    let tenant = get(conn, id)?.ok_or_else(|| not_found(id))?;
    TenantSettings::from_json(&tenant.settings)
        .map_err(|e| StoreError::Database(format!("tenant {id} has invalid stored settings: {e}")))
}

/// Deletes the tenant and, by cascade, everything it owns. Returns whether it existed.
pub fn delete(conn: &mut Conn<'_>, id: &TenantId) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        diesel::delete(tenants::table.filter(tenants::id.eq(id.as_str()))).execute(&mut **c)?
    });
    Ok(n > 0)
}

/// Whether the tenant exists (other modules check before inserting rows that reference it,
/// so the caller gets `NotFound` instead of a foreign-key error).
pub(crate) fn exists(conn: &mut Conn<'_>, id: &TenantId) -> Result<bool> {
    let n: i64 = with_conn!(conn, |c| {
        tenants::table
            .filter(tenants::id.eq(id.as_str()))
            .count()
            .get_result(&mut **c)?
    });
    Ok(n > 0)
}

pub(crate) fn not_found(id: &TenantId) -> StoreError {
    StoreError::NotFound {
        resource_type: "Tenant",
        id: id.to_string(),
    }
}
