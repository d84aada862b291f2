-- When a message was edited and deleted: the original service sends both
-- (null until it happens). Rows from before are filled from updated_at,
-- the time of their last change (an edited message later deleted keeps no
-- edit time: that change is gone).
ALTER TABLE messages ADD COLUMN edited_at TEXT;
ALTER TABLE messages ADD COLUMN deleted_at TEXT;
UPDATE messages SET edited_at = updated_at WHERE is_edited AND NOT is_deleted;
UPDATE messages SET deleted_at = updated_at WHERE is_deleted;

-- The room streams' logged events carry the same fields as the messages
-- (`null`/`false`/`[]` when empty), also those logged before.
UPDATE room_events SET data = json_set(data,
    '$.edited_at', CASE WHEN json_extract(data, '$.is_edited') AND NOT json_extract(data, '$.is_deleted')
                        THEN json_extract(data, '$.updated_at') END,
    '$.deleted_at', CASE WHEN json_extract(data, '$.is_deleted') THEN json_extract(data, '$.updated_at') END,
    '$.file_url', NULL, '$.file_name', NULL, '$.file_size', NULL, '$.file_type', NULL,
    '$.is_read', json('false'), '$.read_by', json('[]'))
WHERE json_type(data, '$.file_url') IS NULL;
