-- When a message was edited and deleted: the original service sends both
-- (null until it happens). Rows from before are filled from updated_at,
-- the time of their last change (an edited message later deleted keeps no
-- edit time: that change is gone).
ALTER TABLE messages ADD COLUMN edited_at TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN deleted_at TIMESTAMPTZ;
UPDATE messages SET edited_at = updated_at WHERE is_edited AND NOT is_deleted;
UPDATE messages SET deleted_at = updated_at WHERE is_deleted;

-- The room streams' logged events carry the same fields as the messages
-- (`null`/`false`/`[]` when empty), also those logged before.
UPDATE room_events SET data = (data::jsonb || jsonb_build_object(
    'edited_at', CASE WHEN (data::jsonb->>'is_edited')::boolean AND NOT (data::jsonb->>'is_deleted')::boolean
                      THEN data::jsonb->'updated_at' ELSE 'null'::jsonb END,
    'deleted_at', CASE WHEN (data::jsonb->>'is_deleted')::boolean THEN data::jsonb->'updated_at' ELSE 'null'::jsonb END,
    'file_url', NULL, 'file_name', NULL, 'file_size', NULL, 'file_type', NULL,
    'is_read', false, 'read_by', '[]'::jsonb))::text
WHERE NOT (data::jsonb ? 'file_url');
