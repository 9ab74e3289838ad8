//! SPEC's CONV-7 end to end: upload over HTTP, attach to a message through GraphQL, download
//! with the conversation's tokens only; types told from the bytes, limits per inbox.

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_api::auth::Role;
use switchboard_server::runtime::Component;
use switchboard_tests::calls::{conversation_when, error_extensions, start, CREATE_INBOX, START};
use switchboard_tests::{operator_token, pool_for, test_settings, TestServer};

const ALL: &[Component] = &[Component::Api, Component::Relay, Component::Projections];

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n";

/// POSTs `bytes` to /attachments; the status and the JSON answer.
async fn upload(
    server: &TestServer,
    token: Option<&str>,
    conversation: &str,
    name: &str,
    bytes: &[u8],
) -> (u16, Value) {
    let mut request = server
        .http
        .post(format!("{}/attachments", server.base))
        .query(&[("conversationId", conversation), ("name", name)])
        // A lie the server must not believe: the type comes from the bytes.
        .header("content-type", "text/html")
        .body(bytes.to_vec());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn download(server: &TestServer, token: Option<&str>, url: &str) -> reqwest::Response {
    let mut request = server.http.get(format!("{}{url}", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_7_attachments_upload_send_download(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_for(connect).await;
    let server = TestServer::start(&test_settings(), pool.clone(), ALL).await;
    let admin = operator_token();
    let c = start(&server, json!({ "message": "my receipt follows" })).await;
    let id = c.conversation_id.as_str();

    // The contact uploads a picture (named with a path, as some browsers send it) and sends
    // it with no text.
    let (status, uploaded) =
        upload(&server, Some(&c.session), id, "C:\\photos\\shot.png", PNG).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["name"], "shot.png");
    assert_eq!(uploaded["contentType"], "image/png");
    assert_eq!(uploaded["size"], PNG.len());
    let sent = server
        .graphql_ok(
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) {
               body attachments { id name contentType size url } } }",
            json!({ "input": { "conversationId": id, "body": "", "attachmentIds": [uploaded["id"]] } }),
            Some(&c.session),
        )
        .await;
    let attachment = sent["sendMessage"]["attachments"][0].clone();
    assert_eq!(sent["sendMessage"]["body"], "");
    assert_eq!(
        attachment["url"],
        format!("/attachments/{}", uploaded["id"].as_str().unwrap())
    );

    // The operator sees it in the thread and downloads the same bytes.
    let view = conversation_when(&server, &admin, id, |c| c["messageCount"] == 2).await;
    assert_eq!(view["messages"]["nodes"][1]["body"], "");
    let url = attachment["url"].as_str().unwrap();
    let response = download(&server, Some(&admin), url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"shot.png\"; filename*=UTF-8''shot.png"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
    // The contact too; nobody else: another conversation's session, no token, a moderator
    // it is not assigned to.
    assert_eq!(download(&server, Some(&c.session), url).await.status(), 200);
    let other = start(&server, json!({ "message": "hi" })).await;
    let foreign = download(&server, Some(&other.session), url).await;
    assert_eq!(foreign.status(), 404);
    assert_eq!(
        foreign.json::<Value>().await.unwrap()["code"],
        "ATTACHMENT_NOT_FOUND"
    );
    assert_eq!(download(&server, None, url).await.status(), 401);
    let (_, moderator) = server
        .register_operator("M", vec![Role::Moderator], None, None)
        .await;
    let refused = download(&server, Some(&moderator), url).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "NOT_ASSIGNEE"
    );
    let analyst = switchboard_tests::token_with_roles(vec![Role::Analyst]);
    assert_eq!(download(&server, Some(&analyst), url).await.status(), 403);

    // Another conversation cannot send this conversation's file.
    let stolen = server
        .graphql(
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
            json!({ "input": { "conversationId": other.conversation_id, "body": "look", "attachmentIds": [uploaded["id"]] } }),
            Some(&other.session),
        )
        .await;
    assert_eq!(error_extensions(&stolen)["code"], "ATTACHMENT_NOT_FOUND");
    // No text and no attachment is still refused.
    let empty = server
        .graphql(
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
            json!({ "input": { "conversationId": id, "body": " " } }),
            Some(&c.session),
        )
        .await;
    assert_eq!(error_extensions(&empty)["code"], "EMPTY_BODY");

    // An operator replies with a PDF.
    let (status, pdf) = upload(&server, Some(&admin), id, "invoice.pdf", PDF).await;
    assert_eq!(status, 201, "{pdf}");
    let reply = server
        .graphql_ok(
            "mutation($input: ReplyInput!) { replyToConversation(input: $input) { attachments { contentType } } }",
            json!({ "input": { "conversationId": id, "body": "Here is the invoice", "attachmentIds": [pdf["id"]] } }),
            Some(&admin),
        )
        .await;
    assert_eq!(
        reply["replyToConversation"]["attachments"][0]["contentType"],
        "application/pdf"
    );

    // The log records what identifies each file.
    let logged: Value = sqlx::query_scalar(
        "select payload->'attachments' from events
         where stream_id = $1::uuid and event_type = 'MessagePosted' and schema_version = 2
         order by stream_version offset 1 limit 1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(logged[0]["attachment_id"], uploaded["id"]);
    assert_eq!(logged[0]["sha256"], uploaded["sha256"]);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn conv_7_attachment_types_and_sizes_per_inbox(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server = TestServer::start(&test_settings(), pool_for(connect).await, ALL).await;
    let admin = operator_token();
    // This inbox takes PDFs of up to 40 bytes only.
    let created = server
        .graphql_ok(
            CREATE_INBOX,
            json!({ "input": { "settings": { "title": "Docs", "maxAttachmentBytes": 40, "attachmentTypes": ["PDF"] } } }),
            Some(&admin),
        )
        .await;
    let widget = created["createInbox"]["widgetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = switchboard_tests::eventually(std::time::Duration::from_secs(60), || async {
        let response = server
            .graphql(
                START,
                json!({ "input": { "widgetToken": widget, "message": "hi" } }),
                None,
            )
            .await;
        response.get("errors").is_none().then_some(response)
    })
    .await;
    let id = started["data"]["startConversation"]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = started["data"]["startConversation"]["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let cases: [(&[u8], u16, &str); 4] = [
        (PNG, 415, "UNSUPPORTED_ATTACHMENT_TYPE"),
        (
            b"<script>alert(1)</script>",
            415,
            "UNSUPPORTED_ATTACHMENT_TYPE",
        ),
        (b"", 400, "EMPTY_FILE"),
        (&[PDF, PDF].concat(), 413, "ATTACHMENT_TOO_LARGE"),
    ];
    for (bytes, status, code) in cases {
        let (got, body) = upload(&server, Some(&session), &id, "f", bytes).await;
        assert_eq!(
            (got, body["code"].as_str().unwrap()),
            (status, code),
            "{body}"
        );
    }
    // Over the server's own limit (1 MiB in the tests): refused before it is read.
    let huge = [PDF, &vec![b' '; 2 * 1024 * 1024]].concat();
    let (got, body) = upload(&server, Some(&session), &id, "f", &huge).await;
    assert_eq!(
        (got, body["code"].as_str().unwrap()),
        (413, "ATTACHMENT_TOO_LARGE")
    );
    let (got, _) = upload(&server, Some(&session), &id, "ok.pdf", PDF).await;
    assert_eq!(got, 201);
    // No token, the wrong session, a conversation that does not exist, no conversation id.
    let (got, body) = upload(&server, None, &id, "f", PDF).await;
    assert_eq!(
        (got, body["code"].as_str().unwrap()),
        (401, "UNAUTHENTICATED")
    );
    let other = start(&server, json!({ "message": "hi" })).await;
    let (got, body) = upload(&server, Some(&other.session), &id, "f", PDF).await;
    assert_eq!((got, body["code"].as_str().unwrap()), (403, "FORBIDDEN"));
    let (got, body) = upload(
        &server,
        Some(&admin),
        &uuid::Uuid::now_v7().to_string(),
        "f",
        PDF,
    )
    .await;
    assert_eq!(
        (got, body["code"].as_str().unwrap()),
        (404, "CONVERSATION_NOT_FOUND")
    );
    let response = server
        .http
        .post(format!("{}/attachments", server.base))
        .bearer_auth(&admin)
        .body(PDF.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "INVALID_ARGUMENT"
    );
    server.stop().await;
}
