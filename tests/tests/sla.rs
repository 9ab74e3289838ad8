//! SLA metrics (SPEC PROJ-3): the projection's rules on a scripted history with a moved clock
//! and hand-computed figures (wall clock and business hours), the analysts' report through
//! GraphQL, and a redelivered batch.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use switchboard_api::auth::Role;
use switchboard_domain::conversation::ConversationStatus::{self, Open, Resolved};
use switchboard_domain::envelope::RecordedEvent;
use switchboard_domain::event::{
    AssignReason, Channel, Contact, ConversationAssigned, ConversationRated, ConversationStarted,
    ConversationStatusChanged, DomainEvent, InboxCreated, InternalNoteAdded, MessagePosted, Sender,
    SenderKind, Source, StatusTrigger,
};
use switchboard_domain::hours::WorkingHours;
use switchboard_domain::inbox::{InboxSettings, RatingScale, SlaPolicy, SlaTerms};
use switchboard_projections::runner::apply_batch;
use switchboard_projections::sla::read::{self, Breach, Dimension, Metric, ReportQuery};
use switchboard_projections::sla::SlaProjection;
use switchboard_projections::LogReader;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{create_inbox, error_extensions, start, REPLY, SEND};
use switchboard_tests::{eventually, pool_for, test_settings, TestServer};
use uuid::Uuid;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// A history written by hand: events with the times we choose.
#[derive(Default)]
struct Script {
    events: Vec<RecordedEvent>,
}

impl Script {
    fn push(&mut self, stream_id: Uuid, event: DomainEvent, recorded_at: DateTime<Utc>) {
        let version = self
            .events
            .iter()
            .filter(|e| e.stream_id == stream_id)
            .count() as i32
            + 1;
        self.events.push(RecordedEvent {
            global_position: self.events.len() as i64 + 1,
            stream_id,
            stream_type: "test".into(),
            stream_version: version,
            event_id: Uuid::now_v7(),
            event_type: event.event_type().into(),
            schema_version: event.schema_version(),
            payload: event.payload(),
            metadata: json!({}),
            recorded_at,
        });
    }

    fn inbox(&mut self, inbox_id: Uuid, hours: WorkingHours, sla: SlaPolicy) {
        let settings = InboxSettings::new("Support", None, None, RatingScale::Csat)
            .unwrap()
            .with_working_hours(hours)
            .with_sla(sla);
        self.push(
            inbox_id,
            DomainEvent::InboxCreated(InboxCreated {
                inbox_id,
                branch_id: None,
                settings,
                widget_token_hash: "0".repeat(64),
                created_at: at(2026, 11, 1, 0, 0),
            }),
            at(2026, 11, 1, 0, 0),
        );
    }

    /// A start with the SLA terms it carries (`None`: recorded before starts carried them).
    fn start(
        &mut self,
        conversation_id: Uuid,
        inbox_id: Uuid,
        sla: Option<SlaTerms>,
        when: DateTime<Utc>,
    ) {
        self.push(
            conversation_id,
            DomainEvent::ConversationStarted(ConversationStarted {
                conversation_id,
                inbox_id,
                source: Source::Web,
                contact: Contact {
                    id: Uuid::now_v7(),
                    name: None,
                    email: None,
                    phone: None,
                },
                subject: None,
                started_at: when,
                branch_id: None,
                routing: None,
                sla,
            }),
            when,
        );
        self.message(conversation_id, SenderKind::Contact, None, when);
    }

    fn message(
        &mut self,
        conversation_id: Uuid,
        kind: SenderKind,
        id: Option<Uuid>,
        when: DateTime<Utc>,
    ) {
        self.push(
            conversation_id,
            DomainEvent::MessagePosted(MessagePosted {
                conversation_id,
                message_id: Uuid::now_v7(),
                sender: Sender { kind, id },
                channel: Channel::Web,
                body: "text".into(),
                posted_at: when,
                attachments: Vec::new(),
            }),
            when,
        );
    }

    fn assign(&mut self, conversation_id: Uuid, operator_id: Uuid, when: DateTime<Utc>) {
        self.push(
            conversation_id,
            DomainEvent::ConversationAssigned(ConversationAssigned {
                conversation_id,
                operator_id,
                previous_operator_id: None,
                assigned_at: when,
                reason: AssignReason::Manual,
            }),
            when,
        );
    }

    fn status(
        &mut self,
        conversation_id: Uuid,
        from: ConversationStatus,
        to: ConversationStatus,
        when: DateTime<Utc>,
    ) {
        self.push(
            conversation_id,
            DomainEvent::ConversationStatusChanged(ConversationStatusChanged {
                conversation_id,
                from,
                to,
                trigger: StatusTrigger::Operator,
                changed_at: when,
            }),
            when,
        );
    }

    fn rate(&mut self, conversation_id: Uuid, scale: RatingScale, score: u8, when: DateTime<Utc>) {
        self.push(
            conversation_id,
            DomainEvent::ConversationRated(ConversationRated {
                conversation_id,
                scale,
                score,
                comment: None,
                rated_at: when,
            }),
            when,
        );
    }
}

/// No gaps to fill: every script applies whole.
struct NoLog;

impl LogReader for NoLog {
    fn read_stream(
        &self,
        _stream_id: Uuid,
        _after_version: i32,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RecordedEvent>, sqlx::Error>> + Send + '_>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn read_streams_on<'a>(
        &'a self,
        _conn: &'a mut sqlx::PgConnection,
        _streams: &'a [(Uuid, i32)],
        _after_position: i64,
        _or_types: &'a [&'a str],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RecordedEvent>, sqlx::Error>> + Send + 'a>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Mon–Fri 09:00–18:00 in Kyiv (UTC+2 in November).
fn office_hours() -> WorkingHours {
    let days: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|day| json!({ "day": day, "periods": [{ "start": "09:00", "end": "18:00" }] }))
        .collect();
    serde_json::from_value(json!({ "time_zone": "Europe/Kyiv", "week": days, "holidays": [] }))
        .unwrap()
}

fn office_terms() -> SlaTerms {
    SlaTerms {
        policy: SlaPolicy::new(Some(1800), Some(600), Some(7200), true).unwrap(),
        working_hours: office_hours(),
    }
}

struct Scenario {
    wall_inbox: Uuid,
    office_inbox: Uuid,
    x: Uuid,
    y: Uuid,
    c1: Uuid,
    c2: Uuid,
    c3: Uuid,
    events: Vec<RecordedEvent>,
}

/// The scripted history; the figures each step yields are worked out beside it.
fn scenario() -> Scenario {
    let (wall_inbox, office_inbox) = (Uuid::now_v7(), Uuid::now_v7());
    let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
    let (c1, c2, c3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut s = Script::default();
    // Wall clock: first response 10 min, next 5 min, resolution 1 h.
    s.inbox(
        wall_inbox,
        WorkingHours::default(),
        SlaPolicy::new(Some(600), Some(300), Some(3600), false).unwrap(),
    );
    // Business hours: first response 30 min, next 10 min, resolution 2 h.
    let terms = office_terms();
    s.inbox(office_inbox, terms.working_hours, terms.policy);

    // c1, wall clock, Monday 2 November.
    s.start(c1, wall_inbox, None, at(2026, 11, 2, 10, 0));
    s.assign(c1, x, at(2026, 11, 2, 10, 1));
    s.message(c1, SenderKind::Operator, Some(x), at(2026, 11, 2, 10, 4)); // FRT 240 s
    s.message(c1, SenderKind::Contact, None, at(2026, 11, 2, 10, 10)); // a wait starts
    s.message(c1, SenderKind::Contact, None, at(2026, 11, 2, 10, 11)); // the same wait
    s.push(
        c1,
        DomainEvent::InternalNoteAdded(InternalNoteAdded {
            conversation_id: c1,
            note_id: Uuid::now_v7(),
            author_id: x,
            body: "not a response".into(),
            added_at: at(2026, 11, 2, 10, 12),
        }),
        at(2026, 11, 2, 10, 12),
    );
    s.message(c1, SenderKind::Bot, None, at(2026, 11, 2, 10, 13)); // not a response either
    s.message(c1, SenderKind::Operator, Some(x), at(2026, 11, 2, 10, 20)); // NRT 600 s > 300
    s.status(c1, Open, Resolved, at(2026, 11, 2, 10, 30)); // RT 1800 s
    s.message(c1, SenderKind::Contact, None, at(2026, 11, 2, 10, 40));
    s.status(c1, Resolved, Open, at(2026, 11, 2, 10, 40)); // reopened; a wait starts
    s.status(c1, Open, Resolved, at(2026, 11, 2, 11, 30)); // RT 5400 s > 3600; wait dropped
    s.rate(c1, RatingScale::Csat, 4, at(2026, 11, 2, 11, 31));

    // c2, business hours: Friday 13 November 17:45 Kyiv (15:45 UTC).
    // Its start carries the terms; the others take the inbox's from the projection.
    s.start(
        c2,
        office_inbox,
        Some(office_terms()),
        at(2026, 11, 13, 15, 45),
    );
    s.assign(c2, y, at(2026, 11, 13, 15, 46));
    // Monday 09:20 Kyiv: 15 min on Friday + 20 min on Monday = 2100 s > 1800; the deadline
    // (30 open minutes) fell on Monday 09:15 Kyiv, 07:15 UTC.
    s.message(c2, SenderKind::Operator, Some(y), at(2026, 11, 16, 7, 20));
    s.message(c2, SenderKind::Contact, None, at(2026, 11, 16, 7, 30));
    s.message(c2, SenderKind::Operator, Some(y), at(2026, 11, 16, 7, 35)); // NRT 300 s
                                                                           // Monday 10:00 Kyiv: 15 + 60 open minutes = 4500 s; due Monday 10:45 Kyiv.
    s.status(c2, Open, Resolved, at(2026, 11, 16, 8, 0));
    s.rate(c2, RatingScale::Nps, 9, at(2026, 11, 16, 8, 1));

    // c3, business hours, Monday 16 November 10:30 Kyiv; never answered.
    s.start(c3, office_inbox, None, at(2026, 11, 16, 8, 30));
    s.rate(c3, RatingScale::Nps, 8, at(2026, 11, 16, 9, 0));

    Scenario {
        wall_inbox,
        office_inbox,
        x,
        y,
        c1,
        c2,
        c3,
        events: s.events,
    }
}

async fn apply(pool: &PgPool, events: &[RecordedEvent]) {
    apply_batch(pool, &SlaProjection, &NoLog, events)
        .await
        .unwrap();
}

fn november() -> ReportQuery {
    ReportQuery {
        from: at(2026, 11, 1, 0, 0),
        to: at(2026, 12, 1, 0, 0),
        group_by: Vec::new(),
        time_zone: "UTC".into(),
        inbox_ids: Vec::new(),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn proj_3_sla_figures_of_a_scripted_history(pool: PgPool) {
    let s = scenario();
    apply(&pool, &s.events).await;

    let c1 = read::conversation(&pool, s.c1).await.unwrap().unwrap();
    type Figures<'a> = (&'a str, i64, Option<DateTime<Utc>>, bool, Option<Uuid>);
    let responses: Vec<Figures> = c1
        .responses
        .iter()
        .map(|r| {
            (
                r.kind.as_str(),
                r.seconds,
                r.deadline,
                r.breached,
                r.operator_id,
            )
        })
        .collect();
    assert_eq!(
        responses,
        [
            (
                "first",
                240,
                Some(at(2026, 11, 2, 10, 10)),
                false,
                Some(s.x)
            ),
            ("next", 600, Some(at(2026, 11, 2, 10, 15)), true, Some(s.x)),
        ]
    );
    let resolutions: Vec<(i64, bool, Option<Uuid>)> = c1
        .resolutions
        .iter()
        .map(|r| (r.seconds, r.breached, r.operator_id))
        .collect();
    assert_eq!(
        resolutions,
        [(1800, false, Some(s.x)), (5400, true, Some(s.x))]
    );
    assert_eq!(c1.conversation.reopen_count, 1);
    assert_eq!(
        c1.conversation.waiting_since, None,
        "a resolve ends the wait"
    );
    assert_eq!(
        c1.breaches(at(2026, 11, 25, 0, 0)),
        [
            Breach {
                metric: Metric::NextResponse,
                deadline: at(2026, 11, 2, 10, 15),
                met_at: Some(at(2026, 11, 2, 10, 20)),
            },
            Breach {
                metric: Metric::Resolution,
                deadline: at(2026, 11, 2, 11, 0),
                met_at: Some(at(2026, 11, 2, 11, 30)),
            },
        ]
    );

    let c2 = read::conversation(&pool, s.c2).await.unwrap().unwrap();
    let responses: Vec<(&str, i64, Option<DateTime<Utc>>, bool)> = c2
        .responses
        .iter()
        .map(|r| (r.kind.as_str(), r.seconds, r.deadline, r.breached))
        .collect();
    assert_eq!(
        responses,
        [
            ("first", 2100, Some(at(2026, 11, 16, 7, 15)), true),
            ("next", 300, Some(at(2026, 11, 16, 7, 40)), false),
        ]
    );
    assert_eq!(c2.resolutions[0].seconds, 4500);
    assert_eq!(c2.resolutions[0].deadline, Some(at(2026, 11, 16, 8, 45)));
    assert!(!c2.resolutions[0].breached);

    // c3 is still waiting for its first response, due Monday 11:00 Kyiv.
    let c3 = read::conversation(&pool, s.c3).await.unwrap().unwrap();
    assert_eq!(
        c3.conversation.first_response_due,
        Some(at(2026, 11, 16, 9, 0))
    );
    assert_eq!(c3.breaches(at(2026, 11, 16, 8, 59)), []);
    assert_eq!(
        c3.breaches(at(2026, 11, 16, 9, 1)),
        [Breach {
            metric: Metric::FirstResponse,
            deadline: at(2026, 11, 16, 9, 0),
            met_at: None,
        }]
    );

    // The report, by inbox.
    let by_inbox = read::report(
        &pool,
        &ReportQuery {
            group_by: vec![Dimension::Inbox],
            ..november()
        },
    )
    .await
    .unwrap();
    let wall = by_inbox
        .iter()
        .find(|r| r.key.inbox_id == Some(s.wall_inbox))
        .unwrap();
    assert_eq!(
        wall.started_by_status,
        [("resolved".to_string(), 1)].into_iter().collect()
    );
    assert_eq!((wall.open_backlog, wall.reopens), (0, 1));
    assert_eq!(
        wall.first_response,
        read::TimeFigures {
            count: 1,
            average_secs: Some(240.0),
            p50_secs: Some(240.0),
            p90_secs: Some(240.0),
            breaches: 0
        }
    );
    assert_eq!(
        wall.next_response,
        read::TimeFigures {
            count: 1,
            average_secs: Some(600.0),
            p50_secs: Some(600.0),
            p90_secs: Some(600.0),
            breaches: 1
        }
    );
    // 1800 and 5400: the mean and median 3600, p90 = 1800 + 0.9 × 3600.
    assert_eq!(
        wall.resolution,
        read::TimeFigures {
            count: 2,
            average_secs: Some(3600.0),
            p50_secs: Some(3600.0),
            p90_secs: Some(5040.0),
            breaches: 1
        }
    );
    assert_eq!((wall.csat_count, wall.csat_average), (1, Some(4.0)));
    assert_eq!((wall.nps_count, wall.nps), (0, None));

    let office = by_inbox
        .iter()
        .find(|r| r.key.inbox_id == Some(s.office_inbox))
        .unwrap();
    assert_eq!(
        office.started_by_status,
        [("open".to_string(), 1), ("resolved".to_string(), 1)]
            .into_iter()
            .collect()
    );
    assert_eq!(office.open_backlog, 1);
    assert_eq!(
        (office.first_response.count, office.first_response.breaches),
        (1, 1)
    );
    assert_eq!(office.first_response.average_secs, Some(2100.0));
    assert_eq!(office.next_response.average_secs, Some(300.0));
    assert_eq!(office.resolution.average_secs, Some(4500.0));
    // One promoter (9), one passive (8): 50.
    assert_eq!((office.nps_count, office.nps), (2, Some(50.0)));
    assert_eq!(by_inbox.len(), 2);

    // Everything together: first responses 240 and 2100.
    let total = read::report(&pool, &november()).await.unwrap();
    assert_eq!(total.len(), 1);
    assert_eq!(
        total[0].first_response,
        read::TimeFigures {
            count: 2,
            average_secs: Some(1170.0),
            p50_secs: Some(1170.0),
            p90_secs: Some(1914.0),
            breaches: 1
        }
    );

    // By operator: x answered c1, y answered c2; c3 has nobody.
    let by_operator = read::report(
        &pool,
        &ReportQuery {
            group_by: vec![Dimension::Operator],
            ..november()
        },
    )
    .await
    .unwrap();
    let figures: Vec<(Option<Uuid>, i64, i64, i64)> = by_operator
        .iter()
        .map(|r| {
            (
                r.key.operator_id,
                r.started_by_status.values().sum(),
                r.first_response.count,
                r.resolution.count,
            )
        })
        .collect();
    let mut expected = vec![(Some(s.x), 1, 1, 2), (Some(s.y), 1, 1, 1), (None, 1, 0, 0)];
    expected.sort();
    let mut figures = figures;
    figures.sort();
    assert_eq!(figures, expected);

    // By day in Kyiv: c2's first response came on Monday 16th, when c3 started.
    let by_day = read::report(
        &pool,
        &ReportQuery {
            group_by: vec![Dimension::Day],
            time_zone: "Europe/Kyiv".into(),
            ..november()
        },
    )
    .await
    .unwrap();
    let days: Vec<(Option<NaiveDate>, i64, i64)> = by_day
        .iter()
        .map(|r| {
            (
                r.key.day,
                r.started_by_status.values().sum(),
                r.first_response.count,
            )
        })
        .collect();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d);
    assert_eq!(days, [(day(2), 1, 1), (day(13), 1, 0), (day(16), 1, 1)]);

    // A redelivered batch changes nothing.
    let before = read::report(&pool, &november()).await.unwrap();
    apply(&pool, &s.events).await;
    assert_eq!(read::report(&pool, &november()).await.unwrap(), before);
    assert_eq!(read::conversation(&pool, s.c1).await.unwrap().unwrap(), c1);
}

const WAIT: Duration = Duration::from_secs(60);
const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

const REPORT: &str =
    "query($from: DateTime!, $to: DateTime!, $groupBy: [SlaDimension!]!, $tz: String!) {
  slaReport(from: $from, to: $to, groupBy: $groupBy, timeZone: $tz) {
    inboxId operatorId day conversations openBacklog reopens
    byStatus { status count }
    firstResponse { count averageSeconds p50Seconds p90Seconds breaches }
    nextResponse { count breaches } resolution { count breaches }
    csatCount csatAverage npsCount nps
  } }";

/// Through the whole pipeline and GraphQL, on the real clock: the figures a conversation
/// shows are the ones the report sums up.
#[sqlx::test(migrations = "../migrations")]
async fn proj_3_sla_report_and_conversation_figures_over_graphql(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let (inbox_id, token) = create_inbox(&server, &admin, "Support").await;
    server
        .graphql_ok(
            "mutation($id: UUID!, $settings: InboxSettingsInput!) {
               updateInbox(inboxId: $id, settings: $settings) { changed } }",
            json!({ "id": inbox_id, "settings": { "title": "Support", "rating": "CSAT",
                     "sla": { "firstResponseSecs": 3600, "nextResponseSecs": 3600,
                              "resolutionSecs": 86400 } } }),
            Some(&admin),
        )
        .await;
    // Both the SLA projection (the policy) and the inboxes projection (the rating scale the
    // API checks) have the new settings before the conversation starts.
    eventually(WAIT, || async {
        let (policy, rating): (Option<Value>, Option<String>) = sqlx::query_as(
            "select (select policy from sla_inboxes where inbox_id = $1::uuid),
                    (select settings ->> 'rating' from inboxes where inbox_id = $1::uuid)",
        )
        .bind(&inbox_id)
        .fetch_one(&server.pool)
        .await
        .unwrap();
        (policy.is_some_and(|p| p["first_response_secs"] == 3600)
            && rating.as_deref() == Some("csat"))
        .then_some(())
    })
    .await;
    let (agent_id, agent) = server
        .register_operator("Agent", vec![Role::Manager], None, None)
        .await;
    let c = start(&server, json!({ "widgetToken": token, "message": "hi" })).await;
    let id = c.conversation_id.as_str();
    server
        .graphql_ok(
            "mutation($id: UUID!) { takeConversation(conversationId: $id) { changed } }",
            json!({ "id": id }),
            Some(&agent),
        )
        .await;
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "Hello" } }),
            Some(&agent),
        )
        .await;
    server
        .graphql_ok(
            SEND,
            json!({ "input": { "conversationId": id, "body": "one more" } }),
            Some(&c.session),
        )
        .await;
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": id, "body": "Sure" } }),
            Some(&agent),
        )
        .await;
    server
        .graphql_ok(
            "mutation($id: UUID!) { changeConversationStatus(conversationId: $id, status: RESOLVED) { changed } }",
            json!({ "id": id }),
            Some(&agent),
        )
        .await;
    server
        .graphql_ok(
            "mutation($input: RateConversationInput!) { rateConversation(input: $input) { score } }",
            json!({ "input": { "conversationId": id, "score": 5 } }),
            Some(&c.session),
        )
        .await;

    let sla = eventually(WAIT, || async {
        let data = server
            .graphql_ok(
                "query($id: UUID!) { conversation(id: $id) { sla {
                   firstResponseDue firstResponseAt reopenCount
                   responses { kind seconds breached operatorId }
                   resolutions { seconds breached operatorId }
                   breaches { metric } } } }",
                json!({ "id": id }),
                Some(&admin),
            )
            .await;
        let sla = data["conversation"]["sla"].clone();
        (sla["resolutions"].as_array().is_some_and(|r| r.len() == 1)).then_some(sla)
    })
    .await;
    let kinds: Vec<(&str, bool, &str)> = sla["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["breached"].as_bool().unwrap(),
                r["operatorId"].as_str().unwrap(),
            )
        })
        .collect();
    let agent_text = agent_id.to_string();
    assert_eq!(
        kinds,
        [
            ("FIRST", false, agent_text.as_str()),
            ("NEXT", false, agent_text.as_str())
        ]
    );
    assert_eq!(sla["breaches"], json!([]));
    assert_eq!(sla["reopenCount"], 0);
    let first_seconds = sla["responses"][0]["seconds"].as_i64().unwrap();

    let now = Utc::now();
    let analyst = token_for(&server, Role::Analyst).await;
    // The rating is the conversation's last event: once the report counts it, every event
    // before it is in too.
    let report = eventually(WAIT, || async {
        let report = server
            .graphql_ok(
                REPORT,
                json!({ "from": now - chrono::Duration::hours(1), "to": now + chrono::Duration::hours(1),
                        "groupBy": ["INBOX", "OPERATOR"], "tz": "UTC" }),
                Some(&analyst),
            )
            .await;
        (report["slaReport"][0]["csatCount"] == json!(1)).then_some(report)
    })
    .await;
    let rows = report["slaReport"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    let row = &rows[0];
    assert_eq!(row["inboxId"], inbox_id);
    assert_eq!(row["operatorId"], agent_text);
    assert_eq!(row["conversations"], 1);
    assert_eq!(
        row["byStatus"],
        json!([{ "status": "RESOLVED", "count": 1 }])
    );
    assert_eq!(row["openBacklog"], 0);
    assert_eq!(
        row["firstResponse"],
        json!({ "count": 1, "averageSeconds": first_seconds as f64,
                "p50Seconds": first_seconds as f64, "p90Seconds": first_seconds as f64,
                "breaches": 0 })
    );
    assert_eq!(row["nextResponse"], json!({ "count": 1, "breaches": 0 }));
    assert_eq!(row["resolution"], json!({ "count": 1, "breaches": 0 }));
    assert_eq!(
        (row["csatCount"].clone(), row["csatAverage"].clone()),
        (json!(1), json!(5.0))
    );
    assert_eq!(
        (row["npsCount"].clone(), row["nps"].clone()),
        (json!(0), Value::Null)
    );

    // Reports are for admins, managers and analysts; ranges and zones are checked.
    let moderator = token_for(&server, Role::Moderator).await;
    let vars = |from: DateTime<Utc>, to: DateTime<Utc>, tz: &str| json!({ "from": from, "to": to, "groupBy": [], "tz": tz });
    for (token, variables, code) in [
        (
            &moderator,
            vars(now, now + chrono::Duration::hours(1), "UTC"),
            "FORBIDDEN",
        ),
        (&admin, vars(now, now, "UTC"), "INVALID_ARGUMENT"),
        (
            &admin,
            vars(now, now + chrono::Duration::days(400), "UTC"),
            "INVALID_ARGUMENT",
        ),
        (
            &admin,
            vars(now, now + chrono::Duration::hours(1), "Mars/Olympus"),
            "INVALID_ARGUMENT",
        ),
    ] {
        let refused = server.graphql(REPORT, variables.clone(), Some(token)).await;
        assert_eq!(error_extensions(&refused)["code"], code, "{variables}");
    }
    server.stop().await;
}

async fn token_for(_server: &TestServer, role: Role) -> String {
    switchboard_tests::token_with_roles(vec![role])
}

/// A deadline that passes with the wait still running becomes an `SlaBreached` event in the
/// log, once, recorded by the scheduler (and so reaches Kafka and webhooks); the late
/// response is then counted as breached.
#[sqlx::test(migrations = "../migrations")]
async fn proj_3_a_missed_deadline_is_recorded_in_the_log_once(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    const WITH_SCHEDULER: &[Component] = &[
        Component::Api,
        Component::Relay,
        Component::Projections,
        Component::Scheduler,
    ];
    let server = TestServer::start(&test_settings(), pool_for(connect).await, WITH_SCHEDULER).await;
    let admin = server.operator_token();
    let (inbox_id, token) = create_inbox(&server, &admin, "Support").await;
    server
        .graphql_ok(
            "mutation($id: UUID!, $settings: InboxSettingsInput!) {
               updateInbox(inboxId: $id, settings: $settings) { changed } }",
            json!({ "id": inbox_id, "settings": { "title": "Support",
                     "sla": { "firstResponseSecs": 1 } } }),
            Some(&admin),
        )
        .await;
    // The API takes the terms a start records from the inboxes projection.
    eventually(WAIT, || async {
        let target: Option<String> = sqlx::query_scalar(
            "select settings -> 'sla' ->> 'first_response_secs' from inboxes where inbox_id = $1::uuid",
        )
        .bind(&inbox_id)
        .fetch_optional(&server.pool)
        .await
        .unwrap()
        .flatten();
        (target.as_deref() == Some("1")).then_some(())
    })
    .await;
    let c = start(
        &server,
        json!({ "widgetToken": token, "message": "hello?" }),
    )
    .await;
    let breaches = || async {
        sqlx::query_as::<_, (Value, Value)>(
            "select b.payload, s.payload from events b
             join events s on s.stream_id = b.stream_id and s.event_type = 'ConversationStarted'
             where b.stream_id = $1::uuid and b.event_type = 'SlaBreached'",
        )
        .bind(&c.conversation_id)
        .fetch_all(&server.pool)
        .await
        .unwrap()
    };
    let (breach, started) = eventually(WAIT, || async { breaches().await.pop() }).await;
    assert_eq!(breach["metric"], "first_response");
    let parse = |v: &Value| DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    // The start to the nanosecond; the deadline went through PostgreSQL (microseconds).
    assert_eq!(
        parse(&breach["deadline"]).timestamp_micros()
            - parse(&started["started_at"]).timestamp_micros(),
        1_000_000
    );
    assert_eq!(started["sla"]["policy"]["first_response_secs"], 1);
    // Many scheduler ticks later (100 ms each), still one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(breaches().await.len(), 1);

    let (_, agent) = server
        .register_operator("Agent", vec![Role::Manager], None, None)
        .await;
    server
        .graphql_ok(
            "mutation($id: UUID!) { takeConversation(conversationId: $id) { changed } }",
            json!({ "id": c.conversation_id }),
            Some(&agent),
        )
        .await;
    server
        .graphql_ok(
            REPLY,
            json!({ "input": { "conversationId": c.conversation_id, "body": "Sorry!" } }),
            Some(&agent),
        )
        .await;
    let sla = eventually(WAIT, || async {
        let data = server
            .graphql_ok(
                "query($id: UUID!) { conversation(id: $id) { sla {
                   responses { kind breached } breaches { metric deadline metAt } } } }",
                json!({ "id": c.conversation_id }),
                Some(&admin),
            )
            .await;
        let sla = data["conversation"]["sla"].clone();
        (sla["responses"].as_array().is_some_and(|r| r.len() == 1)).then_some(sla)
    })
    .await;
    assert_eq!(
        sla["responses"],
        json!([{ "kind": "FIRST", "breached": true }])
    );
    assert_eq!(sla["breaches"][0]["metric"], "FIRST_RESPONSE");
    assert_eq!(
        parse(&sla["breaches"][0]["deadline"]),
        parse(&breach["deadline"])
    );
    assert!(!sla["breaches"][0]["metAt"].is_null());
    let recorded: i64 =
        sqlx::query_scalar("select count(*) from sla_breaches where conversation_id = $1::uuid")
            .bind(&c.conversation_id)
            .fetch_one(&server.pool)
            .await
            .unwrap();
    assert_eq!(recorded, 1);
    server.stop().await;
}
