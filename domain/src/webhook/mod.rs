//! Webhook endpoints (SPEC PROJ-4, INT-2): the endpoint aggregate (which URL of an inbox gets
//! which event types, and whether it is switched on), how domain events map to webhook event
//! types, and the JSON body an integrator receives. The fixed list of webhook event types,
//! and why an endpoint is switched off, live in `types.rs`: a leaf that the events import.
//!
//! An endpoint's stream id is its id. Its signing secret is **not** part of this aggregate:
//! the log is immutable and secrets must be rotatable and deletable, so the API keeps them in
//! a separate mutable table and the log only records that a secret was rotated
//! ([`WebhookSecretRotated`]).
//!
//! Everything here is pure; the projection that turns events into deliveries and the worker
//! that sends them live in `switchboard_projections::webhooks` and `switchboard_workers::webhooks`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::conversation::status::ConversationStatus;
use crate::decider::Decider;
use crate::envelope::Actor;
use crate::error::DomainError;
use crate::event::{
    DomainEvent, SenderKind, WebhookEndpointChanged, WebhookEndpointDisabled,
    WebhookEndpointEnabled, WebhookEndpointRegistered, WebhookSecretRotated,
};
use crate::values::InvalidInput;

pub(crate) mod types;

pub use types::{DisableReason, WebhookEventType};

pub const STREAM_TYPE: &str = "webhook_endpoint";

/// The longest endpoint URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// Where an endpoint's deliveries go and which event types it gets. Construct with
/// [`WebhookEndpointConfig::new`], which validates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointConfig {
    /// An absolute `http` or `https` URL with a host.
    pub url: String,
    /// At least one; each once, in [`WebhookEventType::ALL`] order.
    pub event_types: Vec<WebhookEventType>,
}

impl WebhookEndpointConfig {
    pub fn new(url: &str, event_types: &[WebhookEventType]) -> Result<Self, InvalidInput> {
        let url = parse_url(url)?;
        let event_types: Vec<WebhookEventType> = WebhookEventType::ALL
            .iter()
            .copied()
            .filter(|t| event_types.contains(t))
            .collect();
        if event_types.is_empty() {
            return Err(InvalidInput::Empty {
                field: "eventTypes",
            });
        }
        Ok(Self { url, event_types })
    }
}

/// Checks an endpoint URL: absolute, `http` or `https`, with a host, no credentials and no
/// fragment (neither would reach the receiver as meant), at most [`MAX_URL_LEN`] bytes.
/// Returns it normalised (as `url` prints it).
fn parse_url(raw: &str) -> Result<String, InvalidInput> {
    let malformed = InvalidInput::Malformed {
        field: "url",
        expected:
            "an absolute http:// or https:// URL with a host, such as https://example.com/hooks",
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(InvalidInput::Empty { field: "url" });
    }
    if raw.len() > MAX_URL_LEN {
        return Err(InvalidInput::TooLong {
            field: "url",
            actual: raw.chars().count(),
            limit: MAX_URL_LEN,
        });
    }
    let url = url::Url::parse(raw).map_err(|_| malformed.clone())?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none();
    if !ok {
        return Err(malformed);
    }
    Ok(url.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointState {
    pub id: Uuid,
    pub inbox_id: Uuid,
    pub config: WebhookEndpointConfig,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEndpoint {
    NotRegistered,
    Registered(WebhookEndpointState),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEndpointCommand {
    /// An admin registers an endpoint for an inbox; it starts enabled. Whoever sends this has
    /// checked that the inbox exists (the decider reads no other stream).
    Register {
        endpoint_id: Uuid,
        inbox_id: Uuid,
        config: WebhookEndpointConfig,
        at: DateTime<Utc>,
    },
    /// An admin changes the URL or the event types (the whole config, as it now is).
    Change {
        endpoint_id: Uuid,
        config: WebhookEndpointConfig,
        at: DateTime<Utc>,
    },
    /// An admin, or the delivery worker (as the system), switches it off.
    Disable {
        endpoint_id: Uuid,
        reason: DisableReason,
        detail: Option<String>,
        at: DateTime<Utc>,
    },
    /// An admin switches it on again.
    Enable {
        endpoint_id: Uuid,
        at: DateTime<Utc>,
    },
    /// An admin replaced the signing secret (kept outside the log).
    RotateSecret {
        endpoint_id: Uuid,
        at: DateTime<Utc>,
    },
}

impl WebhookEndpointCommand {
    pub fn endpoint_id(&self) -> Uuid {
        match self {
            WebhookEndpointCommand::Register { endpoint_id, .. }
            | WebhookEndpointCommand::Change { endpoint_id, .. }
            | WebhookEndpointCommand::Disable { endpoint_id, .. }
            | WebhookEndpointCommand::Enable { endpoint_id, .. }
            | WebhookEndpointCommand::RotateSecret { endpoint_id, .. } => *endpoint_id,
        }
    }
}

pub struct WebhookEndpointDecider;

impl Decider for WebhookEndpointDecider {
    type State = WebhookEndpoint;
    type Command = WebhookEndpointCommand;
    const STREAM_TYPE: &'static str = STREAM_TYPE;

    fn initial_state() -> WebhookEndpoint {
        WebhookEndpoint::NotRegistered
    }

    fn stream_id(command: &WebhookEndpointCommand) -> Uuid {
        command.endpoint_id()
    }

    fn decide(
        state: &WebhookEndpoint,
        command: &WebhookEndpointCommand,
        actor: &Actor,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        // Endpoints are inbox configuration, which is the admins' (as inboxes are); the system
        // acts for the delivery worker.
        if !actor.is_admin() {
            return Err(DomainError::NotPermitted("only an admin"));
        }
        let registered = match (state, command) {
            (
                WebhookEndpoint::NotRegistered,
                WebhookEndpointCommand::Register {
                    endpoint_id,
                    inbox_id,
                    config,
                    at,
                },
            ) => {
                return Ok(vec![DomainEvent::WebhookEndpointRegistered(
                    WebhookEndpointRegistered {
                        endpoint_id: *endpoint_id,
                        inbox_id: *inbox_id,
                        url: config.url.clone(),
                        event_types: config.event_types.clone(),
                        registered_at: *at,
                    },
                )])
            }
            (
                WebhookEndpoint::Registered(_),
                WebhookEndpointCommand::Register { endpoint_id, .. },
            ) => return Err(DomainError::WebhookEndpointAlreadyExists(*endpoint_id)),
            (WebhookEndpoint::NotRegistered, other) => {
                return Err(DomainError::WebhookEndpointNotFound(other.endpoint_id()))
            }
            (WebhookEndpoint::Registered(registered), _) => registered,
        };
        let endpoint_id = registered.id;
        let event = match command {
            WebhookEndpointCommand::Register { .. } => unreachable!("handled above"),
            WebhookEndpointCommand::Change { config, at, .. } => {
                if *config == registered.config {
                    return Ok(Vec::new());
                }
                DomainEvent::WebhookEndpointChanged(WebhookEndpointChanged {
                    endpoint_id,
                    url: config.url.clone(),
                    event_types: config.event_types.clone(),
                    changed_at: *at,
                })
            }
            WebhookEndpointCommand::Disable {
                reason, detail, at, ..
            } => {
                if !registered.enabled {
                    return Ok(Vec::new());
                }
                DomainEvent::WebhookEndpointDisabled(WebhookEndpointDisabled {
                    endpoint_id,
                    reason: *reason,
                    detail: detail.clone(),
                    disabled_at: *at,
                })
            }
            WebhookEndpointCommand::Enable { at, .. } => {
                if registered.enabled {
                    return Ok(Vec::new());
                }
                DomainEvent::WebhookEndpointEnabled(WebhookEndpointEnabled {
                    endpoint_id,
                    enabled_at: *at,
                })
            }
            WebhookEndpointCommand::RotateSecret { at, .. } => {
                DomainEvent::WebhookSecretRotated(WebhookSecretRotated {
                    endpoint_id,
                    rotated_at: *at,
                })
            }
        };
        Ok(vec![event])
    }

    fn evolve(state: WebhookEndpoint, event: &DomainEvent) -> WebhookEndpoint {
        let mut registered = match (state, event) {
            (_, DomainEvent::WebhookEndpointRegistered(e)) => {
                return WebhookEndpoint::Registered(WebhookEndpointState {
                    id: e.endpoint_id,
                    inbox_id: e.inbox_id,
                    config: WebhookEndpointConfig {
                        url: e.url.clone(),
                        event_types: e.event_types.clone(),
                    },
                    enabled: true,
                })
            }
            (WebhookEndpoint::Registered(registered), _) => registered,
            (state, _) => return state,
        };
        match event {
            DomainEvent::WebhookEndpointChanged(e) => {
                registered.config = WebhookEndpointConfig {
                    url: e.url.clone(),
                    event_types: e.event_types.clone(),
                }
            }
            DomainEvent::WebhookEndpointDisabled(_) => registered.enabled = false,
            DomainEvent::WebhookEndpointEnabled(_) => registered.enabled = true,
            _ => {}
        }
        WebhookEndpoint::Registered(registered)
    }
}

/// The webhook event types a domain event can be delivered as, most specific first: an
/// endpoint gets **one** delivery per event, as the first of these it subscribed to (a close
/// is `conversation.closed` for an endpoint that chose it, else `conversation.status_changed`).
/// Empty for events integrators are not sent (internal notes, read markers, …).
pub fn webhook_event_types(event: &DomainEvent) -> Vec<WebhookEventType> {
    use WebhookEventType as W;
    match event {
        DomainEvent::ConversationStarted(_) => vec![W::ConversationCreated],
        DomainEvent::MessagePosted(m) if m.sender.kind == SenderKind::Contact => vec![W::MessageIn],
        DomainEvent::MessagePosted(_) | DomainEvent::AutoReplySent(_) => vec![W::MessageOut],
        DomainEvent::ConversationStatusChanged(e) if e.to == ConversationStatus::Closed => {
            vec![W::ConversationClosed, W::ConversationStatusChanged]
        }
        DomainEvent::ConversationStatusChanged(_) => vec![W::ConversationStatusChanged],
        DomainEvent::ConversationAssigned(_) => vec![W::ConversationAssigned],
        DomainEvent::ConversationRated(_) => vec![W::ConversationRated],
        DomainEvent::CallbackRequested(_) => vec![W::CallbackRequested],
        DomainEvent::SlaBreached(_) => vec![W::SlaBreached],
        _ => Vec::new(),
    }
}

/// The type an endpoint subscribed to `chosen` gets `event` as, if any.
pub fn delivered_as(event: &DomainEvent, chosen: &[WebhookEventType]) -> Option<WebhookEventType> {
    webhook_event_types(event)
        .into_iter()
        .find(|t| chosen.contains(t))
}

/// A conversation as a webhook body shows it: its state right after the event delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSnapshot {
    pub id: Uuid,
    pub inbox_id: Uuid,
    pub branch_id: Option<Uuid>,
    pub status: ConversationStatus,
}

impl ConversationSnapshot {
    /// The snapshot after `event`; `None` until the conversation started. Only the start, status
    /// changes and transfers move it.
    pub fn evolve(state: Option<Self>, event: &DomainEvent) -> Option<Self> {
        match (state, event) {
            (_, DomainEvent::ConversationStarted(e)) => Some(Self {
                id: e.conversation_id,
                inbox_id: e.inbox_id,
                branch_id: e.branch_id,
                status: ConversationStatus::Open,
            }),
            (Some(mut s), DomainEvent::ConversationStatusChanged(e)) => {
                s.status = e.to;
                Some(s)
            }
            (Some(mut s), DomainEvent::ConversationTransferred(e)) => {
                s.branch_id = e.to_branch_id;
                Some(s)
            }
            (state, _) => state,
        }
    }
}

/// The JSON body of a delivery: the seed's shape (`event`, `message`, `conversation` with
/// `id`, `inbox_id`, `branch_id`, `status`), ids as UUIDs, plus `event_id` and `occurred_at`
/// (when the event was recorded) and one detail object for the other event types.
/// `conversation` is the conversation right after the event.
pub fn webhook_body(
    kind: WebhookEventType,
    event: &DomainEvent,
    event_id: Uuid,
    occurred_at: DateTime<Utc>,
    conversation: &ConversationSnapshot,
) -> Value {
    let mut body = json!({
        "event": kind.as_str(),
        "event_id": event_id,
        "occurred_at": occurred_at,
        "conversation": {
            "id": conversation.id,
            "inbox_id": conversation.inbox_id,
            "branch_id": conversation.branch_id,
            "status": conversation.status.as_str(),
        },
    });
    let (key, detail) = match event {
        DomainEvent::ConversationStarted(e) => (
            "contact",
            json!({
                "id": e.contact.id,
                "name": e.contact.name,
                "email": e.contact.email,
                "phone": e.contact.phone,
                "source": e.source.as_str(),
                "subject": e.subject,
            }),
        ),
        DomainEvent::MessagePosted(m) => {
            let inbound = m.sender.kind == SenderKind::Contact;
            let mut message = json!({
                "id": m.message_id,
                "conversation_id": m.conversation_id,
                "direction": if inbound { "in" } else { "out" },
                "body": m.body,
                "created_at": m.posted_at,
                "sender_kind": m.sender.kind.as_str(),
                "attachments": m.attachments.iter().map(|a| json!({
                    "id": a.attachment_id,
                    "name": a.name,
                    "content_type": a.content_type,
                    "size": a.size,
                    "sha256": a.sha256,
                })).collect::<Vec<_>>(),
            });
            let sender_key = if inbound {
                "sender_contact_id"
            } else {
                "sender_operator_id"
            };
            message[sender_key] = json!(m.sender.id);
            ("message", message)
        }
        DomainEvent::AutoReplySent(m) => (
            "message",
            json!({
                "id": m.message_id,
                "conversation_id": m.conversation_id,
                "direction": "out",
                "body": m.body,
                "created_at": m.sent_at,
                "sender_kind": "auto_reply",
                "sender_operator_id": m.operator_id,
                "attachments": [],
            }),
        ),
        DomainEvent::ConversationStatusChanged(e) => (
            "status_change",
            json!({
                "from": e.from.as_str(),
                "to": e.to.as_str(),
                "trigger": e.trigger.as_str(),
                "changed_at": e.changed_at,
            }),
        ),
        DomainEvent::ConversationAssigned(e) => (
            "assignment",
            json!({
                "operator_id": e.operator_id,
                "previous_operator_id": e.previous_operator_id,
                "reason": e.reason.as_str(),
                "assigned_at": e.assigned_at,
            }),
        ),
        DomainEvent::ConversationRated(e) => (
            "rating",
            json!({
                "scale": e.scale.as_str(),
                "score": e.score,
                "comment": e.comment,
                "rated_at": e.rated_at,
            }),
        ),
        DomainEvent::CallbackRequested(e) => (
            "callback",
            json!({
                "id": e.callback_id,
                "phone": e.phone,
                "window_from": e.window_from,
                "window_to": e.window_to,
                "requested_at": e.requested_at,
            }),
        ),
        DomainEvent::SlaBreached(e) => (
            "sla_breach",
            json!({
                "metric": e.metric.as_str(),
                "deadline": e.deadline,
                "detected_at": e.detected_at,
            }),
        ),
        _ => return body,
    };
    body[key] = detail;
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decider::testing::given;
    use crate::event::{
        AutoReplySent, ConversationStarted, ConversationStatusChanged, InternalNoteAdded,
        MessagePosted, Sender, StatusTrigger,
    };
    use crate::operator::role::Role;
    use chrono::TimeZone;

    const ENDPOINT: Uuid = Uuid::from_u128(0x77);
    const INBOX: Uuid = Uuid::from_u128(2);
    const CONVERSATION: Uuid = Uuid::from_u128(1);

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    fn admin() -> Actor {
        Actor::operator(Uuid::from_u128(9), vec![Role::Admin])
    }

    fn config(types: &[WebhookEventType]) -> WebhookEndpointConfig {
        WebhookEndpointConfig::new("https://crm.example.com/hooks", types).unwrap()
    }

    fn register() -> WebhookEndpointCommand {
        WebhookEndpointCommand::Register {
            endpoint_id: ENDPOINT,
            inbox_id: INBOX,
            config: config(&[WebhookEventType::MessageIn]),
            at: at(),
        }
    }

    /// What `register()` records.
    fn registered() -> DomainEvent {
        DomainEvent::WebhookEndpointRegistered(WebhookEndpointRegistered {
            endpoint_id: ENDPOINT,
            inbox_id: INBOX,
            url: "https://crm.example.com/hooks".into(),
            event_types: vec![WebhookEventType::MessageIn],
            registered_at: at(),
        })
    }

    #[test]
    fn urls_are_absolute_http_or_https() {
        for good in [
            "https://crm.example.com/hooks?x=1",
            "http://127.0.0.1:8080/in",
            "  https://example.com  ",
        ] {
            assert!(
                WebhookEndpointConfig::new(good, &[WebhookEventType::MessageIn]).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "ftp://example.com/",
            "/relative/path",
            "example.com/hooks",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "mailto:a@example.com",
            "javascript:alert(1)",
        ] {
            assert!(
                matches!(
                    WebhookEndpointConfig::new(bad, &[WebhookEventType::MessageIn]),
                    Err(InvalidInput::Malformed { field: "url", .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            WebhookEndpointConfig::new(" ", &[WebhookEventType::MessageIn]),
            Err(InvalidInput::Empty { field: "url" })
        );
        assert_eq!(
            WebhookEndpointConfig::new("https://example.com", &[]),
            Err(InvalidInput::Empty {
                field: "eventTypes"
            })
        );
        let normalised = WebhookEndpointConfig::new(
            "https://Example.com",
            &[
                WebhookEventType::MessageOut,
                WebhookEventType::MessageIn,
                WebhookEventType::MessageOut,
            ],
        )
        .unwrap();
        assert_eq!(normalised.url, "https://example.com/");
        assert_eq!(
            normalised.event_types,
            vec![WebhookEventType::MessageIn, WebhookEventType::MessageOut]
        );
    }

    #[test]
    fn register_change_disable_enable_rotate() {
        let moderator = Actor::operator(Uuid::from_u128(3), vec![Role::Moderator, Role::Manager]);
        let disable = |reason| WebhookEndpointCommand::Disable {
            endpoint_id: ENDPOINT,
            reason,
            detail: Some("5 deliveries in a row dead-lettered".into()),
            at: at(),
        };
        let enable = WebhookEndpointCommand::Enable {
            endpoint_id: ENDPOINT,
            at: at(),
        };
        let change = WebhookEndpointCommand::Change {
            endpoint_id: ENDPOINT,
            config: config(&[WebhookEventType::MessageOut]),
            at: at(),
        };
        let nothing = given::<WebhookEndpointDecider>(&[]);
        let endpoint = given::<WebhookEndpointDecider>(&[registered()]);
        nothing.when(&register(), &admin()).then(&[registered()]);
        nothing
            .when(&register(), &moderator)
            .then_error(DomainError::NotPermitted("only an admin"));
        endpoint
            .when(&register(), &admin())
            .then_error(DomainError::WebhookEndpointAlreadyExists(ENDPOINT));
        nothing
            .when(&enable, &admin())
            .then_error(DomainError::WebhookEndpointNotFound(ENDPOINT));
        let changed = DomainEvent::WebhookEndpointChanged(WebhookEndpointChanged {
            endpoint_id: ENDPOINT,
            url: "https://crm.example.com/hooks".into(),
            event_types: vec![WebhookEventType::MessageOut],
            changed_at: at(),
        });
        endpoint
            .when(&change, &admin())
            .then(std::slice::from_ref(&changed));
        assert_eq!(
            given::<WebhookEndpointDecider>(&[registered(), changed])
                .when(&change, &admin())
                .outcome(),
            Ok(vec![]),
            "the same config changes nothing"
        );
        let disabled = |reason| {
            DomainEvent::WebhookEndpointDisabled(WebhookEndpointDisabled {
                endpoint_id: ENDPOINT,
                reason,
                detail: Some("5 deliveries in a row dead-lettered".into()),
                disabled_at: at(),
            })
        };
        endpoint
            .when(&disable(DisableReason::Failing), &Actor::system())
            .then(&[disabled(DisableReason::Failing)]);
        let disabled_by_hand =
            given::<WebhookEndpointDecider>(&[registered(), disabled(DisableReason::Manual)]);
        assert_eq!(
            disabled_by_hand
                .when(&disable(DisableReason::Failing), &Actor::system())
                .outcome(),
            Ok(vec![]),
            "disabled once"
        );
        assert_eq!(
            endpoint.when(&enable, &admin()).outcome(),
            Ok(vec![]),
            "already enabled"
        );
        disabled_by_hand
            .when(&enable, &admin())
            .then(&[DomainEvent::WebhookEndpointEnabled(
                WebhookEndpointEnabled {
                    endpoint_id: ENDPOINT,
                    enabled_at: at(),
                },
            )]);
        endpoint
            .when(
                &WebhookEndpointCommand::RotateSecret {
                    endpoint_id: ENDPOINT,
                    at: at(),
                },
                &admin(),
            )
            .then(&[DomainEvent::WebhookSecretRotated(WebhookSecretRotated {
                endpoint_id: ENDPOINT,
                rotated_at: at(),
            })]);
    }

    fn message(kind: SenderKind) -> DomainEvent {
        DomainEvent::MessagePosted(MessagePosted {
            conversation_id: CONVERSATION,
            message_id: Uuid::from_u128(4),
            sender: Sender {
                kind,
                id: Some(Uuid::from_u128(3)),
            },
            channel: crate::event::Channel::Web,
            body: "Where is my order?".into(),
            posted_at: at(),
            attachments: vec![],
        })
    }

    fn status(to: ConversationStatus) -> DomainEvent {
        DomainEvent::ConversationStatusChanged(ConversationStatusChanged {
            conversation_id: CONVERSATION,
            from: ConversationStatus::Resolved,
            to,
            trigger: StatusTrigger::Inactivity,
            changed_at: at(),
        })
    }

    #[test]
    fn domain_events_map_to_webhook_types() {
        use WebhookEventType as W;
        let note = DomainEvent::InternalNoteAdded(InternalNoteAdded {
            conversation_id: CONVERSATION,
            note_id: Uuid::from_u128(5),
            author_id: Uuid::from_u128(6),
            body: "VIP".into(),
            added_at: at(),
        });
        let auto_reply = DomainEvent::AutoReplySent(AutoReplySent {
            conversation_id: CONVERSATION,
            message_id: Uuid::from_u128(10),
            operator_id: Uuid::from_u128(6),
            body: "Thanks".into(),
            sent_at: at(),
        });
        let cases: Vec<(DomainEvent, Vec<W>)> = vec![
            (message(SenderKind::Contact), vec![W::MessageIn]),
            (message(SenderKind::Operator), vec![W::MessageOut]),
            (message(SenderKind::Bot), vec![W::MessageOut]),
            (message(SenderKind::System), vec![W::MessageOut]),
            (auto_reply, vec![W::MessageOut]),
            (note.clone(), vec![]),
            (
                status(ConversationStatus::Closed),
                vec![W::ConversationClosed, W::ConversationStatusChanged],
            ),
            (
                status(ConversationStatus::Open),
                vec![W::ConversationStatusChanged],
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(webhook_event_types(&event), expected, "{event:?}");
        }
        let close = status(ConversationStatus::Closed);
        assert_eq!(
            delivered_as(
                &close,
                &[W::ConversationStatusChanged, W::ConversationClosed]
            ),
            Some(W::ConversationClosed)
        );
        assert_eq!(
            delivered_as(&close, &[W::ConversationStatusChanged]),
            Some(W::ConversationStatusChanged)
        );
        assert_eq!(delivered_as(&close, &[W::MessageIn]), None);
        assert_eq!(delivered_as(&note, WebhookEventType::ALL), None);
    }

    #[test]
    fn snapshots_follow_start_status_and_transfer() {
        let started = DomainEvent::ConversationStarted(ConversationStarted {
            conversation_id: CONVERSATION,
            inbox_id: INBOX,
            source: crate::event::Source::Web,
            contact: crate::event::Contact {
                id: Uuid::from_u128(3),
                name: None,
                email: None,
                phone: None,
            },
            subject: None,
            started_at: at(),
            branch_id: Some(Uuid::from_u128(7)),
            routing: None,
            sla: None,
        });
        let s = ConversationSnapshot::evolve(None, &message(SenderKind::Contact));
        assert_eq!(s, None);
        let s = ConversationSnapshot::evolve(None, &started);
        let s = ConversationSnapshot::evolve(s, &status(ConversationStatus::Closed)).unwrap();
        assert_eq!(
            s,
            ConversationSnapshot {
                id: CONVERSATION,
                inbox_id: INBOX,
                branch_id: Some(Uuid::from_u128(7)),
                status: ConversationStatus::Closed,
            }
        );
    }

    #[test]
    fn message_in_body_has_the_seed_shape() {
        let snapshot = ConversationSnapshot {
            id: CONVERSATION,
            inbox_id: INBOX,
            branch_id: None,
            status: ConversationStatus::Open,
        };
        let body = webhook_body(
            WebhookEventType::MessageIn,
            &message(SenderKind::Contact),
            Uuid::from_u128(0xe),
            at(),
            &snapshot,
        );
        assert_eq!(
            body,
            json!({
                "event": "message.in",
                "event_id": "00000000-0000-0000-0000-00000000000e",
                "occurred_at": "2026-11-25T10:00:00Z",
                "message": {
                    "id": "00000000-0000-0000-0000-000000000004",
                    "conversation_id": "00000000-0000-0000-0000-000000000001",
                    "direction": "in",
                    "body": "Where is my order?",
                    "created_at": "2026-11-25T10:00:00Z",
                    "sender_kind": "contact",
                    "sender_contact_id": "00000000-0000-0000-0000-000000000003",
                    "attachments": [],
                },
                "conversation": {
                    "id": "00000000-0000-0000-0000-000000000001",
                    "inbox_id": "00000000-0000-0000-0000-000000000002",
                    "branch_id": null,
                    "status": "open",
                },
            })
        );
    }
}
