-- Assignment (issue 22 item 4): the agent who owns a thread. NULL:
-- unassigned (every existing thread). Deleting an agent unassigns its
-- threads; a disabled agent keeps them until someone reassigns them.
ALTER TABLE threads ADD COLUMN assignee_agent_id INTEGER REFERENCES agents (id) ON DELETE SET NULL;
CREATE INDEX threads_by_assignee ON threads (assignee_agent_id);
