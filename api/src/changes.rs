//! The change feed: one PostgreSQL LISTEN per API process on the projections' channel, fanned
//! out to every subscription through a broadcast channel.
//!
//! Notifications are wake-ups, not data: a subscription that receives one reads the rows it
//! needs. So a lost notification (the listener reconnected, or a slow subscriber lagged)
//! is repaired by [`FeedEvent::Resync`]: every subscriber re-reads what it shows.
//!
//! The same listener carries typing indicators (CONV-6) between API nodes on
//! [`TYPING_CHANNEL`]: ephemeral signals that never enter the log and expire on their own.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use switchboard_domain::event::SenderKind;
use switchboard_projections::{Change, CHANGES_CHANNEL};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The PostgreSQL channel typing signals travel on between API nodes.
pub const TYPING_CHANNEL: &str = "switchboard_typing";

/// Someone is (or stopped) typing in a conversation. Not history: never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingSignal {
    pub conversation_id: Uuid,
    /// `contact` or `operator`.
    pub sender_kind: SenderKind,
    /// The operator's id; `None` for the contact.
    pub sender_id: Option<Uuid>,
    pub typing: bool,
}

/// Announces a typing signal to every API node (this one included).
pub async fn announce_typing(pool: &PgPool, signal: &TypingSignal) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_notify($1, $2)")
        .bind(TYPING_CHANNEL)
        .bind(serde_json::to_string(signal).expect("typing signals serialize"))
        .execute(pool)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    Changed(Change),
    Typing(TypingSignal),
    /// Changes may have been missed: re-read everything.
    Resync,
}

#[derive(Clone)]
pub struct ChangeFeed {
    sender: broadcast::Sender<FeedEvent>,
}

impl ChangeFeed {
    /// Starts listening; the listener runs until `shutdown`.
    pub async fn start(pool: PgPool, shutdown: CancellationToken) -> Result<Self, sqlx::Error> {
        let (sender, _) = broadcast::channel(4096);
        let mut listener = PgListener::connect_with(&pool).await?;
        listener
            .listen_all([CHANGES_CHANNEL, TYPING_CHANNEL])
            .await?;
        let feed = Self { sender };
        let sender = feed.sender.clone();
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    received = listener.try_recv() => received,
                };
                match received {
                    Ok(Some(notification)) => {
                        let event = if notification.channel() == TYPING_CHANNEL {
                            serde_json::from_str(notification.payload()).map(FeedEvent::Typing)
                        } else {
                            serde_json::from_str(notification.payload()).map(FeedEvent::Changed)
                        };
                        match event {
                            Ok(event) => {
                                let _ = sender.send(event);
                            }
                            Err(err) => {
                                tracing::warn!(error = %err, payload = notification.payload(), "unreadable notification")
                            }
                        }
                    }
                    // The connection dropped. Resync only once LISTEN is back in place: a
                    // re-read before that could miss a change committed in between.
                    Ok(None) => relisten(&mut listener, &sender, &shutdown).await,
                    Err(err) => {
                        tracing::warn!(error = %err, "change listener failed; reconnecting");
                        relisten(&mut listener, &sender, &shutdown).await;
                    }
                }
            }
        });
        Ok(feed)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FeedEvent> {
        self.sender.subscribe()
    }
}

/// Reconnects (LISTEN again on a fresh connection), then tells every subscriber to re-read.
async fn relisten(
    listener: &mut PgListener,
    sender: &broadcast::Sender<FeedEvent>,
    shutdown: &CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        // Any statement on the listener reconnects it, and reconnecting re-runs LISTEN.
        match sqlx::query("select 1").execute(&mut *listener).await {
            Ok(_) => break,
            Err(err) => {
                tracing::warn!(error = %err, ?backoff, "could not listen for changes yet");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    let _ = sender.send(FeedEvent::Resync);
}

/// Waits for the next event; a lagged receiver gets [`FeedEvent::Resync`]. `None` when the
/// feed has shut down.
pub async fn next_event(receiver: &mut broadcast::Receiver<FeedEvent>) -> Option<FeedEvent> {
    match receiver.recv().await {
        Ok(event) => Some(event),
        Err(broadcast::error::RecvError::Lagged(_)) => Some(FeedEvent::Resync),
        Err(broadcast::error::RecvError::Closed) => None,
    }
}
