-- Fewer pages written per message (issue 25 item 3): threads_by_last_activity
-- serves no query (migrations/sqlite/0023_lean_writes.sql lists each index
-- of the hot path with the query that needs it) and every touch of a
-- thread moved its entry. The search indexes (GIN, 0009) stay: GIN's
-- pending list already batches their writes.
DROP INDEX threads_by_last_activity;
