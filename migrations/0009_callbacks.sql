-- CALL-1/2 in the conversations projection: every call-back request with its consent record
-- and lifecycle, for managers' lists.
create table callbacks (
    callback_id         uuid        primary key,
    conversation_id     uuid        not null,
    phone               text        not null,
    window_from         timestamptz,
    window_to           timestamptz,
    consent_text_version text       not null,
    consent_given_at    timestamptz not null,
    consent_ip          text,
    status              text        not null,
    scheduled_for       timestamptz,
    outcome_note        text,
    requested_at        timestamptz not null,
    settled_at          timestamptz
);

create index callbacks_status_idx on callbacks (status, requested_at);
