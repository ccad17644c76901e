//! Calendar months, billing periods and grants, as usagectl shows them. The rules themselves live in SQL
//! (migration 14): `usagectl_period()` decides every period boundary with PostgreSQL's time
//! zone database, so `record --enforce` (decided in the server), every read and a DBA's psql
//! agree to the microsecond; `usagectl_granted()` decides what a period's grants add.
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

use crate::error::{echo, usage};

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

    /// The month the period belongs to, for `--month` (THE rule: [`in_month`]): the calendar
    /// month its local start falls in, in the zone it was cut with. Every period has one
    /// start, so consecutive months share out an org's periods, each to exactly one.
    pub fn month(&self) -> (i32, u32) {
        (self.local_start.year(), self.local_start.month())
    }

    /// Its length.
    pub fn length(&self) -> Duration {
        self.end - self.start
    }

    /// The `period` label: "current_month" for the current calendar month in UTC,
    /// "current_period" for the current period of an org with its own settings (both the
    /// seed's), else the local start date `YYYY-MM-DD` in `time_zone`, whose `YYYY-MM` is
    /// the `--month` that reaches the period.
    pub fn label(&self, now: DateTime<Utc>) -> String {
        match (self.contains(now), self.is_calendar_month()) {
            (true, true) => "current_month".to_string(),
            (true, false) => "current_period".to_string(),
            (false, _) => self.local_start.format("%Y-%m-%d").to_string(),
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
    /// The one `--month` shows: [`MonthPick`] among those that belong to this month.
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

/// The window every period that belongs to `month` starts in, with room for any zone's
/// offset: the month in UTC widened by two days on each side. The periods that overlap it
/// are the candidates [`in_month`] chooses from.
pub fn month_window(month: &Month) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        month.start - Duration::days(2),
        month.end + Duration::days(2),
    )
}

/// THE `--month` rule: the periods among `candidates` that belong to `month`, i.e. whose
/// local start falls in it ([`BillingPeriod::month`]), in order. Usually one per org; two
/// when a change of settings starts a period of its own in the month.
pub fn in_month(candidates: Vec<BillingPeriod>, month: &Month) -> Vec<BillingPeriod> {
    let (y, m) = month.year_month();
    let mut periods: Vec<BillingPeriod> = candidates
        .into_iter()
        .filter(|p| p.month() == (y, m as u32))
        .collect();
    periods.sort_by_key(|p| p.start);
    periods.dedup();
    periods
}

/// The period `limits` and `status --month` show, and the month's others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthPick {
    /// The month asked for.
    pub month: Month,
    /// The longest of the periods that belong to the month (the later on a tie): the
    /// regular one when a change of settings cut a short one.
    pub shown: BillingPeriod,
    /// The month's other periods, in order (reached with `--at`).
    pub others: Vec<BillingPeriod>,
}

impl MonthPick {
    /// Choose among the org's `candidates` (the periods around the month, from
    /// [`month_window`]). `None` only when there are none; a month in which no period
    /// starts (not produced by `org set`, whose changes take effect at a period's end)
    /// shows the period that contains its first instant.
    pub fn choose(candidates: Vec<BillingPeriod>, month: &Month) -> Option<MonthPick> {
        let fallback = candidates
            .iter()
            .find(|p| p.contains(month.start))
            .or(candidates.first())
            .cloned();
        let mut periods = in_month(candidates, month);
        let Some(at) = periods
            .iter()
            .enumerate()
            .max_by_key(|(_, p)| p.length())
            .map(|(i, _)| i)
        else {
            return fallback.map(|shown| MonthPick {
                month: *month,
                shown,
                others: Vec::new(),
            });
        };
        let shown = periods.remove(at);
        Some(MonthPick {
            month: *month,
            shown,
            others: periods,
        })
    }

    /// For a month that holds more than one period of `org`, the note that names the
    /// others and how to read them.
    pub fn note(&self, org: &str) -> Option<String> {
        if self.others.is_empty() {
            return None;
        }
        let others: Vec<String> = self
            .others
            .iter()
            .map(|p| format!("{} (--at {})", p.describe(), crate::time::fmt_utc(&p.start)))
            .collect();
        Some(format!(
            "{} billing periods of org {org} start in {} (its settings changed): showing the longest, {}; also {}",
            self.others.len() + 1,
            self.month.label(),
            self.shown.describe(),
            others.join(", ")
        ))
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

/// A calendar month in UTC: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    /// First instant of the month.
    pub start: DateTime<Utc>,
    /// First instant of the next month.
    pub end: DateTime<Utc>,
}

impl Month {
    /// The first month a user may ask about: events are from 1970 on.
    pub const FIRST: (i32, u32) = (1970, 1);
    /// The last month a user may ask about: its end, 9999-01-01, still has a four-digit
    /// year in every format.
    pub const LAST: (i32, u32) = (9998, 12);

    /// The month `YYYY-MM`, from [`Month::FIRST`] to [`Month::LAST`].
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("{} is not a month like 2025-11 (YYYY-MM)", echo(s));
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        let month = Month::of(y, m).ok_or_else(bad)?;
        if (y, m) < Month::FIRST || (y, m) > Month::LAST {
            return Err(format!(
                "{} is outside {:04}-{:02} to {:04}-{:02}, the months that can be asked about",
                echo(s),
                Month::FIRST.0,
                Month::FIRST.1,
                Month::LAST.0,
                Month::LAST.1
            ));
        }
        Ok(month)
    }

    /// For a month that has not begun at `now` (the server's time), the note that says
    /// so: it can have no events yet.
    pub fn future_note(&self, now: DateTime<Utc>) -> Option<String> {
        (self.start > now).then(|| {
            format!(
                "{} has not begun yet (the server's time is {}): nothing is counted in it",
                self.label(),
                crate::time::fmt_utc(&now)
            )
        })
    }

    /// Year and month number.
    pub fn of(year: i32, month: u32) -> Option<Month> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        Some(Month {
            start: Utc.from_utc_datetime(&first.and_hms_opt(0, 0, 0)?),
            end: Utc.from_utc_datetime(&next.and_hms_opt(0, 0, 0)?),
        })
    }

    /// The month before this one.
    pub fn previous(&self) -> Month {
        Month::containing(self.start - chrono::Duration::microseconds(1))
    }

    /// The month after this one.
    pub fn next(&self) -> Month {
        Month::containing(self.end)
    }

    /// The month that contains `t`.
    pub fn containing(t: DateTime<Utc>) -> Month {
        Month::of(t.year(), t.month()).expect("a valid instant has a valid month")
    }

    /// Year and month number (1-12).
    pub fn year_month(&self) -> (i32, i32) {
        (self.start.year(), self.start.month() as i32)
    }

    /// `YYYY-MM`.
    pub fn label(&self) -> String {
        self.start.format("%Y-%m").to_string()
    }

    /// The seed's `period`: "current_month" for the month `now` is in, else `YYYY-MM`.
    pub fn period_label(&self, now: DateTime<Utc>) -> String {
        if Month::containing(now) == *self {
            "current_month".to_string()
        } else {
            self.label()
        }
    }
}

/// How JSON shows a wall-clock time.
const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// The window a quota figure counts, as the JSON bodies show it.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// The seed's `period`: "current_month" (the current calendar month in UTC),
    /// "current_period" (the current period of an org with its own settings), else the
    /// period's local start date `YYYY-MM-DD` in `time_zone` (its `YYYY-MM` is the
    /// `--month` that reaches it); `YYYY-MM` for doctor's calendar month.
    pub period: String,
    /// First instant counted.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_start: DateTime<Utc>,
    /// First instant not counted.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_end: DateTime<Utc>,
    /// The IANA zone the period's bounds are local midnights in.
    pub time_zone: String,
    /// The day of the month the period starts on (29-31: the last day of shorter months).
    pub anchor_day: u8,
    /// `period_start` as a wall-clock time in `time_zone` (`YYYY-MM-DDTHH:MM:SS`).
    pub period_local_start: String,
    /// `period_end` as a wall-clock time in `time_zone`.
    pub period_local_end: String,
    #[serde(skip)]
    described: String,
}

impl Period {
    /// The calendar month `month` in UTC, seen at `now`.
    pub fn new(month: &Month, now: DateTime<Utc>) -> Period {
        Period {
            period: month.period_label(now),
            period_start: month.start,
            period_end: month.end,
            time_zone: DEFAULT_TIME_ZONE.to_string(),
            anchor_day: DEFAULT_ANCHOR_DAY,
            period_local_start: month.start.format(LOCAL_FORMAT).to_string(),
            period_local_end: month.end.format(LOCAL_FORMAT).to_string(),
            described: format!(
                "[{}, {}) UTC",
                crate::time::fmt_utc(&month.start),
                crate::time::fmt_utc(&month.end)
            ),
        }
    }

    /// An org's billing period, seen at `now`.
    pub fn of(p: &BillingPeriod, now: DateTime<Utc>) -> Period {
        Period {
            period: p.label(now),
            period_start: p.start,
            period_end: p.end,
            time_zone: p.time_zone.clone(),
            anchor_day: p.anchor_day,
            period_local_start: p.local_start.format(LOCAL_FORMAT).to_string(),
            period_local_end: p.local_end.format(LOCAL_FORMAT).to_string(),
            described: p.describe(),
        }
    }

    /// `[start, end) UTC` (with the local bounds first outside UTC), for tables.
    pub fn describe(&self) -> String {
        self.described.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::{UNLIMITED, limit_with_grants};

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
    fn labels_are_the_seeds_now_and_the_local_start_date_otherwise() {
        let now = t("2026-11-20T00:00:00Z");
        let nov = period("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 1, "UTC");
        assert_eq!(nov.label(now), "current_month");
        let oct = period("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", 1, "UTC");
        assert_eq!(oct.label(now), "2026-10-01");
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
        // a past period is its local start date, whatever its zone
        let past = local(
            "2026-11-01T00:00:00Z",
            "2026-11-15T05:00:00Z",
            "2026-10-31T20:00:00",
            15,
        );
        assert_eq!(past.label(t("2027-01-01T00:00:00Z")), "2026-10-31");
        assert_eq!(mid.label(t("2027-01-01T00:00:00Z")), "2026-11-15");
    }

    /// A New York period, with its local start given (local_end is not used here).
    fn local(start: &str, end: &str, local_start: &str, anchor: u8) -> BillingPeriod {
        BillingPeriod {
            local_start: local_start.parse().unwrap(),
            ..period(start, end, anchor, "America/New_York")
        }
    }

    fn month(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    /// UTC anchor 1 until 2026-11-01, then New York anchor 15: the short period after the
    /// switch starts on Oct 31 at 20:00 local time.
    fn utc_then_new_york() -> Vec<BillingPeriod> {
        vec![
            period("2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", 1, "UTC"),
            period("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", 1, "UTC"),
            local(
                "2026-11-01T00:00:00Z",
                "2026-11-15T05:00:00Z",
                "2026-10-31T20:00:00",
                15,
            ),
            local(
                "2026-11-15T05:00:00Z",
                "2026-12-15T05:00:00Z",
                "2026-11-15T00:00:00",
                15,
            ),
            local(
                "2026-12-15T05:00:00Z",
                "2027-01-15T05:00:00Z",
                "2026-12-15T00:00:00",
                15,
            ),
        ]
    }

    #[test]
    fn consecutive_months_share_out_every_period_once() {
        let all = utc_then_new_york();
        let mut seen = Vec::new();
        for m in [
            "2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01",
        ] {
            seen.extend(in_month(all.clone(), &month(m)));
        }
        assert_eq!(seen, all);
        let oct = in_month(all.clone(), &month("2026-10"));
        assert_eq!(oct, all[1..3]);
        // a Kathmandu period belongs to the month it starts in locally, not in UTC
        let ktm = BillingPeriod {
            local_start: "2026-03-01T00:00:00".parse().unwrap(),
            ..period(
                "2026-02-28T18:15:00Z",
                "2026-03-31T18:15:00Z",
                1,
                "Asia/Kathmandu",
            )
        };
        assert!(in_month(vec![ktm.clone()], &month("2026-02")).is_empty());
        assert_eq!(in_month(vec![ktm.clone()], &month("2026-03")), [ktm]);
        let (from, to) = month_window(&month("2026-03"));
        assert_eq!(
            (from, to),
            (t("2026-02-27T00:00:00Z"), t("2026-04-03T00:00:00Z"))
        );
    }

    #[test]
    fn month_shows_the_longest_of_its_periods_and_names_the_others() {
        let all = utc_then_new_york();
        let oct = MonthPick::choose(all.clone(), &month("2026-10")).unwrap();
        assert_eq!(oct.shown, all[1]);
        assert_eq!(oct.others, [all[2].clone()]);
        let note = oct.note("acme").unwrap();
        assert!(
            note.starts_with("2 billing periods of org acme start in 2026-10"),
            "{note}"
        );
        assert!(note.contains("(--at 2026-11-01T00:00:00Z)"), "{note}");
        let nov = MonthPick::choose(all.clone(), &month("2026-11")).unwrap();
        assert_eq!((nov.note("acme"), nov.shown), (None, all[3].clone()));
        // anchor 1 -> 31 from Nov 1: [Nov 1, Nov 30) and [Nov 30, Dec 31) both start in
        // November; the longer is shown
        let short = period("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z", 31, "UTC");
        let long = period("2026-11-30T00:00:00Z", "2026-12-31T00:00:00Z", 31, "UTC");
        let pick = MonthPick::choose(vec![long.clone(), short.clone()], &month("2026-11")).unwrap();
        assert_eq!((pick.shown, pick.others), (long, vec![short]));
        // no period starts in the month: the one that contains its first instant
        let pick = MonthPick::choose(all[2..4].to_vec(), &month("2026-12")).unwrap();
        assert_eq!(pick.shown, all[3]);
        assert_eq!(MonthPick::choose(Vec::new(), &month("2026-12")), None);
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
