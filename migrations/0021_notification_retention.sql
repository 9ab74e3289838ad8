-- Notifications that are done with (sent, failed, skipped) are swept, with their attempts,
-- once they are older than SWITCHBOARD_NOTIFY_KEEP_DAYS (the notifier's sweep): this index
-- finds them oldest first without reading the pending ones.
create index notifications_done_idx on notifications (updated_at) where status <> 'pending';
