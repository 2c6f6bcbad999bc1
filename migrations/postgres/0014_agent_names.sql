-- Agent names (issue 22 items 2 and 3).
--
-- Each agent's message records who wrote it: `agent_id` (no key, like
-- `thread_events.agent_id`: removing an agent never touches messages) and
-- `agent_name`, a snapshot of its shown name when it wrote (kept when the
-- agent is renamed or removed; read without a join). Every existing row
-- keeps NULL in both: old answers are shown as ADMIN_DISPLAY_NAME. A
-- constant default: no table rewrite.
ALTER TABLE messages ADD COLUMN agent_id BIGINT;
ALTER TABLE messages ADD COLUMN agent_name TEXT;

-- One-time codes that link a Telegram user to an agent (`/link CODE`,
-- `/start CODE`): only the SHA-256 (hex) of a code is stored, with its
-- agent and when it dies. A code is deleted when it is used; an agent has
-- at most one live code (a new one replaces it).
CREATE TABLE telegram_link_codes (
    code_hash   TEXT PRIMARY KEY,
    agent_id    BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX telegram_link_codes_by_agent ON telegram_link_codes (agent_id);
