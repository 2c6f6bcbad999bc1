-- Edits relayed (issue 23 item 6): when an agent edits an answer in
-- Telegram, the stored message takes the new text and records when it
-- was edited (NULL: never). Visitors' pages mark it "edited".
ALTER TABLE messages ADD COLUMN edited_at TEXT;
-- The catch-up after a reconnect (`?after=ID`) also returns the messages up
-- to ID that were edited since: few rows, so a small partial index.
CREATE INDEX messages_edited ON messages (thread_id, id) WHERE edited_at IS NOT NULL;
-- Who wrote the admin's Telegram message that became an answer (its
-- Telegram user id): only that user's edits are relayed. NULL for forwards
-- and for answers stored before this migration (their edits are ignored).
ALTER TABLE telegram_links ADD COLUMN tg_from_id INTEGER;
