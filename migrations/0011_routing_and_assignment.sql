-- OPS-2..4, INBOX-2..5 on the read side.

-- The operators projection (switchboard_projections::operators): who can be given
-- conversations, and whether they are at work.
create table operators (
    operator_id       uuid        primary key,
    name              text        not null,
    roles             text[]      not null,
    branch_id         uuid,
    capacity          int,
    status            text        not null,
    status_changed_at timestamptz not null,
    -- The last time a conversation was assigned to them: round-robin among equally loaded.
    last_assigned_at  timestamptz,
    registered_at     timestamptz not null,
    updated_at        timestamptz not null
);

create index operators_status_idx on operators (status, branch_id);

-- The inbox's whole settings, as its last event set them: the scheduler reads working hours,
-- capacity, escalation timeout and auto-reply from here.
alter table inboxes add column settings jsonb;

alter table inbox_conversations
    add column branch_id             uuid,
    add column transferable          boolean not null default false,
    -- While unassigned: since when (position and time) it waits in the queue.
    add column queued_since_position int,
    add column queued_at             timestamptz,
    -- While assigned: when, at which position, and whether the assignee opened it.
    add column assigned_at           timestamptz,
    add column assignment_position   int,
    add column opened_at             timestamptz,
    add column has_inbound           boolean not null default false,
    add column has_outbound          boolean not null default false,
    add column auto_replied          boolean not null default false;

-- Conversations started before this migration wait in the queue since their start; a rebuild
-- of the projection from the log puts the exact positions in.
update inbox_conversations
   set queued_since_position = 1, queued_at = started_at
 where assignee_id is null;

create index inbox_conversations_queue_idx
    on inbox_conversations (queued_at, conversation_id)
    where assignee_id is null and status not in ('resolved', 'closed');

create index inbox_conversations_unopened_idx
    on inbox_conversations (assigned_at)
    where assignee_id is not null and opened_at is null;

alter table thread_messages add column auto_reply boolean not null default false;

-- Inboxes created before this migration had only these settings; the rest take their defaults.
update inboxes
   set settings = jsonb_build_object('title', title, 'greeting', greeting, 'color', color,
                                     'rating', rating)
 where settings is null;
