//! What the bot does with a message (TG-1..4).
//!
//! # Who is writing
//! - `/start link_<token>` links the chat to a visitor's conversation (TG-4); `/login <token>`
//!   links the Telegram account to an operator (TG-1); `/help` answers anyone; `/start`
//!   alone shows operators the help and greets anyone else.
//! - A linked operator's commands (TG-3), each checked against the operator's roles as the
//!   operators projection has them now (not as a token once carried them):
//!   `/open <id>` (admins and managers: any conversation of their branch, head office any;
//!   moderators: those assigned to them), `/close [<id>]` (the same), `/assign <id>` (takes
//!   it, as `takeConversation` does: a moderator cannot take what is not theirs),
//!   `/callback [<id>]` (marks it as awaiting a call, as `changeConversationStatus` to
//!   `PENDING_CALLBACK` does, and shows the call-back request if there is one, or the
//!   contact's phone: admins and managers, as the `callbacks` query, since it shows them),
//!   `/status online|away|busy|offline` (as `setOperatorStatus`: not analysts or auditors),
//!   `/help`. ACCESS.md's rows for those operations hold here too.
//! - A linked operator's other text becomes their reply in a conversation (TG-2, channel
//!   `telegram`): the conversation of the notification they replied to, or else the one they
//!   last `/open`ed, checked again as `/open` is (it may have moved since).
//! - Other text in a visitor's linked chat becomes the contact's message (TG-4), even text
//!   that starts with a slash: only `/start` and `/help` are commands there.
//! - Anyone else who writes text is a customer (seed 002): their message starts their
//!   conversation in the inbox that takes Telegram conversations, or joins it if it exists
//!   (see [`super::intake`]); with no such inbox they are told so, and nothing is recorded.
//!   A command from them (`/open`, say: an operator who has not linked yet) is answered
//!   with how to link, and nothing is recorded.
//!
//! An operator's link wins over a visitor's: a Telegram account linked to an operator always
//! speaks as the operator.
//!
//! # Idempotency
//! A command's id and a message's id are UUID v5 of the chat and Telegram's message id, so
//! an update Telegram delivers twice records nothing the second time.

use chrono::Utc;
use sqlx::PgPool;
use switchboard_commands::handler::{
    CommandError, CommandMeta, ConversationHandler, Handled, OperatorHandler,
};
use switchboard_domain::conversation::{
    AssignConversation, ChangeStatus, Conversation, ConversationStatus, OpenConversation,
    PostMessage,
};
use switchboard_domain::event::{Channel, Sender, SenderKind};
use switchboard_domain::operator::{
    conversation_scope, may_work_branch, ConversationScope, OperatorCommand, OperatorStatus, Role,
};
use switchboard_domain::values::MessageBody;
use switchboard_domain::{Actor, ConversationCommand, DomainError};
use switchboard_projections::conversations::read as conversations;
use switchboard_projections::notifications::{callback_window, conversation_of_operator_text};
use uuid::Uuid;

use super::intake::{self, Customer, IntakeInbox};
use super::{spend_link, IncomingMessage, LinkTarget, Telegram, TelegramUser, VISITOR_LINK_PREFIX};
use crate::error::ApiError;

/// The namespace of the ids the bot derives (UUID v5).
const BOT_NAMESPACE: Uuid = Uuid::from_u128(0x5b0a_7d1e_4c3f_4e8a_9a51_2f0c_7e6d_1b42);

pub const HELP: &str = "Switchboard bot.\n\
Operators: link your account with /login <token> (get the token in the operator UI).\n\
/open <id> — work a conversation: your messages go to it\n\
/close [<id>] — close it\n\
/assign <id> — take it\n\
/callback [<id>] — mark it as awaiting a call (and see the call-back request)\n\
/status online|away|busy|offline — your status\n\
Reply to a forwarded message to answer that conversation.\n\
Customers: write your question here, or open the Telegram link from the chat on the website.";

pub const NOT_LINKED: &str = "This Telegram account is not linked to Switchboard. Operators: \
get a token in the operator UI and send /login <token>. Customers: write your question here \
as a message, without a command.";

/// A storage failure: the update is not handled, and Telegram should send it again.
#[derive(Debug, thiserror::Error)]
#[error("the bot could not reach its storage: {0}")]
pub struct BotFailure(String);

impl From<sqlx::Error> for BotFailure {
    fn from(err: sqlx::Error) -> Self {
        BotFailure(err.to_string())
    }
}

/// Everything the bot needs to act.
#[derive(Clone)]
pub struct Bot {
    pub telegram: std::sync::Arc<Telegram>,
    pub pool: PgPool,
    pub conversations: ConversationHandler,
    pub operators: OperatorHandler,
    pub max_body_chars: usize,
}

/// A linked operator as the bot sees them.
#[derive(Debug, Clone, sqlx::FromRow)]
struct LinkedOperator {
    operator_id: Uuid,
    roles: Vec<String>,
    branch_id: Option<Uuid>,
    open_conversation_id: Option<Uuid>,
}

impl LinkedOperator {
    fn roles(&self) -> Vec<Role> {
        self.roles.iter().filter_map(|r| Role::parse(r)).collect()
    }

    fn actor(&self) -> Actor {
        Actor::operator(self.operator_id, self.roles())
    }
}

/// A command and its argument: `/open@MyBot 123` → `("open", "123")`.
pub fn parse_command(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let (head, argument) = match rest.split_once(char::is_whitespace) {
        Some((head, argument)) => (head, argument.trim()),
        None => (rest, ""),
    };
    let name = head.split('@').next().unwrap_or(head).to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    Some((name, argument.to_owned()))
}

impl Bot {
    /// Handles one message and answers in its chat. `Err` only when storage failed.
    pub async fn handle(&self, message: &IncomingMessage) -> Result<(), BotFailure> {
        let replies = self.replies_to(message).await?;
        for reply in replies {
            let text = switchboard_workers::telegram::fit_text(&reply);
            if let Err(err) = self
                .telegram
                .api
                .send_message(message.chat.id, &text, Some(message.message_id))
                .await
            {
                // An answer is a courtesy, not a notification: it is not retried.
                tracing::warn!(error = %err, chat = message.chat.id, "the bot's answer was not sent");
            }
        }
        Ok(())
    }

    async fn replies_to(&self, message: &IncomingMessage) -> Result<Vec<String>, BotFailure> {
        let Some(user) = message.from.as_ref().filter(|u| !u.is_bot) else {
            return Ok(Vec::new());
        };
        if message.chat.kind != "private" {
            return Ok(vec!["I work in private chats only.".into()]);
        }
        let Some(text) = message.text.as_deref().or(message.caption.as_deref()) else {
            return Ok(vec!["I can carry text messages only.".into()]);
        };
        let chat_id = message.chat.id;
        let command = parse_command(text);
        if let Some((name, argument)) = &command {
            match name.as_str() {
                "start" => {
                    if let Some(token) = argument.strip_prefix(VISITOR_LINK_PREFIX) {
                        return self.link_visitor(message, user.id, token).await;
                    }
                    return self.greet(user.id, chat_id).await;
                }
                "login" => return self.link_operator(chat_id, user.id, argument).await,
                "help" => return Ok(vec![HELP.into()]),
                _ => {}
            }
        }
        if let Some(operator) = self.linked_operator(user.id).await? {
            return match &command {
                Some((name, argument)) => {
                    self.operator_command(message, &operator, name, argument)
                        .await
                }
                None => self.operator_reply(message, &operator, text).await,
            };
        }
        // Not an operator: in a visitor's chat, anything else (even `/something`) is what
        // they wrote.
        let visitor: Option<(Uuid, Uuid)> = sqlx::query_as(
            "select conversation_id, contact_id from telegram_visitors where chat_id = $1",
        )
        .bind(chat_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some((conversation_id, contact_id)) = visitor {
            return self
                .visitor_message(message, conversation_id, contact_id, text)
                .await;
        }
        match command {
            Some(_) => Ok(vec![NOT_LINKED.into()]),
            None => self.customer_message(message, user, text).await,
        }
    }

    /// `/start` without a link: operators get the help; anyone else a greeting, if the bot
    /// takes their messages.
    async fn greet(&self, user_id: i64, chat_id: i64) -> Result<Vec<String>, BotFailure> {
        if self.linked_operator(user_id).await?.is_some() {
            return Ok(vec![HELP.into()]);
        }
        Ok(vec![intake::greeting(&self.pool, chat_id).await?])
    }

    /// A customer's message (seed 002): it starts their conversation in the inbox that takes
    /// Telegram conversations, or joins it if it is already there (the chat was unlinked
    /// since, or another message started it a moment ago); either way their chat then
    /// carries it.
    async fn customer_message(
        &self,
        message: &IncomingMessage,
        user: &TelegramUser,
        text: &str,
    ) -> Result<Vec<String>, BotFailure> {
        let customer = Customer::of(user);
        let state = self
            .conversations
            .state(customer.conversation_id)
            .await
            .map_err(|err| BotFailure(err.to_string()))?;
        if matches!(state, Conversation::NotStarted) {
            let Some(inbox) = IntakeInbox::find(&self.pool).await? else {
                return Ok(vec![intake::NO_INTAKE.into()]);
            };
            let body = match MessageBody::parse(text, self.max_body_chars) {
                Ok(body) => body,
                Err(err) => return Ok(vec![format!("Not sent: {err}.")]),
            };
            // The message's id, as `post` derives it: Telegram's redelivery of this update
            // is then recognised whichever way it comes in.
            let message_id = self.derived_id(message, "message");
            let command = inbox.start(&customer, message_id, body, Utc::now());
            let actor = Actor::contact(customer.contact_id);
            match self
                .conversations
                .handle(&self.meta(message_id, actor), &command)
                .await
            {
                Ok(_) => {
                    intake::link_chat(&self.pool, message.chat.id, &customer).await?;
                    tracing::info!(conversation_id = %customer.conversation_id, "a customer started a conversation in Telegram");
                    return Ok(vec![intake::RECEIVED.into()]);
                }
                // Another message of theirs started it meanwhile: this one joins it.
                Err(CommandError::Domain(DomainError::ConversationAlreadyExists(_))) => {}
                Err(err) => return self.refusal(err),
            }
        }
        let sender = Sender {
            kind: SenderKind::Contact,
            id: Some(customer.contact_id),
        };
        let actor = Actor::contact(customer.contact_id);
        if let Some(refused) = self
            .post(message, customer.conversation_id, sender, actor, text)
            .await?
        {
            return Ok(vec![refused]);
        }
        // Linked only once it took the message: an erased contact's chat stays unlinked.
        intake::link_chat(&self.pool, message.chat.id, &customer).await?;
        Ok(Vec::new())
    }

    async fn linked_operator(&self, user_id: i64) -> Result<Option<LinkedOperator>, BotFailure> {
        Ok(sqlx::query_as(
            "select t.operator_id, o.roles, o.branch_id, t.open_conversation_id
             from telegram_operators t join operators o using (operator_id)
             where t.telegram_user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn link_operator(
        &self,
        chat_id: i64,
        user_id: i64,
        token: &str,
    ) -> Result<Vec<String>, BotFailure> {
        if token.is_empty() {
            return Ok(vec![
                "Send /login followed by the token from the operator UI.".into(),
            ]);
        }
        let mut tx = self.pool.begin().await?;
        let Some(LinkTarget::Operator(operator_id)) =
            spend_link(&mut tx, token, "operator", user_id).await?
        else {
            return Ok(vec![
                "That token is unknown, used or expired. Get a new one in the operator UI.".into(),
            ]);
        };
        // One account per operator and one operator per account: a new link replaces both.
        sqlx::query(
            "delete from telegram_operators where telegram_user_id = $1 and operator_id <> $2",
        )
        .bind(user_id)
        .bind(operator_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into telegram_operators (operator_id, telegram_user_id, chat_id, linked_at)
             values ($1, $2, $3, now())
             on conflict (operator_id) do update
               set telegram_user_id = excluded.telegram_user_id, chat_id = excluded.chat_id,
                   linked_at = excluded.linked_at, open_conversation_id = null",
        )
        .bind(operator_id)
        .bind(user_id)
        .bind(chat_id)
        .execute(&mut *tx)
        .await?;
        // The operator's other tokens go: none can link another account (or this one again
        // after an unlink). This one stays, for Telegram's redelivery of this very update.
        sqlx::query("delete from telegram_link_tokens where operator_id = $1 and token_hash <> $2")
            .bind(operator_id)
            .bind(super::token_hash(token))
            .execute(&mut *tx)
            .await?;
        super::drop_pending_elsewhere(&mut tx, operator_id, Some(chat_id)).await?;
        tx.commit().await?;
        tracing::info!(%operator_id, "an operator linked their Telegram account");
        Ok(vec![format!(
            "Linked. New messages of your conversations will come here.\n\n{HELP}"
        )])
    }

    async fn link_visitor(
        &self,
        message: &IncomingMessage,
        user_id: i64,
        token: &str,
    ) -> Result<Vec<String>, BotFailure> {
        let chat_id = message.chat.id;
        let mut tx = self.pool.begin().await?;
        let Some(LinkTarget::Conversation {
            conversation_id,
            contact_id,
        }) = spend_link(&mut tx, token, "conversation", user_id).await?
        else {
            return Ok(vec![
                "That link is unknown, used or expired. Open a new one from the chat on the website."
                    .into(),
            ]);
        };
        intake::link_chat_to(&mut *tx, chat_id, conversation_id, contact_id).await?;
        tx.commit().await?;
        let mut replies = vec![
            "Linked: this chat now carries your conversation. Write here or on the website; both \
             show the same messages."
                .to_owned(),
        ];
        // The history so far, so both channels show the conversation: as much of its end as
        // one Telegram message holds.
        let lines: Vec<String> = self
            .latest(conversation_id, false, 200)
            .await?
            .into_iter()
            .map(|(kind, _, body)| {
                let from = if kind == "contact" { "You" } else { "Support" };
                format!("{from}: {body}")
            })
            .collect();
        if !lines.is_empty() {
            replies.push(transcript("Conversation so far:", &lines));
        }
        Ok(replies)
    }

    async fn visitor_message(
        &self,
        message: &IncomingMessage,
        conversation_id: Uuid,
        contact_id: Uuid,
        text: &str,
    ) -> Result<Vec<String>, BotFailure> {
        let sender = Sender {
            kind: SenderKind::Contact,
            id: Some(contact_id),
        };
        Ok(self
            .post(
                message,
                conversation_id,
                sender,
                Actor::contact(contact_id),
                text,
            )
            .await?
            .into_iter()
            .collect())
    }

    async fn operator_reply(
        &self,
        message: &IncomingMessage,
        operator: &LinkedOperator,
        text: &str,
    ) -> Result<Vec<String>, BotFailure> {
        let replied_to = match &message.reply_to_message {
            Some(replied) => {
                let forwarded: Option<Uuid> = sqlx::query_scalar(
                    "select conversation_id from notifications
                     where telegram_chat_id = $1 and telegram_message_id = $2",
                )
                .bind(message.chat.id)
                .bind(replied.message_id)
                .fetch_optional(&self.pool)
                .await?;
                // A forwarded message whose notification was swept (SWITCHBOARD_NOTIFY_KEEP_DAYS)
                // still names its conversation in its first line; only the bot wrote it.
                forwarded.or_else(|| {
                    let by_bot = replied.from.as_ref().is_some_and(|from| from.is_bot);
                    let text = replied.text.as_deref().filter(|_| by_bot)?;
                    conversation_of_operator_text(text)
                })
            }
            None => None,
        };
        let Some(conversation_id) = replied_to.or(operator.open_conversation_id) else {
            return Ok(vec![
                "Which conversation? Reply to a forwarded message, or choose one with /open <id>."
                    .into(),
            ]);
        };
        // The same rules as the commands: the conversation may have moved to another branch,
        // or to another moderator, since it was forwarded or opened.
        let Some(conversation) = conversations::conversation(&self.pool, conversation_id).await?
        else {
            // Unknown to the read model: nonexistent, or started a moment ago. Without it
            // the branch cannot be checked, so nothing is posted.
            return Ok(vec![format!(
                "Not sent: there is no conversation {conversation_id} (if it has just started, try again in a moment)."
            )]);
        };
        if let Err(refusal) = may_work(operator, &conversation, false) {
            return Ok(vec![format!("Not sent: {refusal}")]);
        }
        let sender = Sender {
            kind: SenderKind::Operator,
            id: Some(operator.operator_id),
        };
        Ok(self
            .post(message, conversation_id, sender, operator.actor(), text)
            .await?
            .into_iter()
            .collect())
    }

    /// Records `text` as a message of the conversation over Telegram, as `sender`: `None`
    /// once recorded, or the answer that says why not.
    async fn post(
        &self,
        message: &IncomingMessage,
        conversation_id: Uuid,
        sender: Sender,
        actor: Actor,
        text: &str,
    ) -> Result<Option<String>, BotFailure> {
        let body = match MessageBody::parse(text, self.max_body_chars) {
            Ok(body) => body,
            Err(err) => return Ok(Some(format!("Not sent: {err}."))),
        };
        let message_id = self.derived_id(message, "message");
        let command = ConversationCommand::PostMessage(PostMessage {
            conversation_id,
            message_id,
            sender,
            channel: Channel::Telegram,
            body,
            attachments: Vec::new(),
            at: Utc::now(),
        });
        match self
            .conversations
            .handle(&self.meta(message_id, actor), &command)
            .await
        {
            Ok(_) => Ok(None),
            Err(err) => Ok(self.refusal(err)?.pop()),
        }
    }

    async fn operator_command(
        &self,
        message: &IncomingMessage,
        operator: &LinkedOperator,
        name: &str,
        argument: &str,
    ) -> Result<Vec<String>, BotFailure> {
        if !matches!(name, "status" | "open" | "close" | "assign" | "callback") {
            return Ok(vec![format!("Unknown command /{name}.\n\n{HELP}")]);
        }
        if conversation_scope(&operator.roles()) == ConversationScope::None {
            return Ok(vec![format!(
                "/{name}: your role may not work conversations."
            )]);
        }
        if name == "status" {
            return self.set_status(message, operator, argument).await;
        }
        // The same roles as the call-back mutations' (ACCESS.md).
        if name == "callback"
            && !operator
                .roles()
                .iter()
                .any(|r| crate::auth::MANAGER_ROLES.contains(r))
        {
            return Ok(vec![
                "/callback: call-backs are for admins and managers.".into()
            ]);
        }
        let conversation_id = if argument.is_empty() && matches!(name, "close" | "callback") {
            operator.open_conversation_id
        } else {
            Uuid::parse_str(argument).ok()
        };
        let Some(conversation_id) = conversation_id else {
            return Ok(vec![format!(
                "/{name} needs a conversation id, as in /{name} 0190a1b2-…"
            )]);
        };
        let Some(conversation) = conversations::conversation(&self.pool, conversation_id).await?
        else {
            return Ok(vec![format!("There is no conversation {conversation_id}.")]);
        };
        if let Err(refusal) = may_work(operator, &conversation, name == "assign") {
            return Ok(vec![format!("/{name}: {refusal}")]);
        }
        match name {
            "open" => {
                let command = ConversationCommand::Open(OpenConversation {
                    conversation_id,
                    at: Utc::now(),
                });
                let id = self.derived_id(message, "open");
                if let Err(err) = self
                    .conversations
                    .handle(&self.meta(id, operator.actor()), &command)
                    .await
                {
                    return self.refusal(err);
                }
                sqlx::query(
                    "update telegram_operators set open_conversation_id = $2
                     where operator_id = $1",
                )
                .bind(operator.operator_id)
                .bind(conversation_id)
                .execute(&self.pool)
                .await?;
                Ok(vec![self.summary(&conversation).await?])
            }
            "close" => {
                let command = ConversationCommand::ChangeStatus(ChangeStatus {
                    conversation_id,
                    to: ConversationStatus::Closed,
                    at: Utc::now(),
                });
                let id = self.derived_id(message, "close");
                match self
                    .conversations
                    .handle(&self.meta(id, operator.actor()), &command)
                    .await
                {
                    Ok(handled) if changed(&handled) => {
                        Ok(vec![format!("Closed #{conversation_id}.")])
                    }
                    Ok(_) => Ok(vec![format!("#{conversation_id} was already closed.")]),
                    Err(err) => self.refusal(err),
                }
            }
            "assign" => {
                let command = ConversationCommand::Assign(AssignConversation {
                    conversation_id,
                    operator_id: operator.operator_id,
                    operator_branch_id: operator.branch_id,
                    at: Utc::now(),
                });
                let id = self.derived_id(message, "assign");
                match self
                    .conversations
                    .handle(&self.meta(id, operator.actor()), &command)
                    .await
                {
                    Ok(handled) if changed(&handled) => {
                        Ok(vec![format!("#{conversation_id} is yours now.")])
                    }
                    Ok(_) => Ok(vec![format!("#{conversation_id} was already yours.")]),
                    Err(err) => self.refusal(err),
                }
            }
            _ => {
                self.mark_awaiting_call(message, operator, &conversation)
                    .await
            }
        }
    }

    async fn set_status(
        &self,
        message: &IncomingMessage,
        operator: &LinkedOperator,
        argument: &str,
    ) -> Result<Vec<String>, BotFailure> {
        let Some(status) = OperatorStatus::parse(&argument.to_ascii_lowercase()) else {
            return Ok(vec![
                "Say which: /status online, /status away, /status busy or /status offline.".into(),
            ]);
        };
        let command = OperatorCommand::SetStatus {
            operator_id: operator.operator_id,
            status,
            at: Utc::now(),
        };
        let id = self.derived_id(message, "status");
        match self
            .operators
            .handle(&self.meta(id, operator.actor()), &command)
            .await
        {
            Ok(_) => Ok(vec![format!("Your status: {}.", status.as_str())]),
            Err(err) => self.refusal(err),
        }
    }

    /// `/callback`: the conversation awaits a call (seed 000), as `changeConversationStatus`
    /// to `PENDING_CALLBACK` would have it; the answer says so and shows whom to call (the
    /// caller's roles were checked).
    async fn mark_awaiting_call(
        &self,
        message: &IncomingMessage,
        operator: &LinkedOperator,
        conversation: &conversations::InboxRow,
    ) -> Result<Vec<String>, BotFailure> {
        let conversation_id = conversation.conversation_id;
        let command = ConversationCommand::ChangeStatus(ChangeStatus {
            conversation_id,
            to: ConversationStatus::PendingCallback,
            at: Utc::now(),
        });
        let id = self.derived_id(message, "callback");
        let done = match self
            .conversations
            .handle(&self.meta(id, operator.actor()), &command)
            .await
        {
            Ok(handled) if changed(&handled) => format!("#{conversation_id} now awaits a call."),
            Ok(_) => format!("#{conversation_id} already awaits a call."),
            Err(err) => return self.refusal(err),
        };
        Ok(vec![format!(
            "{done}\n{}",
            self.whom_to_call(conversation).await?
        )])
    }

    /// The conversation's latest call-back request, or else the contact's phone if known.
    async fn whom_to_call(
        &self,
        conversation: &conversations::InboxRow,
    ) -> Result<String, BotFailure> {
        let callback: Option<conversations::CallbackRow> = sqlx::query_as(
            "select callback_id, conversation_id, phone, window_from, window_to,
                    consent_text_version, consent_given_at, consent_ip, status, scheduled_for,
                    outcome_note, requested_at, settled_at
             from callbacks where conversation_id = $1
             order by requested_at desc limit 1",
        )
        .bind(conversation.conversation_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(callback) = callback else {
            return Ok(match &conversation.contact_phone {
                Some(phone) => format!("No call-back request; the contact's phone: {phone}."),
                None => "No call-back request, and no phone number on record: ask the contact \
                         for one."
                    .to_owned(),
            });
        };
        let window = callback_window(callback.window_from, callback.window_to);
        Ok(format!(
            "Call-back for #{}\nName: {}\nPhone: {}\nPreferred time: {window}\nStatus: {}{}",
            conversation.conversation_id,
            conversation
                .contact_name
                .as_deref()
                .unwrap_or("(not given)"),
            callback.phone,
            callback.status,
            callback
                .scheduled_for
                .map(|t| format!(", scheduled for {}", t.to_rfc3339()))
                .unwrap_or_default(),
        ))
    }

    /// What `/open` shows: who, the status, and the last few messages.
    async fn summary(&self, conversation: &conversations::InboxRow) -> Result<String, BotFailure> {
        let mut text = format!(
            "#{} · {} · {}\nYour messages here now go to this conversation.",
            conversation.conversation_id,
            conversation.contact_name.as_deref().unwrap_or("Visitor"),
            conversation.status,
        );
        for (kind, internal, body) in self.latest(conversation.conversation_id, true, 5).await? {
            let from = match (kind.as_str(), internal) {
                (_, true) => "Note",
                ("contact", _) => "Visitor",
                ("operator", _) => "Operator",
                _ => "System",
            };
            text.push_str(&format!("\n{from}: {body}"));
        }
        Ok(text)
    }

    /// The conversation's last `limit` messages (with notes for operators), oldest first, as
    /// (sender kind, internal, body).
    async fn latest(
        &self,
        conversation_id: Uuid,
        with_notes: bool,
        limit: i64,
    ) -> Result<Vec<(String, bool, String)>, BotFailure> {
        let mut rows: Vec<(String, bool, String)> = sqlx::query_as(
            "select sender_kind, internal, body from thread_messages
             where conversation_id = $1 and (not internal or $2)
             order by stream_version desc limit $3",
        )
        .bind(conversation_id)
        .bind(with_notes)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.reverse();
        Ok(rows)
    }

    fn derived_id(&self, message: &IncomingMessage, what: &str) -> Uuid {
        Uuid::new_v5(
            &BOT_NAMESPACE,
            format!("{}:{}:{what}", message.chat.id, message.message_id).as_bytes(),
        )
    }

    fn meta(&self, command_id: Uuid, actor: Actor) -> CommandMeta {
        CommandMeta {
            command_id,
            actor,
            correlation_id: None,
            ip: None,
        }
    }

    /// The user's answer to a command the log refused; a storage failure is passed up.
    fn refusal(&self, err: CommandError) -> Result<Vec<String>, BotFailure> {
        match ApiError::from(err) {
            ApiError::Internal | ApiError::Contended | ApiError::Unavailable { .. } => {
                Err(BotFailure("the command could not be recorded".to_owned()))
            }
            refused => Ok(vec![format!("Not done: {refused}.")]),
        }
    }
}

/// `heading` and as many of the last `lines` as fit in one Telegram message, oldest first.
fn transcript(heading: &str, lines: &[String]) -> String {
    let budget = switchboard_workers::telegram::MAX_TEXT_UNITS - heading.encode_utf16().count() - 2;
    let mut used = 0;
    let mut kept = Vec::new();
    for line in lines.iter().rev() {
        let units = line.encode_utf16().count() + 1;
        if used + units > budget {
            break;
        }
        used += units;
        kept.push(line.as_str());
    }
    kept.reverse();
    let mut text = heading.to_owned();
    if kept.len() < lines.len() {
        text.push_str("\n…");
    }
    for line in kept {
        text.push('\n');
        text.push_str(line);
    }
    text
}

fn changed(handled: &Handled) -> bool {
    !handled.events.is_empty()
}

/// May `operator` act on `conversation` from Telegram? Everyone only within their branch;
/// a moderator only on what is assigned to them. Taking a conversation (`taking`) is left to
/// the conversation's own rules (OPS-5), which the command then meets.
fn may_work(
    operator: &LinkedOperator,
    conversation: &conversations::InboxRow,
    taking: bool,
) -> Result<(), &'static str> {
    if !may_work_branch(operator.branch_id, conversation.branch_id) {
        return Err("this conversation belongs to another branch.");
    }
    match conversation_scope(&operator.roles()) {
        ConversationScope::Any => Ok(()),
        ConversationScope::AssignedOnly
            if taking || conversation.assignee_id == Some(operator.operator_id) =>
        {
            Ok(())
        }
        ConversationScope::AssignedOnly => {
            Err("moderators work only the conversations assigned to them.")
        }
        ConversationScope::None => Err("your role may not work conversations."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_parsed_with_or_without_the_bots_name() {
        assert_eq!(
            parse_command("/open 123"),
            Some(("open".into(), "123".into()))
        );
        assert_eq!(
            parse_command(" /Open@SwitchboardBot   abc "),
            Some(("open".into(), "abc".into()))
        );
        assert_eq!(parse_command("/help"), Some(("help".into(), "".into())));
        assert_eq!(parse_command("hello /open"), None);
        assert_eq!(parse_command("/"), None);
    }
}
