-- Read side of the inbox aggregate (INBOX-1): what the admin UI lists and what the widget's
-- token is checked against. Written only by switchboard_projections::inboxes.
create table inboxes (
    inbox_id          uuid        primary key,
    branch_id         uuid,
    title             text        not null,
    greeting          text,
    color             text,
    rating            text        not null,
    active            boolean     not null,
    widget_token_hash text        not null unique,
    created_at        timestamptz not null,
    updated_at        timestamptz not null
);
