-- Agents without Telegram get an email about visitor messages that wait
-- unanswered (issue 26 item 6): the address each agent sets in the panel
-- (NULL: none).
ALTER TABLE agents ADD COLUMN email TEXT;
