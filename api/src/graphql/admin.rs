//! The admins' part of the schema: inboxes (INBOX-1) and their settings. Creating an inbox or
//! rotating its widget token returns the token once; only its SHA-256 is kept (see
//! [`super::widget_token`]). The admins' other parts have files of their own: [`super::team`],
//! [`super::webhooks`], [`super::privacy`].

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_commands::handler::Handled;
use switchboard_domain::attachment::AttachmentPolicy;
use switchboard_domain::hours;
use switchboard_domain::inbox::VisitorIdentity as VisitorIdentityRule;
use switchboard_domain::inbox::{InboxCommand, InboxSettings};
use switchboard_domain::Actor;
use switchboard_domain::DomainError;
use switchboard_projections::inboxes::read::{self, InboxRow};
use uuid::Uuid;

use crate::auth::{Authentication, Role, INBOX_LIST_ROLES};
use crate::error::{ApiError, ResultExt};
use crate::graphql::types::{RatingScale, VisitorField, VisitorIdentity};
use crate::graphql::widget_token::{new_widget_token, widget_token_hash};
use crate::graphql::{command_meta, AppContext};

#[derive(Debug, Clone, SimpleObject)]
pub struct Inbox {
    pub id: Uuid,
    /// Set at creation and never changed; null for a global inbox.
    pub branch_id: Option<Uuid>,
    pub title: String,
    pub greeting: Option<String>,
    pub color: Option<String>,
    pub rating: RatingScale,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The banner the widget shows when no operator is online (INBOX-4).
    pub offline_message: Option<String>,
    /// The message the widget shows outside working hours (INBOX-3).
    pub outside_hours_message: Option<String>,
    /// Sent once, in the assignee's name, on the contact's first message (INBOX-5).
    pub auto_reply: Option<String>,
    pub working_hours: WorkingHours,
    /// Region → branch, for a global inbox (INBOX-2).
    pub routing_rules: Vec<RoutingRule>,
    /// Where a global inbox's conversation goes when no rule matches.
    pub default_branch_id: Option<Uuid>,
    /// Conversations per operator for auto-assignment, unless their profile says (OPS-2).
    pub default_capacity: i32,
    /// Seconds an assignee has to open a conversation before it escalates (OPS-3).
    pub escalation_timeout_secs: i32,
    /// The largest attachment, in bytes (CONV-7).
    pub max_attachment_bytes: u64,
    pub attachment_types: Vec<AttachmentType>,
    /// The inbox's own inactivity timeout (TIME-1); null: the service's.
    pub inactivity_timeout_secs: Option<u32>,
    /// The inbox's own retention period (TIME-2); null: the service's.
    pub retention_secs: Option<u32>,
    /// The sites the widget may be used from; empty: any (SEC-1).
    pub allowed_origins: Vec<String>,
    /// Service-level targets (PROJ-3).
    pub sla: SlaPolicy,
    /// What the pre-chat form asks for before a visitor may start (INBOX-1).
    pub required_fields: Vec<VisitorField>,
    /// Whether only verified users of the site may chat (SEC-1).
    pub visitor_identity: VisitorIdentity,
    /// When the identity secret was last issued (SEC-1); null: none yet, so no visitor can be
    /// verified.
    pub identity_secret_rotated_at: Option<DateTime<Utc>>,
    /// Takes the conversations customers start by writing to the Telegram bot (the first
    /// created of the active inboxes that do).
    pub telegram_intake: bool,
    /// Which idle conversations the inactivity timeout closes (TIME-1).
    pub inactivity_closes: InactivityRule,
}

/// Which idle conversations the inactivity timeout closes (TIME-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "switchboard_domain::inbox::InactivityRule")]
pub enum InactivityRule {
    /// Only those waiting on the contact: an operator answered the contact's last message, or
    /// set `WAITING_FOR_USER`. A contact waiting for an answer or a call-back stays in the
    /// queue. The default.
    WaitingOnContact,
    /// Any conversation nobody wrote in for the timeout, whoever waits.
    AnyIdle,
}

/// An inbox's service-level targets (PROJ-3), in seconds; a target not set is never
/// breached. With `businessHoursOnly`, times and targets run only within working hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, SimpleObject, InputObject)]
#[graphql(input_name = "SlaPolicyInput")]
pub struct SlaPolicy {
    /// From the conversation's start to the first operator message.
    pub first_response_secs: Option<u32>,
    /// From the contact's oldest unanswered message to the operator's next reply.
    pub next_response_secs: Option<u32>,
    /// From the conversation's start to each resolution.
    pub resolution_secs: Option<u32>,
    #[graphql(default)]
    pub business_hours_only: bool,
}

impl From<switchboard_domain::inbox::SlaPolicy> for SlaPolicy {
    fn from(p: switchboard_domain::inbox::SlaPolicy) -> Self {
        Self {
            first_response_secs: p.first_response_secs,
            next_response_secs: p.next_response_secs,
            resolution_secs: p.resolution_secs,
            business_hours_only: p.business_hours_only,
        }
    }
}

/// The file types attachments may have (CONV-7), told from the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "switchboard_domain::attachment::AttachmentType")]
pub enum AttachmentType {
    Jpeg,
    Png,
    Gif,
    Webp,
    Pdf,
}

impl From<InboxRow> for Inbox {
    fn from(row: InboxRow) -> Self {
        let rating = switchboard_domain::inbox::RatingScale::parse(&row.rating).unwrap_or_default();
        let settings = row.settings.map(|json| json.0).unwrap_or_else(|| {
            InboxSettings::new(&row.title, None, None, rating).expect("a stored title is valid")
        });
        Self {
            id: row.inbox_id,
            branch_id: row.branch_id,
            title: row.title,
            greeting: row.greeting,
            color: row.color,
            rating: rating.into(),
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            offline_message: settings.offline_message,
            outside_hours_message: settings.outside_hours_message,
            auto_reply: settings.auto_reply.map(|body| body.as_str().to_owned()),
            working_hours: WorkingHours::from(&settings.working_hours),
            routing_rules: settings
                .routing_rules
                .into_iter()
                .map(|rule| RoutingRule {
                    region: rule.region,
                    branch_id: rule.branch_id,
                })
                .collect(),
            default_branch_id: settings.default_branch_id,
            default_capacity: i32::from(settings.default_capacity),
            escalation_timeout_secs: i32::try_from(settings.escalation_timeout_secs)
                .unwrap_or(i32::MAX),
            max_attachment_bytes: settings.attachments.max_bytes,
            attachment_types: settings
                .attachments
                .types
                .iter()
                .map(|&t| t.into())
                .collect(),
            inactivity_timeout_secs: settings.inactivity_timeout_secs,
            retention_secs: settings.retention_secs,
            allowed_origins: settings.allowed_origins,
            sla: settings.sla.into(),
            required_fields: settings.required_fields.iter().map(|&f| f.into()).collect(),
            visitor_identity: settings.visitor_identity.into(),
            identity_secret_rotated_at: row.identity_secret_rotated_at,
            telegram_intake: settings.telegram_intake,
            inactivity_closes: settings.inactivity_closes.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl From<Weekday> for chrono::Weekday {
    fn from(day: Weekday) -> Self {
        match day {
            Weekday::Mon => chrono::Weekday::Mon,
            Weekday::Tue => chrono::Weekday::Tue,
            Weekday::Wed => chrono::Weekday::Wed,
            Weekday::Thu => chrono::Weekday::Thu,
            Weekday::Fri => chrono::Weekday::Fri,
            Weekday::Sat => chrono::Weekday::Sat,
            Weekday::Sun => chrono::Weekday::Sun,
        }
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(day: chrono::Weekday) -> Self {
        match day {
            chrono::Weekday::Mon => Weekday::Mon,
            chrono::Weekday::Tue => Weekday::Tue,
            chrono::Weekday::Wed => Weekday::Wed,
            chrono::Weekday::Thu => Weekday::Thu,
            chrono::Weekday::Fri => Weekday::Fri,
            chrono::Weekday::Sat => Weekday::Sat,
            chrono::Weekday::Sun => Weekday::Sun,
        }
    }
}

/// An opening period `[start, end)` in local time, `HH:MM`; `end` may be `24:00`.
#[derive(Debug, Clone, SimpleObject, InputObject)]
#[graphql(input_name = "OpeningPeriodInput")]
pub struct OpeningPeriod {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, SimpleObject, InputObject)]
#[graphql(input_name = "DayHoursInput")]
pub struct DayHours {
    pub day: Weekday,
    pub periods: Vec<OpeningPeriod>,
}

/// When operators are at work (INBOX-3): periods per weekday in `timeZone` (an IANA name
/// such as `Europe/Kyiv`), closed on `holidays` (local dates). A weekday not listed is closed.
#[derive(Debug, Clone, SimpleObject, InputObject)]
#[graphql(input_name = "WorkingHoursInput")]
pub struct WorkingHours {
    pub time_zone: String,
    pub week: Vec<DayHours>,
    pub holidays: Vec<chrono::NaiveDate>,
}

impl From<&hours::WorkingHours> for WorkingHours {
    fn from(hours: &hours::WorkingHours) -> Self {
        Self {
            time_zone: hours.time_zone().name().to_owned(),
            week: hours
                .week()
                .iter()
                .map(|day| DayHours {
                    day: day.day().into(),
                    periods: day
                        .periods()
                        .iter()
                        .map(|p| OpeningPeriod {
                            start: p.start().to_string(),
                            end: p.end().to_string(),
                        })
                        .collect(),
                })
                .collect(),
            holidays: hours.holidays().to_vec(),
        }
    }
}

impl WorkingHours {
    fn validate(&self) -> Result<hours::WorkingHours, ApiError> {
        let week = self
            .week
            .iter()
            .map(|day| {
                let periods = day
                    .periods
                    .iter()
                    .map(|p| hours::Period::parse(&p.start, &p.end))
                    .collect::<Result<Vec<_>, _>>()?;
                hours::DayHours::new(day.day.into(), periods)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(hours::WorkingHours::new(
            &self.time_zone,
            week,
            self.holidays.clone(),
        )?)
    }
}

/// Conversations of a global inbox from `region` (`UA`, or the more specific `UA-30`) go to
/// `branchId` (INBOX-2).
#[derive(Debug, Clone, SimpleObject, InputObject)]
#[graphql(input_name = "RoutingRuleInput")]
pub struct RoutingRule {
    pub region: String,
    pub branch_id: Uuid,
}

#[derive(Debug, InputObject)]
pub struct InboxSettingsInput {
    pub title: String,
    pub greeting: Option<String>,
    /// `#rrggbb`
    pub color: Option<String>,
    #[graphql(default_with = "RatingScale::None")]
    pub rating: RatingScale,
    pub offline_message: Option<String>,
    pub outside_hours_message: Option<String>,
    pub auto_reply: Option<String>,
    /// Omit for always open.
    pub working_hours: Option<WorkingHours>,
    #[graphql(default)]
    pub routing_rules: Vec<RoutingRule>,
    pub default_branch_id: Option<Uuid>,
    #[graphql(default = 5)]
    pub default_capacity: i32,
    #[graphql(default = 240)]
    pub escalation_timeout_secs: i32,
    /// The largest attachment, in bytes (up to 100 MiB).
    #[graphql(default = 10485760)]
    pub max_attachment_bytes: u64,
    /// Omit for all: JPEG, PNG, GIF, WebP and PDF.
    pub attachment_types: Option<Vec<AttachmentType>>,
    /// No message for this long closes a conversation (TIME-1); omit for the service's.
    pub inactivity_timeout_secs: Option<i32>,
    /// Resolved for this long closes a conversation (TIME-2); omit for the service's.
    pub retention_secs: Option<i32>,
    /// Service-level targets (PROJ-3); omit for none.
    pub sla: Option<SlaPolicy>,
    /// The sites the widget may be used from (SEC-1): `https://shop.example.com`, or
    /// `https://*.example.com` for its subdomains; at most 50. Omit or leave empty for any.
    /// A browser's widget request from another site answers `ORIGIN_NOT_ALLOWED`.
    #[graphql(default)]
    pub allowed_origins: Vec<String>,
    /// What a visitor must give before they start (INBOX-1); `startConversation` without one
    /// answers `EMPTY_FIELD` naming it.
    #[graphql(default)]
    pub required_fields: Vec<VisitorField>,
    /// `REQUIRED`: only users the site vouches for may chat (SEC-1); issue the identity
    /// secret with `rotateIdentitySecret` first.
    #[graphql(default_with = "VisitorIdentity::Optional")]
    pub visitor_identity: VisitorIdentity,
    /// Whether this inbox takes the conversations customers start by writing to the
    /// Telegram bot. If several active inboxes do, the one created first takes them; if none
    /// does, the bot answers such customers that it cannot take messages.
    #[graphql(default)]
    pub telegram_intake: bool,
    /// Which idle conversations the inactivity timeout closes (TIME-1); omit for
    /// `WAITING_ON_CONTACT`.
    #[graphql(default_with = "InactivityRule::WaitingOnContact")]
    pub inactivity_closes: InactivityRule,
}

impl InboxSettingsInput {
    fn validate(&self) -> Result<InboxSettings, ApiError> {
        let rules: Vec<(&str, Uuid)> = self
            .routing_rules
            .iter()
            .map(|rule| (rule.region.as_str(), rule.branch_id))
            .collect();
        let hours = match &self.working_hours {
            Some(hours) => hours.validate()?,
            None => hours::WorkingHours::always(),
        };
        let mut settings = InboxSettings::new(
            &self.title,
            self.greeting.as_deref(),
            self.color.as_deref(),
            self.rating.into(),
        )?
        .with_messages(
            self.offline_message.as_deref(),
            self.outside_hours_message.as_deref(),
            self.auto_reply.as_deref(),
        )?
        .with_routing(&rules, self.default_branch_id)?
        .with_assignment(
            // Out of range for the type is out of range for the setting: 0 says so.
            u16::try_from(self.default_capacity).unwrap_or(0),
            u32::try_from(self.escalation_timeout_secs).unwrap_or(0),
        )?
        .with_working_hours(hours)
        .with_attachments(AttachmentPolicy::new(
            self.max_attachment_bytes,
            &match &self.attachment_types {
                Some(types) => types.iter().map(|&t| t.into()).collect::<Vec<_>>(),
                None => switchboard_domain::attachment::AttachmentType::ALL.to_vec(),
            },
        )?)
        .with_timeouts(
            // Negative is out of range like 0: the settings say so.
            self.inactivity_timeout_secs
                .map(|s| u32::try_from(s).unwrap_or(0)),
            self.retention_secs.map(|s| u32::try_from(s).unwrap_or(0)),
        )?
        .with_sla(match self.sla {
            None => switchboard_domain::inbox::SlaPolicy::default(),
            Some(sla) => switchboard_domain::inbox::SlaPolicy::new(
                sla.first_response_secs,
                sla.next_response_secs,
                sla.resolution_secs,
                sla.business_hours_only,
            )?,
        })
        .with_allowed_origins(
            &self
                .allowed_origins
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )?
        .with_visitor_rules(
            &self
                .required_fields
                .iter()
                .map(|&f| f.into())
                .collect::<Vec<_>>(),
            self.visitor_identity.into(),
        )
        .with_telegram_intake(self.telegram_intake);
        settings.inactivity_closes = self.inactivity_closes.into();
        if settings.telegram_intake && settings.visitor_identity == VisitorIdentityRule::Required {
            // A Telegram customer is nobody the site vouches for.
            return Err(ApiError::InvalidArgument {
                argument: "telegramIntake",
                reason: "an inbox for verified users only cannot take Telegram customers".into(),
            });
        }
        Ok(settings)
    }
}

#[derive(Debug, InputObject)]
pub struct CreateInboxInput {
    /// The branch the inbox belongs to, for good; omit for a global inbox.
    pub branch_id: Option<Uuid>,
    pub settings: InboxSettingsInput,
}

#[derive(Debug, SimpleObject)]
pub struct InboxWithToken {
    pub inbox_id: Uuid,
    /// Shown this once: the widget sends it to start conversations. Keep it like a password.
    pub widget_token: String,
}

/// An inbox's identity secret (SEC-1), shown once.
#[derive(Debug, SimpleObject)]
pub struct IdentitySecret {
    pub inbox_id: Uuid,
    /// Keep it on the site's server, like a password: whoever holds it can sign in as any
    /// user of the site.
    pub secret: String,
}

#[derive(Debug, SimpleObject)]
pub struct InboxChange {
    pub inbox_id: Uuid,
    /// False when the inbox already was as asked.
    pub changed: bool,
}

async fn as_admin(ctx: &Context<'_>, command: InboxCommand) -> async_graphql::Result<Handled> {
    let (operator_id, roles) = ctx
        .data::<Authentication>()?
        .require_operator(&[Role::Admin])
        .gql()?;
    let app = ctx.data::<AppContext>()?;
    let meta = command_meta(
        ctx,
        Uuid::now_v7(),
        Actor::operator(operator_id, roles.to_vec()),
    );
    app.inbox_handler.handle(&meta, &command).await.gql()
}

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Every inbox. Any operator may list them (the operator UI filters by inbox).
    async fn inboxes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Inbox>> {
        ctx.data::<Authentication>()?
            .require_operator(INBOX_LIST_ROLES)
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        Ok(read::all(&app.pool)
            .await
            .gql()?
            .into_iter()
            .map(Inbox::from)
            .collect())
    }
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Creates an inbox and returns its widget token (admins).
    async fn create_inbox(
        &self,
        ctx: &Context<'_>,
        input: CreateInboxInput,
    ) -> async_graphql::Result<InboxWithToken> {
        let settings = input.settings.validate().gql()?;
        let inbox_id = Uuid::now_v7();
        let widget_token = new_widget_token();
        as_admin(
            ctx,
            InboxCommand::Create {
                inbox_id,
                branch_id: input.branch_id,
                settings,
                widget_token_hash: widget_token_hash(&widget_token),
                at: Utc::now(),
            },
        )
        .await?;
        Ok(InboxWithToken {
            inbox_id,
            widget_token,
        })
    }

    /// Replaces an inbox's settings (admins). The branch cannot change.
    async fn update_inbox(
        &self,
        ctx: &Context<'_>,
        inbox_id: Uuid,
        settings: InboxSettingsInput,
    ) -> async_graphql::Result<InboxChange> {
        let settings = settings.validate().gql()?;
        let handled = as_admin(
            ctx,
            InboxCommand::ChangeSettings {
                inbox_id,
                settings,
                at: Utc::now(),
            },
        )
        .await?;
        Ok(InboxChange {
            inbox_id,
            changed: !handled.events.is_empty(),
        })
    }

    /// Issues a new widget token; the old one stops working (admins).
    async fn rotate_widget_token(
        &self,
        ctx: &Context<'_>,
        inbox_id: Uuid,
    ) -> async_graphql::Result<InboxWithToken> {
        let widget_token = new_widget_token();
        as_admin(
            ctx,
            InboxCommand::RotateWidgetToken {
                inbox_id,
                widget_token_hash: widget_token_hash(&widget_token),
                at: Utc::now(),
            },
        )
        .await?;
        Ok(InboxWithToken {
            inbox_id,
            widget_token,
        })
    }

    /// Issues a new identity secret for verifying the site's users (SEC-1), shown this once:
    /// the site's server signs each user id with it (`identityHash`, hex HMAC-SHA256). Hashes
    /// made with the previous secret stop verifying (admins).
    async fn rotate_identity_secret(
        &self,
        ctx: &Context<'_>,
        inbox_id: Uuid,
    ) -> async_graphql::Result<IdentitySecret> {
        ctx.data::<Authentication>()?
            .require_operator(&[Role::Admin])
            .gql()?;
        let app = ctx.data::<AppContext>()?;
        // Only an inbox that exists gets a secret; the event records that it changed.
        read::inbox(&app.pool, inbox_id)
            .await
            .gql()?
            .ok_or(ApiError::from(DomainError::InboxNotFound(inbox_id)))
            .gql()?;
        let secret = crate::identity::new_secret();
        crate::identity::put_secret(&app.pool, inbox_id, &secret)
            .await
            .gql()?;
        as_admin(
            ctx,
            InboxCommand::RotateIdentitySecret {
                inbox_id,
                at: Utc::now(),
            },
        )
        .await?;
        Ok(IdentitySecret { inbox_id, secret })
    }

    /// Switches an inbox on or off; an inactive inbox starts no conversations (admins).
    async fn set_inbox_active(
        &self,
        ctx: &Context<'_>,
        inbox_id: Uuid,
        active: bool,
    ) -> async_graphql::Result<InboxChange> {
        let handled = as_admin(
            ctx,
            InboxCommand::SetActive {
                inbox_id,
                active,
                at: Utc::now(),
            },
        )
        .await?;
        Ok(InboxChange {
            inbox_id,
            changed: !handled.events.is_empty(),
        })
    }
}
