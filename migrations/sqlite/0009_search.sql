-- Full-text search (issue 13): message text and thread display names.
-- FTS5 is compiled into the SQLite that sqlx bundles (libsqlite3-sys
-- `bundled`: SQLite 3.51 with SQLITE_ENABLE_FTS5; `contentless_delete`
-- needs 3.43 or later). A build against a system SQLite without FTS5 stops
-- here with "no such module: fts5".
--
-- FTS5 with the unicode61 tokenizer keeping diacritics (`ş` ≠ `s`, `ğ` ≠ `g`,
-- `ı` ≠ `i`), so Turkish words are matched as written; unicode61 folds case
-- (`Ş` → `ş`, `I` → `i`) but leaves `İ` (U+0130) alone, so the indexed text
-- has `İ` replaced by `i` (the query side does the same, chat::search), and
-- `İstanbul` is found by `istanbul` as on Postgres.
--
-- messages_fts is contentless (the text lives in messages) with
-- contentless_delete, keyed by the message id: the triggers keep it in step
-- with every insert (the group commit's multi-row INSERT: no extra
-- statement), delete (clearing a thread) and text change.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content_text,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content_text) VALUES (new.id, replace(new.content_text, 'İ', 'i'));
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content_text ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
    INSERT INTO messages_fts (rowid, content_text) VALUES (new.id, replace(new.content_text, 'İ', 'i'));
END;

-- Display names, keyed by thread id (threads has a text key, and its
-- implicit rowid may change at VACUUM, so the id is stored, unindexed).
CREATE VIRTUAL TABLE threads_fts USING fts5(
    thread_id UNINDEXED,
    display_name,
    tokenize = 'unicode61 remove_diacritics 0'
);

CREATE TRIGGER threads_fts_insert AFTER INSERT ON threads BEGIN
    INSERT INTO threads_fts (thread_id, display_name) VALUES (new.id, replace(new.display_name, 'İ', 'i'));
END;

CREATE TRIGGER threads_fts_delete AFTER DELETE ON threads BEGIN
    DELETE FROM threads_fts WHERE thread_id = old.id;
END;

CREATE TRIGGER threads_fts_rename AFTER UPDATE OF display_name ON threads BEGIN
    DELETE FROM threads_fts WHERE thread_id = old.id;
    INSERT INTO threads_fts (thread_id, display_name) VALUES (new.id, replace(new.display_name, 'İ', 'i'));
END;

-- What was stored before this migration.
INSERT INTO messages_fts (rowid, content_text) SELECT id, replace(content_text, 'İ', 'i') FROM messages;
INSERT INTO threads_fts (thread_id, display_name) SELECT id, replace(display_name, 'İ', 'i') FROM threads;
