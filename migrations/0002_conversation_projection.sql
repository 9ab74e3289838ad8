-- Read side of the conversations projection (PROJ-1 inbox list, PROJ-5 thread).
-- Written only by switchboard_projections::conversations; rebuilt from the log at will.

-- How far each projection got in each stream. Updated in the same transaction as the
-- projection's rows, so a redelivered event (stream_version <= version) changes nothing.
create table projection_stream_positions (
    projection text not null,
    stream_id  uuid not null,
    version    int  not null,
    primary key (projection, stream_id)
);

create table inbox_conversations (
    conversation_id     uuid        primary key,
    inbox_id            uuid        not null,
    source              text        not null,
    status              text        not null,
    subject             text,
    contact_id          uuid        not null,
    contact_name        text,
    contact_email       text,
    contact_phone       text,
    started_at          timestamptz not null,
    last_message_id     uuid,
    last_message_body   text,
    last_message_sender text,
    last_activity_at    timestamptz not null,
    message_count       int         not null default 0
);

-- The inbox is sorted by last activity, newest first, with keyset pagination.
create index inbox_conversations_activity_idx
    on inbox_conversations (last_activity_at desc, conversation_id desc);

create table thread_messages (
    message_id      uuid        primary key,
    conversation_id uuid        not null,
    stream_version  int         not null,
    sender_kind     text        not null,
    sender_id       uuid,
    channel         text        not null,
    body            text        not null,
    posted_at       timestamptz not null,
    unique (conversation_id, stream_version)
);
