-- CONV-7: uploaded files. The bytes live in the attachment store (a directory by default);
-- this table says which conversation each belongs to and who uploaded it, so downloads can be
-- checked and messages can only carry their own conversation's files. What a message carries
-- is recorded in its MessagePosted event (v2), and copied into the thread below.
create table attachments (
    attachment_id   uuid        primary key,
    conversation_id uuid        not null,
    uploader_kind   text        not null,
    uploader_id     uuid,
    name            text        not null,
    content_type    text        not null,
    size            bigint      not null,
    sha256          text        not null,
    uploaded_at     timestamptz not null
);

create index attachments_conversation_idx on attachments (conversation_id);

alter table thread_messages add column attachments jsonb not null default '[]';
