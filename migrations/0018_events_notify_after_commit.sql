-- The log's wake-up moves out of the appending transaction (issue 5).
--
-- A transaction that has called pg_notify takes a database-wide lock at commit and holds it
-- through its WAL flush, so with the trigger every append waited for the one before it to
-- reach the disk: no group commit, and 16 writers were no faster than 2. Appenders now notify
-- `switchboard_events` after their commit, from a transaction that writes nothing (see
-- switchboard_commands::log); tailers also poll, so a wake-up lost in a crash only delays them.
drop trigger events_notify on events;
drop function events_notify_append();
