-- Durable outbox of forwards to Telegram: written in the same transaction as
-- the visitor's message, sent in order per thread by the outbox worker.
CREATE TABLE telegram_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id       INTEGER NOT NULL,
    thread_id        TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead', 'dropped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    parts_sent       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX telegram_outbox_pending ON telegram_outbox (status, id);
