-- Telegram (TG-1..5) and notifications (CALL-2, INT-3). Design: api/src/telegram/mod.rs (the
-- bot), projections/src/notifications.rs (what is notified, to whom) and api/src/notifier.rs
-- (sending, retries).

-- One-time link tokens: an operator's (TG-1, `/login <token>`) or a visitor's conversation's
-- (TG-4, `/start link_<token>`). Only the SHA-256 of a token is kept. A token is spent by the
-- first Telegram user who presents it; the same user may present it again (a retried update).
create table telegram_link_tokens (
    token_hash      bytea       primary key,
    kind            text        not null check (kind in ('operator', 'conversation')),
    operator_id     uuid,
    conversation_id uuid,
    contact_id      uuid,
    created_at      timestamptz not null default now(),
    expires_at      timestamptz not null,
    used_at         timestamptz,
    used_by         bigint,
    check ((kind = 'operator') = (operator_id is not null)),
    check ((kind = 'conversation') = (conversation_id is not null and contact_id is not null))
);

-- Operators' Telegram accounts (TG-1). A binding is a credential (it lets a Telegram account
-- act as the operator), so like webhook secrets it lives outside the log and can be removed.
create table telegram_operators (
    operator_id          uuid        primary key,
    telegram_user_id     bigint      not null unique,
    chat_id              bigint      not null,
    linked_at            timestamptz not null,
    -- The conversation `/open` chose: the operator's plain messages go there (TG-2).
    open_conversation_id uuid
);

-- Visitors' Telegram chats (TG-4): each carries one conversation, alongside the web widget.
-- The chat id is the contact's personal data; erasing the contact deletes the row.
create table telegram_visitors (
    chat_id         bigint      primary key,
    conversation_id uuid        not null,
    contact_id      uuid        not null,
    linked_at       timestamptz not null
);

create index telegram_visitors_conversation_idx on telegram_visitors (conversation_id);
create index telegram_visitors_contact_idx on telegram_visitors (contact_id);

-- The notifications projection: each conversation's inbox, branch, assignee and contact after
-- the last event applied.
create table notification_conversations (
    conversation_id uuid primary key,
    inbox_id        uuid not null,
    branch_id       uuid,
    assignee_id     uuid,
    contact_id      uuid not null,
    contact_name    text
);

create index notification_conversations_contact_idx on notification_conversations (contact_id);

-- The outbox: one row per (event, recipient, channel), inserted by the notifications
-- projection in the transaction that records its progress, sent by the notifier.
-- status: pending → sent | failed (a permanent refusal, or the attempts ran out) | skipped (the
-- channel is not set up on the service that sent it).
create table notifications (
    -- UUID v5 of the event id and the recipient: a redelivered event inserts nothing.
    notification_id     uuid        primary key,
    event_id            uuid        not null,
    global_position     bigint      not null,
    conversation_id     uuid        not null,
    channel             text        not null check (channel in ('telegram', 'email')),
    -- The operator it is for; null for a visitor's own Telegram chat.
    operator_id         uuid,
    telegram_chat_id    bigint,
    email               text,
    subject             text,
    body                text        not null,
    -- A JSON attachment of the e-mail (the call-back's consent record), if any.
    attachment          jsonb,
    status              text        not null check (status in ('pending', 'sent', 'failed', 'skipped')),
    attempts            int         not null default 0,
    next_attempt_at     timestamptz not null,
    claim_id            uuid,
    last_error          text,
    -- What Telegram called the sent message: an operator's reply to it answers the conversation.
    telegram_message_id bigint,
    created_at          timestamptz not null,
    sent_at             timestamptz,
    updated_at          timestamptz not null,
    check ((channel = 'telegram') = (telegram_chat_id is not null)),
    check ((channel = 'email') = (email is not null))
);

create index notifications_due_idx on notifications (next_attempt_at) where status = 'pending';
-- A chat's notifications go out in order: one is sent only when none before it is pending.
create index notifications_chat_order_idx on notifications (telegram_chat_id, global_position)
    where status = 'pending';
create index notifications_reply_idx on notifications (telegram_chat_id, telegram_message_id)
    where telegram_message_id is not null;
create index notifications_conversation_idx on notifications (conversation_id);

-- Operators' e-mail addresses, for call-back notifications (INT-3), as their profiles say.
alter table operators add column email text;

-- Every attempt to send a notification, for support to see what happened.
create table notification_attempts (
    attempt_id      bigint      generated always as identity primary key,
    notification_id uuid        not null references notifications (notification_id),
    -- The attempt it counted as (a rate-limited try does not count: it repeats the number).
    attempt         int         not null,
    attempted_at    timestamptz not null,
    -- sent | retry | failed | skipped
    outcome         text        not null,
    error           text
);

create index notification_attempts_notification_idx on notification_attempts (notification_id);
