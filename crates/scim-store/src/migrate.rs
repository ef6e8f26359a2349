//! Embedded migrations, one folder per backend with the same versions.

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::conn::Conn;
use crate::error::{Result, StoreError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Advisory-lock key that serialises migrations of several instances starting together.
const MIGRATION_LOCK: i64 = 0x005c_1a11_0001;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Migration(e.to_string())
}

/// Applies every pending migration.
pub(crate) fn run(conn: &mut Conn<'_>) -> Result<()> {
    match conn {
        Conn::Sqlite(c) => {
            c.run_pending_migrations(SQLITE).map_err(err)?;
        }
        Conn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c.run_pending_migrations(POSTGRES).map(|_| ()).map_err(err);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result?;
        }
    }
    Ok(())
}

/// Reverts every applied migration.
pub(crate) fn revert_all(conn: &mut Conn<'_>) -> Result<()> {
    match conn {
        Conn::Sqlite(c) => {
            c.revert_all_migrations(SQLITE).map_err(err)?;
        }
        Conn::Pg(c) => {
            c.revert_all_migrations(POSTGRES).map_err(err)?;
        }
    }
    Ok(())
}

/// Reverts the last applied migration (tests of a migration's backfill).
pub(crate) fn revert_last(conn: &mut Conn<'_>) -> Result<()> {
    match conn {
        Conn::Sqlite(c) => {
            c.revert_last_migration(SQLITE).map_err(err)?;
        }
        Conn::Pg(c) => {
            c.revert_last_migration(POSTGRES).map_err(err)?;
        }
    }
    Ok(())
}
