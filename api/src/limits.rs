//! Abuse limits (SEC-2): requests per IP address and per widget token, each a keyed GCRA
//! limiter (`governor`): `limit` requests in a `window`, refilled smoothly, and an exact
//! "retry after" for the refused.
//!
//! Operators are not limited per IP (a support office shares one address); every caller
//! without an operator token is. The widget-token limit covers all of one inbox's visitors
//! together: calls with a widget session count against the session's inbox, and calls that
//! present the widget token itself (`startConversation`, `availability`, a guest's
//! `requestCallback`) against that inbox once it is known.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::error::ApiError;

/// Every this many checks, keys whose limit has fully recovered are dropped, so that the maps
/// stay as large as the set of recently active callers.
const SWEEP_EVERY: u64 = 10_000;

/// The two limits. Cheap to share (`Arc`).
pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_widget: Option<DefaultKeyedRateLimiter<Uuid>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl RateLimits {
    /// `per_ip` and `per_widget` requests in each `window`; 0 switches a limit off.
    pub fn new(per_ip: u32, per_widget: u32, window: Duration) -> Self {
        Self {
            per_ip: limiter(per_ip, window),
            per_widget: limiter(per_widget, window),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// No limits at all.
    pub fn off() -> Self {
        Self::new(0, 0, Duration::from_secs(60))
    }

    /// One request from `ip` (without an operator token).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.check(self.per_ip.as_ref(), &ip)
    }

    /// One widget request for the inbox `inbox_id`.
    pub fn check_widget(&self, inbox_id: Uuid) -> Result<(), ApiError> {
        self.check(self.per_widget.as_ref(), &inbox_id)
    }

    fn check<K>(
        &self,
        limiter: Option<&DefaultKeyedRateLimiter<K>>,
        key: &K,
    ) -> Result<(), ApiError>
    where
        K: std::hash::Hash + Eq + Clone,
    {
        let Some(limiter) = limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::RateLimited {
                // Whole seconds, rounded up: retrying after this many is never too early.
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
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
    fn zero_switches_a_limit_off() {
        let limits = RateLimits::off();
        for _ in 0..1000 {
            assert_eq!(retry_after(limits.check_ip([127, 0, 0, 1].into())), None);
        }
    }
}
