-- Canned replies (issue 13): the admin's short named answers, shared by
-- every instance. `name_key` is the name in lower case (computed by the
-- core): names are unique without regard to case.
CREATE TABLE canned_replies (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX canned_replies_by_name ON canned_replies (name_key);
