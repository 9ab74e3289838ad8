-- The conversations projection learns CONV-1/2/4/9: status changes with their timestamps,
-- priority, tags, and internal notes in the thread (operators only).
alter table inbox_conversations
    add column priority     text        not null default 'medium',
    add column tags         text[]      not null default '{}',
    add column resolved_at  timestamptz,
    add column closed_at    timestamptz,
    add column reopen_count int         not null default 0;

alter table thread_messages
    add column internal boolean not null default false;
