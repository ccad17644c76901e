//! Tiers, metrics and limit evaluation as pure functions (no database here).
use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use serde::Serialize;

use crate::error::{echo, usage};

/// Tier every org without an assignment falls back to.
pub const DEFAULT_TIER: &str = "trial";

/// A limit value meaning "unlimited".
pub const UNLIMITED: i64 = -1;

/// The percentage of a limit at which a metric is `approaching_limit` unless `--warn-at`
/// says otherwise.
pub const DEFAULT_WARN_AT: u8 = 80;

/// Serialize a type as its one `name()`, so JSON, CSV and tables cannot disagree.
macro_rules! serialize_as_name {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

/// What is limited, as the seed's `USAGE_LIMITS` names it (without `_per_month`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[value(rename_all = "snake_case")]
pub enum Metric {
    /// csv_upload events per month
    CsvUploads,
    /// csv_row_processed quantity per month
    CsvRows,
    /// analysis_run events per month
    Analyses,
    /// chat_message events per month
    ChatMessages,
    /// ai_tokens_input + ai_tokens_output per month
    AiTokens,
    /// mapping_profile_created, all time up to the end of the month
    MappingProfiles,
}

serialize_as_name!(Metric);

impl Metric {
    /// Every metric, in the seed's order.
    pub const ALL: [Metric; 6] = [
        Metric::CsvUploads,
        Metric::CsvRows,
        Metric::Analyses,
        Metric::ChatMessages,
        Metric::AiTokens,
        Metric::MappingProfiles,
    ];

    /// Its name in JSON, the database and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Metric::CsvUploads => "csv_uploads",
            Metric::CsvRows => "csv_rows",
            Metric::Analyses => "analyses",
            Metric::ChatMessages => "chat_messages",
            Metric::AiTokens => "ai_tokens",
            Metric::MappingProfiles => "mapping_profiles",
        }
    }

    /// Parse a stored or typed name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The unit the seed's limits body shows.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::CsvUploads => "uploads",
            Metric::CsvRows => "rows",
            Metric::Analyses => "analyses",
            Metric::ChatMessages => "messages",
            Metric::AiTokens => "tokens",
            Metric::MappingProfiles => "profiles",
        }
    }

    /// The event types whose quantities it sums.
    pub fn event_types(self) -> &'static [&'static str] {
        match self {
            Metric::CsvUploads => &["csv_upload"],
            Metric::CsvRows => &["csv_row_processed"],
            Metric::Analyses => &["analysis_run"],
            Metric::ChatMessages => &["chat_message"],
            Metric::AiTokens => &["ai_tokens_input", "ai_tokens_output"],
            Metric::MappingProfiles => &["mapping_profile_created"],
        }
    }

    /// Whether it counts one calendar month (false: all time up to the month's end).
    pub fn monthly(self) -> bool {
        self != Metric::MappingProfiles
    }

    /// The metrics an event of this type counts toward.
    pub fn for_event(event_type: &str) -> Vec<Metric> {
        Metric::ALL
            .into_iter()
            .filter(|m| m.event_types().contains(&event_type))
            .collect()
    }
}

/// Sums of quantity per event type over a month, and all-time mapping profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// event type -> sum(quantity) within the month.
    pub month: BTreeMap<String, i64>,
    /// sum(quantity) of mapping_profile_created before the month's end.
    pub mapping_profiles_all_time: i64,
}

impl Usage {
    /// Current value of a metric.
    pub fn current(&self, metric: Metric) -> i64 {
        if metric.monthly() {
            metric
                .event_types()
                .iter()
                .map(|t| self.month.get(*t).copied().unwrap_or(0))
                .sum()
        } else {
            self.mapping_profiles_all_time
        }
    }
}

/// Where an effective limit comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSource {
    /// The org's assigned tier.
    Tier,
    /// The default tier, because the org has no assignment.
    DefaultTier,
    /// A per-org override.
    Override,
    /// The tier's or the override's limit plus grants for this billing period.
    Grant,
}

serialize_as_name!(LimitSource);

impl LimitSource {
    /// Every source.
    pub const ALL: [LimitSource; 4] = [
        LimitSource::Tier,
        LimitSource::DefaultTier,
        LimitSource::Override,
        LimitSource::Grant,
    ];

    /// Its name in JSON and CSV.
    pub fn name(self) -> &'static str {
        match self {
            LimitSource::Tier => "tier",
            LimitSource::DefaultTier => "default_tier",
            LimitSource::Override => "override",
            LimitSource::Grant => "grant",
        }
    }

    /// For tables.
    pub fn describe(self, tier: &str) -> String {
        match self {
            LimitSource::Tier => format!("tier {tier}"),
            LimitSource::DefaultTier => format!("default tier {tier} (no assignment)"),
            LimitSource::Override => "override".to_string(),
            LimitSource::Grant => "with grants for this period".to_string(),
        }
    }
}

/// Where an org's tier comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierSource {
    /// The org is assigned to it.
    Assigned,
    /// The org has no assignment: the default tier.
    Default,
}

serialize_as_name!(TierSource);

impl TierSource {
    /// Every source.
    pub const ALL: [TierSource; 2] = [TierSource::Assigned, TierSource::Default];

    /// Its name in JSON and CSV.
    pub fn name(self) -> &'static str {
        match self {
            TierSource::Assigned => "assigned",
            TierSource::Default => "default",
        }
    }
}

/// Tier definitions, assignments and overrides as stored.
#[derive(Debug, Clone, Default)]
pub struct LimitConfig {
    /// tier -> metric -> limit.
    pub tiers: BTreeMap<String, BTreeMap<Metric, i64>>,
    /// org -> tier.
    pub assignments: BTreeMap<String, String>,
    /// org -> metric -> limit.
    pub overrides: BTreeMap<String, BTreeMap<Metric, i64>>,
}

/// An org's effective limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// The tier used.
    pub tier: String,
    /// False when the org has no assignment and falls back to [`DEFAULT_TIER`].
    pub assigned: bool,
    /// metric -> (limit, source), grants included.
    pub limits: BTreeMap<Metric, (i64, LimitSource)>,
    /// metric -> what this period's grants add (only metrics with grants).
    pub granted: BTreeMap<Metric, i64>,
}

impl Effective {
    /// With a billing period's grants (`usagectl_granted()`) added: each granted metric's
    /// limit raised and its source [`LimitSource::Grant`]; an unlimited metric stays
    /// unlimited and keeps its source.
    pub fn with_grants(mut self, granted: BTreeMap<Metric, i64>) -> Effective {
        for (metric, amount) in &granted {
            if let Some((limit, source)) = self.limits.get_mut(metric)
                && *limit != UNLIMITED
                && *amount > 0
            {
                *limit = limit_with_grants(*limit, *amount);
                *source = LimitSource::Grant;
            }
        }
        self.granted = granted;
        self
    }

    /// What this period's grants add to `metric`'s limit (0 when none, or when the metric
    /// is unlimited and the grants change nothing).
    pub fn granted_to(&self, metric: Metric) -> i64 {
        match self.limits[&metric] {
            (_, LimitSource::Grant) => self.granted.get(&metric).copied().unwrap_or(0),
            _ => 0,
        }
    }

    /// Where the tier comes from.
    pub fn tier_source(&self) -> TierSource {
        if self.assigned {
            TierSource::Assigned
        } else {
            TierSource::Default
        }
    }
}

/// What an org usagectl has never seen has none of (see `queries::org_is_known`).
const NEVER_SEEN: &str = "has never been seen (no events, settings, tier, override, grant, alert rule or Stripe mapping)";

fn quoted(s: &str) -> String {
    format!("\"{}\"", crate::text::escape_text(s))
}

/// The note for an org usagectl has never seen (a typo, most likely), with the `similar`
/// known ids, closest first.
pub fn unknown_org_note(org: &str, similar: &[&str]) -> String {
    let mut msg = format!("org {} {NEVER_SEEN}", quoted(org));
    if !similar.is_empty() {
        let names: Vec<String> = similar.iter().map(|s| quoted(s)).collect();
        msg.push_str(&format!("; did you mean {}?", names.join(" or ")));
    }
    msg
}

/// THE rule for a write of an org's settings (`org set`, `tier assign`, `tier override`,
/// `grant add`, `alert add --org`): an org usagectl has never seen is refused, naming the
/// `nearest` known ids, unless `new_org` (`--new-org`) says it is meant. A typo would
/// otherwise create a second org silently (grants cannot even be deleted). `record` does
/// not ask: an org's first event is how orgs appear.
pub fn check_org_write(org: &str, known: bool, new_org: bool, nearest: &[&str]) -> Result<()> {
    if known || new_org {
        return Ok(());
    }
    let mut msg = format!("org {} {NEVER_SEEN}", quoted(org));
    if !nearest.is_empty() {
        let names: Vec<_> = nearest
            .iter()
            .map(|s| crate::text::escape_text(s))
            .collect();
        msg.push_str(&format!("; nearest known: {}", names.join(", ")));
    }
    msg.push_str("; pass --new-org to create it");
    Err(usage(msg))
}

impl LimitConfig {
    /// The limits that apply to `org`.
    pub fn effective(&self, org: &str) -> Effective {
        let (tier, assigned) = match self.assignments.get(org) {
            Some(t) => (t.clone(), true),
            None => (DEFAULT_TIER.to_string(), false),
        };
        let tier_source = if assigned {
            LimitSource::Tier
        } else {
            LimitSource::DefaultTier
        };
        let tier_limits = self.tiers.get(&tier);
        let overrides = self.overrides.get(org);
        let limits = Metric::ALL
            .into_iter()
            .map(|m| {
                let lim = match overrides.and_then(|o| o.get(&m)) {
                    Some(v) => (*v, LimitSource::Override),
                    // a tier missing a metric (hand-edited tables) is treated as unlimited
                    None => (
                        tier_limits
                            .and_then(|t| t.get(&m))
                            .copied()
                            .unwrap_or(UNLIMITED),
                        tier_source,
                    ),
                };
                (m, lim)
            })
            .collect();
        Effective {
            tier,
            assigned,
            limits,
            granted: BTreeMap::new(),
        }
    }
}

/// The limit once a period's grants are added: unlimited stays unlimited.
pub fn limit_with_grants(limit: i64, granted: i64) -> i64 {
    if limit == UNLIMITED {
        UNLIMITED
    } else {
        limit.saturating_add(granted)
    }
}

/// A limit for people: "unlimited", "500", or "600 (500 + 100 granted)".
pub fn limit_text(limit: i64, granted: i64) -> String {
    match (limit, granted) {
        (UNLIMITED, _) => "unlimited".to_string(),
        (n, 0) => n.to_string(),
        (n, g) => format!("{n} ({} + {g} granted)", n - g),
    }
}

/// The seed's rule: within the limit when it is unlimited or `current < limit`.
pub fn within_limit(current: i64, limit: i64) -> bool {
    limit == UNLIMITED || current < limit
}

/// Whether `current` is past `limit` (`current > limit`), not merely at it: the one rule
/// for the words "Over limit" against "Limit reached" (both are [`State::OverLimit`]).
pub fn past_limit(current: i64, limit: i64) -> bool {
    limit != UNLIMITED && current > limit
}

/// THE threshold rule: whether `current` is at or above `pct` percent of `limit`, in exact
/// integer arithmetic (a limit of 0 counts as 100% used at 0, and as past every threshold
/// once anything is used); never for an unlimited metric. status's approaching_limit and
/// alert thresholds both ask it.
pub fn reaches(current: i64, limit: i64, pct: u16) -> bool {
    match limit {
        UNLIMITED => false,
        0 => current > 0 || pct <= 100,
        l => i128::from(current) * 100 >= i128::from(pct) * i128::from(l),
    }
}

/// A metric's use as a percentage of its limit (`None` when unlimited), for display and
/// sorting; decisions use [`reaches`].
pub fn percent(current: i64, limit: i64) -> Option<f64> {
    match limit {
        UNLIMITED => None,
        0 => Some(if current > 0 { f64::INFINITY } else { 100.0 }),
        l => Some(current as f64 * 100.0 / l as f64),
    }
}

/// Quota status, as the seed's `/quota-status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Every metric below the warning threshold.
    Ok,
    /// Some metric at or above the threshold, none at its limit.
    ApproachingLimit,
    /// Some metric not within its limit (`current >= limit`: no room for one more, the
    /// seed's refusal rule). People read it as "Limit reached" when the worst metric is at
    /// its limit and "Over limit" only past it ([`past_limit`]).
    OverLimit,
}

serialize_as_name!(State);

impl State {
    /// Every state, best first.
    pub const ALL: [State; 3] = [State::Ok, State::ApproachingLimit, State::OverLimit];

    /// The name used in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::ApproachingLimit => "approaching_limit",
            State::OverLimit => "over_limit",
        }
    }

    /// The documented exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            State::Ok => crate::error::EXIT_OK,
            State::ApproachingLimit => crate::error::EXIT_APPROACHING,
            State::OverLimit => crate::error::EXIT_OVER,
        }
    }
}

/// One metric's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricUse {
    /// Which metric.
    pub metric: Metric,
    /// Used so far.
    pub current: i64,
    /// Limit (-1 unlimited).
    pub limit: i64,
}

impl MetricUse {
    /// This metric's own state.
    pub fn state(&self, warn_at: u8) -> State {
        if !within_limit(self.current, self.limit) {
            State::OverLimit
        } else if reaches(self.current, self.limit, u16::from(warn_at)) {
            State::ApproachingLimit
        } else {
            State::Ok
        }
    }

    /// Sort key for "worst": state first, then share of the limit used.
    fn severity(&self, warn_at: u8) -> (State, f64) {
        (
            self.state(warn_at),
            percent(self.current, self.limit).unwrap_or(-1.0),
        )
    }
}

/// The overall status of a set of metrics, a message naming the metrics that caused it,
/// and the worst metric.
pub fn evaluate(uses: &[MetricUse], warn_at: u8) -> (State, String, Option<MetricUse>) {
    let state = uses
        .iter()
        .map(|u| u.state(warn_at))
        .max()
        .unwrap_or(State::Ok);
    let worst = uses
        .iter()
        .copied()
        .filter(|u| u.limit != UNLIMITED)
        .max_by(|a, b| {
            a.severity(warn_at)
                .partial_cmp(&b.severity(warn_at))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let named = |keep: &dyn Fn(&MetricUse) -> bool| {
        uses.iter()
            .filter(|u| keep(u))
            .map(|u| format!("{} {}/{}", u.metric.name(), u.current, u.limit))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let message = match state {
        State::Ok => "Usage is within limits".to_string(),
        State::ApproachingLimit => format!(
            "Approaching limit ({warn_at}% or more used): {}",
            named(&|u| u.state(warn_at) == State::ApproachingLimit)
        ),
        State::OverLimit => {
            let at = |u: &MetricUse| u.state(warn_at) == State::OverLimit;
            let over = named(&|u| at(u) && past_limit(u.current, u.limit));
            let reached = named(&|u| at(u) && !past_limit(u.current, u.limit));
            [("Over limit", over), ("Limit reached", reached)]
                .into_iter()
                .filter(|(_, list)| !list.is_empty())
                .map(|(words, list)| format!("{words}: {list}"))
                .collect::<Vec<_>>()
                .join("; ")
        }
    };
    (state, message, worst)
}

/// A billing period's first instant and what a batch adds to each metric there.
pub type PeriodAdditions = (DateTime<Utc>, Vec<(Metric, i64)>);

/// What a batch of new events adds to each metric in each billing period it touches, in
/// period order: the period's first instant and every metric it adds a positive amount to.
/// An all-time metric (mapping profiles) counts what the batch adds in that period and in
/// every earlier one. Whether each fits is `usagectl_allowance()`'s to say, in SQL, the one
/// place the limit, the grants and the usage are composed.
pub fn batch_additions(
    periods: BTreeMap<(DateTime<Utc>, DateTime<Utc>), BTreeMap<String, i64>>,
) -> Vec<PeriodAdditions> {
    let mut all_time = 0;
    periods
        .into_iter()
        .map(|((start, _), types)| {
            all_time += types.get("mapping_profile_created").copied().unwrap_or(0);
            let batch = Usage {
                month: types,
                mapping_profiles_all_time: all_time,
            };
            let adds = Metric::ALL
                .into_iter()
                .map(|m| (m, batch.current(m)))
                .filter(|(_, add)| *add > 0)
                .collect();
            (start, adds)
        })
        .collect()
}

/// At this month's rate so far, the instant the limit is reached; `None` when unlimited,
/// already reached, nothing used yet, or not before the month ends.
pub fn projected_exhaustion(
    current: i64,
    limit: i64,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if limit == UNLIMITED || current <= 0 || current >= limit || now <= start || now >= end {
        return None;
    }
    let elapsed = (now - start).num_seconds() as f64;
    let rate = current as f64 / elapsed;
    let secs = ((limit - current) as f64 / rate).ceil();
    // not before the period ends: asked before the instant is made, so a limit far above
    // the rate (whose instant would lie past the last date there is) answers None
    let left_us = (end - now).num_microseconds()?;
    if secs * 1e6 >= left_us as f64 {
        return None;
    }
    Some(now + chrono::Duration::seconds(secs as i64))
}

/// Check a tier name typed by a user.
pub fn validate_tier_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok {
        return Err(usage(format!(
            "invalid tier name {}: use 1 to 64 letters, digits, '_', '-' or '.'",
            echo(name)
        )));
    }
    Ok(())
}

crate::text_enum! {
    /// What the enforcement rule (`usagectl_record`) did with one event.
    pub enum RecordOutcome {
        /// Stored: within the limit.
        Inserted = "inserted",
        /// Its idempotency key was used already: the stored event is returned.
        Duplicate = "duplicate",
        /// Refused: it would take the org past its limit.
        Refused = "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::Month;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn bad_months_and_tier_names_are_echoed_escaped_and_cut() {
        assert_eq!(
            Month::parse("2025-1\u{1b}"),
            Err("'2025-1\\u{1b}' is not a month like 2025-11 (YYYY-MM)".to_string())
        );
        let e = validate_tier_name(&"t".repeat(200))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "invalid tier name '{}…' (200 characters): use 1 to 64 letters, digits, '_', '-' or '.'",
                "t".repeat(100)
            )
        );
    }

    #[test]
    fn months_are_half_open_utc() {
        let m = Month::parse("2025-12").unwrap();
        assert_eq!(m.start, t("2025-12-01T00:00:00Z"));
        assert_eq!(m.end, t("2026-01-01T00:00:00Z"));
        assert_eq!(
            Month::parse("2024-02").unwrap().end,
            t("2024-03-01T00:00:00Z")
        );
        assert_eq!(
            Month::containing(t("2025-11-30T23:59:59.999999Z")).label(),
            "2025-11"
        );
        assert_eq!(
            Month::containing(t("2025-12-01T00:00:00Z")).label(),
            "2025-12"
        );
        for bad in [
            "2025-13", "2025-1", "25-11", "2025/11", "november", "2025-00",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_from_1970_01_to_9998_12() {
        assert_eq!(Month::parse("1970-01").unwrap().start, DateTime::UNIX_EPOCH);
        assert_eq!(
            Month::parse("9998-12").unwrap().end,
            t("9999-01-01T00:00:00Z")
        );
        for outside in ["1969-12", "0000-01", "9999-01", "9999-12"] {
            assert_eq!(
                Month::parse(outside),
                Err(format!(
                    "'{outside}' is outside 1970-01 to 9998-12, the months that can be asked about"
                ))
            );
        }
        for bad in ["+999-01", "-970-01", "2025-+1", " 202-11"] {
            assert!(
                Month::parse(bad)
                    .unwrap_err()
                    .contains("is not a month like"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_month_that_has_not_begun_gets_a_note() {
        let now = t("2025-11-15T12:00:00Z");
        assert_eq!(Month::parse("2025-11").unwrap().future_note(now), None);
        assert_eq!(Month::parse("2025-10").unwrap().future_note(now), None);
        assert_eq!(
            Month::parse("2025-12").unwrap().future_note(now).unwrap(),
            "2025-12 has not begun yet (the server's time is 2025-11-15T12:00:00Z): nothing is counted in it"
        );
    }

    #[test]
    fn every_enum_that_reaches_output_has_one_name() {
        let json = |v: serde_json::Value| v.as_str().unwrap().to_string();
        for s in LimitSource::ALL {
            assert_eq!(json(serde_json::to_value(s).unwrap()), s.name());
        }
        assert_eq!(
            LimitSource::ALL.map(LimitSource::name),
            ["tier", "default_tier", "override", "grant"]
        );
        for s in TierSource::ALL {
            assert_eq!(json(serde_json::to_value(s).unwrap()), s.name());
        }
        for s in State::ALL {
            assert_eq!(json(serde_json::to_value(s).unwrap()), s.name());
        }
        for m in Metric::ALL {
            assert_eq!(json(serde_json::to_value(m).unwrap()), m.name());
            assert_eq!(m.to_possible_value().unwrap().get_name(), m.name());
        }
    }

    #[test]
    fn the_unknown_org_note_names_similar_ids() {
        let never = "has never been seen (no events, settings, tier, override, grant, alert rule or Stripe mapping)";
        assert_eq!(
            unknown_org_note("globx-trial", &["globex-trial"]),
            format!("org \"globx-trial\" {never}; did you mean \"globex-trial\"?")
        );
        assert_eq!(
            unknown_org_note("ab", &["ab1", "ab2"]),
            format!("org \"ab\" {never}; did you mean \"ab1\" or \"ab2\"?")
        );
        assert_eq!(unknown_org_note("zz", &[]), format!("org \"zz\" {never}"));
    }

    #[test]
    fn a_write_to_an_org_never_seen_is_refused_unless_new_org() {
        let never = "has never been seen (no events, settings, tier, override, grant, alert rule or Stripe mapping)";
        let refusal = |nearest: &[&str]| {
            let e = check_org_write("acme-fods", false, false, nearest).unwrap_err();
            assert!(
                e.downcast_ref::<crate::error::UsageError>().is_some(),
                "{e:#}"
            );
            format!("{e:#}")
        };
        assert_eq!(
            refusal(&["acme-foods", "acme-food-eu"]),
            format!(
                "org \"acme-fods\" {never}; nearest known: acme-foods, acme-food-eu; pass --new-org to create it"
            )
        );
        assert_eq!(
            refusal(&[]),
            format!("org \"acme-fods\" {never}; pass --new-org to create it")
        );
        assert!(check_org_write("acme-fods", false, true, &["acme-foods"]).is_ok());
        assert!(check_org_write("acme-foods", true, false, &[]).is_ok());
        assert!(check_org_write("acme-foods", true, true, &[]).is_ok());
    }

    #[test]
    fn metrics_sum_their_event_types() {
        let mut u = Usage::default();
        u.month.insert("ai_tokens_input".into(), 12500);
        u.month.insert("ai_tokens_output".into(), 10950);
        u.month.insert("chat_message".into(), 45);
        u.mapping_profiles_all_time = 2;
        assert_eq!(u.current(Metric::AiTokens), 23450);
        assert_eq!(u.current(Metric::ChatMessages), 45);
        assert_eq!(u.current(Metric::CsvUploads), 0);
        assert_eq!(u.current(Metric::MappingProfiles), 2);
        assert_eq!(
            Metric::for_event("ai_tokens_output"),
            vec![Metric::AiTokens]
        );
        assert!(Metric::for_event("export_pdf").is_empty());
    }

    fn config() -> LimitConfig {
        let mut c = LimitConfig::default();
        for (tier, limits) in [
            ("trial", [5, 1000, 10, 50, 100_000, 3]),
            ("pilot", [50, 50_000, 100, 500, 1_000_000, 20]),
        ] {
            c.tiers
                .insert(tier.into(), Metric::ALL.into_iter().zip(limits).collect());
        }
        c.assignments.insert("acme".into(), "pilot".into());
        c.overrides
            .insert("acme".into(), [(Metric::ChatMessages, 5000)].into());
        c
    }

    #[test]
    fn effective_limits_and_their_sources() {
        let c = config();
        let acme = c.effective("acme");
        assert_eq!((acme.tier.as_str(), acme.assigned), ("pilot", true));
        assert_eq!(
            acme.limits[&Metric::ChatMessages],
            (5000, LimitSource::Override)
        );
        assert_eq!(acme.limits[&Metric::CsvUploads], (50, LimitSource::Tier));
        let other = c.effective("new-org");
        assert_eq!((other.tier.as_str(), other.assigned), ("trial", false));
        assert_eq!(
            other.limits[&Metric::ChatMessages],
            (50, LimitSource::DefaultTier)
        );
    }

    #[test]
    fn within_limit_is_strict_and_unlimited_is_always_within() {
        assert!(within_limit(49, 50));
        assert!(!within_limit(50, 50));
        assert!(within_limit(1_000_000_000, UNLIMITED));
        assert!(!within_limit(0, 0));
    }

    #[test]
    fn at_the_limit_is_reached_and_only_past_it_is_over() {
        let u = |metric, current, limit| MetricUse {
            metric,
            current,
            limit,
        };
        assert!(!past_limit(10, 10));
        assert!(past_limit(11, 10));
        assert!(!past_limit(0, 0));
        assert!(!past_limit(i64::MAX, UNLIMITED));
        // both are over_limit (exit 4): no room for one more at the limit
        let at = evaluate(&[u(Metric::Analyses, 10, 10)], 80);
        assert_eq!(
            (at.0, at.1.as_str()),
            (State::OverLimit, "Limit reached: analyses 10/10")
        );
        let past = evaluate(&[u(Metric::Analyses, 11, 10)], 80);
        assert_eq!(
            (past.0, past.1.as_str()),
            (State::OverLimit, "Over limit: analyses 11/10")
        );
        let both = evaluate(
            &[u(Metric::Analyses, 10, 10), u(Metric::CsvUploads, 7, 5)],
            80,
        );
        assert_eq!(
            both.1,
            "Over limit: csv_uploads 7/5; Limit reached: analyses 10/10"
        );
        assert_eq!(
            evaluate(&[u(Metric::CsvUploads, 0, 0)], 80).1,
            "Limit reached: csv_uploads 0/0"
        );
    }

    #[test]
    fn status_rules() {
        let u = |metric, current, limit| MetricUse {
            metric,
            current,
            limit,
        };
        let (s, m, _) = evaluate(
            &[u(Metric::ChatMessages, 10, 50), u(Metric::AiTokens, 5, -1)],
            80,
        );
        assert_eq!((s, m.as_str()), (State::Ok, "Usage is within limits"));
        let (s, m, w) = evaluate(
            &[u(Metric::ChatMessages, 40, 50), u(Metric::CsvUploads, 1, 5)],
            80,
        );
        assert_eq!(s, State::ApproachingLimit);
        assert_eq!(
            m,
            "Approaching limit (80% or more used): chat_messages 40/50"
        );
        assert_eq!(w.unwrap().metric, Metric::ChatMessages);
        let (s, m, w) = evaluate(
            &[u(Metric::ChatMessages, 49, 50), u(Metric::CsvUploads, 5, 5)],
            80,
        );
        assert_eq!(s, State::OverLimit);
        assert_eq!(m, "Limit reached: csv_uploads 5/5");
        assert_eq!(w.unwrap().metric, Metric::CsvUploads);
        assert_eq!(State::OverLimit.exit_code(), 4);
        assert_eq!(State::ApproachingLimit.exit_code(), 3);
        // a custom threshold
        assert_eq!(
            evaluate(&[u(Metric::ChatMessages, 40, 50)], 90).0,
            State::Ok
        );
        // nothing is "worst" when nothing is limited
        assert_eq!(evaluate(&[u(Metric::ChatMessages, 40, -1)], 80).2, None);
    }

    #[test]
    fn a_batch_adds_per_period_and_all_time_metrics_count_earlier_periods() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let (oct, nov, dec) = (
            at("2026-10-01T00:00:00Z"),
            at("2026-11-01T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
        );
        let types = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
            pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
        };
        let periods = BTreeMap::from([
            (
                (oct, nov),
                types(&[
                    ("chat_message", 2),
                    ("export_pdf", 1000),
                    ("mapping_profile_created", 1),
                ]),
            ),
            (
                (nov, dec),
                types(&[("ai_tokens_input", 5), ("ai_tokens_output", 7)]),
            ),
        ]);
        assert_eq!(
            batch_additions(periods),
            vec![
                (
                    oct,
                    vec![(Metric::ChatMessages, 2), (Metric::MappingProfiles, 1)]
                ),
                (
                    nov,
                    vec![(Metric::AiTokens, 12), (Metric::MappingProfiles, 1)]
                ),
            ],
            "an untracked type adds to nothing; the October profile counts in November"
        );
    }

    #[test]
    fn projection_at_this_months_rate() {
        let m = Month::parse("2025-11").unwrap();
        let now = t("2025-11-11T00:00:00Z"); // 10 days in
        // 20 used of 50 in 10 days: 2/day, 30 left -> 15 more days
        assert_eq!(
            projected_exhaustion(20, 50, (m.start, m.end), now),
            Some(t("2025-11-26T00:00:00Z"))
        );
        assert_eq!(
            projected_exhaustion(5, 50, (m.start, m.end), now),
            None,
            "runs out after the month ends"
        );
        assert_eq!(projected_exhaustion(0, 50, (m.start, m.end), now), None);
        assert_eq!(projected_exhaustion(50, 50, (m.start, m.end), now), None);
        // a limit far above the rate: no instant, not a panic past the last date
        assert_eq!(
            projected_exhaustion(1, i64::MAX, (m.start, m.end), now),
            None
        );
        assert_eq!(
            projected_exhaustion(20, UNLIMITED, (m.start, m.end), now),
            None
        );
    }

    #[test]
    fn tier_names() {
        assert!(validate_tier_name("enterprise-2026").is_ok());
        assert!(validate_tier_name("").is_err());
        assert!(validate_tier_name("a b").is_err());
        assert!(validate_tier_name("x'; drop").is_err());
    }
}
