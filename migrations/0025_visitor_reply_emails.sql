-- A reply to a visitor who left reaches them by e-mail (seed 000, issue 19). Design:
-- projections/src/notifications.rs ("A visitor who left") decides, workers/src/notifier.rs
-- sends with the link back into the conversation.

-- The contact's e-mail address as the conversation started, and the e-mail gathering the
-- operators' replies the contact has not read (null: none), with the position of the latest.
alter table notification_conversations
    add column contact_email         text,
    add column unread_email_id       uuid,
    add column unread_email_position int;

-- A visitor's e-mail: the name it comes from (the inbox's title), and the contact and inbox
-- whose widget session its link opens.
alter table notifications
    add column sender_name text,
    add column contact_id  uuid,
    add column inbox_id    uuid,
    add constraint notifications_resume_check check ((contact_id is null) = (inbox_id is null));

-- cancelled: the visitor read the replies before their e-mail was due.
alter table notifications drop constraint notifications_status_check;
alter table notifications add constraint notifications_status_check
    check (status in ('pending', 'sent', 'failed', 'skipped', 'cancelled'));
