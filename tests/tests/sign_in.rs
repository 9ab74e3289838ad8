//! Operator sign-in end to end (the console, issue 21): invitation by e-mail, password, access
//! and refresh tokens with rotation and reuse detection, CSRF, lockout, reset, sign-out and
//! deactivation, each checked in the log. Real PostgreSQL, Kafka and a local SMTP sink.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use switchboard_server::runtime::Component;
use switchboard_tests::fakes::{FakeBotApi, SmtpSink};
use switchboard_tests::{pool_for, settings_with_fakes, TestServer, WsClient};

const ALL: &[Component] = &[
    Component::Api,
    Component::Relay,
    Component::Projections,
    Component::Notifier,
];

const SESSION: &str = "accessToken expiresAt operator { id name roles email active }";

/// A browser's cookie jar for one origin, and the calls the console makes.
struct Browser<'a> {
    server: &'a TestServer,
    refresh: Option<String>,
    csrf: Option<String>,
}

struct Answer {
    body: Value,
    status: u16,
    cookies: Vec<String>,
}

impl<'a> Browser<'a> {
    fn new(server: &'a TestServer) -> Self {
        Self {
            server,
            refresh: None,
            csrf: None,
        }
    }

    async fn call(&mut self, query: &str, variables: Value, token: Option<&str>) -> Answer {
        let mut request = self
            .server
            .http
            .post(format!("{}/graphql", self.server.base))
            .json(&json!({ "query": query, "variables": variables }));
        let mut cookie = Vec::new();
        if let Some(refresh) = &self.refresh {
            cookie.push(format!("sb_refresh={refresh}"));
        }
        if let Some(csrf) = &self.csrf {
            cookie.push(format!("sb_csrf={csrf}"));
            request = request.header("x-switchboard-csrf", csrf);
        }
        if !cookie.is_empty() {
            request = request.header("cookie", cookie.join("; "));
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for set in &cookies {
            let (pair, _) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let value = (!value.is_empty()).then(|| value.to_owned());
            match name {
                "sb_refresh" => self.refresh = value,
                "sb_csrf" => self.csrf = value,
                _ => {}
            }
        }
        Answer {
            body: response.json().await.unwrap(),
            status,
            cookies,
        }
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        self.call(
            &format!("mutation($e: String!, $p: String!) {{ signIn(email: $e, password: $p) {{ {SESSION} }} }}"),
            json!({ "e": email, "p": password }),
            None,
        )
        .await
    }

    async fn refresh(&mut self) -> Answer {
        self.call(
            &format!("mutation {{ refreshSession {{ {SESSION} }} }}"),
            json!({}),
            None,
        )
        .await
    }
}

fn code(answer: &Answer) -> String {
    answer.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {}", answer.body))
        .to_owned()
}

fn token_of(answer: &Answer, field: &str) -> String {
    answer.body["data"][field]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no session in {}", answer.body))
        .to_owned()
}

/// The event types of an operator's stream.
async fn operator_events(pool: &PgPool, id: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select event_type from events where stream_id = $1::uuid order by stream_version",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The link a mail carries (`…/#/<page>?token=…`): its token.
fn link_token(mail: &str, page: &str) -> String {
    let mail = &switchboard_tests::fakes::quoted_printable_decoded(mail);
    let start = mail
        .find(&format!("/#/{page}?token="))
        .unwrap_or_else(|| panic!("no {page} link in {mail}"));
    let rest = &mail[start + page.len() + 10..];
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

const ME: &str = "query { me { id name roles } }";

#[sqlx::test(migrations = "../migrations")]
async fn an_invited_operator_signs_in_refreshes_and_signs_out(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let bot = FakeBotApi::start().await;
    let smtp = SmtpSink::start().await;
    let mut settings = settings_with_fakes(&bot, Some(&smtp));
    settings.notify.public_url = Some("https://chat.example.com".into());
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let admin = server.operator_token();

    // An admin invites; the e-mail carries the one-time link.
    let invited = server
        .graphql_ok(
            "mutation($i: InviteOperatorInput!) { inviteOperator(input: $i) { operatorId invitationPath } }",
            json!({ "i": { "email": "Olena@Example.com", "profile": { "name": "Olena", "roles": ["MODERATOR"] } } }),
            Some(&admin),
        )
        .await;
    let olena = invited["inviteOperator"]["operatorId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mails = smtp.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(mails[0].to, vec!["olena@example.com".to_owned()]);
    assert!(mails[0]
        .data
        .contains("Subject: Your invitation to Switchboard"));
    let token = link_token(&mails[0].data, "invitation");
    assert_eq!(
        invited["inviteOperator"]["invitationPath"],
        format!("/#/invitation?token={token}")
    );

    // A short password is refused and changes nothing; a good one signs them in.
    let mut browser = Browser::new(&server);
    const ACCEPT: &str =
        "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, password: $p) { accessToken operator { name roles } } }";
    let short = browser
        .call(ACCEPT, json!({ "t": token, "p": "short" }), None)
        .await;
    assert_eq!(code(&short), "PASSWORD_TOO_WEAK");
    assert_eq!(
        short.body["errors"][0]["extensions"]["minLength"],
        json!(10)
    );
    assert_eq!(
        operator_events(&server.pool, &olena).await,
        ["OperatorRegistered", "OperatorInvited"]
    );
    let accepted = browser
        .call(
            ACCEPT,
            json!({ "t": token, "p": "a long passphrase" }),
            None,
        )
        .await;
    let access = token_of(&accepted, "acceptInvitation");
    assert_eq!(
        accepted.body["data"]["acceptInvitation"]["operator"],
        json!({ "name": "Olena", "roles": ["MODERATOR"] })
    );
    let refresh_cookie = accepted
        .cookies
        .iter()
        .find(|c| c.starts_with("sb_refresh="))
        .unwrap();
    assert!(refresh_cookie.contains("HttpOnly"), "{refresh_cookie}");
    assert!(
        refresh_cookie.contains("SameSite=Strict"),
        "{refresh_cookie}"
    );
    assert!(refresh_cookie.contains("Secure"), "{refresh_cookie}");
    assert!(refresh_cookie.contains("Path=/graphql"), "{refresh_cookie}");
    // The access token works; its roles are the profile's.
    let me = server.graphql_ok(ME, json!({}), Some(&access)).await;
    assert_eq!(me["me"]["roles"], json!(["MODERATOR"]));

    // The link works once.
    let again = Browser::new(&server)
        .call(
            ACCEPT,
            json!({ "t": token, "p": "another passphrase" }),
            None,
        )
        .await;
    assert_eq!(code(&again), "INVITATION_INVALID");

    // Refresh rotates; without the CSRF header it is refused.
    let before = browser.refresh.clone().unwrap();
    let csrf = browser.csrf.take();
    assert_eq!(code(&browser.refresh().await), "CSRF_REJECTED");
    browser.csrf = csrf;
    token_of(&browser.refresh().await, "refreshSession");
    assert_ne!(Some(&before), browser.refresh.as_ref(), "rotated");
    // Rotated twice: the first token is two generations old.
    let second = token_of(&browser.refresh().await, "refreshSession");
    let after = browser.refresh.clone().unwrap();
    server.graphql_ok(ME, json!({}), Some(&second)).await;

    // Signed in with the password too (the address in any case).
    let mut laptop = Browser::new(&server);
    let signed = laptop
        .sign_in(" OLENA@example.com ", "a long passphrase")
        .await;
    token_of(&signed, "signIn");
    assert_eq!(
        signed.body["data"]["signIn"]["operator"]["email"],
        "olena@example.com"
    );

    // A replaced refresh token (not even the last one), used again past the grace: the
    // session ends.
    sqlx::query("update operator_sessions set rotated_at = now() - interval '1 minute'")
        .execute(&server.pool)
        .await
        .unwrap();
    browser.refresh = Some(before);
    let reused = browser.refresh().await;
    assert_eq!(code(&reused), "REFRESH_TOKEN_REUSED");
    assert_eq!(browser.refresh, None, "cookies cleared");
    // The current token of the ended session is no good either.
    browser.refresh = Some(after);
    browser.csrf = Some("still-the-pages".into());
    assert_eq!(code(&browser.refresh().await), "SESSION_ENDED");
    let ended = server.graphql(ME, json!({}), Some(&second)).await;
    assert_eq!(
        ended["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{ended}"
    );

    // Sign-out ends the laptop's session at once, and its open socket within seconds.
    let laptop_token = token_of(&signed, "signIn");
    let mut socket = WsClient::connect(&server.ws_url(), Some(&laptop_token))
        .await
        .unwrap();
    socket
        .subscribe("subscription { unreadChanged { total } }", json!({}))
        .await
        .unwrap();
    let out = laptop.call("mutation { signOut }", json!({}), None).await;
    assert_eq!(out.body["data"]["signOut"], json!(true));
    assert_eq!(laptop.refresh, None, "cookie cleared");
    let gone = server.graphql(ME, json!({}), Some(&laptop_token)).await;
    assert_eq!(gone["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let closed = loop {
        match socket.receive(Duration::from_secs(15)).await {
            Ok(_) => continue,
            Err(err) => break err.to_string(),
        }
    };
    assert_eq!(closed, "the socket closed");

    assert_eq!(
        operator_events(&server.pool, &olena).await,
        [
            "OperatorRegistered",
            "OperatorInvited",
            "OperatorInvitationAccepted",
            "OperatorSignedIn",
            "OperatorSignedIn",
            "OperatorSignedOut",
            "OperatorSignedOut",
        ]
    );
    let reasons: Vec<String> = sqlx::query_scalar(
        "select payload->>'reason' from events
         where stream_id = $1::uuid and event_type = 'OperatorSignedOut' order by stream_version",
    )
    .bind(&olena)
    .fetch_all(&server.pool)
    .await
    .unwrap();
    assert_eq!(reasons, ["refresh_token_reused", "signed_out"]);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn wrong_passwords_lock_resets_unlock_and_deactivation_ends_sessions(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let bot = FakeBotApi::start().await;
    let smtp = SmtpSink::start().await;
    let mut settings = settings_with_fakes(&bot, Some(&smtp));
    settings.notify.public_url = Some("http://127.0.0.1:1".into());
    let server = TestServer::start(&settings, pool_for(connect).await, ALL).await;
    let admin = server.operator_token();
    let invited = server
        .graphql_ok(
            "mutation($i: InviteOperatorInput!) { inviteOperator(input: $i) { operatorId invitationPath } }",
            json!({ "i": { "email": "ivan@example.com", "profile": { "name": "Ivan", "roles": ["MANAGER"] } } }),
            Some(&admin),
        )
        .await;
    let ivan = invited["inviteOperator"]["operatorId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = invited["inviteOperator"]["invitationPath"]
        .as_str()
        .unwrap();
    let token = path.split("token=").nth(1).unwrap();
    let mut browser = Browser::new(&server);
    browser
        .call(
            "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, password: $p) { accessToken } }",
            json!({ "t": token, "p": "correct horse battery" }),
            None,
        )
        .await;
    let session = token_of(
        &browser
            .sign_in("ivan@example.com", "correct horse battery")
            .await,
        "signIn",
    );

    // An unknown address: the same answer, recorded in its own stream.
    let mut stranger = Browser::new(&server);
    assert_eq!(
        code(
            &stranger
                .sign_in("nobody@example.com", "whatever it is")
                .await
        ),
        "INVALID_CREDENTIALS"
    );
    let unknown: Vec<String> = sqlx::query_scalar(
        "select payload->>'email' from events where event_type = 'SignInFailedForUnknownEmail'",
    )
    .fetch_all(&server.pool)
    .await
    .unwrap();
    assert_eq!(unknown, ["nobody@example.com"]);
    // An address the database could not even hold (a NUL, found by the fuzz): typed, nothing
    // recorded.
    assert_eq!(
        code(
            &stranger
                .sign_in("no\u{0}body@example.com", "whatever it is")
                .await
        ),
        "INVALID_CHARACTER"
    );
    let reset = stranger
        .call(
            "mutation($e: String!) { requestPasswordReset(email: $e) }",
            json!({ "e": "x\u{0}" }),
            None,
        )
        .await;
    assert_eq!(code(&reset), "INVALID_CHARACTER");
    let failures: i64 = sqlx::query_scalar(
        "select count(*) from events where event_type = 'SignInFailedForUnknownEmail'",
    )
    .fetch_one(&server.pool)
    .await
    .unwrap();
    assert_eq!(failures, 1);
    // An unknown address is answered as a known one would be: locked after five.
    for _ in 0..3 {
        stranger
            .sign_in("nobody@example.com", "whatever it is")
            .await;
    }
    assert_eq!(
        code(
            &stranger
                .sign_in("nobody@example.com", "whatever it is")
                .await
        ),
        "ACCOUNT_LOCKED"
    );

    // Five wrong passwords lock the account; then even the right one is refused.
    for _ in 0..4 {
        assert_eq!(
            code(
                &stranger
                    .sign_in("ivan@example.com", "wrong password!")
                    .await
            ),
            "INVALID_CREDENTIALS"
        );
    }
    let locked = stranger
        .sign_in("ivan@example.com", "wrong password!")
        .await;
    assert_eq!(code(&locked), "ACCOUNT_LOCKED");
    let wait = locked.body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((890..=900).contains(&wait), "{wait}");
    assert_eq!(locked.status, 200);
    let right = stranger
        .sign_in("ivan@example.com", "correct horse battery")
        .await;
    assert_eq!(code(&right), "ACCOUNT_LOCKED");

    // A reset by e-mail lifts the lock and ends the other sessions.
    let asked = stranger
        .call(
            "mutation($e: String!) { requestPasswordReset(email: $e) }",
            json!({ "e": "ivan@example.com" }),
            None,
        )
        .await;
    assert_eq!(asked.body["data"]["requestPasswordReset"], json!(true));
    let mails = smtp.wait_for(2, Duration::from_secs(20)).await;
    let reset_mail = mails
        .iter()
        .find(|m| m.data.contains("Reset your Switchboard password"))
        .expect("a reset e-mail");
    let reset = link_token(&reset_mail.data, "reset-password");
    let mut phone = Browser::new(&server);
    const RESET: &str = "mutation($t: String!, $p: String!) { resetPassword(token: $t, password: $p) { accessToken } }";
    let done = phone
        .call(
            RESET,
            json!({ "t": reset, "p": "a brand new passphrase" }),
            None,
        )
        .await;
    let fresh = token_of(&done, "resetPassword");
    let reused = phone
        .call(
            RESET,
            json!({ "t": reset, "p": "yet another passphrase" }),
            None,
        )
        .await;
    assert_eq!(code(&reused), "RESET_LINK_INVALID");
    let old = server.graphql(ME, json!({}), Some(&session)).await;
    assert_eq!(old["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    server.graphql_ok(ME, json!({}), Some(&fresh)).await;
    assert_eq!(
        code(
            &phone
                .sign_in("ivan@example.com", "correct horse battery")
                .await
        ),
        "INVALID_CREDENTIALS",
        "the old password is gone"
    );

    // Deactivation ends every session at once and refuses sign-in.
    server
        .graphql_ok(
            "mutation($id: UUID!) { deactivateOperator(operatorId: $id) { changed } }",
            json!({ "id": ivan }),
            Some(&admin),
        )
        .await;
    let after = server.graphql(ME, json!({}), Some(&fresh)).await;
    assert_eq!(after["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(
        code(
            &phone
                .sign_in("ivan@example.com", "a brand new passphrase")
                .await
        ),
        "OPERATOR_DEACTIVATED"
    );
    let types = operator_events(&server.pool, &ivan).await;
    let tail: Vec<&str> = types.iter().skip(4).map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "OperatorSignedIn",
            "OperatorSignInFailed",
            "OperatorSignInFailed",
            "OperatorSignInFailed",
            "OperatorSignInFailed",
            "OperatorSignInFailed",
            "OperatorLockedOut",
            "OperatorSignInFailed",
            "OperatorPasswordResetRequested",
            "OperatorPasswordReset",
            "OperatorSignedIn",
            "OperatorSignedOut",
            "OperatorSignedOut",
            "OperatorSignInFailed",
            "OperatorDeactivated",
            "OperatorSignedOut",
            "OperatorSignInFailed",
        ]
    );
    server.stop().await;
}
