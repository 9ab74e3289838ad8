//! The inboxes projection (INBOX-1): table `inboxes`, one row per inbox with its settings,
//! active flag and the hash of its current widget token. [`read`] has the queries.

use sqlx::PgConnection;
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::DomainEvent;

use crate::{Applied, Change, LogReader, Projection, ProjectionError};

pub struct InboxesProjection;

/// The event types [`InboxesProjection`] applies.
pub(crate) const HANDLED: &[&str] = &[
    "InboxCreated",
    "InboxSettingsChanged",
    "WidgetTokenRotated",
    "IdentitySecretRotated",
    "InboxActivated",
    "InboxDeactivated",
];

impl Projection for InboxesProjection {
    fn name(&self) -> &'static str {
        "inboxes"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["inboxes"]
    }

    fn handles(&self, event_type: &str) -> bool {
        HANDLED.contains(&event_type)
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        _log: &dyn LogReader,
        event: &RecordedEvent,
    ) -> Result<Applied, ProjectionError> {
        let decoded = DomainEvent::decode(
            &event.event_type,
            event.schema_version,
            event.payload.clone(),
        );
        let inbox_id = match decoded {
            Ok(DomainEvent::InboxCreated(e)) => {
                sqlx::query(
                    "insert into inboxes (inbox_id, branch_id, title, greeting, color, rating,
                                          active, widget_token_hash, created_at, updated_at,
                                          settings)
                     values ($1, $2, $3, $4, $5, $6, true, $7, $8, $8, $9)
                     on conflict (inbox_id) do nothing",
                )
                .bind(e.inbox_id)
                .bind(e.branch_id)
                .bind(&e.settings.title)
                .bind(&e.settings.greeting)
                .bind(&e.settings.color)
                .bind(e.settings.rating.as_str())
                .bind(&e.widget_token_hash)
                .bind(e.created_at)
                .bind(sqlx::types::Json(&e.settings))
                .execute(&mut *tx)
                .await?;
                e.inbox_id
            }
            Ok(DomainEvent::InboxSettingsChanged(e)) => {
                sqlx::query(
                    "update inboxes set title = $2, greeting = $3, color = $4, rating = $5,
                                        updated_at = $6, settings = $7
                     where inbox_id = $1",
                )
                .bind(e.inbox_id)
                .bind(&e.settings.title)
                .bind(&e.settings.greeting)
                .bind(&e.settings.color)
                .bind(e.settings.rating.as_str())
                .bind(e.changed_at)
                .bind(sqlx::types::Json(&e.settings))
                .execute(&mut *tx)
                .await?;
                e.inbox_id
            }
            Ok(DomainEvent::WidgetTokenRotated(e)) => {
                sqlx::query(
                    "update inboxes set widget_token_hash = $2, updated_at = $3
                     where inbox_id = $1",
                )
                .bind(e.inbox_id)
                .bind(&e.widget_token_hash)
                .bind(e.rotated_at)
                .execute(&mut *tx)
                .await?;
                e.inbox_id
            }
            Ok(DomainEvent::IdentitySecretRotated(e)) => {
                sqlx::query(
                    "update inboxes set identity_secret_rotated_at = $2, updated_at = $2
                     where inbox_id = $1",
                )
                .bind(e.inbox_id)
                .bind(e.rotated_at)
                .execute(&mut *tx)
                .await?;
                e.inbox_id
            }
            Ok(DomainEvent::InboxActivated(e)) => {
                set_active(tx, e.inbox_id, true, e.activated_at).await?
            }
            Ok(DomainEvent::InboxDeactivated(e)) => {
                set_active(tx, e.inbox_id, false, e.deactivated_at).await?
            }
            Ok(_) => return Ok(Applied::Ignored),
            Err(err) => return Ok(Applied::Unreadable(err.to_string())),
        };
        Ok(Applied::Changed(Change::InboxUpdated { inbox_id }))
    }
}

async fn set_active(
    tx: &mut PgConnection,
    inbox_id: uuid::Uuid,
    active: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<uuid::Uuid, ProjectionError> {
    sqlx::query("update inboxes set active = $2, updated_at = $3 where inbox_id = $1")
        .bind(inbox_id)
        .bind(active)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    Ok(inbox_id)
}

/// Queries over the inboxes projection.
pub mod read {
    use std::collections::HashMap;

    use chrono::{DateTime, Utc};
    use sqlx::types::Json;
    use sqlx::{FromRow, PgPool};
    use switchboard_domain::inbox::InboxSettings;
    use uuid::Uuid;

    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct InboxRow {
        pub inbox_id: Uuid,
        pub branch_id: Option<Uuid>,
        pub title: String,
        pub greeting: Option<String>,
        pub color: Option<String>,
        pub rating: String,
        pub active: bool,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
        /// Everything the admin set, as the last event had it.
        pub settings: Option<Json<InboxSettings>>,
        /// When its identity secret was last issued (SEC-1); `None`: it has none.
        pub identity_secret_rotated_at: Option<DateTime<Utc>>,
    }

    const COLUMNS: &str = "inbox_id, branch_id, title, greeting, color, rating, active, created_at,
                           updated_at, settings, identity_secret_rotated_at";

    /// The inbox whose current widget token has this SHA-256 (hex).
    pub async fn by_widget_token_hash(
        pool: &PgPool,
        hash: &str,
    ) -> Result<Option<InboxRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "select {COLUMNS} from inboxes where widget_token_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(pool)
        .await
    }

    pub async fn inbox(pool: &PgPool, inbox_id: Uuid) -> Result<Option<InboxRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "select {COLUMNS} from inboxes where inbox_id = $1"
        ))
        .bind(inbox_id)
        .fetch_optional(pool)
        .await
    }

    /// The full settings of an inbox, as its last event set them.
    pub async fn settings(
        pool: &PgPool,
        inbox_id: Uuid,
    ) -> Result<Option<InboxSettings>, sqlx::Error> {
        let row: Option<Option<Json<InboxSettings>>> =
            sqlx::query_scalar("select settings from inboxes where inbox_id = $1")
                .bind(inbox_id)
                .fetch_optional(pool)
                .await?;
        Ok(row.flatten().map(|json| json.0))
    }

    /// Every inbox's branch and settings, for the scheduler's pass.
    pub async fn all_settings(
        pool: &PgPool,
    ) -> Result<HashMap<Uuid, (Option<Uuid>, InboxSettings)>, sqlx::Error> {
        let rows: Vec<(Uuid, Option<Uuid>, Option<Json<InboxSettings>>)> =
            sqlx::query_as("select inbox_id, branch_id, settings from inboxes")
                .fetch_all(pool)
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, branch, settings)| Some((id, (branch, settings?.0))))
            .collect())
    }

    /// Every inbox, by title.
    pub async fn all(pool: &PgPool) -> Result<Vec<InboxRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "select {COLUMNS} from inboxes order by title, inbox_id"
        ))
        .fetch_all(pool)
        .await
    }
}
