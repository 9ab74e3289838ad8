-- Webhook deliveries (PROJ-4, INT-2). Design: projections/src/webhooks.rs (what becomes a
-- delivery, and the ordering rule) and api/src/webhooks.rs (sending, retries, disabling).

-- The webhooks projection: every endpoint as its stream says (switchboard_projections::webhooks).
create table webhook_endpoints (
    endpoint_id         uuid        primary key,
    inbox_id            uuid        not null,
    url                 text        not null,
    event_types         text[]      not null,
    enabled             boolean     not null,
    -- The global position of `WebhookEndpointRegistered`: the endpoint gets the events after it.
    registered_position bigint      not null,
    registered_at       timestamptz not null,
    disabled_reason     text,
    disabled_detail     text,
    disabled_at         timestamptz,
    secret_rotated_at   timestamptz,
    updated_at          timestamptz not null
);

create index webhook_endpoints_inbox_idx on webhook_endpoints (inbox_id);

-- The webhooks projection: each conversation's inbox, branch and status after the last event
-- applied, and that event's global position (to find what a new endpoint must catch up on).
create table webhook_conversations (
    conversation_id uuid   primary key,
    inbox_id        uuid   not null,
    branch_id       uuid,
    status          text   not null,
    last_position   bigint not null
);

create index webhook_conversations_inbox_idx on webhook_conversations (inbox_id, last_position);

-- Signing secrets: mutable and deletable, so never in the log. Written by the API only.
create table webhook_secrets (
    endpoint_id uuid        primary key,
    secret      text        not null,
    created_at  timestamptz not null default now(),
    rotated_at  timestamptz
);

-- One row per (event, endpoint): inserted by the projection, advanced by the delivery worker.
-- status: pending → delivered | dead; a redelivery puts delivered or dead back to pending.
create table webhook_deliveries (
    -- UUID v5 of the event id and the endpoint id: the `webhook-id` header, stable across
    -- retries, and what makes a redelivered Kafka message insert nothing.
    delivery_id      uuid        primary key,
    endpoint_id      uuid        not null,
    inbox_id         uuid        not null,
    event_id         uuid        not null,
    global_position  bigint      not null,
    conversation_id  uuid        not null,
    -- The webhook event type (`message.in`, …).
    event_type       text        not null,
    -- The exact bytes that are signed and sent.
    body             text        not null,
    status           text        not null check (status in ('pending', 'delivered', 'dead')),
    -- Attempts made in the current budget (reset by a redelivery) and in all.
    budget_attempts  int         not null default 0,
    total_attempts   int         not null default 0,
    -- When a pending delivery is next tried; while an attempt runs, when its claim expires.
    next_attempt_at  timestamptz not null,
    -- The current attempt's claim: a worker records its outcome only while it still holds it.
    claim_id         uuid,
    created_at       timestamptz not null,
    delivered_at     timestamptz,
    dead_at          timestamptz,
    updated_at       timestamptz not null,
    unique (event_id, endpoint_id)
);

create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at)
    where status = 'pending';
create index webhook_deliveries_endpoint_idx
    on webhook_deliveries (endpoint_id, global_position desc, delivery_id);

-- Every attempt, for integrators and support to see what happened.
create table webhook_attempts (
    delivery_id   uuid        not null references webhook_deliveries (delivery_id),
    -- 1, 2, … across redeliveries.
    attempt       int         not null,
    started_at    timestamptz not null,
    duration_ms   int         not null,
    -- The receiver's HTTP status, or null when there was none (timeout, connection error).
    status_code   int,
    error         text,
    -- The first KiB of the response body.
    response_body text,
    succeeded     boolean     not null,
    primary key (delivery_id, attempt)
);

-- Every redelivery an admin asked for: who, when, and from which status.
create table webhook_redeliveries (
    delivery_id     uuid        not null references webhook_deliveries (delivery_id),
    requested_at    timestamptz not null,
    requested_by    uuid        not null,
    previous_status text        not null,
    primary key (delivery_id, requested_at)
);

-- The delivery worker's view of each endpoint's health: dead-lettered deliveries since the last
-- success, for the disabling rule.
create table webhook_endpoint_health (
    endpoint_id      uuid        primary key,
    consecutive_dead int         not null default 0,
    last_success_at  timestamptz,
    last_failure_at  timestamptz
);
