-- PROJ-3: breaches recorded in the log (SlaBreached) as the SLA projection saw them, and the
-- indexes the scheduler's search for waits past their deadline reads.

create table sla_breaches (
    conversation_id uuid        not null,
    metric          text        not null,
    deadline        timestamptz not null,
    detected_at     timestamptz not null,
    -- The SlaBreached event's stream version.
    position        int         not null,
    primary key (conversation_id, metric, deadline)
);

create index sla_conversations_first_due_idx on sla_conversations (first_response_due)
    where first_response_at is null and first_response_due is not null;
create index sla_conversations_next_due_idx on sla_conversations (next_response_due)
    where next_response_due is not null;
create index sla_conversations_resolution_due_idx on sla_conversations (resolution_due)
    where resolution_due is not null;
