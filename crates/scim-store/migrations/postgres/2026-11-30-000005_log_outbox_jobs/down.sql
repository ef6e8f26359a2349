DROP INDEX deactivation_jobs_tenant_due;
DROP INDEX deactivation_jobs_due;
CREATE INDEX deactivation_jobs_due ON deactivation_jobs (due_at)
    WHERE completed_at IS NULL AND cancelled_at IS NULL;
DROP INDEX outbox_user_pending;
DROP INDEX sync_log_actor;
DROP INDEX sync_log_action;
DROP INDEX sync_log_resource;
CREATE INDEX sync_log_resource ON sync_log (tenant_id, resource_id, at);
CREATE INDEX sync_log_action ON sync_log (tenant_id, action, at);
