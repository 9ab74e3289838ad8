//! Command handlers: load the stream, fold it, decide, append; on a version conflict, again
//! against fresh state. One generic handler serves every aggregate (`Decider`); it is the only
//! caller of `EventLog::append` for domain streams, and does all the IO the pure deciders must
//! not.
//!
//! Idempotency: event ids are UUID v5 of the command id and the event's index, so the same
//! command recorded twice would collide on `events.event_id`. Before deciding, the handler
//! looks for its first event id in the loaded stream; if it is there, the command already
//! happened and its recorded events are returned with `duplicate: true`.
//!
//! Stream cache: after a command, the handler keeps the stream's folded state and head, so
//! the next command on that stream decides without reading the stream: one round trip (the
//! append) instead of two. The append's guard checks the head, so a stale entry (another
//! node appended) costs a conflict and a fresh read, never a wrong decision. A cached
//! decision that does not end in an append (a refusal, nothing to do, a duplicate event id)
//! is taken again from the log, where a repeated command is recognised as such.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use std::marker::PhantomData;

use switchboard_domain::contact::ContactDecider;
use switchboard_domain::conversation::ConversationDecider;
use switchboard_domain::decider::Decider;
use switchboard_domain::envelope::{Actor, ActorKind, EventMetadata, RecordedEvent};
use switchboard_domain::inbox::InboxDecider;
use switchboard_domain::operator::OperatorDecider;
use switchboard_domain::webhook::WebhookEndpointDecider;
use switchboard_domain::{DomainError, DomainEvent, EventDecodeError};
use thiserror::Error;
use uuid::Uuid;

use crate::log::{AppendError, EventLog, LoggedEvent, NewEvent, StoredContent, StreamHead};
use crate::seal;

/// Who sends a command, and the id that makes sending it twice harmless.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    /// Client-supplied (an idempotency key) or fresh. Same id, same outcome.
    pub command_id: Uuid,
    pub actor: Actor,
    /// Defaults to the command id.
    pub correlation_id: Option<Uuid>,
    pub ip: Option<String>,
}

/// What a handled command recorded.
#[derive(Debug, Clone)]
pub struct Handled {
    pub events: Vec<DomainEvent>,
    pub recorded: Vec<RecordedEvent>,
    /// True when the command had already been recorded and nothing new was written.
    pub duplicate: bool,
}

/// Why a command was not recorded. Nothing was written in any case.
#[derive(Debug, Error)]
pub enum CommandError {
    /// The conversation's state does not allow the command.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Other writers kept changing the stream; every attempt met a newer version.
    #[error("stream {stream_id} changed under {attempts} attempts; try again")]
    Contended { stream_id: Uuid, attempts: u32 },
    /// The command id was already used by a command on another stream.
    #[error("command id {0} was already used for a different command")]
    CommandIdReused(Uuid),
    /// An event in the stream cannot be read by this build.
    #[error("the stream holds an unreadable event: {0}")]
    Corrupt(#[from] EventDecodeError),
    /// The command would record personal data of a contact who was erased (GDPR-2).
    #[error("contact {0} was erased")]
    ContactErased(Uuid),
    /// PostgreSQL failed or could not be reached.
    #[error("storage failed: {0}")]
    Storage(#[from] sqlx::Error),
}

impl From<AppendError> for CommandError {
    fn from(err: AppendError) -> Self {
        match err {
            AppendError::Storage(e) => CommandError::Storage(e),
            // The handler matches conflicts and duplicates itself; an empty append is a bug
            // upstream, reported as storage so it surfaces as an internal error.
            other => CommandError::Storage(sqlx::Error::Protocol(other.to_string())),
        }
    }
}

/// The event id of the `index`-th event of command `command_id`.
pub fn event_id_for(command_id: Uuid, index: usize) -> Uuid {
    Uuid::new_v5(&command_id, &(index as u64).to_be_bytes())
}

/// Where "now" comes from; tests pass a fixed clock.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Handles the commands of one aggregate type, `D`.
pub struct CommandHandler<D: Decider> {
    log: EventLog,
    clock: Clock,
    max_attempts: u32,
    cache: Arc<StreamCache<D::State>>,
    decider: PhantomData<fn() -> D>,
}

impl<D: Decider> Clone for CommandHandler<D> {
    fn clone(&self) -> Self {
        Self {
            log: self.log.clone(),
            clock: self.clock.clone(),
            max_attempts: self.max_attempts,
            cache: self.cache.clone(),
            decider: PhantomData,
        }
    }
}

/// How many streams a handler remembers. A conversation's state is a few hundred bytes plus
/// about 40 bytes per message, so a few megabytes for typical conversations; a node with many
/// very long threads holds more, up to this many of them.
const CACHED_STREAMS: usize = 4_096;

/// Streams' folded states and heads, as the last command on this node left them.
struct StreamCache<S> {
    streams: Mutex<HashMap<Uuid, (StreamHead, S)>>,
}

impl<S> StreamCache<S> {
    fn new() -> Self {
        Self {
            streams: Mutex::new(HashMap::new()),
        }
    }

    /// Takes the stream's entry out: while a command works on it, a concurrent command on
    /// the same stream reads the log (and one of the two meets a conflict).
    fn take(&self, stream_id: Uuid) -> Option<(StreamHead, S)> {
        self.lock().remove(&stream_id)
    }

    fn put(&self, stream_id: Uuid, head: StreamHead, state: S) {
        let mut streams = self.lock();
        if streams.len() >= CACHED_STREAMS && !streams.contains_key(&stream_id) {
            // Any entry will do: a miss costs one read.
            if let Some(evicted) = streams.keys().next().copied() {
                streams.remove(&evicted);
            }
        }
        streams.insert(stream_id, (head, state));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (StreamHead, S)>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Handles conversation commands.
pub type ConversationHandler = CommandHandler<ConversationDecider>;

/// Handles inbox commands.
pub type InboxHandler = CommandHandler<InboxDecider>;

/// Handles operator commands (OPS-2).
pub type OperatorHandler = CommandHandler<OperatorDecider>;

/// Handles webhook endpoint commands (PROJ-4).
pub type WebhookEndpointHandler = CommandHandler<WebhookEndpointDecider>;

/// Handles contact commands: erasure (GDPR-2).
pub type ContactHandler = CommandHandler<ContactDecider>;

impl<D: Decider> CommandHandler<D> {
    pub fn new(log: EventLog, clock: Clock) -> Self {
        Self {
            log,
            clock,
            max_attempts: 8,
            cache: Arc::new(StreamCache::new()),
            decider: PhantomData,
        }
    }

    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// The stream's current state, folded from the log: what a command sent now would be
    /// decided against. Other aggregates' commands read it to pass facts along (the
    /// assignee's branch, say) with the log's consistency, not a projection's.
    pub async fn state(&self, stream_id: Uuid) -> Result<D::State, CommandError> {
        let mut state = D::initial_state();
        for e in self.log.read_stream(stream_id, 0).await? {
            let event =
                DomainEvent::decode(&e.event.event_type, e.event.schema_version, e.event.payload)?;
            state = D::evolve(state, &event);
        }
        Ok(state)
    }

    /// Records what `command` means for its stream, retrying on version conflicts.
    pub async fn handle(
        &self,
        meta: &CommandMeta,
        command: &D::Command,
    ) -> Result<Handled, CommandError> {
        let stream_id = D::stream_id(command);
        if let Some((head, state)) = self.cache.take(stream_id) {
            if let Ok(events) = D::decide(&state, command, &meta.actor) {
                if !events.is_empty() {
                    let subject = D::data_subject(&state, &events);
                    if let Ok(recorded) =
                        self.append(meta, stream_id, &head, &events, subject).await
                    {
                        self.remember(stream_id, state, &events, &recorded);
                        return Ok(Handled {
                            events,
                            recorded: recorded.into_iter().map(|e| e.event).collect(),
                            duplicate: false,
                        });
                    }
                }
            }
        }
        let first_event_id = event_id_for(meta.command_id, 0);
        for attempt in 1..=self.max_attempts {
            let logged = self.log.read_stream(stream_id, 0).await?;
            if logged.iter().any(|e| e.event.event_id == first_event_id) {
                return already_recorded(logged, meta.command_id);
            }
            let mut state = D::initial_state();
            for e in &logged {
                let event = DomainEvent::decode(
                    &e.event.event_type,
                    e.event.schema_version,
                    e.event.payload.clone(),
                )?;
                state = D::evolve(state, &event);
            }
            let head = logged.last().map(LoggedEvent::head).unwrap_or_default();
            let events = D::decide(&state, command, &meta.actor)?;
            if events.is_empty() {
                self.cache.put(stream_id, head, state);
                return Ok(Handled {
                    events,
                    recorded: Vec::new(),
                    duplicate: false,
                });
            }
            let subject = D::data_subject(&state, &events);
            match self.append(meta, stream_id, &head, &events, subject).await {
                Ok(recorded) => {
                    self.remember(stream_id, state, &events, &recorded);
                    return Ok(Handled {
                        events,
                        recorded: recorded.into_iter().map(|e| e.event).collect(),
                        duplicate: false,
                    });
                }
                Err(SealedAppendError::Append(AppendError::VersionConflict { .. })) => {
                    // Someone else appended; back off a little so a crowd does not collide
                    // again on the next version.
                    let jitter = (meta.command_id.as_u128() as u64 ^ attempt as u64) % 8;
                    tokio::time::sleep(Duration::from_millis(jitter * attempt as u64)).await;
                }
                Err(SealedAppendError::Append(AppendError::DuplicateEvent(id))) => {
                    let existing = self.log.read_events(&[id]).await?;
                    if existing.iter().any(|e| e.event.stream_id != stream_id) {
                        return Err(CommandError::CommandIdReused(meta.command_id));
                    }
                    // The same command won a race against us: the next read finds it.
                }
                Err(SealedAppendError::ContactErased(id)) => {
                    return Err(CommandError::ContactErased(id))
                }
                Err(SealedAppendError::Append(other)) => return Err(other.into()),
            }
        }
        Err(CommandError::Contended {
            stream_id,
            attempts: self.max_attempts,
        })
    }

    /// Keeps the stream's state after `events`, recorded as `recorded`, for its next command.
    fn remember(
        &self,
        stream_id: Uuid,
        state: D::State,
        events: &[DomainEvent],
        recorded: &[LoggedEvent],
    ) {
        let Some(head) = recorded.last().map(LoggedEvent::head) else {
            return;
        };
        let state = events
            .iter()
            .fold(state, |state, event| D::evolve(state, event));
        self.cache.put(stream_id, head, state);
    }

    /// Appends `events`, the personal data in them sealed with `subject`'s key (GDPR-2), and
    /// returns them as recorded, opened: as any reader of the log will see them.
    async fn append(
        &self,
        meta: &CommandMeta,
        stream_id: Uuid,
        head: &StreamHead,
        events: &[DomainEvent],
        subject: Option<Uuid>,
    ) -> Result<Vec<LoggedEvent>, SealedAppendError> {
        let metadata = EventMetadata {
            actor: meta.actor.clone(),
            command_id: meta.command_id,
            correlation_id: meta.correlation_id.unwrap_or(meta.command_id),
            causation_id: None,
            ip: meta.ip.clone(),
            data_subject: None,
            sealed: Vec::new(),
        };
        // What each event would seal: the domain's fields, and the client's address when
        // it is the contact's own (an operator's address is not the contact's data).
        let personal: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                let mut pointers: Vec<String> = e
                    .personal_data()
                    .into_iter()
                    .map(|p| format!("/payload{p}"))
                    .collect();
                let contacts_own =
                    meta.actor.kind == ActorKind::Contact && meta.actor.id == subject;
                if contacts_own && meta.ip.is_some() {
                    pointers.push("/metadata/ip".to_owned());
                }
                pointers
            })
            .collect();
        let key = match subject {
            Some(contact) if personal.iter().any(|p| !p.is_empty()) => Some((
                contact,
                self.log
                    .keyring()
                    .key_for(contact)
                    .await
                    .map_err(|e| SealedAppendError::Append(e.into()))?
                    .ok_or(SealedAppendError::ContactErased(contact))?,
            )),
            _ => None,
        };
        let mut opened = Vec::with_capacity(events.len());
        let new_events = events
            .iter()
            .zip(personal)
            .enumerate()
            .map(|(i, (e, pointers))| {
                let event_id = event_id_for(meta.command_id, i);
                let mut payload = e.payload();
                let mut metadata = metadata.clone();
                let mut stored_metadata =
                    serde_json::to_value(&metadata).expect("metadata serializes");
                if let Some((contact, key)) = key.as_ref().filter(|_| !pointers.is_empty()) {
                    let plain = payload.clone();
                    let sealed =
                        seal::seal(key, event_id, &mut payload, &mut stored_metadata, &pointers);
                    if !sealed.is_empty() {
                        metadata.data_subject = Some(*contact);
                        metadata.sealed = sealed;
                        let plain_metadata =
                            serde_json::to_value(&metadata).expect("metadata serializes");
                        stored_metadata["data_subject"] = plain_metadata["data_subject"].clone();
                        stored_metadata["sealed"] = plain_metadata["sealed"].clone();
                        opened.push(Some((plain, plain_metadata)));
                        return NewEvent {
                            event_id,
                            event_type: e.event_type().to_owned(),
                            schema_version: e.schema_version(),
                            payload,
                            metadata: stored_metadata,
                        };
                    }
                }
                opened.push(None);
                NewEvent {
                    event_id,
                    event_type: e.event_type().to_owned(),
                    schema_version: e.schema_version(),
                    payload,
                    metadata: stored_metadata,
                }
            })
            .collect();
        let mut recorded = self
            .log
            .append(stream_id, D::STREAM_TYPE, head, new_events, (self.clock)())
            .await
            .map_err(SealedAppendError::Append)?;
        for (logged, opened) in recorded.iter_mut().zip(opened) {
            if let Some((payload, metadata)) = opened {
                let stored = StoredContent {
                    payload: std::mem::replace(&mut logged.event.payload, payload),
                    metadata: std::mem::replace(&mut logged.event.metadata, metadata),
                };
                logged.stored = Some(Box::new(stored));
            }
        }
        Ok(recorded)
    }
}

/// Why [`CommandHandler::append`] wrote nothing.
#[derive(Debug)]
enum SealedAppendError {
    Append(AppendError),
    /// The events carry personal data of an erased contact.
    ContactErased(Uuid),
}

/// The answer to a repeated command: the events it recorded the first time.
fn already_recorded(logged: Vec<LoggedEvent>, command_id: Uuid) -> Result<Handled, CommandError> {
    let command_id = command_id.to_string();
    let mut events = Vec::new();
    let mut recorded = Vec::new();
    for e in logged {
        if e.event.metadata.get("command_id").and_then(|v| v.as_str()) == Some(&command_id) {
            events.push(DomainEvent::decode(
                &e.event.event_type,
                e.event.schema_version,
                e.event.payload.clone(),
            )?);
            recorded.push(e.event);
        }
    }
    Ok(Handled {
        events,
        recorded,
        duplicate: true,
    })
}
