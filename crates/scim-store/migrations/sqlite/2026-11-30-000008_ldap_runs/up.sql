-- LDAP synchronization runs (issue #7): one row per run of a tenant's sync, scheduled or on
-- demand, inserted as 'running' when it starts and completed with its counts or its error.
-- What the operator's "View Logs" shows; the changes themselves are in the sync log (actor
-- 'ldap').
CREATE TABLE ldap_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- 'schedule', 'cli' or 'admin_api'.
    started_by    TEXT NOT NULL,
    -- 'running', 'succeeded' or 'failed'.
    status        TEXT NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    created       INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    deactivated   INTEGER NOT NULL DEFAULT 0,
    reactivated   INTEGER NOT NULL DEFAULT 0,
    -- Why the run failed (nothing was changed); NULL otherwise.
    error         TEXT,
    -- JSON array of strings: entries skipped by a run that otherwise succeeded.
    warnings      TEXT NOT NULL DEFAULT '[]'
);
-- A tenant's runs newest first, and its latest start (the scheduler's "is it due?").
CREATE INDEX ldap_runs_tenant ON ldap_runs (tenant_id, started_at, id);
