-- sohbet schema, SQLite. Timestamps are UTC, stored as RFC 3339 text by sqlx.
CREATE TABLE threads (
    id                          TEXT PRIMARY KEY NOT NULL,
    display_name                TEXT NOT NULL,
    created_at                  TEXT NOT NULL,
    last_activity_at            TEXT NOT NULL,
    status                      TEXT NOT NULL DEFAULT 'active',
    visitor_last_seen_at        TEXT,
    admin_last_read_message_id  INTEGER NOT NULL DEFAULT 0
);
-- "threads by last activity"
CREATE INDEX threads_by_last_activity ON threads (last_activity_at DESC);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id     TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    sender        TEXT NOT NULL CHECK (sender IN ('visitor', 'admin')),
    type          TEXT NOT NULL CHECK (type IN ('text', 'image', 'audio')),
    content_text  TEXT NOT NULL DEFAULT '',
    file_path     TEXT,
    file_url      TEXT,
    client_id     TEXT,
    created_at    TEXT NOT NULL
);
-- "a thread's page of messages"
CREATE INDEX messages_by_thread ON messages (thread_id, id);
-- a client_id sent twice yields the same stored message
CREATE UNIQUE INDEX messages_client_id ON messages (thread_id, client_id) WHERE client_id IS NOT NULL;

CREATE TABLE telegram_links (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id      TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    message_id     INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    tg_chat_id     TEXT NOT NULL,
    tg_message_id  INTEGER NOT NULL
);
CREATE UNIQUE INDEX telegram_links_by_tg ON telegram_links (tg_chat_id, tg_message_id);

-- admin login: one row per pending code (bound to the browser by a signed cookie)
CREATE TABLE login_otps (
    id          TEXT PRIMARY KEY NOT NULL,
    username    TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    expires_at  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- admin sessions; the cookie holds the token, the table its SHA-256
CREATE TABLE admin_sessions (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
