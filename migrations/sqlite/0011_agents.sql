-- Agents (issue 22 item 1): a support team, each with its own login. The
-- bootstrap owner (ADMIN_USERNAME) is created at start by the server, not
-- here (a migration does not know the environment). `login` is stored in
-- lower case (computed by the server): unique without regard to case.
-- `password_hash` is an Argon2id PHC string; NULL for the bootstrap owner
-- until it sets one (ADMIN_PASSWORD counts meanwhile) and for an invited
-- agent until it uses its invite. `invite_hash` is the SHA-256 (hex) of a
-- one-time invite token, never the token.
CREATE TABLE agents (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    login              TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    password_hash      TEXT,
    role               TEXT NOT NULL CHECK (role IN ('owner', 'agent')),
    telegram_user_id   INTEGER,
    invite_hash        TEXT,
    invite_expires_at  TEXT,
    disabled_at        TEXT,
    created_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX agents_by_login ON agents (login);
CREATE UNIQUE INDEX agents_by_telegram_user ON agents (telegram_user_id);
CREATE UNIQUE INDEX agents_by_invite ON agents (invite_hash);

-- Sessions and pending codes name their agent. Existing rows keep NULL
-- here and are given to the bootstrap owner at start (they were the one
-- admin's); deleting an agent deletes its sessions and codes.
ALTER TABLE admin_sessions ADD COLUMN agent_id INTEGER REFERENCES agents (id) ON DELETE CASCADE;
ALTER TABLE login_otps ADD COLUMN agent_id INTEGER REFERENCES agents (id) ON DELETE CASCADE;
CREATE INDEX admin_sessions_by_agent ON admin_sessions (agent_id);
