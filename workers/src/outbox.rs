//! What the outbox workers share (the webhook worker, [`crate::webhooks`], and the notifier,
//! [`crate::notifier`]): a LISTEN on the channel their projection announces new rows on, and
//! the wait between claims for whichever comes first, a notification, the poll interval (for
//! retries coming due) or shutdown.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// A LISTEN on `channel`; `None` (the worker then only polls) when it cannot be set up.
pub async fn listen(pool: &PgPool, channel: &str, worker: &str) -> Option<PgListener> {
    let listener = async {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match listener.await {
        Ok(listener) => Some(listener),
        Err(err) => {
            tracing::warn!(error = %err, worker, "cannot LISTEN; polling only");
            None
        }
    }
}

/// Waits for a notification on `listener`, for `poll`, or for `shutdown`; false on shutdown.
pub async fn wait(
    listener: &mut Option<PgListener>,
    poll: Duration,
    shutdown: &CancellationToken,
) -> bool {
    let wake = async {
        match listener.as_mut() {
            Some(listener) => {
                if listener.recv().await.is_err() {
                    tokio::time::sleep(poll).await;
                }
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(poll) => true,
        _ = wake => true,
    }
}
