-- Conversations of branch inboxes started before 0011 show their inbox's branch in the inbox
-- list. (Their ConversationStarted events carry no branch; see the note in 0011.)
update inbox_conversations c
   set branch_id = i.branch_id
  from inboxes i
 where c.inbox_id = i.inbox_id and c.branch_id is null and not c.transferable;
