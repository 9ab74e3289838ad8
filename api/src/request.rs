//! What the HTTP layer knows of the request it serves, put into the request's extensions and
//! the GraphQL context for every resolver, route and limit that needs it: who is calling from
//! where ([`ClientAddr`], [`ClientIp`], [`RequestOrigin`], [`VisitorRegion`]) and which request
//! it is ([`RequestId`]).

use std::net::IpAddr;

/// The client's address, as [`crate::state::HttpState::client_addr`] tells it; put on every
/// request by the HTTP layer's request tracking.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The client's address as the HTTP server saw it, recorded in event metadata.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

/// The id of the HTTP request (or WebSocket connection) being served: from the client's or
/// proxy's `X-Request-Id` when that is a UUID, otherwise a new one. It is the correlation id
/// of every event the request records, is logged with the request, and is sent back in the
/// response's `X-Request-Id` (OPS-M1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId(pub uuid::Uuid);

/// The `Origin` header of the request (a browser's page), if it had one.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin(pub Option<String>);

/// The visitor's region as the trusted proxy's header gave it (INBOX-2).
#[derive(Debug, Clone)]
pub struct VisitorRegion(pub Option<String>);

/// The `Origin` of a request from another site, which the inbox's allowed origins are checked
/// against (SEC-1); `None` without one, and for this service's own pages (`/chat/resume`,
/// `/demo`). Ours: the `Host` asked (a browser sends both, so a page can claim that only for
/// its own host), or `public_origin` (from `SWITCHBOARD_PUBLIC_URL`; a reverse proxy may pass
/// its upstream's address as `Host`).
pub fn foreign_origin(
    headers: &axum::http::HeaderMap,
    public_origin: Option<&str>,
) -> Option<String> {
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let same_host = origin
        .split_once("://")
        .is_some_and(|(_, origin_host)| Some(origin_host) == host);
    let public = public_origin.is_some_and(|public| origin.eq_ignore_ascii_case(public));
    let ours = same_host || public;
    (!ours).then(|| origin.to_owned())
}
