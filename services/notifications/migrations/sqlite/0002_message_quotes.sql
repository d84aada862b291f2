-- The chat message a `message` notification quotes and the room's event seq
-- of the text its body shows, so that editing or deleting the message
-- rewrites or redacts the quote (never going back to an older text).
ALTER TABLE notifications ADD COLUMN message_id TEXT;
ALTER TABLE notifications ADD COLUMN quote_seq BIGINT;
UPDATE notifications
   SET message_id = json_extract(data, '$.message_id'),
       quote_seq = json_extract(data, '$.seq')
 WHERE kind = 'message';
CREATE INDEX notifications_by_message ON notifications (message_id) WHERE message_id IS NOT NULL;
