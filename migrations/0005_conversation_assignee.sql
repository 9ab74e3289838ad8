-- OPS-5 in the conversations projection: who works each conversation. The inbox's Mine tab
-- and moderators' view read by assignee.
alter table inbox_conversations add column assignee_id uuid;

create index inbox_conversations_assignee_idx
    on inbox_conversations (assignee_id, last_activity_at desc, conversation_id desc);
