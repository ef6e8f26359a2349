-- When a user the provider deleted may be purged: the deletion time plus the tenant's
-- deactivation delay. The deactivation job purges users that were active or pending when
-- deleted; a user already deactivated or blocked has no job, and was never purged. The worker
-- now also purges every hidden user whose time has come, is not on legal hold and has no
-- pending job. Users hidden before this migration are due at once.
ALTER TABLE users ADD COLUMN purge_after TIMESTAMP;
UPDATE users SET purge_after = deleted_at WHERE deleted_at IS NOT NULL;
CREATE INDEX users_purge_due ON users (purge_after) WHERE purge_after IS NOT NULL;
