//! Abuse limits (SEC-2): requests per IP address and per widget token, each a keyed GCRA
//! limiter (`governor`): `limit` requests in a `window`, refilled smoothly, and an exact
//! "retry after" for the refused.
//!
//! Operators are not limited per IP (a support office shares one address); every caller
//! without an operator token is. The widget-token limit covers all of one inbox's visitors
//! together: calls with a widget session count against the session's inbox, and calls that
//! present the widget token itself (`startConversation`, `availability`, a guest's
//! `requestCallback`) against that inbox once it is known.
//!
//! What counts: each root field of a GraphQL operation, over HTTP or a WebSocket
//! ([`ChargeOperations`], so aliases cannot pack many mutations into one request), each
//! attachment transfer, and each subscription socket opened. IPv6 addresses count by their
//! /64, the block one subscriber usually holds.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensions, Pos, ServerResult, Variables};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::auth::{Authentication, Viewer};
use crate::error::ApiError;
use crate::request::ClientIp;

/// Every this many checks, keys whose limit has fully recovered are dropped, so that the maps
/// stay as large as the set of recently active callers.
const SWEEP_EVERY: u64 = 10_000;

/// The two limits. Cheap to share (`Arc`).
pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_widget: Option<DefaultKeyedRateLimiter<Uuid>>,
    clock: DefaultClock,
    checks: AtomicU64,
    window: Duration,
}

impl RateLimits {
    /// `per_ip` and `per_widget` requests in each `window`; 0 switches a limit off.
    pub fn new(per_ip: u32, per_widget: u32, window: Duration) -> Self {
        Self {
            per_ip: limiter(per_ip, window),
            per_widget: limiter(per_widget, window),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
            window,
        }
    }

    /// No limits at all.
    pub fn off() -> Self {
        Self::new(0, 0, Duration::from_secs(60))
    }

    /// One request from `ip` (without an operator token).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.check_ip_n(ip, 1)
    }

    /// `n` requests at once from `ip`.
    pub fn check_ip_n(&self, ip: IpAddr, n: u32) -> Result<(), ApiError> {
        self.check(self.per_ip.as_ref(), &client_key(ip), n)
    }

    /// One widget request for the inbox `inbox_id`.
    pub fn check_widget(&self, inbox_id: Uuid) -> Result<(), ApiError> {
        self.check_widget_n(inbox_id, 1)
    }

    /// `n` widget requests at once for the inbox `inbox_id`.
    pub fn check_widget_n(&self, inbox_id: Uuid, n: u32) -> Result<(), ApiError> {
        self.check(self.per_widget.as_ref(), &inbox_id, n)
    }

    fn check<K>(
        &self,
        limiter: Option<&DefaultKeyedRateLimiter<K>>,
        key: &K,
        n: u32,
    ) -> Result<(), ApiError>
    where
        K: std::hash::Hash + Eq + Clone,
    {
        let (Some(limiter), Some(n)) = (limiter, NonZeroU32::new(n)) else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        match limiter.check_key_n(key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(ApiError::RateLimited {
                    // Whole seconds, rounded up: retrying after this many is never too early.
                    retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                })
            }
            // More at once than the whole allowance: never, so retry with fewer.
            Err(_) => Err(ApiError::RateLimited {
                retry_after_secs: self.window.as_secs().max(1),
            }),
        }
    }
}

/// The key an address counts under: itself for IPv4, its /64 for IPv6.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// A schema extension that charges the rate limits per root field of every operation a caller
/// without an operator token runs, over HTTP and WebSockets alike. Refused, the operation
/// answers `RATE_LIMITED` with `retryAfter` and runs nothing.
pub struct ChargeOperations(pub Arc<RateLimits>);

impl ExtensionFactory for ChargeOperations {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ChargeOperations(self.0.clone()))
    }
}

/// How many root fields the largest operation of `document` has, counting those inside
/// fragments at the root too (`... on Mutation { a b c }` is three).
fn root_fields(document: &ExecutableDocument) -> u32 {
    fn count(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
        // Fragment cycles are refused by validation, later; stop counting them here.
        if depth > 8 {
            return 1;
        }
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(fragment) => {
                    count(document, &fragment.node.selection_set.node, depth + 1)
                }
                Selection::FragmentSpread(spread) => document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(1, |fragment| {
                        count(document, &fragment.node.selection_set.node, depth + 1)
                    }),
            })
            .sum()
    }
    document
        .operations
        .iter()
        .map(|(_, operation)| count(document, &operation.node.selection_set.node, 0))
        .max()
        .unwrap_or(1)
        .clamp(1, u32::MAX as usize) as u32
}

#[async_graphql::async_trait::async_trait]
impl Extension for ChargeOperations {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let authentication = ctx.data_opt::<Authentication>();
        if matches!(
            authentication.map(|a| &a.0),
            Some(Ok(Viewer::Operator { .. }))
        ) {
            return Ok(document);
        }
        let n = root_fields(&document);
        let ip = ctx
            .data_opt::<ClientIp>()
            .and_then(|ip| ip.0.as_deref())
            .and_then(|ip| ip.parse::<IpAddr>().ok());
        let charged = ip
            .map_or(Ok(()), |ip| self.0.check_ip_n(ip, n))
            .and_then(|()| match authentication.map(|a| &a.0) {
                Some(Ok(Viewer::WidgetSession { inbox_id, .. })) => {
                    self.0.check_widget_n(*inbox_id, n)
                }
                _ => Ok(()),
            });
        match charged {
            Ok(()) => Ok(document),
            Err(err) => Err(err.extend().into_server_error(Pos::default())),
        }
    }
}

/// `limit` requests at once, and one more every `window / limit`; none for 0.
fn limiter<K>(limit: u32, window: Duration) -> Option<DefaultKeyedRateLimiter<K>>
where
    K: std::hash::Hash + Eq + Clone,
{
    let limit = NonZeroU32::new(limit)?;
    let quota = Quota::with_period(window / limit.get())?.allow_burst(limit);
    Some(RateLimiter::keyed(quota))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(result: Result<(), ApiError>) -> Option<u64> {
        match result {
            Ok(()) => None,
            Err(ApiError::RateLimited { retry_after_secs }) => Some(retry_after_secs),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_limit_passes_exactly_its_burst_then_says_when_to_retry() {
        let limits = RateLimits::new(3, 0, Duration::from_secs(60));
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(retry_after(limits.check_ip(ip)), None);
        }
        // One request comes back every 20 s.
        let wait = retry_after(limits.check_ip(ip)).expect("the fourth is refused");
        assert!((19..=20).contains(&wait), "retry after {wait} s");
        // Another address has its own allowance; the widget limit is off.
        assert_eq!(
            retry_after(limits.check_ip("203.0.113.8".parse().unwrap())),
            None
        );
        for _ in 0..100 {
            assert_eq!(retry_after(limits.check_widget(Uuid::nil())), None);
        }
    }

    #[test]
    fn ipv6_counts_by_its_64_and_n_at_once_draws_n() {
        let limits = RateLimits::new(4, 0, Duration::from_secs(60));
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(retry_after(limits.check_ip_n(a, 3)), None);
        assert!(retry_after(limits.check_ip_n(b, 2)).is_some(), "same /64");
        assert_eq!(retry_after(limits.check_ip(b)), None, "the fourth");
        assert_eq!(
            retry_after(limits.check_ip("2001:db8:1:3::1".parse().unwrap())),
            None
        );
        // More than the whole allowance at once is never possible: wait the window.
        assert_eq!(
            retry_after(limits.check_ip_n("203.0.113.9".parse().unwrap(), 5)),
            Some(60)
        );
    }

    #[test]
    fn root_fields_count_through_fragments() {
        let document = async_graphql::parser::parse_query(
            "mutation { a: setTyping(conversationId: 1, typing: true) ...F ... on MutationRoot { b: x c: y } }
             fragment F on MutationRoot { d: z e: w }",
        )
        .unwrap();
        assert_eq!(root_fields(&document), 5);
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let limits = RateLimits::off();
        for _ in 0..1000 {
            assert_eq!(retry_after(limits.check_ip([127, 0, 0, 1].into())), None);
        }
    }
}
