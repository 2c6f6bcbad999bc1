-- Telegram as a support console (issue 12).
-- The forum topic of a thread in the admin supergroup (`createForumTopic`),
-- the name it was given (renamed with `editForumTopic` when the wanted name
-- changes) and whether it was closed by hand (reopened at the next forward).
ALTER TABLE threads ADD COLUMN tg_topic_id INTEGER;
ALTER TABLE threads ADD COLUMN tg_topic_name TEXT;
ALTER TABLE threads ADD COLUMN tg_topic_closed INTEGER NOT NULL DEFAULT 0;
-- Finds the thread of a topic (every admin message in a topic goes there).
CREATE INDEX threads_by_tg_topic ON threads (tg_topic_id) WHERE tg_topic_id IS NOT NULL;
-- Delivery receipts of the admin's Telegram messages: 0 none, 1 the visitor's
-- page received it, 2 the visitor saw it. `receipt` is what the visitor's
-- page reported, `receipt_sent` what the bot has marked (`setMessageReaction`).
ALTER TABLE telegram_links ADD COLUMN receipt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE telegram_links ADD COLUMN receipt_sent INTEGER NOT NULL DEFAULT 0;
-- The visitor's marks per thread (highest message id received / seen), so a
-- link written a moment after the visitor's page reported gets its receipt.
ALTER TABLE threads ADD COLUMN tg_receipt_delivered_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN tg_receipt_seen_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX telegram_links_receipts_due ON telegram_links (id) WHERE receipt > receipt_sent;
CREATE INDEX telegram_links_by_message ON telegram_links (message_id);
