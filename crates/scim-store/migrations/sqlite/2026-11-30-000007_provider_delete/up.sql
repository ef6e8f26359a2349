-- A provider DELETE hides the user from SCIM at once but destroys nothing before the
-- tenant's deactivation delay: the row stays, marked, until the deactivation job purges it.
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMP;
