//! The operators projection (OPS-2): table `operators`, one row per registered operator with
//! their profile, status, and when they were last given a conversation (for round-robin).
//! Their load is not kept here: it is counted from `inbox_conversations` when asked, so it can
//! never disagree with the inbox. [`read`] has the queries.

use sqlx::PgConnection;
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::operator::{OperatorProfile, OperatorStatus};
use switchboard_domain::DomainEvent;

use crate::{Applied, Change, LogReader, Projection, ProjectionError};

pub struct OperatorsProjection;

/// The event types [`OperatorsProjection`] applies.
pub(crate) const HANDLED: &[&str] = &[
    "OperatorRegistered",
    "OperatorProfileChanged",
    "OperatorStatusChanged",
    "ConversationAssigned",
    "OperatorInvited",
    "OperatorInvitationAccepted",
    "OperatorDeactivated",
    "OperatorReactivated",
    "OperatorPasswordReset",
];

impl Projection for OperatorsProjection {
    fn name(&self) -> &'static str {
        "operators"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["operators"]
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
        let operator_id = match decoded {
            Ok(DomainEvent::OperatorRegistered(e)) => {
                let roles = role_texts(&e.profile);
                sqlx::query(
                    "insert into operators (operator_id, name, roles, branch_id, capacity, status,
                                            status_changed_at, registered_at, updated_at, email)
                     values ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8)
                     on conflict (operator_id) do nothing",
                )
                .bind(e.operator_id)
                .bind(&e.profile.name)
                .bind(&roles)
                .bind(e.profile.branch_id)
                .bind(e.profile.capacity.map(i32::from))
                .bind(OperatorStatus::Offline.as_str())
                .bind(e.registered_at)
                .bind(&e.profile.email)
                .execute(&mut *tx)
                .await?;
                e.operator_id
            }
            Ok(DomainEvent::OperatorProfileChanged(e)) => {
                let roles = role_texts(&e.profile);
                sqlx::query(
                    "update operators set name = $2, roles = $3, branch_id = $4, capacity = $5,
                                          updated_at = $6, email = $7
                     where operator_id = $1",
                )
                .bind(e.operator_id)
                .bind(&e.profile.name)
                .bind(&roles)
                .bind(e.profile.branch_id)
                .bind(e.profile.capacity.map(i32::from))
                .bind(e.changed_at)
                .bind(&e.profile.email)
                .execute(&mut *tx)
                .await?;
                e.operator_id
            }
            Ok(DomainEvent::OperatorStatusChanged(e)) => {
                sqlx::query(
                    "update operators set status = $2, status_changed_at = $3, updated_at = $3
                     where operator_id = $1",
                )
                .bind(e.operator_id)
                .bind(e.to.as_str())
                .bind(e.changed_at)
                .execute(&mut *tx)
                .await?;
                e.operator_id
            }
            Ok(DomainEvent::OperatorInvited(e)) => {
                set_access(tx, e.operator_id, "invitation_pending = true", e.invited_at).await?
            }
            Ok(DomainEvent::OperatorInvitationAccepted(e)) => {
                set_access(
                    tx,
                    e.operator_id,
                    "invitation_pending = false",
                    e.accepted_at,
                )
                .await?
            }
            // A deactivated operator is offline too (the decider says so without a status
            // event): auto-assignment passes them over.
            Ok(DomainEvent::OperatorDeactivated(e)) => {
                let columns = format!(
                    "active = false, status = '{}', status_changed_at = $2,
                     sessions_revoked_at = $2",
                    OperatorStatus::Offline.as_str()
                );
                set_access(tx, e.operator_id, &columns, e.deactivated_at).await?
            }
            // Every session signed in before the reset is over (its own new one is not).
            Ok(DomainEvent::OperatorPasswordReset(e)) => {
                set_access(tx, e.operator_id, "sessions_revoked_at = $2", e.reset_at).await?
            }
            Ok(DomainEvent::OperatorReactivated(e)) => {
                set_access(tx, e.operator_id, "active = true", e.reactivated_at).await?
            }
            Ok(DomainEvent::ConversationAssigned(e)) => {
                sqlx::query(
                    "update operators
                     set last_assigned_at = greatest(last_assigned_at, $2)
                     where operator_id = $1",
                )
                .bind(e.operator_id)
                .bind(e.assigned_at)
                .execute(&mut *tx)
                .await?;
                e.operator_id
            }
            Ok(_) => return Ok(Applied::Ignored),
            Err(err) => return Ok(Applied::Unreadable(err.to_string())),
        };
        Ok(Applied::Changed(Change::OperatorUpdated { operator_id }))
    }
}

/// Sets `columns` (SQL, `$2` is the event's time) of an operator's row.
async fn set_access(
    tx: &mut PgConnection,
    operator_id: uuid::Uuid,
    columns: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<uuid::Uuid, sqlx::Error> {
    sqlx::query(&format!(
        "update operators set {columns}, updated_at = $2 where operator_id = $1"
    ))
    .bind(operator_id)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    Ok(operator_id)
}

fn role_texts(profile: &OperatorProfile) -> Vec<String> {
    profile
        .roles
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect()
}

/// Queries over the operators projection.
pub mod read {
    use chrono::{DateTime, Utc};
    use sqlx::{FromRow, PgPool};
    use switchboard_domain::conversation::ConversationStatus;
    use uuid::Uuid;

    #[derive(Debug, Clone, PartialEq, Eq, FromRow)]
    pub struct OperatorRow {
        pub operator_id: Uuid,
        pub name: String,
        pub roles: Vec<String>,
        pub branch_id: Option<Uuid>,
        pub capacity: Option<i32>,
        pub email: Option<String>,
        /// Whether they linked a Telegram account (TG-1).
        pub telegram_linked: bool,
        pub status: String,
        pub status_changed_at: DateTime<Utc>,
        pub last_assigned_at: Option<DateTime<Utc>>,
        /// Conversations assigned to them that are neither resolved nor closed.
        pub load: i64,
        /// False once an admin deactivated them.
        pub active: bool,
        /// Invited, and the password not set yet.
        pub invitation_pending: bool,
    }

    /// The operator columns plus their load, counted from the inbox.
    fn select() -> String {
        format!(
            "select o.operator_id, o.name, o.roles, o.branch_id, o.capacity, o.email, o.status,
                    o.status_changed_at, o.last_assigned_at, o.active, o.invitation_pending,
                    exists(select 1 from telegram_operators t
                            where t.operator_id = o.operator_id) as telegram_linked,
                    (select count(*) from inbox_conversations c
                      where c.assignee_id = o.operator_id
                        and c.status not in ('{}', '{}')) as load
             from operators o",
            ConversationStatus::Resolved.as_str(),
            ConversationStatus::Closed.as_str()
        )
    }

    pub async fn operator(
        pool: &PgPool,
        operator_id: Uuid,
    ) -> Result<Option<OperatorRow>, sqlx::Error> {
        sqlx::query_as(&format!("{} where o.operator_id = $1", select()))
            .bind(operator_id)
            .fetch_optional(pool)
            .await
    }

    /// The name an operator shows to contacts (the widget's "Ann is answering"): nothing
    /// else of theirs reaches a contact.
    pub async fn display_name(
        pool: &PgPool,
        operator_id: Uuid,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("select name from operators where operator_id = $1")
            .bind(operator_id)
            .fetch_optional(pool)
            .await
    }

    /// Every operator, or a branch's (`Some(None)`: head office), by name.
    pub async fn all(
        pool: &PgPool,
        branch: Option<Option<Uuid>>,
    ) -> Result<Vec<OperatorRow>, sqlx::Error> {
        let filter = match branch {
            None => "true",
            Some(_) => "o.branch_id is not distinct from $1",
        };
        sqlx::query_as(&format!(
            "{} where {filter} order by o.name, o.operator_id",
            select()
        ))
        .bind(branch.flatten())
        .fetch_all(pool)
        .await
    }

    /// Operators who are online and may work conversations (not only analysts or auditors):
    /// the candidates of auto-assignment and escalation (OPS-2, OPS-3).
    pub async fn online(pool: &PgPool) -> Result<Vec<OperatorRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "{} where o.status = 'online'
                  and o.roles && array['admin', 'moderator', 'manager']
             order by o.operator_id",
            select()
        ))
        .fetch_all(pool)
        .await
    }
}
