-- CONV-5 in the conversations projection: read_at on every message, each operator's
-- last-read marker, and the contact's.
alter table thread_messages add column read_at timestamptz;

alter table inbox_conversations add column contact_read_position int not null default 0;

create table operator_read_markers (
    conversation_id uuid        not null,
    operator_id     uuid        not null,
    position        int         not null,
    read_at         timestamptz not null,
    primary key (conversation_id, operator_id)
);
