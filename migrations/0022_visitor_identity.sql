-- Visitor identity (SEC-1). The inbox's identity secret signs its site's user ids; like
-- webhook secrets it is mutable and deletable, so it never enters the log. Written by the API
-- only; the log records that it was rotated (IdentitySecretRotated).
create table inbox_identity_secrets (
    inbox_id    uuid        primary key,
    secret      text        not null,
    created_at  timestamptz not null default now(),
    rotated_at  timestamptz
);

-- Read side: whether (and since when) an inbox has an identity secret.
alter table inboxes add column identity_secret_rotated_at timestamptz;

-- A contact's own conversations (a signed-in visitor lists theirs), newest activity first.
create index inbox_conversations_contact_idx
    on inbox_conversations (contact_id, inbox_id, last_activity_at desc);
