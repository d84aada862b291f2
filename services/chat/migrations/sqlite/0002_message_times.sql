-- When a message was edited and deleted: the original service sends both
-- (null until it happens). Rows from before are filled from updated_at,
-- the time of their last change (an edited message later deleted keeps no
-- edit time: that change is gone).
ALTER TABLE messages ADD COLUMN edited_at TEXT;
ALTER TABLE messages ADD COLUMN deleted_at TEXT;
UPDATE messages SET edited_at = updated_at WHERE is_edited AND NOT is_deleted;
UPDATE messages SET deleted_at = updated_at WHERE is_deleted;
