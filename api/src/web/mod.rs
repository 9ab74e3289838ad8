//! The pages and scripts the binary serves to browsers, their files embedded at build time
//! (`include_str!`: the handful of files of `web/` need no embedding crate, and nothing is read
//! from disk or a CDN at run time):
//!
//! - `GET /widget.js`: the website chat widget (`web/widget/widget.js`), which a site embeds
//!   with one `<script>` tag;
//! - `GET /demo`: a host page with the widget of the local demo inbox ([`demo`]), when the
//!   service runs with `SWITCHBOARD_DEMO` (as `make run` does);
//! - `GET /chat/resume?token=…`: the page the visitor's e-mail links to (a reply they have not
//!   read), which opens their conversation full-page;
//! - `GET /` (with `/console.js`, `/console.css`): the operator console (`web/console/`);
//! - `GET /graphql` from a browser ([`graphiql_page`], called by `http.rs`, with
//!   `/graphiql/<file>`): GraphiQL, our page and boot script with the vendored React and
//!   GraphiQL builds of `web/graphiql/` (its README says which versions, and how to update them).

pub mod demo;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::auth::Viewer;
use crate::state::HttpState;

/// The widget's script, as served.
pub const WIDGET_JS: &str = include_str!("../../../web/widget/widget.js");

/// Sites load the widget on every page: a short cache keeps a deploy visible within minutes.
const WIDGET_MAX_AGE_SECS: u32 = 300;

static WIDGET: Asset = Asset::new(WIDGET_JS, "text/javascript; charset=utf-8");

/// The operator console (`web/console/`), served at `/`.
pub const CONSOLE_HTML: &str = include_str!("../../../web/console/index.html");
pub const CONSOLE_JS: &str = include_str!("../../../web/console/console.js");
pub const CONSOLE_CSS: &str = include_str!("../../../web/console/console.css");
static CONSOLE_SCRIPT: Asset = Asset::new(CONSOLE_JS, "text/javascript; charset=utf-8");
static CONSOLE_STYLE: Asset = Asset::new(CONSOLE_CSS, "text/css; charset=utf-8");

/// GraphiQL's page (`web/graphiql/index.html`), served by `GET /graphql`.
pub const GRAPHIQL_HTML: &str = include_str!("../../../web/graphiql/index.html");

/// The files GraphiQL's page loads, at `/graphiql/<name>`: its boot script (ours) and the
/// vendored builds, verbatim from npm (`web/graphiql/README.md`). Their names carry no version,
/// so they are revalidated on each load (an unchanged binary answers 304).
static GRAPHIQL_FILES: [(&str, Asset); 5] = [
    (
        "boot.js",
        Asset::new(
            include_str!("../../../web/graphiql/boot.js"),
            "text/javascript; charset=utf-8",
        ),
    ),
    (
        "graphiql.min.js",
        Asset::new(
            include_str!("../../../web/graphiql/graphiql.min.js"),
            "text/javascript; charset=utf-8",
        ),
    ),
    (
        "graphiql.min.css",
        Asset::new(
            include_str!("../../../web/graphiql/graphiql.min.css"),
            "text/css; charset=utf-8",
        ),
    ),
    (
        "react.production.min.js",
        Asset::new(
            include_str!("../../../web/graphiql/react.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
    ),
    (
        "react-dom.production.min.js",
        Asset::new(
            include_str!("../../../web/graphiql/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
    ),
];

/// GraphiQL's page: only this service's files run (`script-src 'self'`, the boot script
/// being a file too); styles may be inline (GraphiQL's dialogs inject `<style>` elements), its
/// fonts and icons are `data:` URLs of its stylesheet, and it talks only to this origin
/// (`connect-src 'self'` takes the same host's `ws:`/`wss:`).
const GRAPHIQL_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/widget.js", get(widget_js))
        .route("/demo", get(demo_page))
        .route("/chat/resume", get(resume_page))
        .route("/", get(console_page))
        .route("/console.js", get(console_js))
        .route("/console.css", get(console_css))
        .route("/graphiql/{file}", get(graphiql_file))
}

async fn widget_js(headers: HeaderMap) -> Response {
    // Any site may load it (it is public); it then talks to /graphql, where each inbox's
    // allowed origins are checked.
    WIDGET.serve(
        &headers,
        &format!("public, max-age={WIDGET_MAX_AGE_SECS}"),
        true,
    )
}

/// The console's page: its script and style are revalidated on every load (a deploy shows at
/// once; an unchanged binary answers 304).
async fn console_page() -> Response {
    page(CONSOLE_HTML.to_owned())
}

async fn console_js(headers: HeaderMap) -> Response {
    CONSOLE_SCRIPT.serve(&headers, "no-cache", false)
}

async fn console_css(headers: HeaderMap) -> Response {
    CONSOLE_STYLE.serve(&headers, "no-cache", false)
}

/// GraphiQL, as `GET /graphql` answers a browser (or anything else that does not ask for a
/// WebSocket).
pub fn graphiql_page() -> Response {
    page_with_policy(GRAPHIQL_HTML.to_owned(), GRAPHIQL_POLICY)
}

async fn graphiql_file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match GRAPHIQL_FILES.iter().find(|(name, _)| *name == file) {
        Some((_, asset)) => asset.serve(&headers, "no-cache", false),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A file embedded in the binary, served with its validator and, to browsers that take it,
/// gzipped (computed once, at first use).
struct Asset {
    body: &'static str,
    content_type: &'static str,
    encoded: std::sync::OnceLock<(String, Vec<u8>)>,
}

impl Asset {
    const fn new(body: &'static str, content_type: &'static str) -> Self {
        Self {
            body,
            content_type,
            encoded: std::sync::OnceLock::new(),
        }
    }

    /// Its ETag and its gzipped bytes.
    fn encoded(&self) -> &(String, Vec<u8>) {
        self.encoded.get_or_init(|| {
            use std::io::Write;
            let tag = format!(
                "\"{}\"",
                &hex::encode(Sha256::digest(self.body.as_bytes()))[..32]
            );
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            encoder
                .write_all(self.body.as_bytes())
                .expect("writing to memory");
            (tag, encoder.finish().expect("writing to memory"))
        })
    }

    fn serve(&self, headers: &HeaderMap, cache_control: &str, any_origin: bool) -> Response {
        let gzip = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(accepts_gzip);
        let (plain_tag, gzipped) = self.encoded();
        // Each coding its own tag (RFC 9110 8.8.3); either revalidates.
        let gzip_tag = format!("{}-gz\"", plain_tag.trim_end_matches('"'));
        let etag = if gzip {
            gzip_tag.clone()
        } else {
            plain_tag.clone()
        };
        // Weak comparison (RFC 9110 13.1.2): a proxy that compressed it may have weakened the
        // tag.
        let fresh = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .map(|tag| tag.trim())
                    .map(|tag| tag.strip_prefix("W/").unwrap_or(tag))
                    .any(|tag| tag == "*" || tag == plain_tag || tag == gzip_tag)
            });
        let mut common = vec![
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache_control.to_owned()),
            (header::VARY, "Accept-Encoding".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ];
        if any_origin {
            common.push((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()));
        }
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else if gzip {
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(self.content_type),
                    ),
                    (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                ],
                gzipped.clone(),
            )
                .into_response()
        } else {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type),
                )],
                self.body,
            )
                .into_response()
        };
        for (name, value) in common {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// Whether an `Accept-Encoding` value takes gzip: named (or `*`) with a quality above 0.
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|coding| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let quality = parts
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, q)| q.trim().parse::<f32>().ok());
        (name.eq_ignore_ascii_case("gzip") || name == "*") && quality.is_some_and(|q| q > 0.0)
    })
}

/// Pages of our own: no framing by other sites, no scripts but ours, and no `Referer` (the
/// resume page's address holds a session token).
fn page(html: String) -> Response {
    page_with_policy(
        html,
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    )
}

/// [`page`] with a Content-Security-Policy of its own.
fn page_with_policy(html: String, policy: &'static str) -> Response {
    (
        [
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Html(html),
    )
        .into_response()
}

#[derive(Deserialize)]
struct DemoQuery {
    locale: Option<String>,
}

async fn demo_page(
    State(state): State<HttpState>,
    headers: HeaderMap,
    query: Result<Query<DemoQuery>, QueryRejection>,
) -> Response {
    let Some(token) = &state.demo_widget_token else {
        return (
            StatusCode::NOT_FOUND,
            "The demo page is served when the service runs with SWITCHBOARD_DEMO=true (make run does).",
        )
            .into_response();
    };
    // The snippet names this service as the page was reached (a proxy's host included).
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("127.0.0.1:8080");
    let locale = query.as_ref().ok().and_then(|Query(q)| q.locale.as_deref());
    page(demo::page(token, &format!("http://{host}"), locale))
}

#[derive(Deserialize)]
struct ResumeQuery {
    token: Option<String>,
}

/// The conversation of a widget session, full-page: what the visitor's e-mail links to. The
/// session token says which conversation (and so which inbox); the widget asks the API for
/// the rest. An expired or forged token gets a page that says so.
async fn resume_page(
    State(state): State<HttpState>,
    query: Result<Query<ResumeQuery>, QueryRejection>,
) -> Response {
    let token = query.ok().and_then(|Query(q)| q.token).unwrap_or_default();
    if !state.widget_api_enabled {
        return (StatusCode::NOT_FOUND, page(demo::expired_page())).into_response();
    }
    match state.auth.verify(&token) {
        Ok(Viewer::WidgetSession {
            conversation_id, ..
        }) => page(demo::resume_page(&token, conversation_id)),
        _ => (StatusCode::NOT_FOUND, page(demo::expired_page())).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_is_taken_unless_refused() {
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip; Q=0.000"));
        assert!(!accepts_gzip("br, deflate"));
        assert!(!accepts_gzip("gzip;q=nonsense"));
    }
}
