-- Lists of users (issue #8). Every SCIM list of users reads `tenant_id = ? AND deleted_at IS
-- NULL` (users the provider deleted stay hidden until purged), and `deleted_at` was in no index:
-- the count and the OFFSET of a page visited every (large) row of the tenant. These partial
-- indexes hold the visible users only, so the count and the rows skipped by an OFFSET are read
-- from the index alone. `deleted_at` is a trailing column only so that SQLite sees the index as
-- covering (it doesn't infer that from the index's WHERE); it is NULL in every entry.
-- They replace the full indexes on the same columns, which no query needs any more.
DROP INDEX users_created;
DROP INDEX users_updated;
CREATE INDEX users_live_created ON users (tenant_id, created_at, id, deleted_at)
    WHERE deleted_at IS NULL;
CREATE INDEX users_live_updated ON users (tenant_id, updated_at, id, deleted_at)
    WHERE deleted_at IS NULL;
