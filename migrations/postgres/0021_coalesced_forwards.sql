-- Issue 23: coalesced forwards and a fair share per client address.
--
-- One Telegram message may now carry several messages of a thread (a
-- coalesced forward), and each of them keeps its own link, so that a reply
-- to that Telegram message reaches the thread and a receipt of any of them
-- is shown on it. A link is therefore unique per (chat, Telegram message,
-- message); COALESCE keeps the links without a message (imported from
-- Flask Chat) unique per Telegram message as before.
DROP INDEX telegram_links_by_tg;
CREATE UNIQUE INDEX telegram_links_by_tg ON telegram_links (tg_chat_id, tg_message_id, COALESCE(message_id, 0));
-- The visitor's client address as the fair share counts it (an IPv4
-- address, or an IPv6 /64 prefix such as 2001:db8:1:2::/64), kept only
-- while the forward is pending: it is cleared when the row is sent, dead
-- or dropped, and deleted with the thread. NULL: an agent's mirrored
-- message, or a row queued before this migration (its thread counts as an
-- address of its own).
ALTER TABLE telegram_outbox ADD COLUMN client_key TEXT;
