//! GDPR for contacts, as the GraphQL API and `switchboard contact …` offer it: export
//! everything held about a contact (GDPR-1) and erase them (GDPR-2).
//!
//! Erasure, in this order, each step safe to repeat:
//! 1. The contact's key is destroyed (`switchboard_commands::seal`): from this moment every
//!    reader of the log sees their personal data as `[erased]`, and nothing new of theirs can
//!    be recorded (`CONTACT_ERASED`).
//! 2. `ContactErased` is recorded on the contact's stream; the projections drop the data they
//!    hold (inbox rows, thread messages, call-backs, webhook bodies) when they apply it.
//! 3. The files the contact uploaded are deleted from the attachment store and their names
//!    erased; projection dead letters of their conversations lose their personal data; their
//!    Telegram chats are unlinked (TG-4).
//!
//! The log is not touched: its hash chains verify before and after.

use serde::Serialize;
use sqlx::PgPool;
use switchboard_commands::handler::{CommandMeta, ContactHandler};
use switchboard_commands::log::conversations_of_contact;
use switchboard_domain::contact::{erase_sealed, EraseContact, ERASED};
use switchboard_domain::envelope::RecordedEvent;
use switchboard_replay::gdpr::{contact_data as log_data, ContactData};
use uuid::Uuid;

use crate::attachments::store::AttachmentStore;
use crate::error::ApiError;

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    pub contact_id: Uuid,
    pub conversation_ids: Vec<Uuid>,
    /// False when the contact had already been erased (nothing new was recorded).
    pub newly_erased: bool,
    /// Files of theirs deleted from the attachment store.
    pub files_deleted: u64,
}

/// Erases `contact_id` (see the module docs). `meta` names who asked.
pub async fn erase_contact(
    pool: &PgPool,
    handler: &ContactHandler,
    store: &dyn AttachmentStore,
    meta: &CommandMeta,
    contact_id: Uuid,
) -> Result<Erasure, ApiError> {
    let keyring = handler.log().keyring();
    if conversations_of_contact(pool, contact_id).await?.is_empty()
        && !keyring.is_erased(contact_id).await?
    {
        return Err(ApiError::ContactNotFound(contact_id));
    }
    keyring.destroy(contact_id).await?;
    // Listed again now that nothing new of theirs can be sealed: a conversation they started
    // meanwhile is in the list. (The projections purge by contact too.)
    let conversation_ids = conversations_of_contact(pool, contact_id).await?;
    let handled = handler
        .handle(
            meta,
            &EraseContact {
                contact_id,
                conversation_ids: conversation_ids.clone(),
                at: chrono::Utc::now(),
            },
        )
        .await?;
    let files: Vec<Uuid> = sqlx::query_scalar(
        "select attachment_id from attachments
         where uploader_kind = 'contact' and uploader_id = $1 and name <> $2",
    )
    .bind(contact_id)
    .bind(ERASED)
    .fetch_all(pool)
    .await?;
    for id in &files {
        store.delete(*id).await.map_err(ApiError::internal)?;
        sqlx::query("update attachments set name = $2 where attachment_id = $1")
            .bind(id)
            .bind(ERASED)
            .execute(pool)
            .await?;
    }
    erase_dead_letters(pool, &conversation_ids).await?;
    // What receivers answered to deliveries may echo them.
    sqlx::query(
        "update webhook_attempts set response_body = null
         where response_body is not null
           and delivery_id in (select delivery_id from webhook_deliveries
                               where conversation_id = any($1))",
    )
    .bind(&conversation_ids)
    .execute(pool)
    .await?;
    // Their Telegram chats (TG-4) stop carrying the conversations at once; the notifications
    // projection blanks what was sent there when it applies ContactErased.
    // Tokens first: a link being made right now holds its token's row until it commits, so
    // the chat it adds is there to delete below.
    sqlx::query("delete from telegram_link_tokens where contact_id = $1")
        .bind(contact_id)
        .execute(pool)
        .await?;
    sqlx::query("delete from telegram_visitors where contact_id = $1")
        .bind(contact_id)
        .execute(pool)
        .await?;
    Ok(Erasure {
        contact_id,
        conversation_ids,
        newly_erased: !handled.events.is_empty(),
        files_deleted: files.len() as u64,
    })
}

/// Dead-lettered events of the contact's conversations keep the event as it was read: their
/// sealed values become `[erased]` like everywhere else.
async fn erase_dead_letters(pool: &PgPool, conversation_ids: &[Uuid]) -> Result<(), ApiError> {
    let letters: Vec<(String, Uuid, serde_json::Value)> = sqlx::query_as(
        "select projection, event_id, event from projection_dead_letters
         where stream_id = any($1)",
    )
    .bind(conversation_ids)
    .fetch_all(pool)
    .await?;
    for (projection, event_id, event) in letters {
        let erased = match serde_json::from_value::<RecordedEvent>(event) {
            Ok(mut event) => {
                erase_sealed(&mut event);
                serde_json::to_value(event).map_err(ApiError::internal)?
            }
            // Not an event this build can read: none of it is kept.
            Err(_) => serde_json::json!({ "erased": true }),
        };
        sqlx::query(
            "update projection_dead_letters set event = $3 where projection = $1 and event_id = $2",
        )
        .bind(projection)
        .bind(event_id)
        .bind(erased)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// A file the contact uploaded, as the attachment store's index has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Upload {
    pub attachment_id: Uuid,
    pub conversation_id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: chrono::DateTime<chrono::Utc>,
}

/// A Telegram chat that carries one of the contact's conversations (TG-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TelegramChat {
    pub chat_id: i64,
    pub conversation_id: Uuid,
    pub linked_at: chrono::DateTime<chrono::Utc>,
}

/// GDPR-1's document: the log's [`ContactData`], the files the contact uploaded and the
/// Telegram chats they linked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactExport {
    #[serde(flatten)]
    pub data: ContactData,
    pub uploads: Vec<Upload>,
    pub telegram_chats: Vec<TelegramChat>,
}

/// Everything held about the contact; `CONTACT_NOT_FOUND` if nothing is.
pub async fn contact_export(pool: &PgPool, contact_id: Uuid) -> Result<ContactExport, ApiError> {
    let data = log_data(pool, contact_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::ContactNotFound(contact_id))?;
    let uploads = sqlx::query_as(
        "select attachment_id, conversation_id, name, content_type, size, sha256, uploaded_at
         from attachments where uploader_kind = 'contact' and uploader_id = $1
         order by uploaded_at, attachment_id",
    )
    .bind(contact_id)
    .fetch_all(pool)
    .await?;
    let telegram_chats = sqlx::query_as(
        "select chat_id, conversation_id, linked_at from telegram_visitors
         where contact_id = $1 order by linked_at, chat_id",
    )
    .bind(contact_id)
    .fetch_all(pool)
    .await?;
    Ok(ContactExport {
        data,
        uploads,
        telegram_chats,
    })
}
