-- Outbound email (issue 26): a durable outbox. A row is written in the
-- transaction of the event that causes it: an agent's answer schedules an
-- `answer` check, a visitor's message (agents without Telegram) an
-- `agent_wait` check, a transcript request or a close a `transcript`.
-- At `due_at` the worker re-checks a `scheduled` row (seen? answered?
-- unsubscribed? limits?) and either composes it (`pending`, with its
-- recipient and the whole RFC 5322 message in `body`), moves it later, or
-- ends it `cancelled` / `done`. A `pending` row is sent (`sending`
-- while the SMTP transaction runs), then `sent`, retried with back-off
-- (`pending` again, later `due_at`) or `dead` (a 5xx answer).
CREATE TABLE email_outbox (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('answer', 'transcript', 'agent_wait', 'agent')),
    thread_id        TEXT,
    agent_id         BIGINT,
    status           TEXT NOT NULL CHECK (status IN ('scheduled', 'pending', 'sending', 'sent', 'dead', 'cancelled', 'done')),
    due_at           TIMESTAMPTZ NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    recipient        TEXT,
    body             TEXT,
    upto_message_id  BIGINT,
    queued_at        TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ
);
CREATE INDEX email_outbox_due ON email_outbox (status, due_at);
CREATE INDEX email_outbox_by_thread ON email_outbox (thread_id, kind, status);
CREATE INDEX email_outbox_by_recipient ON email_outbox (recipient, queued_at) WHERE recipient IS NOT NULL;

-- Per thread: unsubscribed (no more email), the generation of its signed
-- links (raised by unsubscribing and clearing: older links die), and what
-- answers were already emailed (the last message id, when).
ALTER TABLE threads ADD COLUMN email_unsubscribed_at TIMESTAMPTZ;
ALTER TABLE threads ADD COLUMN email_link_gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN email_answered_upto BIGINT NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN email_answer_sent_at TIMESTAMPTZ;
