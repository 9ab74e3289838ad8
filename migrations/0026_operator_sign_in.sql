-- Operator sign-in (the console, issue 21). Design: api/src/sign_in.rs. The log records every
-- invitation, sign-in, failure, lock, reset and sign-out; what must not be in it lives here:
-- password hashes (argon2id) and the refresh tokens' hashes. The API writes these tables
-- itself, beside the commands it sends; no projection owns them.

-- The address an operator signs in with (lower case), one operator per address. Written when
-- an admin invites them.
create table operator_logins (
    email       text        primary key,
    operator_id uuid        not null unique,
    created_at  timestamptz not null default now()
);

create table operator_passwords (
    operator_id uuid        primary key,
    -- PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash
    hash        text        not null,
    -- The operator aggregate's password generation this hash is of: a sign-in checked against
    -- a hash a reset replaced is refused by the decider.
    generation  int         not null,
    set_at      timestamptz not null default now()
);

-- One row per console session. The refresh token is `<session id>.<generation>.<secret>`; only
-- SHA-256 of the secret is kept, and of the one it replaced (a token of an earlier generation
-- used again ends the session, unless it is the last one, within seconds of the rotation: two
-- tabs refreshing at once).
create table operator_sessions (
    session_id    uuid        primary key,
    operator_id   uuid        not null,
    refresh_hash  bytea       not null,
    previous_hash bytea,
    generation    int         not null default 0,
    -- When the sign-in that began it was decided: a password reset or a deactivation after it
    -- ends it (operators.sessions_revoked_at), even if its row was written later.
    signed_in_at  timestamptz not null,
    rotated_at    timestamptz not null,
    created_at    timestamptz not null,
    expires_at    timestamptz not null,
    ended_at      timestamptz,
    address       text,
    user_agent    text
);

create index operator_sessions_open_idx on operator_sessions (operator_id) where ended_at is null;

-- The operators projection: deactivated operators get no conversations; invited ones who have
-- not set a password yet are shown as such.
alter table operators
    add column active              boolean not null default true,
    add column invitation_pending  boolean not null default false,
    -- The last password reset or deactivation: sessions signed in before it are over.
    add column sessions_revoked_at timestamptz;

-- Invitation and password-reset e-mails go through the notifications outbox too; they belong
-- to no conversation, and their link is minted by the notifier as the e-mail goes out.
alter table notifications
    alter column conversation_id drop not null,
    add column link_kind text check (link_kind in ('invitation', 'password_reset')),
    add column link_id   uuid,
    add constraint notifications_link_check check ((link_kind is null) = (link_id is null));
