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

/// Which migrations [`revert`] undoes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Revert {
    /// Every applied migration.
    All,
    /// The last applied one.
    Last,
}

/// Reverts applied migrations (tests of the migrations themselves).
pub(crate) fn revert(conn: &mut Conn<'_>, which: Revert) -> Result<()> {
    fn on<C: MigrationHarness<B>, B: diesel::backend::Backend>(
        c: &mut C,
        migrations: EmbeddedMigrations,
        which: Revert,
    ) -> Result<()> {
        match which {
            Revert::All => c.revert_all_migrations(migrations).map(|_| ()).map_err(err),
            Revert::Last => c.revert_last_migration(migrations).map(|_| ()).map_err(err),
        }
    }
    match conn {
        Conn::Sqlite(c) => on(&mut **c, SQLITE, which),
        Conn::Pg(c) => on(&mut **c, POSTGRES, which),
    }
}
