//! Stripe metered billing: the rules (unit-tested without Stripe) and a small client for the
//! three Billing Meter endpoints usagectl uses.
//!
//! - A **source** is one of the six metrics (`ai_tokens` = input + output tokens) or an event
//!   type; its value for a UTC day is the sum of `quantity` of its event types that day.
//! - A day's **revisions** add up to what Stripe was sent for it; a push sends usage minus
//!   that sum as the next revision ([`plan_day`]). A decrease is a negative value: Stripe's
//!   docs say incorrectly recorded usage can be fixed "by recording negative quantities"
//!   (whole numbers), which works for any day Stripe still accepts, while a meter event
//!   adjustment can only cancel a whole event within 24 hours of Stripe receiving it.
//! - The **identifier** of a revision (at most 100 characters, also the request's
//!   `Idempotency-Key`) is derived from mode, org, source, day and revision
//!   ([`identifier`]).
//! - Stripe takes an event's `timestamp` at most 35 days back ([`sendable`]): a change to
//!   an older day is a manual credit for finance.
//!
//! The API key is never printed: it lives in [`Key`], whose `Debug` shows only the mode, and
//! every message built from Stripe's answers has the key cut out.
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::usage;

/// Test or live mode, from the key's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `sk_test_` / `rk_test_`.
    Test,
    /// `sk_live_` / `rk_live_`.
    Live,
}

impl Mode {
    /// `test` or `live`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }
}

/// A Stripe secret or restricted key.
#[derive(Clone)]
pub struct Key {
    key: String,
    mode: Mode,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({} mode)", self.mode.name())
    }
}

impl Key {
    /// Parse a key; a live key only when `live` is given (exit 2 otherwise). Messages never
    /// quote the key.
    pub fn parse(text: &str, live: bool) -> Result<Key> {
        let key = text.trim().to_string();
        let mode = if key.starts_with("sk_test_") || key.starts_with("rk_test_") {
            Mode::Test
        } else if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
            Mode::Live
        } else {
            return Err(usage(
                "the Stripe key is not a secret or restricted key (sk_test_, rk_test_, sk_live_ or rk_live_)",
            ));
        };
        if key.len() < 16 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(usage(
                "the Stripe key has characters or a length no Stripe key has",
            ));
        }
        if mode == Mode::Live && !live {
            return Err(usage(
                "that is a live-mode Stripe key: pass --live to bill real customers (test keys, sk_test_/rk_test_, need nothing)",
            ));
        }
        Ok(Key { key, mode })
    }

    /// Its mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// `text` with every occurrence of the key replaced (for messages built from answers).
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.key, "sk_…")
    }
}

/// The API version every request pins (`Stripe-Version`), so Stripe's answers keep the
/// shape this client reads.
pub const API_VERSION: &str = "2024-06-20";

/// How far back Stripe takes a meter event's timestamp.
pub const STRIPE_WINDOW_DAYS: i64 = 35;

/// Margin kept from the edge of that window, so a revision decided now can still be
/// retried for a day before Stripe would refuse its timestamp.
pub const WINDOW_MARGIN: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The timestamp a day's events are sent with: its first second (00:00:00 UTC).
pub fn day_timestamp(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or_default()
}

/// THE window rule: whether a revision for `day` may be sent at `now` (its timestamp at
/// least a day inside Stripe's 35 days); else it is a manual credit.
pub fn sendable(day: NaiveDate, now: DateTime<Utc>) -> bool {
    let ts = DateTime::from_timestamp(day_timestamp(day), 0).unwrap_or(now);
    ts > now - chrono::TimeDelta::days(STRIPE_WINDOW_DAYS) + WINDOW_MARGIN && ts <= now
}

/// What a push does for one day: the next revision's value (usage minus what the ledger
/// already holds for the day), or nothing when they agree.
pub fn plan_day(usage: i64, ledger_sum: i64) -> Option<i64> {
    let delta = usage - ledger_sum;
    (delta != 0).then_some(delta)
}

/// THE identifier of a revision: `uc<mode>-<org>-<source>-<yyyymmdd>-r<revision>` when that
/// fits in 100 characters and the org id is plain (letters, digits, `-`, `_`, `.`); else
/// `uc<mode>-h<sha256 of the same fields, hex, 40 characters>-<yyyymmdd>-r<revision>`.
pub fn identifier(mode: Mode, org: &str, source: &str, day: NaiveDate, revision: i32) -> String {
    let m = match mode {
        Mode::Test => 't',
        Mode::Live => 'l',
    };
    let d = day.format("%Y%m%d");
    let plain = format!("uc{m}-{org}-{source}-{d}-r{revision}");
    let simple = org
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if simple && plain.len() <= 100 {
        return plain;
    }
    let h = crate::sink::sha256_hex(format!("{org}\u{0}{source}").as_bytes());
    format!("uc{m}-h{}-{d}-r{revision}", &h[..40])
}

/// An error Stripe answered with: its HTTP status and `error.type`, `code`, `message`.
#[derive(Debug, Clone, PartialEq)]
pub struct StripeError {
    /// HTTP status.
    pub status: u16,
    /// `error.type` (`invalid_request_error`, `api_error`, ...).
    pub kind: String,
    /// `error.code`, when given.
    pub code: Option<String>,
    /// `error.message`.
    pub message: String,
}

impl std::fmt::Display for StripeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 0 {
            return write!(f, "could not reach Stripe: {}", self.message);
        }
        write!(f, "Stripe answered {} {}", self.status, self.kind)?;
        if let Some(c) = &self.code {
            write!(f, " ({c})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for StripeError {}

impl StripeError {
    /// Read Stripe's error body (`{"error": {"type", "code", "message"}}`).
    pub fn from_body(status: u16, body: &str) -> StripeError {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let e = &v["error"];
        let text = |k: &str| e[k].as_str().map(str::to_string);
        StripeError {
            status,
            kind: text("type").unwrap_or_else(|| "unknown_error".to_string()),
            code: text("code"),
            message: text("message").unwrap_or_else(|| {
                let b: String = body.chars().take(200).collect();
                if b.is_empty() {
                    "(no body)".to_string()
                } else {
                    b
                }
            }),
        }
    }

    /// Stripe already holds an event with this identifier: the revision was delivered
    /// (the identifier is derived from the revision, so nothing else can have it).
    pub fn is_duplicate_identifier(&self) -> bool {
        self.status == 400
            && (self.code.as_deref() == Some("duplicate_meter_event")
                || self
                    .message
                    .starts_with("An event already exists with identifier"))
    }

    /// Worth trying again: 429, 5xx, 409 (a request with this key is in progress).
    pub fn retryable(&self) -> bool {
        matches!(self.status, 409 | 429 | 500..=599)
    }
}

/// One meter event to send.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeterEvent {
    /// The meter's event name.
    pub event_name: String,
    /// The identifier (and Idempotency-Key).
    pub identifier: String,
    /// `payload[stripe_customer_id]`.
    pub customer: String,
    /// `payload[value]`: a whole number, negative for a decrease.
    pub value: i64,
    /// Unix seconds.
    pub timestamp: i64,
}

impl MeterEvent {
    /// The form body, in Stripe's bracket notation.
    pub fn form(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("event_name", &self.event_name)
            .append_pair("identifier", &self.identifier)
            .append_pair("payload[stripe_customer_id]", &self.customer)
            .append_pair("payload[value]", &self.value.to_string())
            .append_pair("timestamp", &self.timestamp.to_string())
            .finish()
    }
}

/// One day of a meter event summary.
#[derive(Debug, Clone, PartialEq)]
pub struct DaySummary {
    /// The UTC day.
    pub day: NaiveDate,
    /// `aggregated_value`.
    pub value: f64,
}

/// Where requests go and how long they may take.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// `https://api.stripe.com`, or a proxy's or test server's base URL.
    pub base: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Trusted roots for HTTPS.
    pub roots: crate::tls::Roots,
}

/// The client.
pub struct Api {
    agent: ureq::Agent,
    base: String,
    key: Key,
}

/// Attempts of one request (the same Idempotency-Key each time).
const TRIES: u32 = 3;
/// The longest Retry-After waited for.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

impl Api {
    /// A client for `opts.base` with `key`. Plain http only to loopback.
    pub fn new(opts: &ApiOptions, key: Key) -> Result<Api> {
        let ep =
            crate::webhook::Endpoint::parse_as(&opts.base, crate::webhook::UrlRole::StripeApiBase)
                .map_err(|e| usage(format!("--api-base: {e}")))?;
        let agent = crate::webhook::agent(
            crate::webhook::Timeouts {
                connect: opts.connect_timeout,
                total: opts.timeout,
            },
            &opts.roots,
        )?;
        Ok(Api {
            agent,
            base: ep.expose().trim_end_matches('/').to_string(),
            key,
        })
    }

    /// Its mode.
    pub fn mode(&self) -> Mode {
        self.key.mode
    }

    /// Send a request up to [`TRIES`] times (429 after its Retry-After, 5xx and connection
    /// failures after a pause); the body of the 2xx answer.
    fn call(
        &self,
        req: impl Fn() -> ureq::Request,
        body: Option<&str>,
    ) -> Result<String, StripeError> {
        let mut pause = Duration::from_millis(500);
        let mut last = None;
        for attempt in 1..=TRIES {
            let r = req()
                .set("authorization", &format!("Bearer {}", self.key.key))
                .set("stripe-version", API_VERSION);
            let started = Instant::now();
            let result = match body {
                Some(b) => r
                    .set("content-type", "application/x-www-form-urlencoded")
                    .send_string(b),
                None => r.call(),
            };
            let (err, wait) = match result {
                Ok(resp) => return Ok(resp.into_string().unwrap_or_default()),
                Err(ureq::Error::Status(status, resp)) => {
                    let after = resp
                        .header("retry-after")
                        .and_then(|v| crate::webhook::parse_retry_after(v, Utc::now()));
                    let text = resp.into_string().unwrap_or_default();
                    let mut e = StripeError::from_body(status, &text);
                    e.message = self.key.scrub(&e.message);
                    (e, after)
                }
                Err(ureq::Error::Transport(t)) => {
                    let cause = std::error::Error::source(&t)
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| t.kind().to_string());
                    let took = started.elapsed();
                    (
                        StripeError {
                            status: 0,
                            kind: "connection_error".to_string(),
                            code: None,
                            message: format!("{cause} (after {} ms)", took.as_millis()),
                        },
                        None,
                    )
                }
            };
            let retry = err.status == 0 || err.retryable();
            if !retry || attempt == TRIES {
                return Err(err);
            }
            let wait = wait.unwrap_or(pause).min(LONGEST_WAIT);
            std::thread::sleep(wait);
            pause *= 2;
            last = Some(err);
        }
        Err(last.unwrap_or(StripeError {
            status: 0,
            kind: "connection_error".into(),
            code: None,
            message: "no attempt made".into(),
        }))
    }

    /// `POST /v1/billing/meter_events` with the identifier as Idempotency-Key.
    pub fn send(&self, ev: &MeterEvent) -> Result<(), StripeError> {
        let url = format!("{}/v1/billing/meter_events", self.base);
        let form = ev.form();
        match self.call(
            || self.agent.post(&url).set("idempotency-key", &ev.identifier),
            Some(&form),
        ) {
            Ok(_) => Ok(()),
            Err(e) if e.is_duplicate_identifier() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/billing/meters/{meter}/event_summaries` for `customer`, grouped by day, over
    /// the whole UTC days `[from, to)`, every page.
    pub fn day_summaries(
        &self,
        meter: &str,
        customer: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DaySummary>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("customer", customer)
                .append_pair("start_time", &day_timestamp(from).to_string())
                .append_pair("end_time", &day_timestamp(to).to_string())
                .append_pair("value_grouping_window", "day")
                .append_pair("limit", "100");
            if let Some(a) = &after {
                q.append_pair("starting_after", a);
            }
            let url = format!(
                "{}/v1/billing/meters/{}/event_summaries?{}",
                self.base,
                url::form_urlencoded::byte_serialize(meter.as_bytes()).collect::<String>(),
                q.finish()
            );
            let body = self
                .call(|| self.agent.get(&url), None)
                .map_err(anyhow::Error::new)
                .with_context(|| {
                    format!("reading Stripe's event summaries of meter {meter} for {customer}")
                })?;
            let v: serde_json::Value =
                serde_json::from_str(&body).context("Stripe's event summaries are not JSON")?;
            let Some(data) = v["data"].as_array() else {
                bail!("Stripe's event summaries have no data list");
            };
            for s in data {
                let start = s["start_time"]
                    .as_i64()
                    .context("a summary without start_time")?;
                let day = DateTime::from_timestamp(start, 0)
                    .context("a summary's start_time is out of range")?
                    .date_naive();
                out.push(DaySummary {
                    day,
                    value: s["aggregated_value"].as_f64().unwrap_or(0.0),
                });
            }
            match (
                v["has_more"].as_bool(),
                data.last().and_then(|s| s["id"].as_str()),
            ) {
                (Some(true), Some(id)) => after = Some(id.to_string()),
                _ => return Ok(out),
            }
        }
    }
}

crate::text_enum! {
    /// Where one revision of a stream's day stands in the ledger (`status`), or how a push
    /// reports it.
    pub enum RevisionStatus {
        /// Decided and claimed; the next push sends it.
        Pending = "pending",
        /// Usage changed on a day Stripe no longer accepts: credit it by hand.
        ManualCredit = "manual_credit",
        /// Stripe acknowledged it.
        Sent = "sent",
        /// This push's request failed; it stays pending for the next push.
        Failed = "failed",
    }
}

/// One revision a push decides for a day: the next revision number, the change to send,
/// the day's usage after it, and whether it can be sent at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRevision {
    /// UTC day.
    pub day: NaiveDate,
    /// The day's next revision (the ledger's last plus one).
    pub revision: i32,
    /// Usage minus what the ledger already holds for the day.
    pub value: i64,
    /// The day's usage.
    pub usage_after: i64,
    /// `Pending` when Stripe still accepts the day, else `ManualCredit`.
    pub status: RevisionStatus,
}

/// The revisions a stream needs: per day from `from_day` through `through`, usage minus
/// the ledger's sum (pending and manual credits included) where they differ. A day that
/// `through` cuts is read in part and its usage can only grow, so a decrease there means an
/// earlier `--through` than what was sent, and is not planned.
pub fn plan_revisions(
    usage: &BTreeMap<NaiveDate, i64>,
    ledger: &BTreeMap<NaiveDate, (i64, i32)>,
    from_day: NaiveDate,
    through: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<PlannedRevision> {
    let days: BTreeSet<NaiveDate> = usage
        .keys()
        .chain(ledger.keys())
        .copied()
        .filter(|d| *d >= from_day && *d <= through.date_naive())
        .collect();
    let mut out = Vec::new();
    for day in days {
        let u = usage.get(&day).copied().unwrap_or(0);
        let (sum, last) = ledger.get(&day).copied().unwrap_or((0, 0));
        let Some(value) = plan_day(u, sum) else {
            continue;
        };
        let day_end = day
            .succ_opt()
            .unwrap_or(day)
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc();
        if value < 0 && day_end > through {
            continue;
        }
        out.push(PlannedRevision {
            day,
            revision: last + 1,
            value,
            usage_after: u,
            status: if sendable(day, now) {
                RevisionStatus::Pending
            } else {
                RevisionStatus::ManualCredit
            },
        });
    }
    out
}

/// How far Stripe's figure may be from the ledger's and still agree (Stripe sums values as
/// floating point).
pub const RECONCILE_TOLERANCE: f64 = 1e-9;

/// One day of one stream as `stripe reconcile` compares it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayFigures {
    /// usagectl's usage of the day.
    pub usage: i64,
    /// What the ledger says Stripe acknowledged.
    pub sent: i64,
    /// Decided, not acknowledged yet.
    pub pending: i64,
    /// Recorded as a manual credit.
    pub credit: i64,
    /// What Stripe's day summary holds.
    pub stripe: f64,
}

/// Whether a day agrees (Stripe holds what the ledger says was acknowledged, and that is
/// the day's usage): `None` when it does, else why not, in the words reconcile prints.
pub fn disagreement(d: &DayFigures) -> Option<String> {
    let stripe_agrees = (d.stripe - d.sent as f64).abs() < RECONCILE_TOLERANCE;
    if stripe_agrees && d.sent == d.usage {
        return None;
    }
    let mut notes = Vec::new();
    if !stripe_agrees {
        notes.push(format!(
            "Stripe holds {} but the ledger says {} was acknowledged",
            d.stripe, d.sent
        ));
    }
    if d.pending != 0 {
        notes.push(format!(
            "{} decided, not acknowledged yet (the next push sends it)",
            d.pending
        ));
    }
    if d.credit != 0 {
        notes.push(format!("{} recorded as a manual credit", d.credit));
    }
    let open = d.usage - d.sent - d.pending - d.credit;
    if open != 0 {
        notes.push(format!("{open} of usage not pushed yet"));
    }
    Some(notes.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_plan_sends_the_difference_as_the_next_revision() {
        let now = at("2026-11-20T12:00:00Z");
        let usage = BTreeMap::from([(day("2026-11-18"), 10), (day("2026-11-19"), 7)]);
        let ledger = BTreeMap::from([(day("2026-11-18"), (4, 2)), (day("2026-11-19"), (7, 1))]);
        let plan = plan_revisions(&usage, &ledger, day("2026-11-01"), now, now);
        assert_eq!(
            plan,
            vec![PlannedRevision {
                day: day("2026-11-18"),
                revision: 3,
                value: 6,
                usage_after: 10,
                status: RevisionStatus::Pending,
            }],
            "the day that agrees (19th) is left alone"
        );
    }

    #[test]
    fn a_plan_decreases_a_whole_day_but_never_a_day_through_cuts() {
        let now = at("2026-11-20T12:00:00Z");
        let ledger = BTreeMap::from([(day("2026-11-18"), (5, 1)), (day("2026-11-20"), (5, 1))]);
        let usage = BTreeMap::from([(day("2026-11-18"), 3), (day("2026-11-20"), 2)]);
        let plan = plan_revisions(&usage, &ledger, day("2026-11-01"), now, now);
        assert_eq!(plan.len(), 1, "{plan:?}");
        assert_eq!((plan[0].day, plan[0].value), (day("2026-11-18"), -2));
    }

    #[test]
    fn a_plan_starts_at_the_meters_first_day_and_credits_old_days_by_hand() {
        let now = at("2026-11-20T12:00:00Z");
        let usage = BTreeMap::from([
            (day("2026-10-01"), 1),
            (day("2026-10-05"), 1),
            (day("2026-11-19"), 1),
        ]);
        let plan = plan_revisions(&usage, &BTreeMap::new(), day("2026-10-02"), now, now);
        let got: Vec<_> = plan.iter().map(|p| (p.day, p.status)).collect();
        assert_eq!(
            got,
            vec![
                (day("2026-10-05"), RevisionStatus::ManualCredit),
                (day("2026-11-19"), RevisionStatus::Pending)
            ]
        );
    }

    #[test]
    fn reconcile_agrees_only_when_stripe_ledger_and_usage_match() {
        let d = |usage, sent, pending, credit, stripe| DayFigures {
            usage,
            sent,
            pending,
            credit,
            stripe,
        };
        assert_eq!(disagreement(&d(5, 5, 0, 0, 5.0)), None);
        assert_eq!(disagreement(&d(5, 5, 0, 0, 5.0 + 1e-12)), None);
        assert_eq!(
            disagreement(&d(5, 5, 0, 0, 5.001)).as_deref(),
            Some("Stripe holds 5.001 but the ledger says 5 was acknowledged")
        );
        assert_eq!(
            disagreement(&d(9, 5, 3, 0, 5.0)).as_deref(),
            Some(
                "3 decided, not acknowledged yet (the next push sends it); 1 of usage not pushed yet"
            )
        );
        assert_eq!(
            disagreement(&d(7, 5, 0, 2, 5.0)).as_deref(),
            Some("2 recorded as a manual credit")
        );
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn keys_say_their_mode_and_live_needs_a_flag() {
        let k = Key::parse("sk_test_51Habcdefghijklmn", false).unwrap();
        assert_eq!(k.mode(), Mode::Test);
        assert_eq!(format!("{k:?}"), "Key(test mode)");
        assert_eq!(
            Key::parse("rk_test_51Habcdefghijklmn", false)
                .unwrap()
                .mode(),
            Mode::Test
        );
        let e = Key::parse("sk_live_51Habcdefghijklmn", false).unwrap_err();
        assert!(format!("{e:#}").contains("--live") && !format!("{e:#}").contains("51Habc"));
        assert_eq!(
            Key::parse("sk_live_51Habcdefghijklmn", true)
                .unwrap()
                .mode(),
            Mode::Live
        );
        assert!(Key::parse("pk_test_51Habcdefghijklmn", false).is_err());
        assert!(Key::parse("sk_test_x y", false).is_err());
        assert_eq!(
            k.scrub("Invalid key sk_test_51Habcdefghijklmn!"),
            "Invalid key sk_…!"
        );
    }

    #[test]
    fn identifiers_are_deterministic_and_at_most_100_characters() {
        let day = d("2026-11-30");
        assert_eq!(
            identifier(Mode::Test, "acme", "ai_tokens", day, 2),
            "uct-acme-ai_tokens-20261130-r2"
        );
        assert_eq!(
            identifier(Mode::Live, "acme", "ai_tokens", day, 2),
            "ucl-acme-ai_tokens-20261130-r2"
        );
        let long = "o".repeat(200);
        let h = identifier(Mode::Test, &long, "chat_messages", day, 7);
        assert!(
            h.len() <= 100 && h.starts_with("uct-h") && h.ends_with("-20261130-r7"),
            "{h}"
        );
        assert_eq!(h, identifier(Mode::Test, &long, "chat_messages", day, 7));
        assert_ne!(h, identifier(Mode::Test, &long, "chat_messages", day, 8));
        assert_ne!(
            h,
            identifier(Mode::Test, &format!("{long}x"), "chat_messages", day, 7)
        );
        // an org id that is not plain is hashed, so the identifier stays plain
        let odd = identifier(Mode::Test, "Ørsted 工場", "csv_rows", day, 1);
        assert!(odd.is_ascii() && odd.starts_with("uct-h"), "{odd}");
    }

    #[test]
    fn the_window_and_the_plan() {
        let now: DateTime<Utc> = "2026-12-02T12:00:00Z".parse().unwrap();
        assert!(sendable(d("2026-12-02"), now));
        assert!(sendable(d("2026-10-30"), now)); // 33.5 days back
        assert!(!sendable(d("2026-10-29"), now)); // 34.5: within a day of the edge
        assert!(!sendable(d("2026-10-01"), now));
        assert!(!sendable(d("2026-12-03"), now)); // the future
        assert_eq!(plan_day(10, 10), None);
        assert_eq!(plan_day(12, 10), Some(2));
        assert_eq!(plan_day(7, 10), Some(-3));
        assert_eq!(day_timestamp(d("1970-01-02")), 86_400);
    }

    #[test]
    fn forms_and_errors() {
        let ev = MeterEvent {
            event_name: "ai tokens&x".into(),
            identifier: "uct-acme-ai_tokens-20261130-r1".into(),
            customer: "cus_123".into(),
            value: -5,
            timestamp: 1_764_460_800,
        };
        assert_eq!(
            ev.form(),
            "event_name=ai+tokens%26x&identifier=uct-acme-ai_tokens-20261130-r1&payload%5Bstripe_customer_id%5D=cus_123&payload%5Bvalue%5D=-5&timestamp=1764460800"
        );
        let e = StripeError::from_body(
            400,
            r#"{"error": {"type": "invalid_request_error", "code": "parameter_invalid_integer", "message": "Invalid integer: 1.5"}}"#,
        );
        assert_eq!(
            e.to_string(),
            "Stripe answered 400 invalid_request_error (parameter_invalid_integer): Invalid integer: 1.5"
        );
        assert!(!e.retryable() && !e.is_duplicate_identifier());
        let dup = StripeError::from_body(
            400,
            r#"{"error": {"type": "invalid_request_error", "message": "An event already exists with identifier x."}}"#,
        );
        assert!(dup.is_duplicate_identifier());
        assert!(StripeError::from_body(429, "").retryable());
        assert!(StripeError::from_body(503, "oops").retryable());
        assert_eq!(StripeError::from_body(502, "").message, "(no body)");
    }
}
