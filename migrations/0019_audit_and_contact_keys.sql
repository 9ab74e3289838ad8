-- Audit reads and crypto-shredding (issue 7: AUD-3, GDPR-1, GDPR-2).

-- Exports by time range (AUD-3).
create index events_recorded_at_idx on events (recorded_at);

-- A contact's conversations: the streams whose first event names them (AUD-3, GDPR-1).
create index events_started_contact_idx on events ((payload->'contact'->>'id'))
    where event_type = 'ConversationStarted';

-- One AES-256-GCM key per contact (GDPR-2). The personal data in that contact's events is
-- sealed with it (switchboard_commands::seal); erasing the contact sets `key` to null, which
-- leaves those events unreadable for ever while the log itself, and its hash chains, stay as
-- they were. The row stays as the record of the erasure, so no new key is ever made for the
-- contact. Kept apart from the log: this table is mutable by design.
create table contact_keys (
    contact_id uuid        primary key,
    key        bytea       check (key is null or length(key) = 32),
    created_at timestamptz not null default now(),
    erased_at  timestamptz,
    constraint contact_keys_erased_check check ((key is null) = (erased_at is not null))
);
