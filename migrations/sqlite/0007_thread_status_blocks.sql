-- Conversation status and blocks (issue 13). A thread is `open` or
-- `closed`; rows from before this migration said `active`, which means
-- `open` (readers also take a left-over `active` as open). `blocked_at` set:
-- the admin blocked the thread's visitor (its sends are refused; nothing is
-- deleted). `status_changed_at`: when the status last changed (the group
-- commit uses it to tell which threads a visitor's message reopened).
UPDATE threads SET status = 'open' WHERE status = 'active';
ALTER TABLE threads ADD COLUMN status_changed_at TEXT;
ALTER TABLE threads ADD COLUMN blocked_at TEXT;
CREATE INDEX threads_blocked ON threads (blocked_at) WHERE blocked_at IS NOT NULL;

-- The Telegram message of a thread that carries its inline buttons (Close,
-- Block, ...), so that they can be updated (editMessageReplyMarkup).
CREATE TABLE telegram_buttons (
    thread_id      TEXT PRIMARY KEY NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    tg_chat_id     TEXT NOT NULL,
    tg_message_id  INTEGER NOT NULL
);
