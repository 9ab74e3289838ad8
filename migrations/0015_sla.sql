-- The SLA projection (PROJ-3), written only by switchboard_projections::sla. Every figure is in
-- seconds on the conversation's SLA clock: wall-clock time, or only the inbox's working hours
-- when its policy says so. Definitions: projections/src/sla.rs and README "SLA metrics".

-- Each inbox's policy and working hours, as the projection last saw them.
create table sla_inboxes (
    inbox_id      uuid  primary key,
    policy        jsonb not null,
    working_hours jsonb not null
);

-- One row per conversation: where its clocks stand.
create table sla_conversations (
    conversation_id     uuid        primary key,
    inbox_id            uuid        not null,
    branch_id           uuid,
    assignee_id         uuid,
    status              text        not null,
    started_at          timestamptz not null,
    -- The inbox's policy and working hours when the conversation started: later changes to
    -- the inbox do not move the goalposts of conversations already under way.
    policy              jsonb       not null,
    working_hours       jsonb       not null,
    first_response_at   timestamptz,
    -- When the first response is (or was) due; null without a target.
    first_response_due  timestamptz,
    -- After the first response: since when the contact waits for the next one, and its due
    -- time. A resolve or close ends the wait without a response.
    waiting_since       timestamptz,
    next_response_due   timestamptz,
    resolution_due      timestamptz,
    reopen_count        int         not null default 0,
    rating_scale        text,
    rating_score        smallint,
    rated_at            timestamptz,
    rated_by_assignee   uuid
);

create index sla_conversations_started_idx on sla_conversations (started_at);

-- Every response that ended a wait: the first (FRT) and each next one (NRT).
create table sla_responses (
    conversation_id uuid        not null,
    -- The reply's stream version.
    position        int         not null,
    kind            text        not null check (kind in ('first', 'next')),
    inbox_id        uuid        not null,
    branch_id       uuid,
    operator_id     uuid,
    waited_from     timestamptz not null,
    responded_at    timestamptz not null,
    seconds         bigint      not null,
    deadline        timestamptz,
    breached        boolean     not null,
    primary key (conversation_id, position)
);

create index sla_responses_at_idx on sla_responses (responded_at);

-- Every resolution (RT), with the assignee who had it.
create table sla_resolutions (
    conversation_id uuid        not null,
    position        int         not null,
    inbox_id        uuid        not null,
    branch_id       uuid,
    operator_id     uuid,
    resolved_at     timestamptz not null,
    seconds         bigint      not null,
    deadline        timestamptz,
    breached        boolean     not null,
    primary key (conversation_id, position)
);

create index sla_resolutions_at_idx on sla_resolutions (resolved_at);
