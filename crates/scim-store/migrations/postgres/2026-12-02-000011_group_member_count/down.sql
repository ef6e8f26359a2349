DROP TRIGGER group_members_uncounted ON group_members;
DROP TRIGGER group_members_counted ON group_members;
DROP FUNCTION scim_group_members_uncounted();
DROP FUNCTION scim_group_members_counted();
ALTER TABLE groups DROP COLUMN member_count;
