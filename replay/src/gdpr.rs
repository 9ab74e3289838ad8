//! GDPR-1: everything the log holds about one contact, as one JSON document: the contact as
//! they introduced themselves, each conversation they started with its messages (and the
//! files' metadata), call-backs and rating, and the addresses they wrote from. After an
//! erasure (GDPR-2) the same document shows what remains: ids, times and `[erased]`.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use switchboard_domain::DomainEvent;
use uuid::Uuid;

use crate::export::{filter_for, ExportError, ExportScope};
use crate::state::{fold, ConversationAt, StateError};

/// What the log holds about a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactData {
    pub contact_id: Uuid,
    pub exported_at: DateTime<Utc>,
    /// When they were erased, if they were.
    pub erased_at: Option<DateTime<Utc>>,
    /// In the order they started.
    pub conversations: Vec<ConversationAt>,
    /// The client addresses their own actions were recorded from.
    pub addresses: BTreeSet<String>,
    /// How many events of the log concern them.
    pub events: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ContactDataError {
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<sqlx::Error> for ContactDataError {
    fn from(err: sqlx::Error) -> Self {
        ContactDataError::State(StateError::Storage(err))
    }
}

/// The contact's data as the log has it now; `None` if the log has nothing of theirs.
pub async fn contact_data(
    pool: &PgPool,
    contact_id: Uuid,
) -> Result<Option<ContactData>, ContactDataError> {
    let now = Utc::now();
    let filter = filter_for(pool, &ExportScope::Contact(contact_id)).await?;
    let mut conversations: Vec<Uuid> = Vec::new();
    let mut states: HashMap<Uuid, Option<ConversationAt>> = HashMap::new();
    let mut data = ContactData {
        contact_id,
        exported_at: now,
        erased_at: None,
        conversations: Vec::new(),
        addresses: BTreeSet::new(),
        events: 0,
    };
    let contact = contact_id.to_string();
    crate::export::for_each_event(pool, &filter, |logged| {
        let e = logged.event;
        data.events += 1;
        let actor = &e.metadata["actor"];
        if actor["kind"] == "contact" && actor["id"].as_str() == Some(contact.as_str()) {
            if let Some(ip) = e.metadata["ip"].as_str() {
                data.addresses.insert(ip.to_owned());
            }
        }
        let event = DomainEvent::decode(&e.event_type, e.schema_version, e.payload)
            .map_err(StateError::from)?;
        if let DomainEvent::ContactErased(erased) = &event {
            data.erased_at = Some(erased.erased_at);
            return Ok(());
        }
        let state = states.entry(e.stream_id).or_insert_with(|| {
            conversations.push(e.stream_id);
            None
        });
        *state = fold(state.take(), &event, e.stream_version, now);
        Ok::<_, ContactDataError>(())
    })
    .await?;
    if data.events == 0 {
        return Ok(None);
    }
    data.conversations = conversations
        .into_iter()
        .filter_map(|id| states.remove(&id).flatten())
        .collect();
    Ok(Some(data))
}
