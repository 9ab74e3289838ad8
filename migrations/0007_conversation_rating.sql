-- CONV-8 in the conversations projection: the contact's rating, once.
alter table inbox_conversations
    add column rating_scale   text,
    add column rating_score   smallint,
    add column rating_comment text,
    add column rated_at       timestamptz;
