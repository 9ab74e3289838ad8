//! OPS-M1 against the running service: `/metrics` (request latency, open subscriptions, relay
//! and projection lag, webhook figures), `/readyz`, and request ids that come back in
//! `X-Request-Id` and are stored as the correlation id of the events a request recorded.

use std::time::Duration;

use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_server::runtime::Component;
use switchboard_tests::calls::create_inbox;
use switchboard_tests::{eventually, pool_for, test_settings, TestServer, WsClient};
use uuid::Uuid;

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

async fn metrics(server: &TestServer) -> String {
    let response = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// The value of the sample line that starts with `series ` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

#[sqlx::test(migrations = "../migrations")]
async fn metrics_report_latency_subscriptions_and_lag(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let operator = server.operator_token();
    create_inbox(&server, &operator, "Support").await;

    let mut ws = WsClient::connect(&server.ws_url(), Some(&operator))
        .await
        .unwrap();
    let id = ws
        .subscribe("subscription { unreadChanged { total } }", json!({}))
        .await
        .unwrap();
    ws.next_data(&id, Duration::from_secs(10)).await.unwrap();

    let text = metrics(&server).await;
    assert_eq!(
        sample(&text, "switchboard_open_subscription_sockets"),
        Some(1.0)
    );
    assert_eq!(sample(&text, "switchboard_open_subscriptions"), Some(1.0));
    // create_inbox made POSTs to /graphql, all answered 200.
    let posts = sample(
        &text,
        r#"switchboard_http_request_duration_seconds_count{route="/graphql",method="POST",status="200"}"#,
    )
    .expect("a latency histogram for POST /graphql");
    assert!(posts >= 2.0, "{posts} requests counted");
    let buckets = text
        .lines()
        .filter(|line| {
            line.starts_with("switchboard_http_request_duration_seconds_bucket{")
                && line.contains(r#"route="/graphql",method="POST",status="200""#)
        })
        .count();
    assert_eq!(buckets, 16, "15 bounds and +Inf:\n{text}");
    for line in [
        "switchboard_relay_lag_events",
        r#"switchboard_projection_lag_events{projection="conversations"}"#,
        r#"switchboard_projection_lag_events{projection="inboxes"}"#,
        r#"switchboard_webhook_deliveries{status="dead"}"#,
        "switchboard_webhook_failed_attempts",
    ] {
        assert!(sample(&text, line).is_some(), "no {line} in\n{text}");
    }
    // Everything published and applied: no lag left.
    eventually(Duration::from_secs(60), || async {
        let text = metrics(&server).await;
        (sample(&text, "switchboard_relay_lag_events") == Some(0.0)
            && sample(
                &text,
                r#"switchboard_projection_lag_events{projection="inboxes"}"#,
            ) == Some(0.0))
        .then_some(())
    })
    .await;

    // The socket goes: the gauges come back down.
    drop(ws);
    eventually(Duration::from_secs(10), || async {
        let text = metrics(&server).await;
        (sample(&text, "switchboard_open_subscription_sockets") == Some(0.0)
            && sample(&text, "switchboard_open_subscriptions") == Some(0.0))
        .then_some(())
    })
    .await;
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_request_id_comes_back_and_is_the_correlation_id_of_its_events(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // Behind a trusted proxy (which names the client's address), its request id is taken.
    let mut settings = test_settings();
    settings.client_ip_header = Some("x-forwarded-for".into());
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let (_, widget) = create_inbox(&server, &server.operator_token(), "Support").await;
    let request_id = Uuid::new_v4();
    let response = server
        .http
        .post(format!("{}/graphql", server.base))
        .header("x-request-id", request_id.to_string())
        .json(&json!({
            "query": "mutation($t: String!) { startConversation(input: {widgetToken: $t, message: \"Hi\"}) { conversationId } }",
            "variables": { "t": widget },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-request-id"].to_str().unwrap(),
        request_id.to_string()
    );
    let body: serde_json::Value = response.json().await.unwrap();
    let conversation: Uuid = body["data"]["startConversation"]["conversationId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let correlations: Vec<String> = sqlx::query_scalar(
        "select metadata->>'correlation_id' from events
         where stream_id = $1 and event_type in ('ConversationStarted', 'MessagePosted')
         order by stream_version",
    )
    .bind(conversation)
    .fetch_all(&server.pool)
    .await
    .unwrap();
    assert_eq!(correlations, vec![request_id.to_string(); 2]);

    // Without one (or with one that is not a UUID), the service makes one up and says which.
    let response = server
        .http
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "not-a-uuid")
        .send()
        .await
        .unwrap();
    let made_up: Uuid = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .parse()
        .expect("a UUID");
    assert_ne!(made_up, request_id);

    let ready = server
        .http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap(),
        json!({ "postgres": "ok", "kafka": "ok" })
    );
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn without_a_trusted_proxy_a_clients_request_id_is_not_taken(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let chosen = Uuid::new_v4();
    let response = server
        .http
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", chosen.to_string())
        .send()
        .await
        .unwrap();
    let given: Uuid = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(given, chosen);
    server.stop().await;
}
