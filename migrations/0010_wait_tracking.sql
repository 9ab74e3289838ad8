-- CONV-9 in the conversations projection: how long the contact has been waiting for an
-- answer, and how often that wait has raised the priority (read by the scheduler).
alter table inbox_conversations
    add column waiting_since          timestamptz,
    add column waiting_since_position int,
    add column wait_raises            smallint not null default 0;
