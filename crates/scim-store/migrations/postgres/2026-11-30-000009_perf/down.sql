DROP INDEX users_live_updated;
DROP INDEX users_live_created;
CREATE INDEX users_created ON users (tenant_id, created_at, id);
CREATE INDEX users_updated ON users (tenant_id, updated_at, id);
