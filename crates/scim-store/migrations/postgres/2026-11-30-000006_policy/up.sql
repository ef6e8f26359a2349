-- Provisioning policy state (issue #6): the full lifecycle record of each user, the tenant's
-- organizations and each user's effective entitlements.

-- `lifecycle_state` is scim-core's `LifecycleState` as JSON (due time and reason of a pending
-- deactivation, cause of a block); NULL on rows written before it existed, read back from the
-- one-word `lifecycle` column, which keeps `state.name()` for indexing and the CLI.
-- `provider_active` is the provider's own `active` value (what the SCIM document shows);
-- `mapped` whether the user is in a mapped group; `sign_in_allowed` what a host asks at login.
ALTER TABLE users ADD COLUMN lifecycle_state TEXT;
ALTER TABLE users ADD COLUMN provider_active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN mapped BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN sign_in_allowed BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE users SET provider_active = active, sign_in_allowed = (lifecycle = 'active');

CREATE TABLE organizations (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- One row per user whose entitlements were computed; `roles` is a JSON array of names,
-- `admin_tier` is `none`, `org_admin` or `domain_admin`.
CREATE TABLE user_entitlements (
    tenant_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    organization  TEXT NOT NULL,
    roles         TEXT NOT NULL DEFAULT '[]',
    admin_tier    TEXT NOT NULL DEFAULT 'none',
    mapped        BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- The users of an organization (admin API, organization deletion checks).
CREATE INDEX user_entitlements_organization ON user_entitlements (tenant_id, organization);
