-- Lists of users (issue #8). Every SCIM list of users reads `tenant_id = ? AND deleted_at IS
-- NULL` (users the provider deleted stay hidden until purged), and `deleted_at` was in no index:
-- the count and the OFFSET of a page visited every (large) row of the tenant. These partial
-- indexes hold the visible users only, so the count and the rows skipped by an OFFSET can be
-- read by index-only scans (PostgreSQL needs no `deleted_at` column for that: a column used
-- only in the index predicate doesn't count against index-only scans).
-- They replace the full indexes on the same columns, which no query needs any more.
DROP INDEX users_created;
DROP INDEX users_updated;
CREATE INDEX users_live_created ON users (tenant_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX users_live_updated ON users (tenant_id, updated_at, id) WHERE deleted_at IS NULL;
