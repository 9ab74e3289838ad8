-- PROJ-1 search and PROJ-2 unread counters in the conversations projection.

-- Search (PROJ-1): the contact's name, e-mail and phone, and every message's text, in
-- PostgreSQL text search. Each text is indexed under three configurations: `simple` (names,
-- codes and words as written), `russian` and `english` (stemmed), so a query in either
-- language finds word forms, and any word typed as written is found. The e-mail is also
-- split at `@` and `.` so its parts are words; the phone is also kept as its digits alone, for
-- substring matches of a number written any way.
alter table inbox_conversations
    add column contact_phone_digits text generated always as (
        regexp_replace(coalesce(contact_phone, ''), '[^0-9]', '', 'g')) stored,
    add column contact_search tsvector generated always as (
        to_tsvector('simple', coalesce(contact_name, '') || ' ' || coalesce(contact_email, '')
                              || ' ' || translate(coalesce(contact_email, ''), '@._-+', '     '))
        || to_tsvector('russian', coalesce(contact_name, ''))
        || to_tsvector('english', coalesce(contact_name, ''))) stored;

create index inbox_conversations_contact_search_idx
    on inbox_conversations using gin (contact_search);

alter table thread_messages
    add column search tsvector generated always as (
        to_tsvector('simple', body) || to_tsvector('russian', body)
        || to_tsvector('english', body)) stored;

create index thread_messages_search_idx on thread_messages using gin (search);

-- Filters (PROJ-1): the common ones get an index in activity order; tags are matched with @>.
create index inbox_conversations_inbox_idx
    on inbox_conversations (inbox_id, last_activity_at desc, conversation_id desc);
create index inbox_conversations_status_idx
    on inbox_conversations (status, last_activity_at desc, conversation_id desc);
create index inbox_conversations_tags_idx on inbox_conversations using gin (tags);

-- Unread counters (PROJ-2), kept by the projection so reading them counts nothing:
-- the contact's messages in all (an operator who never read the conversation has all of them
-- unread), each operator's unread since their last-read marker, and the messages sent to the
-- contact since theirs.
alter table inbox_conversations
    add column inbound_count  int not null default 0,
    add column contact_unread int not null default 0;

alter table operator_read_markers add column unread int not null default 0;

update inbox_conversations c
   set inbound_count = (select count(*) from thread_messages m
                         where m.conversation_id = c.conversation_id
                           and m.sender_kind = 'contact'),
       contact_unread = (select count(*) from thread_messages m
                          where m.conversation_id = c.conversation_id
                            and m.sender_kind <> 'contact' and not m.internal
                            and m.stream_version > c.contact_read_position);

update operator_read_markers r
   set unread = (select count(*) from thread_messages m
                  where m.conversation_id = r.conversation_id
                    and m.sender_kind = 'contact' and m.stream_version > r.position);
