-- Indexes for the sync log, the event outbox and the deactivation queue (issue #3, items 5-7).
-- No column changes: the generated schema is the same.

-- Every sync-log query reads newest first with a keyset on (at, id); each filter's index ends
-- in (at, id) so the page comes straight from the index, without a sort, on both backends
-- (SQLite appends the rowid implicitly; PostgreSQL needs it spelled out).
DROP INDEX sync_log_resource;
DROP INDEX sync_log_action;
CREATE INDEX sync_log_resource ON sync_log (tenant_id, resource_id, at, id);
CREATE INDEX sync_log_action ON sync_log (tenant_id, action, at, id);
CREATE INDEX sync_log_actor ON sync_log (tenant_id, actor, at, id);

-- Claiming an event checks that no earlier undelivered event of the same user is leased: one
-- probe of this index per candidate.
CREATE INDEX outbox_user_pending ON outbox (tenant_id, user_id, id) WHERE delivered_at IS NULL;

-- Claiming due jobs reads open jobs in (due_at, id) order straight from the index (PostgreSQL
-- needs the id spelled out to avoid a sort).
DROP INDEX deactivation_jobs_due;
CREATE INDEX deactivation_jobs_due ON deactivation_jobs (due_at, id)
    WHERE completed_at IS NULL AND cancelled_at IS NULL;

-- A tenant's pending jobs in due order (admin API).
CREATE INDEX deactivation_jobs_tenant_due ON deactivation_jobs (tenant_id, due_at, id)
    WHERE completed_at IS NULL AND cancelled_at IS NULL;
