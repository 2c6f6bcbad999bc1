-- Fewer pages written per message (issue 25 item 3).
--
-- 1. The message search index is fed in bulk, not by a trigger in every
--    group commit: each commit that inserted into messages_fts also wrote
--    an FTS5 segment, its structure record and its averages (pages that
--    dominated the write-ahead log at ordinary load, when a batch holds one
--    or two messages). Messages above messages_fts_upto.upto are indexed
--    by the SQLite writer thread about once a second and by a search before
--    it runs (store::search, store::sqlite_writer); the mark then moves to
--    the newest message. The triggers stay only for rows at or below the
--    mark: a row inserted there (an import that keeps ids), an edit and a
--    delete of an indexed row keep the index exact as before; a row above
--    the mark is indexed later with the text it has then.
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;

CREATE TABLE messages_fts_upto (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    upto  INTEGER NOT NULL
);
-- Every message stored so far was indexed by the old trigger.
INSERT INTO messages_fts_upto (id, upto) VALUES (1, COALESCE((SELECT MAX(id) FROM messages), 0));

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.id <= (SELECT upto FROM messages_fts_upto) BEGIN
    INSERT INTO messages_fts (rowid, content_text) VALUES (new.id, replace(new.content_text, 'İ', 'i'));
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.id <= (SELECT upto FROM messages_fts_upto) BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content_text ON messages
WHEN old.id <= (SELECT upto FROM messages_fts_upto) BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
    INSERT INTO messages_fts (rowid, content_text) VALUES (new.id, replace(new.content_text, 'İ', 'i'));
END;

-- 2. threads_by_last_activity: no query needs it. The thread list orders by
--    `CASE status … END, last_activity_at DESC, id` (an index on
--    last_activity_at alone cannot give that order: SQLite sorts), search
--    sorts its few matches, the topic lookup uses threads_by_tg_topic, the
--    retention sweep threads_closed_by_activity, and the export's
--    `last_activity_at >= $1` reads every thread anyway. It cost one or two
--    page writes per group commit (every touch moves the thread's entry).
--    The other indexes of the hot path stay, each with the query that
--    needs it: messages_by_thread (a thread's page, catch-up after an id,
--    the thread list's counts and last message), messages_client_id (the
--    client_id idempotency of the insert, its ON CONFLICT target),
--    threads_closed_by_activity (retention; a touch of an open thread does
--    not write it), and the outbox indexes (written only with Telegram).
DROP INDEX threads_by_last_activity;
