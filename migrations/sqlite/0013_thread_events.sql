-- Who did what to a thread (issue 22 item 7): the agents' system events
-- (close, reopen, block, unblock, clear, assign), shown to agents only.
-- `agent_id` names an agent once agents exist (no key yet: NULL today);
-- `agent_name` is a snapshot of the name at the time (kept if the agent is
-- renamed or removed). Clearing a thread's messages keeps its events; they
-- go with the thread itself.
CREATE TABLE thread_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id   TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    agent_id    INTEGER,
    agent_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX thread_events_by_thread ON thread_events (thread_id, id);
