//! Usage alerts as pure rules (unit-tested without a database): which (rule, org, metric,
//! threshold) a rule covers, when a state changes, and what is delivered.
//!
//! A threshold is **crossed** the first time usage reaches it in a billing period
//! ([`crate::quota::reaches`], the rule status uses) and **resolved** when, in the same
//! period, it is under it again (a grant, an override, a tier change, a correction). A state
//! from an earlier period counts as not crossed: a new period starts silently.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::quota::{self, Metric, MetricUse, UNLIMITED};

/// How a delivery's body looks.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The JSON payload, signed per Standard Webhooks
    Standard,
    /// A Slack-compatible `{"text": ...}` (incoming webhooks), signed the same way
    Slack,
}

impl Format {
    /// Its name in the database, JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            Format::Standard => "standard",
            Format::Slack => "slack",
        }
    }

    /// The format named `s` (as stored).
    pub fn from_name(s: &str) -> Option<Format> {
        [Format::Standard, Format::Slack]
            .into_iter()
            .find(|f| f.name() == s)
    }
}

/// The thresholds a rule has unless `--at` says otherwise.
pub const DEFAULT_THRESHOLDS: [u16; 2] = [80, 100];

/// A rule, as anyone who may read alerts sees it (no URL, no secret).
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Its name.
    pub name: String,
    /// Where it delivers, masked (`https://hooks.slack.com/…`).
    pub webhook: String,
    /// Body format.
    pub format: Format,
    /// Percentages of a limit, ascending.
    pub thresholds: Vec<u16>,
    /// The metrics it watches; `None`: all six.
    pub metrics: Option<Vec<Metric>>,
    /// Only this org.
    pub org_id: Option<String>,
    /// Only orgs on this tier.
    pub tier: Option<String>,
    /// Plain http to a host that is not loopback was allowed.
    pub allow_insecure_http: bool,
    /// When it was added.
    #[serde(serialize_with = "crate::time::ser")]
    pub created_at: DateTime<Utc>,
    /// By which database role.
    pub created_by: String,
}

impl Rule {
    /// Whether the rule watches this org (on this tier) at all.
    pub fn covers(&self, org_id: &str, tier: &str) -> bool {
        self.org_id.as_deref().is_none_or(|o| o == org_id)
            && self.tier.as_deref().is_none_or(|t| t == tier)
    }

    /// Whether it watches this metric.
    pub fn watches(&self, metric: Metric) -> bool {
        self.metrics.as_ref().is_none_or(|m| m.contains(&metric))
    }

    /// Who it covers, for people: `org acme`, `tier pilot`, `every org`.
    pub fn scope(&self) -> String {
        match (&self.org_id, &self.tier) {
            (Some(o), _) => format!("org {o}"),
            (None, Some(t)) => format!("orgs on tier {t}"),
            (None, None) => "every org".to_string(),
        }
    }
}

/// One org's figures in its current period, as `status --all` read them.
#[derive(Debug, Clone)]
pub struct OrgUse {
    /// Organisation.
    pub org_id: String,
    /// Its tier.
    pub tier: String,
    /// Its current period.
    pub period_start: DateTime<Utc>,
    /// First instant after it.
    pub period_end: DateTime<Utc>,
    /// Current use and limit (grants included) of every metric.
    pub uses: Vec<MetricUse>,
}

/// Where (rule, org, metric, threshold) stands, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The period it was last changed in.
    pub period_start: DateTime<Utc>,
    /// Crossed in that period.
    pub crossed: bool,
}

/// The key of a state.
pub type StateKey = (String, String, Metric, u16);

/// What a decision says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// Usage reached the threshold in this period.
    #[serde(rename = "usage.threshold_crossed")]
    Crossed,
    /// Usage is under it again, in the same period.
    #[serde(rename = "usage.threshold_resolved")]
    Resolved,
}

impl Kind {
    /// What a person reads for the event whose `type` is `type_name`: "reached" (at 100%,
    /// usage is at or past the limit, `current >= limit`: never "crossed" or "over"), "back
    /// under", or the type itself for any other event.
    pub fn label(type_name: &str) -> &str {
        if type_name == Kind::Crossed.type_name() {
            "reached"
        } else if type_name == Kind::Resolved.type_name() {
            "back under"
        } else {
            type_name
        }
    }

    /// The event's `type`.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Crossed => "usage.threshold_crossed",
            Kind::Resolved => "usage.threshold_resolved",
        }
    }
}

/// A state change to write and deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The rule.
    pub rule: String,
    /// Crossed or resolved.
    pub kind: Kind,
    /// The org's tier.
    pub tier: String,
    /// Organisation.
    pub org_id: String,
    /// Metric.
    pub metric: Metric,
    /// Threshold (percent of the limit).
    pub threshold_pct: u16,
    /// Use now.
    pub current: i64,
    /// Limit now (grants included; -1 unlimited).
    pub limit: i64,
    /// The org's current period.
    pub period_start: DateTime<Utc>,
    /// Its end.
    pub period_end: DateTime<Utc>,
}

/// THE state rule for one (rule, org, metric, threshold): the change, if any, given the
/// stored state and whether usage is at or above the threshold now.
pub fn transition(
    stored: Option<&State>,
    period_start: DateTime<Utc>,
    reached: bool,
) -> Option<Kind> {
    let crossed = stored.is_some_and(|s| s.crossed && s.period_start == period_start);
    match (crossed, reached) {
        (false, true) => Some(Kind::Crossed),
        (true, false) => Some(Kind::Resolved),
        _ => None,
    }
}

/// Every state change the rules call for, given each org's figures and the stored states.
/// A threshold no longer watched (the org left the rule's tier, the metric became
/// unlimited) counts as not reached, so a crossed one resolves.
pub fn decide(
    rules: &[Rule],
    orgs: &[OrgUse],
    states: &BTreeMap<StateKey, State>,
) -> Vec<Decision> {
    let mut out = Vec::new();
    for rule in rules {
        for org in orgs {
            let covered = rule.covers(&org.org_id, &org.tier);
            for u in &org.uses {
                if !rule.watches(u.metric) {
                    continue;
                }
                for &pct in &rule.thresholds {
                    let key = (rule.name.clone(), org.org_id.clone(), u.metric, pct);
                    let stored = states.get(&key);
                    if !covered && stored.is_none() {
                        continue;
                    }
                    let reached = covered && quota::reaches(u.current, u.limit, pct);
                    if let Some(kind) = transition(stored, org.period_start, reached) {
                        out.push(Decision {
                            rule: rule.name.clone(),
                            kind,
                            tier: org.tier.clone(),
                            org_id: org.org_id.clone(),
                            metric: u.metric,
                            threshold_pct: pct,
                            current: u.current,
                            limit: u.limit,
                            period_start: org.period_start,
                            period_end: org.period_end,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The body of a delivery (format standard), and what the outbox keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// `usage.threshold_crossed` or `usage.threshold_resolved`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The message id: the `webhook-id` header, the same on every attempt.
    pub id: String,
    /// Organisation.
    pub org_id: String,
    /// Its tier.
    pub tier: String,
    /// Metric.
    pub metric: String,
    /// Threshold, percent of the limit.
    pub threshold_pct: u16,
    /// Use when decided.
    pub current: i64,
    /// Limit when decided (grants included); null when unlimited.
    pub limit: Option<i64>,
    /// The period's first instant (UTC).
    pub period_start: String,
    /// First instant after it.
    pub period_end: String,
    /// When it was decided.
    pub occurred_at: String,
}

impl Payload {
    /// The payload of a decision, with its message id and time.
    pub fn of(d: &Decision, id: String, occurred_at: DateTime<Utc>) -> Payload {
        use crate::time::fmt_utc;
        Payload {
            kind: d.kind.type_name().to_string(),
            id,
            org_id: d.org_id.clone(),
            tier: d.tier.clone(),
            metric: d.metric.name().to_string(),
            threshold_pct: d.threshold_pct,
            current: d.current,
            limit: (d.limit != UNLIMITED).then_some(d.limit),
            period_start: fmt_utc(&d.period_start),
            period_end: fmt_utc(&d.period_end),
            occurred_at: fmt_utc(&occurred_at),
        }
    }

    /// The one-line text a Slack message carries.
    pub fn text(&self) -> String {
        let of = use_text(self.current, self.limit);
        let what = if self.kind == Kind::Crossed.type_name() {
            format!("reached {}%", self.threshold_pct)
        } else {
            format!("is back under {}%", self.threshold_pct)
        };
        format!(
            "usagectl: org {} ({}) {what} of its {} limit: {of} in the period {} to {}",
            self.org_id, self.tier, self.metric, self.period_start, self.period_end
        )
    }

    /// The body sent in `format`.
    pub fn body(&self, format: Format) -> String {
        match format {
            Format::Standard => serde_json::to_string(self),
            Format::Slack => serde_json::to_string(&serde_json::json!({ "text": self.text() })),
        }
        .unwrap_or_default()
    }
}

/// `40/50`, or `40/unlimited`.
pub fn use_text(current: i64, limit: Option<i64>) -> String {
    match limit {
        Some(l) => format!("{current}/{l}"),
        None => format!("{current}/unlimited"),
    }
}

/// A new message id: `msg_` and 128 random bits in hex.
pub fn new_message_id() -> anyhow::Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| anyhow::anyhow!("reading random bytes for a message id: {e}"))?;
    Ok(format!(
        "msg_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

/// Parse `--at`: a whole percentage from 1 to 1000.
pub fn parse_threshold(s: &str) -> Result<u16, String> {
    let t = s.trim().trim_end_matches('%');
    match t.parse::<u16>() {
        Ok(v) if (1..=1000).contains(&v) => Ok(v),
        _ => Err(format!(
            "{} is not a threshold: a whole percentage of the limit from 1 to 1000",
            crate::error::echo(s)
        )),
    }
}

/// Check a rule name: 1 to 63 letters, digits, `_`, `.` or `-`, starting with a letter or
/// digit (the table's CHECK says the same).
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not an alert name: 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit",
            crate::error::echo(name)
        ))
    }
}

/// How long a failed delivery waits before a later run tries again, after its
/// `failed_runs`-th failed run (counting this one): 30 s after the first, doubling per
/// failed run, at most an hour, and never sooner than the receiver's `Retry-After`.
pub fn wait_for_next_run(
    failed_runs: i32,
    retry_after: Option<std::time::Duration>,
) -> std::time::Duration {
    let n = failed_runs.clamp(1, 8) as u32 - 1;
    let backoff = std::time::Duration::from_secs((30u64 << n).min(3600));
    retry_after.map_or(backoff, |after| after.max(backoff))
}

/// How long a decision is retried before it is marked failed.
pub const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

crate::text_enum! {
    /// Where an alert's delivery stands in the outbox (`usagectl_alert_outbox.status`).
    pub enum OutboxStatus {
        /// Not delivered yet; a later run tries again.
        Pending = "pending",
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// Given up: a permanent refusal, or retried for [`RETRY_FOR`].
        Failed = "failed",
    }
}

crate::text_enum! {
    /// How one run's delivery of an alert ended, as `alert run` reports it.
    pub enum DeliveryStatus {
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// Given up for good.
        Failed = "failed",
        /// Not delivered in this run; a later run tries again.
        Retrying = "retrying",
    }
}

/// Attempts within one run before a delivery waits for a later run.
pub const TRIES_PER_RUN: u32 = 3;
/// The first pause between attempts within a run (doubling).
pub const FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);
/// The longest a Retry-After is waited for within a run; a longer one waits for a later run.
pub const LONGEST_WAIT_IN_RUN: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a run's claim on a delivery lasts, given one attempt's total timeout: every
/// attempt of a run at its timeout and every pause, with a minute to spare, so no other run
/// takes a delivery this one is still trying.
pub fn claim_lease(attempt_timeout: std::time::Duration) -> std::time::Duration {
    attempt_timeout * TRIES_PER_RUN
        + LONGEST_WAIT_IN_RUN * (TRIES_PER_RUN - 1)
        + std::time::Duration::from_secs(60)
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    /// Delivered.
    Delivered,
    /// Failed for good.
    Failed,
    /// Try again in a later run, not before this long from now.
    Later(std::time::Duration),
    /// Try again within this run, after this pause (the claim stays).
    Again(std::time::Duration),
}

impl AttemptEnd {
    /// How the run reports it.
    pub fn status(self) -> DeliveryStatus {
        match self {
            AttemptEnd::Delivered => DeliveryStatus::Delivered,
            AttemptEnd::Failed => DeliveryStatus::Failed,
            AttemptEnd::Later(_) | AttemptEnd::Again(_) => DeliveryStatus::Retrying,
        }
    }
}

/// The retry policy after an attempt worth repeating failed (a timeout, 408, 429, 5xx):
/// the `tries`-th attempt of this run, `pause` the run's current pause, `retry_after` the
/// receiver's. Given up once [`RETRY_FOR`] has passed since the decision; tried again in
/// this run while fewer than [`TRIES_PER_RUN`] attempts were made and the wait is at most
/// [`LONGEST_WAIT_IN_RUN`]; else left to a later run ([`wait_for_next_run`]).
pub fn after_retryable(
    tries: u32,
    pause: std::time::Duration,
    retry_after: Option<std::time::Duration>,
    decided_at: DateTime<Utc>,
    now: DateTime<Utc>,
    failed_runs: i32,
) -> AttemptEnd {
    let wait = retry_after.unwrap_or(pause);
    let given_up = decided_at + chrono::Duration::from_std(RETRY_FOR).unwrap_or_default() <= now;
    if given_up {
        AttemptEnd::Failed
    } else if tries < TRIES_PER_RUN && wait <= LONGEST_WAIT_IN_RUN {
        AttemptEnd::Again(wait)
    } else {
        AttemptEnd::Later(wait_for_next_run(failed_runs + 1, retry_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retryable_failure_is_tried_again_in_the_run_then_left_to_a_later_one() {
        use std::time::Duration as D;
        let decided = Utc::now();
        let now = decided + chrono::Duration::minutes(5);
        let half = D::from_millis(500);
        assert_eq!(
            after_retryable(1, half, None, decided, now, 0),
            AttemptEnd::Again(half)
        );
        assert_eq!(
            after_retryable(2, half, Some(D::from_secs(10)), decided, now, 0),
            AttemptEnd::Again(D::from_secs(10)),
            "a Retry-After of at most 10 s is waited for in the run"
        );
        assert_eq!(
            after_retryable(2, half, Some(D::from_secs(11)), decided, now, 0),
            AttemptEnd::Later(D::from_secs(30)),
            "a longer one waits for a later run"
        );
        assert_eq!(
            after_retryable(3, half, None, decided, now, 2),
            AttemptEnd::Later(D::from_secs(120)),
            "the third attempt is the run's last; the third failed run waits 120 s"
        );
        assert_eq!(
            after_retryable(
                1,
                half,
                None,
                decided,
                decided + chrono::Duration::hours(24),
                0
            ),
            AttemptEnd::Failed,
            "given up a day after the decision"
        );
        assert_eq!(AttemptEnd::Again(half).status(), DeliveryStatus::Retrying);
        assert_eq!(AttemptEnd::Failed.status(), DeliveryStatus::Failed);
    }

    #[test]
    fn a_claim_outlasts_every_attempt_and_pause_of_a_run() {
        use std::time::Duration as D;
        assert_eq!(claim_lease(D::from_secs(10)), D::from_secs(30 + 20 + 60));
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn rule(name: &str, thresholds: &[u16]) -> Rule {
        Rule {
            name: name.into(),
            webhook: "http://127.0.0.1/…".into(),
            format: Format::Standard,
            thresholds: thresholds.to_vec(),
            metrics: Some(vec![Metric::ChatMessages]),
            org_id: None,
            tier: None,
            allow_insecure_http: false,
            created_at: t("2026-01-01T00:00:00Z"),
            created_by: "me".into(),
        }
    }

    fn org(current: i64, limit: i64, period: &str) -> OrgUse {
        OrgUse {
            org_id: "acme".into(),
            tier: "trial".into(),
            period_start: t(period),
            period_end: t("2027-01-01T00:00:00Z"),
            uses: vec![
                MetricUse {
                    metric: Metric::ChatMessages,
                    current,
                    limit,
                },
                MetricUse {
                    metric: Metric::Analyses,
                    current: 1000,
                    limit: 1,
                },
            ],
        }
    }

    /// Run `decide` over a sequence of readings, applying each decision as the database
    /// would; the kinds decided at each step.
    fn run(rules: &[Rule], readings: &[OrgUse]) -> Vec<Vec<(Kind, u16)>> {
        let mut states = BTreeMap::new();
        let mut out = Vec::new();
        for r in readings {
            let ds = decide(rules, std::slice::from_ref(r), &states);
            for d in &ds {
                states.insert(
                    (d.rule.clone(), d.org_id.clone(), d.metric, d.threshold_pct),
                    State {
                        period_start: d.period_start,
                        crossed: d.kind == Kind::Crossed,
                    },
                );
            }
            out.push(ds.iter().map(|d| (d.kind, d.threshold_pct)).collect());
        }
        out
    }

    #[test]
    fn crossing_is_decided_once_per_period_however_usage_teeters() {
        let rules = [rule("r", &[80, 100])];
        let p = "2026-12-01T00:00:00Z";
        let got = run(
            &rules,
            &[
                org(79, 100, p),
                org(80, 100, p),
                org(80, 100, p),
                org(99, 100, p),
                org(100, 100, p),
                org(150, 100, p),
                org(100, 100, p),
            ],
        );
        assert_eq!(
            got,
            vec![
                vec![],
                vec![(Kind::Crossed, 80)],
                vec![],
                vec![],
                vec![(Kind::Crossed, 100)],
                vec![],
                vec![],
            ]
        );
    }

    #[test]
    fn a_grant_or_correction_resolves_and_a_new_period_starts_silently() {
        let rules = [rule("r", &[80])];
        let got = run(
            &rules,
            &[
                org(90, 100, "2026-11-01T00:00:00Z"),
                org(90, 200, "2026-11-01T00:00:00Z"), // a grant of 100
                org(170, 200, "2026-11-01T00:00:00Z"),
                // next period: usage starts at 0, nothing to say
                org(0, 100, "2026-12-01T00:00:00Z"),
                org(85, 100, "2026-12-01T00:00:00Z"),
                org(85, UNLIMITED, "2026-12-01T00:00:00Z"), // a tier change
            ],
        );
        assert_eq!(
            got,
            vec![
                vec![(Kind::Crossed, 80)],
                vec![(Kind::Resolved, 80)],
                vec![(Kind::Crossed, 80)],
                vec![],
                vec![(Kind::Crossed, 80)],
                vec![(Kind::Resolved, 80)],
            ]
        );
    }

    #[test]
    fn the_threshold_is_reached_at_exactly_its_share() {
        // current * 100 >= pct * limit, in integers
        let rules = [rule("r", &[80])];
        let p = "2026-12-01T00:00:00Z";
        assert_eq!(run(&rules, &[org(399, 500, p)]), vec![vec![]]);
        assert_eq!(
            run(&rules, &[org(400, 500, p)]),
            vec![vec![(Kind::Crossed, 80)]]
        );
        assert_eq!(
            run(&rules, &[org(4, 5, p)]),
            vec![vec![(Kind::Crossed, 80)]]
        );
        assert_eq!(run(&rules, &[org(3, 5, p)]), vec![vec![]]);
    }

    #[test]
    fn scope_metrics_and_leaving_the_tier() {
        let mut r = rule("r", &[80]);
        r.tier = Some("trial".into());
        let p = "2026-12-01T00:00:00Z";
        let mut moved = org(90, 100, p);
        moved.tier = "pilot".into();
        assert_eq!(
            run(std::slice::from_ref(&r), &[org(90, 100, p), moved.clone()]),
            vec![vec![(Kind::Crossed, 80)], vec![(Kind::Resolved, 80)]]
        );
        // an org never covered is never decided
        assert_eq!(run(std::slice::from_ref(&r), &[moved]), vec![vec![]]);
        // analyses (1000/1) is not watched by a chat_messages rule; all metrics: it is
        let mut all = rule("all", &[100]);
        all.metrics = None;
        let ds = decide(&[all], &[org(0, 100, p)], &BTreeMap::new());
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].metric, Metric::Analyses);
        let mut one = rule("one", &[80]);
        one.org_id = Some("other".into());
        assert!(decide(&[one], &[org(90, 100, p)], &BTreeMap::new()).is_empty());
    }

    #[test]
    fn payloads_and_slack_text() {
        let d = Decision {
            rule: "r".into(),
            kind: Kind::Crossed,
            tier: "trial".into(),
            org_id: "acme".into(),
            metric: Metric::ChatMessages,
            threshold_pct: 80,
            current: 40,
            limit: 50,
            period_start: t("2026-12-01T00:00:00Z"),
            period_end: t("2027-01-01T00:00:00Z"),
        };
        let p = Payload::of(&d, "msg_1".into(), t("2026-12-02T10:00:00Z"));
        let v: serde_json::Value = serde_json::from_str(&p.body(Format::Standard)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "usage.threshold_crossed", "id": "msg_1", "org_id": "acme",
                "tier": "trial", "metric": "chat_messages", "threshold_pct": 80, "current": 40,
                "limit": 50, "period_start": "2026-12-01T00:00:00Z",
                "period_end": "2027-01-01T00:00:00Z", "occurred_at": "2026-12-02T10:00:00Z"})
        );
        // people read "reached" (at 100%: current >= limit), never "crossed" or "over"
        assert_eq!(Kind::label(&p.kind), "reached");
        assert_eq!(Kind::label(Kind::Resolved.type_name()), "back under");
        let s: serde_json::Value = serde_json::from_str(&p.body(Format::Slack)).unwrap();
        assert_eq!(
            s["text"],
            "usagectl: org acme (trial) reached 80% of its chat_messages limit: 40/50 in the period 2026-12-01T00:00:00Z to 2027-01-01T00:00:00Z"
        );
    }

    #[test]
    fn bad_input() {
        assert_eq!(parse_threshold("80"), Ok(80));
        assert_eq!(parse_threshold("95%"), Ok(95));
        assert!(parse_threshold("0").is_err());
        assert!(parse_threshold("1001").is_err());
        assert!(parse_threshold("eighty").is_err());
        assert!(validate_name("chat-80.slack_1").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("-x").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name(&"a".repeat(64)).is_err());
        let secs = |runs, after: Option<u64>| {
            wait_for_next_run(runs, after.map(std::time::Duration::from_secs)).as_secs()
        };
        assert_eq!(secs(1, None), 30, "30 s after the first failed run");
        assert_eq!(secs(2, None), 60, "doubling per failed run");
        assert_eq!(secs(3, None), 120);
        assert_eq!(secs(7, None), 1920);
        assert_eq!(secs(8, None), 3600, "at most an hour");
        assert_eq!(secs(100, None), 3600);
        assert_eq!(secs(1, Some(300)), 300, "never sooner than Retry-After");
        assert_eq!(
            secs(3, Some(60)),
            120,
            "a shorter Retry-After changes nothing"
        );
        let id = new_message_id().unwrap();
        assert!(id.starts_with("msg_") && id.len() == 36, "{id}");
    }
}
