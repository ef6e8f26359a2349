DROP INDEX user_entitlements_organization;
DROP TABLE user_entitlements;
DROP TABLE organizations;
ALTER TABLE users DROP COLUMN sign_in_allowed;
ALTER TABLE users DROP COLUMN mapped;
ALTER TABLE users DROP COLUMN provider_active;
ALTER TABLE users DROP COLUMN lifecycle_state;
