-- Events a projection could not apply: a type it does not know (a newer writer during a
-- rolling deploy) or a permanent failure (a constraint it violates). The projection records
-- the event here and moves on, so one bad event never stalls a Kafka partition; a rebuild
-- from the log (AUD-5) applies it once the projection can.
create table projection_dead_letters (
    projection     text        not null,
    event_id       uuid        not null,
    stream_id      uuid        not null,
    stream_version int         not null,
    event_type     text        not null,
    reason         text        not null,
    event          jsonb       not null,
    recorded_at    timestamptz not null default now(),
    primary key (projection, event_id)
);
