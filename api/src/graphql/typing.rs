//! Typing indicators (CONV-6), both ways: operators and the visitor use the same mutation and
//! subscription. Ephemeral: a signal goes from the API node that got it to every API node
//! (PostgreSQL NOTIFY, see `changes`) and on to subscribers; nothing is stored. A "typing"
//! signal expires after the configured time (8 s by default) unless renewed: the subscription
//! then reports `typing: false` by itself.

use std::collections::HashMap;

use async_graphql::{Context, Object, SimpleObject, Subscription};
use futures::Stream;
use switchboard_domain::event::SenderKind as DomainSenderKind;
use switchboard_projections::conversations::read::{self, Audience};
use tokio::time::Instant;
use uuid::Uuid;

use crate::auth::{Authentication, Viewer};
use crate::changes::{announce_typing, next_event, FeedEvent, TypingSignal};
use crate::error::{ApiError, ResultExt};
use crate::graphql::thread::check_moderator_sees;
use crate::graphql::types::{Sender, SenderKind};
use crate::graphql::AppContext;

#[derive(Debug, Clone, SimpleObject)]
pub struct TypingIndicator {
    pub conversation_id: Uuid,
    /// Who types. The contact sees operators as `OPERATOR` without an id.
    pub sender: Sender,
    /// False when they stopped, or when their last signal expired.
    pub typing: bool,
}

/// Checks the caller may take part in the conversation and says as whom.
async fn participant(
    ctx: &Context<'_>,
    conversation_id: Uuid,
) -> async_graphql::Result<(Audience, DomainSenderKind, Option<Uuid>)> {
    let auth = ctx.data::<Authentication>()?;
    let audience = auth.require_conversation_reader(conversation_id).gql()?;
    let app = ctx.data::<AppContext>()?;
    if let Some(row) = read::conversation(&app.pool, conversation_id).await.gql()? {
        check_moderator_sees(auth, &row).gql()?;
    }
    Ok(match &auth.0 {
        Ok(Viewer::Operator { id, .. }) => (audience, DomainSenderKind::Operator, Some(*id)),
        _ => (audience, DomainSenderKind::Contact, None),
    })
}

#[derive(Default)]
pub struct TypingMutation;

#[Object]
impl TypingMutation {
    /// Tells the other side the caller is typing (or stopped). Send `typing: true` again
    /// within the expiry time to keep the indicator on. Never stored.
    async fn set_typing(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
        typing: bool,
    ) -> async_graphql::Result<bool> {
        let (_, sender_kind, sender_id) = participant(ctx, conversation_id).await?;
        let app = ctx.data::<AppContext>()?;
        announce_typing(
            &app.pool,
            &TypingSignal {
                conversation_id,
                sender_kind,
                sender_id,
                typing,
            },
        )
        .await
        .map_err(ApiError::from)
        .gql()?;
        Ok(typing)
    }
}

#[derive(Default)]
pub struct TypingSubscription;

#[Subscription]
impl TypingSubscription {
    /// Who is typing in the conversation, other than the caller. The contact sees operators;
    /// operators see the contact and each other.
    async fn typing(
        &self,
        ctx: &Context<'_>,
        conversation_id: Uuid,
    ) -> async_graphql::Result<impl Stream<Item = TypingIndicator>> {
        let (audience, own_kind, own_id) = participant(ctx, conversation_id).await?;
        let app = ctx.data::<AppContext>()?.clone();
        let ttl = app.typing_ttl;
        let mut events = app.feed.subscribe();
        Ok(async_stream::stream! {
            // Who is typing now, and until when.
            let mut typing: HashMap<(DomainSenderKind, Option<Uuid>), Instant> = HashMap::new();
            loop {
                let next_expiry = typing.values().min().copied();
                let event = tokio::select! {
                    event = next_event(&mut events) => event,
                    _ = sleep_until(next_expiry) => {
                        let now = Instant::now();
                        let expired: Vec<_> = typing.iter().filter(|(_, until)| **until <= now).map(|(who, _)| *who).collect();
                        for who in expired {
                            typing.remove(&who);
                            yield indicator(conversation_id, audience, who, false);
                        }
                        continue;
                    }
                };
                let Some(event) = event else { break };
                let FeedEvent::Typing(signal) = event else { continue };
                let who = (signal.sender_kind, signal.sender_id);
                let own = signal.sender_kind == own_kind && signal.sender_id == own_id;
                if signal.conversation_id != conversation_id || own {
                    continue;
                }
                if signal.typing {
                    typing.insert(who, Instant::now() + ttl);
                } else if typing.remove(&who).is_none() {
                    continue; // they were not shown as typing
                }
                yield indicator(conversation_id, audience, who, signal.typing);
            }
        })
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn indicator(
    conversation_id: Uuid,
    audience: Audience,
    (kind, id): (DomainSenderKind, Option<Uuid>),
    typing: bool,
) -> TypingIndicator {
    TypingIndicator {
        conversation_id,
        sender: Sender {
            kind: SenderKind::from(kind),
            // Operators' ids are theirs to know, not the contact's.
            id: if audience == Audience::Operators {
                id
            } else {
                None
            },
        },
        typing,
    }
}
