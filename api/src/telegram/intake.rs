//! Customers who start a conversation by writing to the bot (seed 002): who they are to
//! Switchboard, which inbox takes their conversation, and the chat that then carries it.
//!
//! A Telegram user who is neither a linked operator nor in a chat linked to a web
//! conversation (TG-4) and writes to the bot is a customer. Their contact id and their
//! conversation's id are derived from their Telegram user id (UUID v5), so each Telegram
//! customer has one contact and one conversation, whatever happens to the update that
//! started it: Telegram delivering it again, two first messages at once, a chat unlinked
//! after the customer blocked the bot. A message to a resolved or closed conversation
//! reopens it (CONV-2), as on the web. The contact's name is the Telegram profile's.
//!
//! The conversation starts (source `telegram`) in the inbox whose settings say
//! `telegram_intake`; if several active inboxes do, the one created first. Once started, the
//! chat is linked to it in `telegram_visitors`, as a TG-4 chat is: the customer's next
//! messages go to it, and operators' replies reach the chat through the notifications
//! projection like any linked visitor's.
//!
//! What the bot does with these is in [`super::bot`]; this file only answers the questions.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use switchboard_domain::conversation::{ConversationCommand, FirstMessage, StartConversation};
use switchboard_domain::event::{Channel, Contact, Routing, Source};
use switchboard_domain::inbox::SlaTerms;
use switchboard_domain::values::{short_text, MessageBody};
use switchboard_projections::inboxes::read as inboxes;
use uuid::Uuid;

use super::TelegramUser;

/// The namespace of the contact and conversation ids derived from Telegram user ids.
const CUSTOMER_NAMESPACE: Uuid = Uuid::from_u128(0x6c1e_93a0_2b7d_4f15_8e4c_5a90_d3b2_7f61);

/// The answer to a customer when no inbox takes Telegram conversations.
pub const NO_INTAKE: &str = "Sorry, we cannot take messages in Telegram yet. Please write \
to us from the chat on our website. (Operators: link your account with /login <token>.)";

/// The answer to a customer's `/start` when no greeting is set on the inbox.
pub const DEFAULT_GREETING: &str =
    "Hello! Write your question here and our support team will answer you in this chat.";

/// The answer to the message that started a customer's conversation.
pub const RECEIVED: &str =
    "Thank you! Your message is with our support team; their answers will come to this chat.";

/// A Telegram user as a customer: their contact and their conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub contact_id: Uuid,
    pub conversation_id: Uuid,
    /// As their Telegram profile has it: first and last name, or else `@username`.
    pub name: Option<String>,
}

impl Customer {
    pub fn of(user: &TelegramUser) -> Self {
        let full_name = [user.first_name.as_deref(), user.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let name = match (full_name.is_empty(), &user.username) {
            (false, _) => Some(full_name),
            (true, Some(username)) => Some(format!("@{username}")),
            (true, None) => None,
        };
        Self {
            contact_id: Uuid::new_v5(
                &CUSTOMER_NAMESPACE,
                format!("telegram:{}", user.id).as_bytes(),
            ),
            conversation_id: Uuid::new_v5(
                &CUSTOMER_NAMESPACE,
                format!("telegram:{}:conversation", user.id).as_bytes(),
            ),
            // A name Switchboard would refuse (too long, control characters) is left out
            // rather than refusing the customer.
            name: name.and_then(|name| short_text("name", Some(&name)).ok().flatten()),
        }
    }

    fn contact(&self) -> Contact {
        Contact {
            id: self.contact_id,
            name: self.name.clone(),
            email: None,
            phone: None,
        }
    }
}

/// The inbox that takes customers' Telegram conversations, and where one starts in it.
#[derive(Debug, Clone)]
pub struct IntakeInbox {
    pub inbox_id: Uuid,
    greeting: Option<String>,
    branch_id: Option<Uuid>,
    routing: Option<Routing>,
    sla: SlaTerms,
}

impl IntakeInbox {
    /// The first created of the active inboxes that take Telegram conversations, if any.
    pub async fn find(pool: &PgPool) -> Result<Option<Self>, sqlx::Error> {
        let chosen = inboxes::all(pool)
            .await?
            .into_iter()
            .filter(|row| row.active)
            .filter_map(|row| {
                let settings = row.settings?.0;
                settings.telegram_intake.then_some((
                    row.inbox_id,
                    row.branch_id,
                    row.created_at,
                    settings,
                ))
            })
            .min_by_key(|(id, _, created_at, _)| (*created_at, *id));
        Ok(chosen.map(|(inbox_id, branch_id, _, settings)| {
            // A branch inbox's branch; a global inbox's default branch, since Telegram tells
            // nothing of where the customer is (INBOX-2).
            let (branch_id, routing) = settings.place(branch_id, None);
            Self {
                inbox_id,
                greeting: settings.greeting.clone(),
                branch_id,
                routing,
                sla: settings.sla_terms(),
            }
        }))
    }

    /// The start of `customer`'s conversation here, with their first message.
    pub fn start(
        &self,
        customer: &Customer,
        message_id: Uuid,
        body: MessageBody,
        at: DateTime<Utc>,
    ) -> ConversationCommand {
        ConversationCommand::Start(StartConversation {
            conversation_id: customer.conversation_id,
            inbox_id: self.inbox_id,
            source: Source::Telegram,
            contact: customer.contact(),
            subject: None,
            first_message: Some(FirstMessage {
                message_id,
                channel: Channel::Telegram,
                body,
                attachments: Vec::new(),
            }),
            callback: None,
            branch_id: self.branch_id,
            routing: self.routing.clone(),
            sla: Some(self.sla.clone()),
            at,
        })
    }
}

/// What `/start` (without a link) tells someone who is not an operator: the intake inbox's
/// greeting; if no inbox takes Telegram conversations, that the bot cannot take their
/// messages, unless their chat already carries a conversation.
pub async fn greeting(pool: &PgPool, chat_id: i64) -> Result<String, sqlx::Error> {
    if let Some(inbox) = IntakeInbox::find(pool).await? {
        return Ok(inbox
            .greeting
            .unwrap_or_else(|| DEFAULT_GREETING.to_owned()));
    }
    let linked: Option<i64> =
        sqlx::query_scalar("select chat_id from telegram_visitors where chat_id = $1")
            .bind(chat_id)
            .fetch_optional(pool)
            .await?;
    Ok(match linked {
        Some(_) => DEFAULT_GREETING.to_owned(),
        None => NO_INTAKE.to_owned(),
    })
}

/// Links `chat_id` to the customer's conversation, as a TG-4 chat is linked: operators'
/// replies reach it, and what the chat says goes to the conversation.
pub async fn link_chat(
    pool: &PgPool,
    chat_id: i64,
    customer: &Customer,
) -> Result<(), sqlx::Error> {
    link_chat_to(pool, chat_id, customer.conversation_id, customer.contact_id).await
}

/// Links `chat_id` to `conversation_id` (a newer link of the chat replaces an older one):
/// the one statement for customers' chats and TG-4 links alike.
pub async fn link_chat_to<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    chat_id: i64,
    conversation_id: Uuid,
    contact_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into telegram_visitors (chat_id, conversation_id, contact_id, linked_at)
         values ($1, $2, $3, now())
         on conflict (chat_id) do update
           set conversation_id = excluded.conversation_id,
               contact_id = excluded.contact_id, linked_at = excluded.linked_at",
    )
    .bind(chat_id)
    .bind(conversation_id)
    .bind(contact_id)
    .execute(executor)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(
        id: i64,
        first: Option<&str>,
        last: Option<&str>,
        username: Option<&str>,
    ) -> TelegramUser {
        TelegramUser {
            id,
            is_bot: false,
            first_name: first.map(str::to_owned),
            last_name: last.map(str::to_owned),
            username: username.map(str::to_owned),
        }
    }

    #[test]
    fn a_customer_is_the_same_contact_and_conversation_every_time() {
        let olena = Customer::of(&user(42, Some("Olena"), Some("Kovalenko"), Some("olena")));
        let renamed = Customer::of(&user(42, Some("O."), None, None));
        assert_eq!(olena.name.as_deref(), Some("Olena Kovalenko"));
        assert_eq!(renamed.name.as_deref(), Some("O."));
        assert_eq!(
            (olena.contact_id, olena.conversation_id),
            (renamed.contact_id, renamed.conversation_id)
        );
        assert_ne!(olena.contact_id, olena.conversation_id);
        let other = Customer::of(&user(43, Some("Olena"), None, None));
        assert_ne!(other.contact_id, olena.contact_id);
        assert_ne!(other.conversation_id, olena.conversation_id);
    }

    #[test]
    fn the_name_falls_back_to_the_username_and_is_dropped_when_unusable() {
        assert_eq!(
            Customer::of(&user(1, Some(" "), None, Some("max")))
                .name
                .as_deref(),
            Some("@max")
        );
        assert_eq!(Customer::of(&user(1, None, None, None)).name, None);
        let long = "x".repeat(1000);
        assert_eq!(Customer::of(&user(1, Some(&long), None, None)).name, None);
    }
}
