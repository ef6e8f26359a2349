-- Initial schema (PostgreSQL). Every table carries tenant_id and every index starts with it, so no
-- query can be answered from another tenant's rows and each tenant's data is clustered.
-- Times are UTC in TIMESTAMP (without time zone) columns, for parity with the SQLite schema.
-- `search` is JSONB here (TEXT on SQLite): filters read it, responses never do.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    secret_hash   TEXT NOT NULL,
    scope         TEXT NOT NULL DEFAULT 'scim',
    label         TEXT,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id);

CREATE TABLE users (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    user_name      TEXT NOT NULL,
    user_name_key  TEXT NOT NULL,
    external_id    TEXT,
    display_name   TEXT,
    active         BOOLEAN NOT NULL,
    lifecycle      TEXT NOT NULL DEFAULT 'active',
    origin         TEXT NOT NULL DEFAULT 'provisioned',
    legal_hold     BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash  TEXT,
    resource       TEXT NOT NULL,
    search         JSONB NOT NULL,
    version        BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, user_name_key)
);
CREATE INDEX users_external_id ON users (tenant_id, external_id);
CREATE INDEX users_created ON users (tenant_id, created_at, id);
CREATE INDEX users_updated ON users (tenant_id, updated_at, id);

-- emails.value is the one multi-valued attribute clients filter on (Entra E14); it gets its
-- own rows so `emails.value eq` is an index lookup.
CREATE TABLE user_emails (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    value_key   TEXT NOT NULL,
    type        TEXT,
    is_primary  BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, user_id, position),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_emails_value ON user_emails (tenant_id, value_key);

CREATE TABLE groups (
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    display_name_key   TEXT NOT NULL,
    external_id        TEXT,
    resource           TEXT NOT NULL,
    search             JSONB NOT NULL,
    version            BIGINT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, display_name_key)
);
CREATE INDEX groups_external_id ON groups (tenant_id, external_id);
CREATE INDEX groups_created ON groups (tenant_id, created_at, id);
CREATE INDEX groups_updated ON groups (tenant_id, updated_at, id);

-- Membership is its own table, clustered by group and indexed by member, so adding one member
-- to a group of 100 000 touches one row and "which groups is this user in" is one range scan.
CREATE TABLE group_members (
    tenant_id    TEXT NOT NULL,
    group_id     TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    member_type  TEXT NOT NULL,
    display      TEXT,
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_member ON group_members (tenant_id, member_id);

CREATE TABLE sync_log (
    id             BIGSERIAL PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at             TIMESTAMP NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sync_log_time ON sync_log (tenant_id, at, id);
CREATE INDEX sync_log_resource ON sync_log (tenant_id, resource_id, at);
CREATE INDEX sync_log_action ON sync_log (tenant_id, action, at);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at      TIMESTAMP NOT NULL,
    kind            TEXT NOT NULL,
    user_id         TEXT,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    claimed_until   TIMESTAMP,
    delivered_at    TIMESTAMP
);
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;

CREATE TABLE deactivation_jobs (
    id              BIGSERIAL PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    due_at          TIMESTAMP NOT NULL,
    reason          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    claimed_by      TEXT,
    claimed_until   TIMESTAMP,
    completed_at    TIMESTAMP,
    cancelled_at    TIMESTAMP
);
-- At most one open job per user.
CREATE UNIQUE INDEX deactivation_jobs_open ON deactivation_jobs (tenant_id, user_id)
    WHERE completed_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX deactivation_jobs_due ON deactivation_jobs (due_at)
    WHERE completed_at IS NULL AND cancelled_at IS NULL;
