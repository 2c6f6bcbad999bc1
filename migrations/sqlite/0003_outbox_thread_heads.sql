-- The outbox worker sends only the head of each thread (its oldest pending
-- forward): for every pending row it asks whether an older pending row of
-- the same thread exists. This partial index answers that per row.
CREATE INDEX telegram_outbox_thread_pending ON telegram_outbox (thread_id, id) WHERE status = 'pending';
