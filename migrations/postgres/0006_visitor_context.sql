-- Visitor context (issue 14): where and who the visitor of a thread is, as
-- the widget and the visitor page report it, plus identity from `identify`.
-- Keyed by thread id without a foreign key: the context arrives before the
-- thread row, which is created at the first message. Rows of visitors who
-- never wrote are pruned after a day (http::embed).
CREATE TABLE visitor_contexts (
    thread_id      TEXT PRIMARY KEY,
    page_url       TEXT,
    page_title     TEXT,
    referrer       TEXT,
    browser        TEXT,
    os             TEXT,
    language       TEXT,
    timezone       TEXT,
    name           TEXT,
    email          TEXT,
    -- the site's user id, only when its identity hash was valid
    user_id        TEXT,
    verified       BOOLEAN NOT NULL DEFAULT FALSE,
    away_shown_at  TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
-- one thread per verified user (the same user on another device reaches it)
CREATE UNIQUE INDEX visitor_contexts_by_user ON visitor_contexts (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX visitor_contexts_by_update ON visitor_contexts (updated_at);
