DROP INDEX users_purge_due;
ALTER TABLE users DROP COLUMN purge_after;
