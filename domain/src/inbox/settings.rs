//! What an admin sets on an inbox (SPEC INBOX-1..5, PROJ-3, SEC-1), and what those settings
//! decide: the rating scale, working hours, routing of a global inbox's conversations
//! (INBOX-2), assignment and escalation (OPS-2, OPS-3), the widget's messages, the sites it
//! may be used from, and the SLA terms a conversation is measured by.
//!
//! A leaf: inbox and conversation events carry these values (`InboxSettings`, `SlaTerms`,
//! `RatingScale`, `Routing`), so this file imports no events and no decider.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::attachment::AttachmentPolicy;
use crate::hours::WorkingHours;
use crate::operator::profile::MAX_CAPACITY;
use crate::values::{short_text, InvalidInput, MessageBody, DEFAULT_MAX_BODY_CHARS};

use super::visitor::{required_fields as required_fields_in_order, VisitorField, VisitorIdentity};

text_enum! {
    /// How contacts rate a conversation after it is resolved or closed (CONV-8).
    #[derive(Default)]
    pub enum RatingScale {
        /// No rating is asked for.
        #[default]
        None = "none",
        /// Stars 1–5.
        Csat = "csat",
        /// 0–10.
        Nps = "nps",
    }
}

impl RatingScale {
    /// The lowest and highest score of the scale; `None` when no rating is asked for.
    pub const fn bounds(self) -> Option<(u8, u8)> {
        match self {
            RatingScale::None => None,
            RatingScale::Csat => Some((1, 5)),
            RatingScale::Nps => Some((0, 10)),
        }
    }
}

/// How long an assignee has to open a conversation before it escalates (OPS-3), by default.
pub const DEFAULT_ESCALATION_SECS: u32 = 240;

/// How many open conversations auto-assignment gives an operator at once, unless their
/// profile says otherwise (OPS-2).
pub const DEFAULT_CAPACITY: u16 = 5;

/// What an admin sets on an inbox. Construct with [`InboxSettings::new`] and the `with_`
/// methods, which validate. Fields added after the first release take their default when an
/// older event lacks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxSettings {
    pub title: String,
    pub greeting: Option<String>,
    /// `#rrggbb`, lower-case.
    pub color: Option<String>,
    pub rating: RatingScale,
    /// The banner the widget shows when no operator is online (INBOX-4).
    #[serde(default)]
    pub offline_message: Option<String>,
    /// The message the widget shows outside working hours (INBOX-3).
    #[serde(default)]
    pub outside_hours_message: Option<String>,
    /// Sent once, in the assignee's name, on the contact's first message (INBOX-5).
    #[serde(default)]
    pub auto_reply: Option<MessageBody>,
    /// When operators are at work (INBOX-3); always, unless set.
    #[serde(default)]
    pub working_hours: WorkingHours,
    /// Region → branch, for a global inbox (INBOX-2). Regions are upper-case codes such as
    /// `UA` or `UA-30`; the most specific rule that covers the visitor's region wins.
    #[serde(default)]
    pub routing_rules: Vec<RoutingRule>,
    /// Where a global inbox's conversation goes when no rule matches (INBOX-2).
    #[serde(default)]
    pub default_branch_id: Option<Uuid>,
    /// Seconds the assignee has to open a conversation before it escalates (OPS-3).
    #[serde(default = "default_escalation_secs")]
    pub escalation_timeout_secs: u32,
    /// Conversations per operator for auto-assignment, unless their profile says (OPS-2).
    #[serde(default = "default_capacity")]
    pub default_capacity: u16,
    /// Which files contacts and operators may attach, and how large (CONV-7).
    #[serde(default)]
    pub attachments: AttachmentPolicy,
    /// No message for this long closes a conversation (TIME-1); `None`: the service's.
    #[serde(default)]
    pub inactivity_timeout_secs: Option<u32>,
    /// Resolved for this long closes a conversation (TIME-2); `None`: the service's.
    #[serde(default)]
    pub retention_secs: Option<u32>,
    /// Service-level targets the SLA metrics measure against (PROJ-3).
    #[serde(default)]
    pub sla: SlaPolicy,
    /// The sites the widget may be used from (SEC-1): origins such as
    /// `https://shop.example.com`, or `https://*.example.com` for every subdomain. Empty: any.
    /// Browsers send the page's origin with each widget request; a request from another is
    /// refused. (Not a defence against non-browser clients, which can send any origin; the
    /// rate limits and session tokens are.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    /// The details the pre-chat form asks for before a visitor may start (INBOX-1): each once,
    /// name before e-mail before phone. Absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_fields: Vec<VisitorField>,
    /// Whether only verified users of the site may chat (SEC-1). Absent: optional.
    #[serde(default, skip_serializing_if = "is_optional")]
    pub visitor_identity: VisitorIdentity,
    /// This inbox takes the conversations customers start by writing to the Telegram bot
    /// (seed 002). If several inboxes do, the one created first takes them; if none does, the
    /// bot tells such customers it cannot take their messages. Left out of the JSON while
    /// false, so settings recorded before it read and hash as they did.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub telegram_intake: bool,
    /// Which idle conversations the inactivity timeout closes (TIME-1).
    #[serde(default)]
    pub inactivity_closes: InactivityRule,
}

fn is_optional(identity: &VisitorIdentity) -> bool {
    *identity == VisitorIdentity::Optional
}

text_enum! {
    /// Which idle conversations the inactivity timeout closes (TIME-1).
    #[derive(Default)]
    pub enum InactivityRule {
        /// Only those waiting on the contact: the last word is an operator's answer, or an
        /// operator set `waiting_for_user`. Never one whose contact waits for an answer or a
        /// call-back: that is the team's backlog, not idleness.
        #[default]
        WaitingOnContact = "waiting_on_contact",
        /// Any conversation nobody wrote in, whoever waits (the only rule before this setting).
        AnyIdle = "any_idle",
    }
}

/// The most origins an inbox lists.
pub const MAX_ALLOWED_ORIGINS: usize = 50;

/// An origin as inboxes list it and browsers send it, lower-cased: `scheme://host[:port]`
/// with scheme `http` or `https`; with `wildcard`, the host may start with `*.`.
fn normalized_origin(raw: &str, wildcard: bool) -> Option<String> {
    let origin = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let bare = match host.strip_prefix("*.") {
        // `*.example.com`, never a whole top-level domain (`*.com`).
        Some(bare) if wildcard && bare.contains('.') => bare,
        Some(_) => return None,
        None => host,
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if bare.is_empty() || bare.len() > 253 || !bare.split('.').all(label_ok) {
        return None;
    }
    // Browsers leave out the scheme's default port; so do we.
    Some(match (scheme, port) {
        ("https", Some("443")) | ("http", Some("80")) => format!("{scheme}://{host}"),
        _ => origin,
    })
}

impl InboxSettings {
    /// The sites the widget may be used from; empty for any.
    pub fn with_allowed_origins(mut self, origins: &[&str]) -> Result<Self, InvalidInput> {
        if origins.len() > MAX_ALLOWED_ORIGINS {
            return Err(InvalidInput::TooLong {
                field: "allowed_origins",
                actual: origins.len(),
                limit: MAX_ALLOWED_ORIGINS,
            });
        }
        let mut normalized = origins
            .iter()
            .map(|origin| {
                normalized_origin(origin, true).ok_or(InvalidInput::Malformed {
                    field: "allowed_origins",
                    expected: "https://shop.example.com or https://*.example.com",
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        normalized.sort();
        normalized.dedup();
        self.allowed_origins = normalized;
        Ok(self)
    }

    /// May the widget be used from the page whose `Origin` header is `origin`?
    pub fn allows_origin(&self, origin: &str) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        let Some(origin) = normalized_origin(origin, false) else {
            return false;
        };
        let (scheme, host) = origin
            .split_once("://")
            .expect("a normalized origin has a scheme");
        self.allowed_origins.iter().any(|allowed| {
            if *allowed == origin {
                return true;
            }
            let Some((allowed_scheme, allowed_host)) = allowed.split_once("://") else {
                return false;
            };
            match allowed_host.strip_prefix("*.") {
                Some(suffix) => {
                    allowed_scheme == scheme
                        && host
                            .strip_suffix(suffix)
                            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
                }
                None => false,
            }
        })
    }
}

/// An inbox's service-level targets (PROJ-3), in seconds; a target not set is never breached.
/// With `business_hours_only`, times and targets run only while the inbox's working hours are
/// open (INBOX-3): a message left on Friday evening waits from Monday's opening.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// From the conversation's start to the first operator message.
    #[serde(default)]
    pub first_response_secs: Option<u32>,
    /// From the contact's oldest unanswered message to the operator's next reply.
    #[serde(default)]
    pub next_response_secs: Option<u32>,
    /// From the conversation's start to each resolution.
    #[serde(default)]
    pub resolution_secs: Option<u32>,
    #[serde(default)]
    pub business_hours_only: bool,
}

/// What a conversation is measured by (PROJ-3): its inbox's SLA policy and working hours when
/// it started. Recorded in its `ConversationStarted`, so later changes to the inbox do not
/// move its goalposts, and a rebuild measures it exactly as the live projection did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTerms {
    pub policy: SlaPolicy,
    pub working_hours: WorkingHours,
}

impl InboxSettings {
    /// The terms a conversation starting now in this inbox is measured by.
    pub fn sla_terms(&self) -> SlaTerms {
        SlaTerms {
            policy: self.sla,
            working_hours: self.working_hours.clone(),
        }
    }
}

impl SlaPolicy {
    pub fn new(
        first_response_secs: Option<u32>,
        next_response_secs: Option<u32>,
        resolution_secs: Option<u32>,
        business_hours_only: bool,
    ) -> Result<Self, InvalidInput> {
        if [first_response_secs, next_response_secs, resolution_secs].contains(&Some(0)) {
            return Err(InvalidInput::Malformed {
                field: "sla",
                expected: "targets in seconds above 0",
            });
        }
        Ok(Self {
            first_response_secs,
            next_response_secs,
            resolution_secs,
            business_hours_only,
        })
    }
}

fn default_escalation_secs() -> u32 {
    DEFAULT_ESCALATION_SECS
}

fn default_capacity() -> u16 {
    DEFAULT_CAPACITY
}

/// One routing rule of a global inbox (INBOX-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    /// Upper-case region code: a country (`UA`) or a subdivision (`UA-30`).
    pub region: String,
    pub branch_id: Uuid,
}

/// Upper-case letters, digits and hyphens, 2 to 16 of them: ISO 3166 codes and their kin.
fn region_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    let valid = (2..=16).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !code.starts_with('-');
    valid.then_some(code)
}

text_enum! {
    /// How a conversation of a global inbox found its branch (INBOX-2).
    pub enum RoutedBy {
        /// A routing rule matched the visitor's region.
        Rule = "rule",
        /// No rule matched (or the region was unknown): the inbox's default branch.
        Default = "default",
        /// No rule matched and the inbox has no default branch: head office works it.
        Unrouted = "unrouted",
    }
}

/// Where a global inbox's conversation was routed, and why (INBOX-2). Absent for a branch
/// inbox's conversations, whose branch is the inbox's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    /// The visitor's region as the trusted proxy reported it, if it did.
    pub region: Option<String>,
    pub routed_by: RoutedBy,
}

impl InboxSettings {
    pub fn new(
        title: &str,
        greeting: Option<&str>,
        color: Option<&str>,
        rating: RatingScale,
    ) -> Result<Self, InvalidInput> {
        let title =
            short_text("title", Some(title))?.ok_or(InvalidInput::Empty { field: "title" })?;
        let greeting = short_text("greeting", greeting)?;
        let color = match color.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let hex = c.strip_prefix('#').unwrap_or(c);
                if hex.len() != 6 || !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
                    return Err(InvalidInput::Malformed {
                        field: "color",
                        expected: "#rrggbb",
                    });
                }
                Some(format!("#{}", hex.to_ascii_lowercase()))
            }
        };
        Ok(Self {
            title,
            greeting,
            color,
            rating,
            offline_message: None,
            outside_hours_message: None,
            auto_reply: None,
            working_hours: WorkingHours::default(),
            routing_rules: Vec::new(),
            default_branch_id: None,
            escalation_timeout_secs: DEFAULT_ESCALATION_SECS,
            default_capacity: DEFAULT_CAPACITY,
            attachments: AttachmentPolicy::default(),
            inactivity_timeout_secs: None,
            retention_secs: None,
            sla: SlaPolicy::default(),
            allowed_origins: Vec::new(),
            required_fields: Vec::new(),
            visitor_identity: VisitorIdentity::Optional,
            telegram_intake: false,
            inactivity_closes: InactivityRule::default(),
        })
    }

    /// Whether this inbox takes the conversations customers start in Telegram (seed 002).
    pub fn with_telegram_intake(mut self, telegram_intake: bool) -> Self {
        self.telegram_intake = telegram_intake;
        self
    }

    /// What visitors must give and prove before they chat (INBOX-1, SEC-1).
    pub fn with_visitor_rules(
        mut self,
        required_fields: &[VisitorField],
        identity: VisitorIdentity,
    ) -> Self {
        self.required_fields = required_fields_in_order(required_fields);
        self.visitor_identity = identity;
        self
    }

    /// The service-level targets (PROJ-3).
    pub fn with_sla(mut self, sla: SlaPolicy) -> Self {
        self.sla = sla;
        self
    }

    /// The widget's banners (INBOX-3, INBOX-4) and the auto-reply (INBOX-5).
    pub fn with_messages(
        mut self,
        offline: Option<&str>,
        outside_hours: Option<&str>,
        auto_reply: Option<&str>,
    ) -> Result<Self, InvalidInput> {
        self.offline_message = short_text("offline_message", offline)?;
        self.outside_hours_message = short_text("outside_hours_message", outside_hours)?;
        self.auto_reply = match auto_reply.filter(|text| !text.trim().is_empty()) {
            None => None,
            Some(text) => Some(MessageBody::parse(text, DEFAULT_MAX_BODY_CHARS)?),
        };
        Ok(self)
    }

    /// The inbox's own inactivity timeout (TIME-1) and retention period (TIME-2), in
    /// seconds; `None` keeps the service's.
    pub fn with_timeouts(
        mut self,
        inactivity_secs: Option<u32>,
        retention_secs: Option<u32>,
    ) -> Result<Self, InvalidInput> {
        if inactivity_secs == Some(0) || retention_secs == Some(0) {
            return Err(InvalidInput::Malformed {
                field: "timeout",
                expected: "a number of seconds above 0",
            });
        }
        self.inactivity_timeout_secs = inactivity_secs;
        self.retention_secs = retention_secs;
        Ok(self)
    }

    pub fn with_attachments(mut self, policy: AttachmentPolicy) -> Self {
        self.attachments = policy;
        self
    }

    pub fn with_working_hours(mut self, hours: WorkingHours) -> Self {
        self.working_hours = hours;
        self
    }

    /// Routing rules (each region once) and the default branch (INBOX-2).
    pub fn with_routing(
        mut self,
        rules: &[(&str, Uuid)],
        default_branch_id: Option<Uuid>,
    ) -> Result<Self, InvalidInput> {
        let mut checked: Vec<RoutingRule> = Vec::with_capacity(rules.len());
        for (region, branch_id) in rules {
            let region = region_code(region).ok_or(InvalidInput::Malformed {
                field: "region",
                expected: "a region code such as UA or UA-30",
            })?;
            if checked.iter().any(|r| r.region == region) {
                return Err(InvalidInput::Malformed {
                    field: "region",
                    expected: "each region in one rule only",
                });
            }
            checked.push(RoutingRule {
                region,
                branch_id: *branch_id,
            });
        }
        checked.sort_by(|a, b| a.region.cmp(&b.region));
        self.routing_rules = checked;
        self.default_branch_id = default_branch_id;
        Ok(self)
    }

    /// Capacity per operator (OPS-2) and the escalation timeout (OPS-3).
    pub fn with_assignment(
        mut self,
        default_capacity: u16,
        escalation_timeout_secs: u32,
    ) -> Result<Self, InvalidInput> {
        if default_capacity == 0 || default_capacity > MAX_CAPACITY {
            return Err(InvalidInput::Malformed {
                field: "default_capacity",
                expected: "a number of conversations from 1 to 1000",
            });
        }
        if !(1..=7 * 24 * 3600).contains(&escalation_timeout_secs) {
            return Err(InvalidInput::Malformed {
                field: "escalation_timeout_secs",
                expected: "seconds from 1 to 604800 (a week)",
            });
        }
        self.default_capacity = default_capacity;
        self.escalation_timeout_secs = escalation_timeout_secs;
        Ok(self)
    }

    /// Where a new conversation of an inbox whose branch is `inbox_branch` goes, and how
    /// (INBOX-2): a branch inbox's branch, with no routing; for a global inbox, where
    /// [`Self::route`] sends a visitor of `region`.
    pub fn place(
        &self,
        inbox_branch: Option<Uuid>,
        region: Option<&str>,
    ) -> (Option<Uuid>, Option<Routing>) {
        match inbox_branch {
            Some(branch) => (Some(branch), None),
            None => {
                let (branch, routing) = self.route(region);
                (branch, Some(routing))
            }
        }
    }

    /// Where a global inbox's new conversation goes, given the visitor's region if known
    /// (INBOX-2): the most specific rule covering the region (`UA-30` is covered by rules for
    /// `UA-30` and for `UA`), else the default branch, else head office.
    pub fn route(&self, region: Option<&str>) -> (Option<Uuid>, Routing) {
        let region = region.and_then(region_code);
        let rule = region.as_deref().and_then(|region| {
            self.routing_rules
                .iter()
                .filter(|rule| {
                    region == rule.region
                        || region
                            .strip_prefix(rule.region.as_str())
                            .is_some_and(|rest| rest.starts_with('-'))
                })
                .max_by_key(|rule| rule.region.len())
        });
        let (branch, routed_by) = match (rule, self.default_branch_id) {
            (Some(rule), _) => (Some(rule.branch_id), RoutedBy::Rule),
            (None, Some(default)) => (Some(default), RoutedBy::Default),
            (None, None) => (None, RoutedBy::Unrouted),
        };
        (branch, Routing { region, routed_by })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(title: &str) -> InboxSettings {
        InboxSettings::new(title, None, Some("#FFAA00"), RatingScale::Csat).unwrap()
    }

    #[test]
    fn routing_picks_the_most_specific_rule_then_the_default() {
        let (north, south, default) = (Uuid::from_u128(7), Uuid::from_u128(8), Uuid::from_u128(9));
        let global = settings("Global")
            .with_routing(&[("ua", north), ("UA-46", south)], Some(default))
            .unwrap();
        let cases = [
            (Some("UA-30"), Some(north), RoutedBy::Rule, Some("UA-30")),
            (Some(" ua-46 "), Some(south), RoutedBy::Rule, Some("UA-46")),
            (Some("UA"), Some(north), RoutedBy::Rule, Some("UA")),
            (Some("UAX"), Some(default), RoutedBy::Default, Some("UAX")),
            (Some("PL"), Some(default), RoutedBy::Default, Some("PL")),
            (
                Some("not a region!"),
                Some(default),
                RoutedBy::Default,
                None,
            ),
            (None, Some(default), RoutedBy::Default, None),
        ];
        for (region, branch, routed_by, recorded) in cases {
            assert_eq!(
                global.route(region),
                (
                    branch,
                    Routing {
                        region: recorded.map(str::to_owned),
                        routed_by
                    }
                ),
                "{region:?}"
            );
        }
        // A branch inbox's conversation is its branch's, unrouted; a global one's is routed.
        let branch = Uuid::from_u128(5);
        assert_eq!(global.place(Some(branch), Some("UA")), (Some(branch), None));
        assert_eq!(
            global.place(None, Some("UA")),
            (Some(north), Some(global.route(Some("UA")).1))
        );
        let unrouted = settings("Global").route(Some("UA"));
        assert_eq!(unrouted.0, None);
        assert_eq!(unrouted.1.routed_by, RoutedBy::Unrouted);
        assert!(matches!(
            settings("G").with_routing(&[("UA", north), ("ua", south)], None),
            Err(InvalidInput::Malformed {
                field: "region",
                ..
            })
        ));
        assert!(matches!(
            settings("G").with_routing(&[("-", north)], None),
            Err(InvalidInput::Malformed {
                field: "region",
                ..
            })
        ));
    }

    #[test]
    fn assignment_settings_and_messages_are_validated() {
        assert!(matches!(
            settings("S").with_assignment(0, 240),
            Err(InvalidInput::Malformed {
                field: "default_capacity",
                ..
            })
        ));
        assert!(matches!(
            settings("S").with_assignment(3, 0),
            Err(InvalidInput::Malformed {
                field: "escalation_timeout_secs",
                ..
            })
        ));
        let s = settings("S")
            .with_assignment(3, 60)
            .unwrap()
            .with_messages(Some(" We are offline "), None, Some("  "))
            .unwrap();
        assert_eq!((s.default_capacity, s.escalation_timeout_secs), (3, 60));
        assert_eq!(s.offline_message.as_deref(), Some("We are offline"));
        assert_eq!(s.auto_reply, None);
        // Settings stored before these fields existed read as the defaults.
        let old: InboxSettings = serde_json::from_value(serde_json::json!({
            "title": "Old", "greeting": null, "color": null, "rating": "none"
        }))
        .unwrap();
        assert_eq!(
            old,
            InboxSettings::new("Old", None, None, RatingScale::None).unwrap()
        );
    }

    #[test]
    fn telegram_intake_is_written_only_when_on() {
        let off = serde_json::to_value(settings("S")).unwrap();
        assert_eq!(off.get("telegram_intake"), None);
        let on = settings("S").with_telegram_intake(true);
        let json = serde_json::to_value(&on).unwrap();
        assert_eq!(json["telegram_intake"], true);
        assert_eq!(serde_json::from_value::<InboxSettings>(json).unwrap(), on);
    }

    #[test]
    fn settings_are_validated() {
        assert_eq!(settings("x").color.as_deref(), Some("#ffaa00"));
        assert_eq!(
            InboxSettings::new(" ", None, None, RatingScale::None),
            Err(InvalidInput::Empty { field: "title" })
        );
        assert_eq!(
            InboxSettings::new("t", None, Some("red"), RatingScale::None),
            Err(InvalidInput::Malformed {
                field: "color",
                expected: "#rrggbb"
            })
        );
    }

    #[test]
    fn allowed_origins_are_normalized_and_matched_exactly_or_by_subdomain() {
        let shop = settings("Shop")
            .with_allowed_origins(&[
                "HTTPS://Shop.Example.com/",
                "https://*.example.org",
                "http://localhost:3000",
            ])
            .unwrap();
        assert_eq!(
            shop.allowed_origins,
            [
                "http://localhost:3000",
                "https://*.example.org",
                "https://shop.example.com"
            ]
        );
        for (origin, allowed) in [
            ("https://shop.example.com", true),
            ("https://SHOP.example.com", true),
            ("http://shop.example.com", false),
            ("https://evil-shop.example.com", false),
            ("https://shop.example.com.evil.net", false),
            ("https://www.example.org", true),
            ("https://a.b.example.org", true),
            ("https://example.org", false),
            ("https://evilexample.org", false),
            ("http://www.example.org", false),
            ("http://localhost:3000", true),
            ("http://localhost:3001", false),
            ("https://shop.example.com:443", true),
            ("https://shop.example.com:8443", false),
            ("null", false),
            ("", false),
        ] {
            assert_eq!(shop.allows_origin(origin), allowed, "{origin}");
        }
        // No list: any origin, even none.
        assert!(settings("Any").allows_origin("https://anywhere.example"));
        for bad in [
            "shop.example.com",
            "ftp://x.example",
            "https://",
            "https://a b",
            "https://x:99999999",
            "https://*.",
            "https://x.*.example.com",
            "https://*.com",
            "https://a@b.example",
        ] {
            assert_eq!(
                settings("Shop").with_allowed_origins(&[bad]),
                Err(InvalidInput::Malformed {
                    field: "allowed_origins",
                    expected: "https://shop.example.com or https://*.example.com",
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn settings_stored_before_the_inactivity_rule_read_as_waiting_on_contact() {
        let mut stored = serde_json::to_value(settings("Old")).unwrap();
        stored.as_object_mut().unwrap().remove("inactivity_closes");
        let read: InboxSettings = serde_json::from_value(stored).unwrap();
        assert_eq!(read.inactivity_closes, InactivityRule::WaitingOnContact);
    }
}
