-- The append-only event log: the source of truth for everything Switchboard knows.
-- See ARCHITECTURE.md "The log". Written only by switchboard_commands::log::EventLog::append.

create table events (
    global_position bigint generated always as identity,
    transaction_id  xid8        not null default pg_current_xact_id(),
    stream_id       uuid        not null,
    stream_type     text        not null,
    stream_version  int         not null check (stream_version >= 1),
    event_id        uuid        not null,
    event_type      text        not null,
    schema_version  smallint    not null,
    payload         jsonb       not null,
    metadata        jsonb       not null,
    recorded_at     timestamptz not null,
    prev_hash       bytea,
    hash            bytea       not null,
    constraint events_pkey primary key (global_position),
    constraint events_event_id_key unique (event_id),
    constraint events_stream_version_key unique (stream_id, stream_version),
    -- The first event of a stream has no predecessor; every later one names it (AUD-2).
    constraint events_prev_hash_check check ((stream_version = 1) = (prev_hash is null))
);

-- The commit-order tail reads `where (transaction_id, global_position) > $1 order by both`.
create index events_commit_order_idx on events (transaction_id, global_position);

-- AUD-1: the log is append-only in the database itself, whoever connects.
create function events_refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'the event log is append-only: % on events is not allowed', tg_op
        using errcode = 'restrict_violation';
end;
$$;

create trigger events_no_update_or_delete
    before update or delete on events
    for each row execute function events_refuse_change();

create trigger events_no_truncate
    before truncate on events
    for each statement execute function events_refuse_change();

-- Wake tailers (relay, tests) when events commit. One notification per statement; PostgreSQL
-- folds identical notifications of one transaction and delivers them at commit.
create function events_notify_append() returns trigger
language plpgsql as $$
begin
    perform pg_notify('switchboard_events', '');
    return null;
end;
$$;

create trigger events_notify
    after insert on events
    for each statement execute function events_notify_append();

-- Where each tailing consumer of the log (the Kafka relay, …) got to, in commit order.
create table log_checkpoints (
    name            text   primary key,
    transaction_id  bigint not null,
    global_position bigint not null,
    updated_at      timestamptz not null default now()
);
