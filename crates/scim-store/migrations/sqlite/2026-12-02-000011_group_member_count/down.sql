DROP TRIGGER group_members_uncounted;
DROP TRIGGER group_members_counted;
ALTER TABLE groups DROP COLUMN member_count;
