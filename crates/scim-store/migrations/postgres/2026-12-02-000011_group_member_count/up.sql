-- How many members each group has, kept by the database itself on every insert into and delete
-- from group_members (whatever the path: PATCH, PUT, a user's or group's deletion, Bulk, LDAP
-- sync, a cascade), so "has this group more than N members?" is one row read instead of a walk
-- over up to N index entries. A Group PATCH asks it after every change (it answers 204 above
-- group_patch_member_limit members).
--
-- Statement-level triggers with transition tables: a statement that adds 10 000 members
-- updates each group's row once, not 10 000 times. Every path that changes a group's members
-- already updates that group's row (its version) in the same transaction, so the triggers take
-- no lock that the transaction did not already take.
ALTER TABLE groups ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE groups g SET member_count = c.n
FROM (SELECT tenant_id, group_id, COUNT(*) AS n FROM group_members GROUP BY tenant_id, group_id) c
WHERE g.tenant_id = c.tenant_id AND g.id = c.group_id;

CREATE FUNCTION scim_group_members_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE groups g SET member_count = g.member_count + c.n
    FROM (SELECT tenant_id, group_id, COUNT(*) AS n FROM added GROUP BY tenant_id, group_id) c
    WHERE g.tenant_id = c.tenant_id AND g.id = c.group_id;
    RETURN NULL;
END $$;

CREATE FUNCTION scim_group_members_uncounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE groups g SET member_count = g.member_count - c.n
    FROM (SELECT tenant_id, group_id, COUNT(*) AS n FROM removed GROUP BY tenant_id, group_id) c
    WHERE g.tenant_id = c.tenant_id AND g.id = c.group_id;
    RETURN NULL;
END $$;

CREATE TRIGGER group_members_counted AFTER INSERT ON group_members
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION scim_group_members_counted();
CREATE TRIGGER group_members_uncounted AFTER DELETE ON group_members
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION scim_group_members_uncounted();
