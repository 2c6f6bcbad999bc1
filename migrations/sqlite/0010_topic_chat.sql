-- A forum topic belongs to the chat it was created in (issues 20 and 23).
-- Topic ids are message ids, and Telegram numbers messages per chat: after
-- TELEGRAM_CHAT_ID moves from group A to group B, topic 100 of A and topic
-- 100 of B are different topics. The chat is stored with the topic, and a
-- topic is used (forwards) and routed (the admin's messages in it) only in
-- its own chat: a thread whose topic is in another chat gets a new one.
--
-- Existing rows: the configuration is not known here, so the chat is taken
-- from the database's own evidence, the thread's Telegram links (every
-- forward and every answer from Telegram is linked with the chat it was
-- in). When all of a thread's links are in one chat, its topic is that
-- chat's. Otherwise (no link, or links in several chats: the chat changed
-- and the thread's topic cannot be told apart) it stays NULL: unknown,
-- never routed, and replaced by a new topic in the current chat at the
-- thread's next forward. NULL fails safe: the worst case is one more topic,
-- never an answer reaching the wrong visitor.
ALTER TABLE threads ADD COLUMN tg_topic_chat_id INTEGER;
UPDATE threads SET tg_topic_chat_id = (
    SELECT CASE WHEN COUNT(DISTINCT l.tg_chat_id) = 1 THEN CAST(MIN(l.tg_chat_id) AS INTEGER) END
    FROM telegram_links l WHERE l.thread_id = threads.id
) WHERE tg_topic_id IS NOT NULL;
-- Routing looks a topic up by (chat, topic id).
DROP INDEX threads_by_tg_topic;
CREATE INDEX threads_by_tg_topic ON threads (tg_topic_chat_id, tg_topic_id) WHERE tg_topic_id IS NOT NULL;
