//! Billing periods and grants, as usagectl shows them. The rules themselves live in SQL
//! (migration 14): `usagectl_period()` decides every period boundary with PostgreSQL's time
//! zone database, so `record --enforce` (decided in the server), every read and a DBA's psql
//! agree to the microsecond; `usagectl_granted()` decides what a period's grants add.
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use crate::error::{echo, usage};
use crate::quota::{Month, UNLIMITED};

/// The anchor day and zone of an org that set nothing: calendar months in UTC.
pub const DEFAULT_ANCHOR_DAY: u8 = 1;
/// See [`DEFAULT_ANCHOR_DAY`].
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// One billing period of one org: `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingPeriod {
    /// First instant counted.
    pub start: DateTime<Utc>,
    /// First instant not counted.
    pub end: DateTime<Utc>,
    /// `start` as a wall-clock time in `time_zone`.
    pub local_start: NaiveDateTime,
    /// `end` as a wall-clock time in `time_zone`.
    pub local_end: NaiveDateTime,
    /// The anchor day (1-31) of the settings the period was cut with.
    pub anchor_day: u8,
    /// The IANA zone of those settings.
    pub time_zone: String,
}

impl BillingPeriod {
    /// The period of every org without settings of its own: the calendar month in UTC
    /// (what `usagectl_period()` gives such an org).
    pub fn calendar(month: &Month) -> BillingPeriod {
        BillingPeriod {
            start: month.start,
            end: month.end,
            local_start: month.start.naive_utc(),
            local_end: month.end.naive_utc(),
            anchor_day: DEFAULT_ANCHOR_DAY,
            time_zone: DEFAULT_TIME_ZONE.to_string(),
        }
    }

    /// Whether this is a calendar month in UTC (an org with the default settings).
    pub fn is_calendar_month(&self) -> bool {
        self.anchor_day == DEFAULT_ANCHOR_DAY
            && self.time_zone == DEFAULT_TIME_ZONE
            && Month::containing(self.start)
                == (Month {
                    start: self.start,
                    end: self.end,
                })
    }

    /// `(start, end)`, as the reads take a window.
    pub fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.start, self.end)
    }

    /// Whether `t` is in it.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }

    /// The seed's `period` label: "current_month" for the current calendar month in UTC,
    /// "current_period" for the current period of an org with its own settings, else
    /// `YYYY-MM` (a calendar month) or the local start date `YYYY-MM-DD`.
    pub fn label(&self, now: DateTime<Utc>) -> String {
        match (self.contains(now), self.is_calendar_month()) {
            (true, true) => "current_month".to_string(),
            (true, false) => "current_period".to_string(),
            (false, true) => self.start.format("%Y-%m").to_string(),
            (false, false) => self.local_start.format("%Y-%m-%d").to_string(),
        }
    }

    /// `[start, end) UTC` for calendar months; the local bounds and the UTC ones otherwise.
    pub fn describe(&self) -> String {
        let utc = format!(
            "[{}, {}) UTC",
            crate::time::fmt_utc(&self.start),
            crate::time::fmt_utc(&self.end)
        );
        if self.time_zone == DEFAULT_TIME_ZONE {
            return utc;
        }
        format!(
            "[{}, {}) {} = {utc}",
            self.local_start.format("%Y-%m-%d %H:%M:%S"),
            self.local_end.format("%Y-%m-%d %H:%M:%S"),
            self.time_zone
        )
    }

    /// For a period that has not begun at `now`, the note that says so.
    pub fn future_note(&self, now: DateTime<Utc>) -> Option<String> {
        let name = if self.is_calendar_month() {
            self.start.format("%Y-%m").to_string()
        } else {
            format!("the period {}", self.describe())
        };
        (self.start > now).then(|| {
            format!(
                "{name} has not begun yet (the server's time is {}): nothing is counted in it",
                crate::time::fmt_utc(&now)
            )
        })
    }
}

/// Which period of an org a command reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodChoice {
    /// The one that contains the server's `now()`.
    Current,
    /// The one that starts in this month in the org's zone (`--month`).
    Month(Month),
    /// The one that contains this instant (`--at`).
    At(DateTime<Utc>),
}

impl PeriodChoice {
    /// From `--month` and `--at` (clap keeps them apart).
    pub fn from_args(month: Option<Month>, at: Option<DateTime<Utc>>) -> PeriodChoice {
        match (month, at) {
            (Some(m), _) => PeriodChoice::Month(m),
            (None, Some(t)) => PeriodChoice::At(t),
            (None, None) => PeriodChoice::Current,
        }
    }
}

/// Parse `--at`: an RFC 3339 instant with its offset.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    crate::time::parse_rfc3339(s)
}

/// Parse `--anchor-day`: 1 to 31.
pub fn parse_anchor_day(s: &str) -> Result<u8, String> {
    match s.parse::<u8>() {
        Ok(d) if (1..=31).contains(&d) => Ok(d),
        _ => Err(format!(
            "{} is not a day of the month from 1 to 31 (29-31 fall on the last day of shorter months)",
            echo(s)
        )),
    }
}

/// An org's settings as one row of their history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// In force from this instant (`None`: for all the org's periods).
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub effective_from: Option<DateTime<Utc>>,
    /// 1-31.
    pub anchor_day: u8,
    /// IANA zone.
    pub time_zone: String,
    /// When it was set.
    #[serde(serialize_with = "crate::time::ser")]
    pub set_at: DateTime<Utc>,
    /// The database role that set it.
    pub set_by: String,
    /// The OS user that ran usagectl, when known.
    pub set_by_os: Option<String>,
}

/// One grant as stored, with its revocation if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// Its id (for `grant revoke`).
    pub id: i64,
    /// Organisation.
    pub org_id: String,
    /// The metric whose limit it raises.
    pub metric: String,
    /// By how much.
    pub amount: i64,
    /// The period it was granted for (it applies to the org's period that contains
    /// `period_start`).
    #[serde(serialize_with = "crate::time::ser")]
    pub period_start: DateTime<Utc>,
    /// End of that period when granted.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_end: DateTime<Utc>,
    /// Why.
    pub reason: String,
    /// When.
    #[serde(serialize_with = "crate::time::ser")]
    pub granted_at: DateTime<Utc>,
    /// The database role.
    pub granted_by: String,
    /// The OS user, when known.
    pub granted_by_os: Option<String>,
    /// When it was revoked, if it was.
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it (database role).
    pub revoked_by: Option<String>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

impl Grant {
    /// Whether it counts (not revoked).
    pub fn active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// `grant add --period`: which period of the org a grant is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantPeriod {
    /// The period that contains now.
    Current,
    /// The one after it.
    Next,
    /// The one that contains this instant.
    At(DateTime<Utc>),
}

/// Parse `--period current|next|RFC3339`.
pub fn parse_grant_period(s: &str) -> Result<GrantPeriod, String> {
    match s {
        "current" => Ok(GrantPeriod::Current),
        "next" => Ok(GrantPeriod::Next),
        other => parse_instant(other).map(GrantPeriod::At).map_err(|_| {
            format!(
                "{} is not current, next or an RFC 3339 instant like 2026-11-15T05:00:00Z",
                echo(other)
            )
        }),
    }
}

/// Parse a grant's amount: a positive whole number.
pub fn parse_amount(s: &str) -> Result<i64, String> {
    match s.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{} is not a positive whole number (a grant only raises a limit)",
            echo(s)
        )),
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

/// Check a grant's or a revoke's reason: required, one line, at most 500 characters.
pub fn validate_reason(reason: &str) -> anyhow::Result<()> {
    let trimmed = reason.trim();
    if trimmed.is_empty() {
        return Err(usage(
            "--reason must say why (support and finance read it later)",
        ));
    }
    if reason.chars().count() > 500 || reason.contains(['\n', '\r']) {
        return Err(usage("--reason must be one line of at most 500 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn period(start: &str, end: &str, anchor: u8, zone: &str) -> BillingPeriod {
        BillingPeriod {
            start: t(start),
            end: t(end),
            local_start: t(start).naive_utc(),
            local_end: t(end).naive_utc(),
            anchor_day: anchor,
            time_zone: zone.into(),
        }
    }

    #[test]
    fn labels_name_calendar_months_as_before() {
        let now = t("2026-11-20T00:00:00Z");
        let nov = period("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 1, "UTC");
        assert_eq!(nov.label(now), "current_month");
        let oct = period("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", 1, "UTC");
        assert_eq!(oct.label(now), "2026-10");
        let mid = period(
            "2026-11-15T05:00:00Z",
            "2026-12-15T05:00:00Z",
            15,
            "America/New_York",
        );
        assert_eq!(mid.label(now), "current_period");
        // anchor 1 in UTC but cut short by a change of settings: not a calendar month
        let stub = period("2026-11-01T00:00:00Z", "2026-11-15T00:00:00Z", 1, "UTC");
        assert!(!stub.is_calendar_month());
        assert!(mid.contains(t("2026-11-15T05:00:00Z")));
        assert!(!mid.contains(t("2026-12-15T05:00:00Z")));
    }

    #[test]
    fn bad_arguments_are_refused_with_the_rule() {
        assert_eq!(parse_anchor_day("31"), Ok(31));
        assert!(parse_anchor_day("0").is_err());
        assert!(parse_anchor_day("32").is_err());
        assert_eq!(parse_amount("100"), Ok(100));
        assert!(parse_amount("0").is_err());
        assert!(parse_amount("-5").is_err());
        assert!(parse_amount("1.5").is_err());
        assert_eq!(parse_grant_period("next"), Ok(GrantPeriod::Next));
        assert_eq!(
            parse_grant_period("2026-11-15T00:00:00-05:00"),
            Ok(GrantPeriod::At(t("2026-11-15T05:00:00Z")))
        );
        assert!(parse_grant_period("tomorrow").is_err());
        assert!(validate_reason("  ").is_err());
        assert!(validate_reason("a\nb").is_err());
        assert!(validate_reason("incident 42").is_ok());
    }

    #[test]
    fn unlimited_stays_unlimited() {
        assert_eq!(limit_with_grants(UNLIMITED, 100), UNLIMITED);
        assert_eq!(limit_with_grants(100, 5), 105);
        assert_eq!(limit_with_grants(100, 0), 100);
    }
}
