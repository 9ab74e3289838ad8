//! GraphiQL at `GET /graphql` is served whole from the binary: the page, its boot script and
//! the vendored React and GraphiQL builds of `web/graphiql/`, nothing from a CDN or any other
//! host. The HTTP test reads the page and every file it references; the browser test
//! (`web/tests/graphiql.mjs`, Playwright driving Debian's Chromium) renders the editor, runs a
//! query and opens a subscription, and checks that no request left the service's origin and
//! that the page's Content-Security-Policy refused nothing.
//!
//! The browser test needs node, Chromium and `npm ci --prefix web/tests` (`make test` installs
//! them).

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use switchboard_server::runtime::Component;
use switchboard_tests::{browser, pool_for, test_settings, TestServer};

/// Hosts that serve npm packages to browsers: none may be named by what the service serves.
const CDNS: &[&str] = &[
    "unpkg.com",
    "jsdelivr.net",
    "cdnjs.cloudflare.com",
    "esm.sh",
    "skypack.dev",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
];

/// The values of every `name=` attribute in `html` (double- or single-quoted).
fn attributes(html: &str, name: &str) -> Vec<String> {
    let needle = format!("{name}=");
    let mut values = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + needle.len()..];
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            panic!("an unquoted {name}= in the page: {html}");
        };
        let end = rest[1..].find(quote).expect("a closed attribute") + 1;
        values.push(rest[1..end].to_owned());
        rest = &rest[end..];
    }
    values
}

/// `reference` as the page's browser would resolve it, when it names this service; `None`
/// for a `data:` URL; panics for anything that would leave the service.
fn resolve(base: &str, reference: &str) -> Option<String> {
    if reference.starts_with("data:") {
        return None;
    }
    if let Some(rest) = reference.strip_prefix(base) {
        return Some(format!("{base}{rest}"));
    }
    assert!(
        !reference.starts_with("//") && !reference.contains("://") && !reference.contains(':'),
        "the page loads {reference} from outside the service"
    );
    // The page is /graphql: relative references resolve against /.
    Some(match reference.strip_prefix('/') {
        Some(path) => format!("{base}/{path}"),
        None => format!("{base}/{reference}"),
    })
}

#[sqlx::test(migrations = "../migrations")]
async fn graphiql_page_and_its_files_come_from_the_service(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let server =
        TestServer::start(&test_settings(), pool_for(connect).await, &[Component::Api]).await;
    let page = server
        .http
        .get(format!("{}/graphql", server.base))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    for cdn in CDNS {
        assert!(!html.contains(cdn), "the page names {cdn}");
    }
    let scripts = attributes(&html, "src");
    assert_eq!(
        html.matches("<script").count(),
        scripts.len(),
        "every script is a file of the service: {html}"
    );
    let links = attributes(&html, "href");
    let mut files = 0;
    for reference in scripts.iter().chain(&links) {
        let Some(url) = resolve(&server.base, reference) else {
            continue;
        };
        files += 1;
        let want = if url.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if url.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            panic!("the page references {reference}, neither a script nor a stylesheet")
        };
        let response = server.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], want, "{url}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{url}");
        assert_eq!(headers["cache-control"], "no-cache", "{url}");
        let body = response.text().await.unwrap();
        assert!(!body.is_empty(), "{url}");
        for cdn in CDNS {
            assert!(!body.contains(cdn), "{url} names {cdn}");
        }
        if want.starts_with("text/css") {
            // Its fonts and icons are inline: nothing to fetch from elsewhere.
            assert!(!body.contains("@import"), "{url} imports");
            for value in body.split("url(").skip(1) {
                let value = value.trim_start_matches(['"', '\'']);
                assert!(value.starts_with("data:"), "{url} loads {:.60}", value);
            }
        }
        // Revalidated by its tag; gzipped for browsers that take it.
        let again = server
            .http
            .get(&url)
            .header("if-none-match", headers["etag"].clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{url}");
        let gzipped = server
            .http
            .get(&url)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gzipped.headers()["content-encoding"], "gzip", "{url}");
        assert!(
            gzipped.bytes().await.unwrap().len() < body.len(),
            "{url} gzipped is smaller"
        );
    }
    // React, ReactDOM, GraphiQL and its stylesheet, and the boot script.
    assert_eq!(files, 5, "scripts {scripts:?}, links {links:?}");

    // Only this origin's scripts run: no host source, no inline script, no eval.
    let policy = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
    assert!(directives.contains(&"script-src 'self'"), "{policy}");
    assert!(directives.contains(&"default-src 'self'"), "{policy}");
    assert!(
        !policy.contains("http") && !policy.contains("unsafe-eval") && !policy.contains('*'),
        "{policy}"
    );
    assert_eq!(html, switchboard_api::web::GRAPHIQL_HTML);

    // Not a browser (no Accept): the same page, as before; no query runs by GET.
    let plain = server
        .http
        .get(format!("{}/graphql?query=%7B__typename%7D", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.text().await.unwrap(), html);
    // Only the files the page uses are served.
    let missing = server
        .http
        .get(format!("{}/graphiql/graphiql.min.js.map", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.stop().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn graphiql_renders_and_runs_with_nothing_from_another_origin(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let settings = test_settings();
    let components = [Component::Api];
    let mut server = TestServer::start(&settings, pool_for(connect).await, &components).await;
    let result = browser::run(
        &mut server,
        &settings,
        &components,
        "graphiql.mjs",
        "graphiql",
    )
    .await;
    let base = server.base.clone();
    server.stop().await;
    // What the script saw (it checked that every request went to the service): the page's
    // files loaded, the query answered over POST, the subscription over the socket.
    let requests: Vec<&str> = result["requests"]
        .as_array()
        .expect("the requests seen")
        .iter()
        .filter_map(|url| url.as_str())
        .collect();
    for file in [
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "boot.js",
    ] {
        let url = format!("{base}/graphiql/{file}");
        assert!(requests.contains(&url.as_str()), "{url}: {result}");
    }
    assert_eq!(result["typename"], "QueryRoot", "{result}");
    assert_eq!(result["socketAcknowledged"], true, "{result}");
    // A subscription's first message gives the badge total as it stands.
    assert_eq!(result["firstUnread"]["total"], 0, "{result}");
}
