-- How many members each group has, kept by the database itself on every insert into and delete
-- from group_members (whatever the path: PATCH, PUT, a user's or group's deletion, Bulk, LDAP
-- sync, a cascade), so "has this group more than N members?" is one row read instead of a walk
-- over up to N index entries. A Group PATCH asks it after every change (it answers 204 above
-- group_patch_member_limit members): stepping over 10 000 entries was most of the cost of
-- adding one member to a large group.
ALTER TABLE groups ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE groups SET member_count = (
    SELECT COUNT(*) FROM group_members m
    WHERE m.tenant_id = groups.tenant_id AND m.group_id = groups.id
);
-- INSERT OR IGNORE / ON CONFLICT DO NOTHING fire no INSERT trigger for the rows they skip.
CREATE TRIGGER group_members_counted AFTER INSERT ON group_members BEGIN
    UPDATE groups SET member_count = member_count + 1
    WHERE tenant_id = NEW.tenant_id AND id = NEW.group_id;
END;
CREATE TRIGGER group_members_uncounted AFTER DELETE ON group_members BEGIN
    UPDATE groups SET member_count = member_count - 1
    WHERE tenant_id = OLD.tenant_id AND id = OLD.group_id;
END;
