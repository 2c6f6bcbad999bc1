-- The audit log (issue 27 item 6): who erased a thread, ran retention,
-- disabled or enabled an agent, or made a backup. `agent_id` names the
-- agent (NULL for the command line and the retention job); `agent_name`
-- is a snapshot of the name at the time. `target` names what was acted on
-- (a thread id, an agent id, a file name); `detail` is a short JSON object
-- of counts, never erased content. Rows are kept when their thread is
-- erased: no foreign key.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    INTEGER,
    agent_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    detail      TEXT,
    created_at  TEXT NOT NULL
);
-- Retention finds closed threads by last activity.
CREATE INDEX threads_closed_by_activity ON threads (last_activity_at) WHERE status = 'closed';
-- Erase by email finds a visitor's threads.
CREATE INDEX visitor_contexts_by_email ON visitor_contexts (lower(email)) WHERE email IS NOT NULL;
