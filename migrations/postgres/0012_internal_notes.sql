-- Internal notes (issue 22, item 6): a message an agent writes for the
-- other agents only. `internal` set: the message is never shown to the
-- visitor (not broadcast to the thread's room, not in a visitor's history
-- or catch-up, never given a receipt), only to agents (the panel, the
-- thread's Telegram topic). Every existing row is an ordinary message
-- (a constant default: no table rewrite).
ALTER TABLE messages ADD COLUMN internal BOOLEAN NOT NULL DEFAULT FALSE;
