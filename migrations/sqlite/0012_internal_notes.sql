-- Internal notes (issue 22, item 6): a message an agent writes for the
-- other agents only. `internal` set: the message is never shown to the
-- visitor (not broadcast to the thread's room, not in a visitor's history
-- or catch-up, never given a receipt), only to agents (the panel, the
-- thread's Telegram topic). Every existing row is an ordinary message.
-- SQLite has no boolean type: 0 / 1, read and bound as a bool by sqlx.
ALTER TABLE messages ADD COLUMN internal INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1));
