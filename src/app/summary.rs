//! One org's usage summary: the seed's `GET /api/v1/usage/summary` body.
use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use postgres::Client;
use serde::Serialize;

use crate::db::queries::{self, SummaryData};
use crate::output::{Cell, Render, Style, sparkline};
use crate::time::fmt_utc;

/// Most bars the sparkline draws: one per UTC day for windows of up to 30 days (which
/// touch up to 31 calendar days); longer windows put several whole days in each bar.
const SPARK_BARS: i64 = 31;

/// One event type's figures (the seed's `summary_by_type` entries).
#[derive(Debug, Serialize, PartialEq)]
pub struct TypeSummary {
    /// Number of events.
    pub count: i64,
    /// Sum of their quantity.
    pub total_quantity: i64,
    /// Earliest event in the window.
    #[serde(serialize_with = "crate::time::ser")]
    pub first_event: DateTime<Utc>,
    /// Latest event in the window.
    #[serde(serialize_with = "crate::time::ser")]
    pub last_event: DateTime<Utc>,
}

/// The seed's summary body, plus the window's exact start.
#[derive(Debug, Serialize)]
pub struct SummaryReport {
    /// Organisation.
    pub org_id: String,
    /// N.
    pub period_days: i32,
    /// Events in the window, all types.
    pub total_events: i64,
    /// Per event type.
    pub summary_by_type: BTreeMap<String, TypeSummary>,
    /// When the figures were taken (the server's transaction time).
    #[serde(serialize_with = "crate::time::ser")]
    pub generated_at: DateTime<Utc>,
    /// Start of the window (inclusive): generated_at - N days.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_start: DateTime<Utc>,
    /// False when usagectl has never seen the org (a typo?).
    pub known_org: bool,
    /// Events per sparkline bar per type (table view only).
    #[serde(skip)]
    pub spark: BTreeMap<String, Vec<i64>>,
    /// The days the bars stand for (table view only).
    #[serde(skip)]
    pub spark_days: SparkDays,
    /// What to tell the reader beside the figures (an unknown org).
    #[serde(skip)]
    pub notices: Vec<String>,
}

/// The UTC calendar days the sparkline's bars stand for: `days_per_bar` consecutive days
/// each, from `first` (the day the window starts in, counted from its start instant) to
/// `last` (today, or a later day holding a future-dated event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparkDays {
    /// The first bar's first day.
    pub first: NaiveDate,
    /// The last bar's last day.
    pub last: NaiveDate,
    /// Whole days per bar.
    pub days_per_bar: i64,
}

impl SparkDays {
    /// The days from the window's start to the latest of `now` and `event_days`.
    fn new(
        start: DateTime<Utc>,
        now: DateTime<Utc>,
        event_days: impl Iterator<Item = NaiveDate>,
    ) -> SparkDays {
        let first = start.date_naive();
        let last = event_days.fold(now.date_naive(), NaiveDate::max).max(first);
        let days = (last - first).num_days() + 1;
        SparkDays {
            first,
            last,
            days_per_bar: (days + SPARK_BARS - 1) / SPARK_BARS,
        }
    }

    /// Number of bars.
    fn bars(&self) -> usize {
        let days = (self.last - self.first).num_days() + 1;
        ((days + self.days_per_bar - 1) / self.days_per_bar) as usize
    }

    /// The bar that `day` falls in.
    fn bar(&self, day: NaiveDate) -> usize {
        let idx = (day - self.first).num_days().max(0) / self.days_per_bar;
        (idx as usize).min(self.bars() - 1)
    }

    /// The table's column header.
    fn header(&self) -> String {
        match self.days_per_bar {
            1 => "events per UTC day".to_string(),
            n => format!("events per {n} UTC days"),
        }
    }

    /// The line under the table that names the bars' days.
    fn legend(&self) -> String {
        let span = format!(
            "{} (from the window's start) to {}",
            self.first.format("%Y-%m-%d"),
            self.last.format("%Y-%m-%d")
        );
        let days = (self.last - self.first).num_days() + 1;
        match (self.days_per_bar, days % self.days_per_bar) {
            (1, _) => format!("bars: one per UTC day, {span}"),
            (n, 0) => format!("bars: one per {n} UTC days, {span}"),
            (n, rest) => format!(
                "bars: one per {n} UTC days, {span}; the last bar {rest} day{}",
                if rest == 1 { "" } else { "s" }
            ),
        }
    }
}

impl SummaryReport {
    /// Shape the database figures into the report.
    pub fn new(org_id: &str, days: i32, data: SummaryData) -> SummaryReport {
        let spark_days = SparkDays::new(
            data.period_start,
            data.generated_at,
            data.daily.iter().map(|d| d.1),
        );
        let mut spark: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (event_type, day, n) in &data.daily {
            spark
                .entry(event_type.clone())
                .or_insert_with(|| vec![0; spark_days.bars()])[spark_days.bar(*day)] += n;
        }
        SummaryReport {
            org_id: org_id.to_string(),
            period_days: days,
            total_events: data.by_type.iter().map(|t| t.count).sum(),
            summary_by_type: data
                .by_type
                .into_iter()
                .map(|t| {
                    (
                        t.event_type,
                        TypeSummary {
                            count: t.count,
                            total_quantity: t.total_quantity,
                            first_event: t.first_event,
                            last_event: t.last_event,
                        },
                    )
                })
                .collect(),
            generated_at: data.generated_at,
            period_start: data.period_start,
            known_org: true,
            spark,
            spark_days,
            notices: Vec::new(),
        }
    }
}

impl Render for SummaryReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "org_id",
            "event_type",
            "count",
            "total_quantity",
            "first_event",
            "last_event",
        ]
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.summary_by_type
            .iter()
            .map(|(ty, s)| {
                vec![
                    Cell::text(&self.org_id),
                    Cell::text(ty),
                    Cell::Num(s.count),
                    Cell::Num(s.total_quantity),
                    Cell::Time(s.first_event),
                    Cell::Time(s.last_event),
                ]
            })
            .collect()
    }

    fn human(&self, style: &Style) -> String {
        let title = format!(
            "Usage for org {} over the last {} day{} ({} to {}, UTC)",
            self.org_id,
            self.period_days,
            if self.period_days == 1 { "" } else { "s" },
            fmt_utc(&self.period_start),
            fmt_utc(&self.generated_at),
        );
        if self.summary_by_type.is_empty() {
            return format!("{}\nno events in this window\n", style.bold(&title));
        }
        let per = self.spark_days.header();
        let mut t = style.table(&[
            "event type",
            "events",
            "quantity",
            "first event",
            "last event",
            &per,
        ]);
        for (ty, s) in &self.summary_by_type {
            let line = self.spark.get(ty).map(|v| sparkline(v)).unwrap_or_default();
            t.add_row(vec![
                style.cell(ty, None),
                style.cell(s.count, None),
                style.cell(s.total_quantity, None),
                style.cell(fmt_utc(&s.first_event), None),
                style.cell(fmt_utc(&s.last_event), None),
                style.cell(line, Some(comfy_table::Color::Cyan)),
            ]);
        }
        // the sparkline is one bar, spaces and all; the instants go first when space is short
        t.keep_whole(5).drop_order(&[3, 4, 2, 1]);
        for col in 1..=2 {
            if let Some(c) = t.column_mut(col) {
                c.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        format!(
            "{}\n{t}\n{}\n{} in all\n",
            style.bold(&title),
            self.spark_days.legend(),
            crate::output::count(self.total_events, "event", "events")
        )
    }
}

/// Run `usagectl summary`.
/// Compute the summary report.
/// Compute one org's summary over the last `days` days; `notices` says when the org is
/// unknown.
pub fn summarise(client: &mut Client, org: &str, days: i32) -> Result<SummaryReport> {
    let unknown = crate::app::orgs::unknown_org(client, org)?;
    let data = queries::summary(client, org, days)?;
    let mut report = SummaryReport::new(org, days, data);
    report.known_org = unknown.is_none();
    report.notices.extend(unknown);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::queries::TypeTotals;
    use crate::output::Output;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn report() -> SummaryReport {
        SummaryReport::new(
            "=org",
            30,
            SummaryData {
                generated_at: t("2025-12-04T19:00:00Z"),
                period_start: t("2025-11-04T19:00:00Z"),
                by_type: vec![TypeTotals {
                    event_type: "chat_message".into(),
                    count: 45,
                    total_quantity: 45,
                    first_event: t("2025-11-04T19:00:00Z"),
                    last_event: t("2025-12-04T18:30:00.000001Z"),
                }],
                daily: vec![
                    ("chat_message".into(), d("2025-11-04"), 5),
                    ("chat_message".into(), d("2025-12-04"), 40),
                ],
            },
        )
    }

    #[test]
    fn json_has_the_seed_fields() {
        let v = serde_json::to_value(report()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "org_id": "=org",
                "period_days": 30,
                "total_events": 45,
                "summary_by_type": {"chat_message": {
                    "count": 45, "total_quantity": 45,
                    "first_event": "2025-11-04T19:00:00Z",
                    "last_event": "2025-12-04T18:30:00.000001Z"}},
                "generated_at": "2025-12-04T19:00:00Z",
                "period_start": "2025-11-04T19:00:00Z",
                "known_org": true
            })
        );
    }

    /// A 30-day window touches 31 UTC days: one bar each, the first and last partial.
    #[test]
    fn one_bar_per_utc_calendar_day_the_window_touches() {
        let r = report();
        let s = &r.spark["chat_message"];
        assert_eq!(s.len(), 31);
        assert_eq!((s[0], s[1], s[29], s[30]), (5, 0, 0, 40));
        assert_eq!(r.spark_days.header(), "events per UTC day");
        assert_eq!(
            r.spark_days.legend(),
            "bars: one per UTC day, 2025-11-04 (from the window's start) to 2025-12-04"
        );
        // two days from 19:02 on Nov 29: Nov 29, 30 and Dec 1
        let two = SummaryReport::new(
            "o",
            2,
            SummaryData {
                generated_at: t("2025-12-01T19:02:00Z"),
                period_start: t("2025-11-29T19:02:00Z"),
                daily: vec![
                    ("x".into(), d("2025-11-29"), 1),
                    ("x".into(), d("2025-12-01"), 1),
                ],
                ..report_data()
            },
        );
        assert_eq!(two.spark["x"], [1, 0, 1]);
        assert_eq!(
            two.spark_days.legend(),
            "bars: one per UTC day, 2025-11-29 (from the window's start) to 2025-12-01"
        );
        // a future-dated event gets a day of its own
        let ahead = SummaryReport::new(
            "o",
            1,
            SummaryData {
                generated_at: t("2025-12-04T19:00:00Z"),
                period_start: t("2025-12-03T19:00:00Z"),
                daily: vec![("x".into(), d("2025-12-06"), 3)],
                ..report_data()
            },
        );
        assert_eq!(ahead.spark["x"], [0, 0, 0, 3]);
    }

    /// Longer windows: whole UTC days per bar, at most 31 bars, the days named.
    #[test]
    fn long_windows_put_whole_days_in_each_bar() {
        let long = SummaryReport::new(
            "o",
            365,
            SummaryData {
                generated_at: t("2025-12-04T19:00:00Z"),
                period_start: t("2024-12-04T19:00:00Z"),
                daily: vec![
                    ("x".into(), d("2024-12-04"), 2),
                    ("x".into(), d("2024-12-15"), 1),
                    ("x".into(), d("2024-12-16"), 4),
                    ("x".into(), d("2025-12-04"), 1),
                ],
                ..report_data()
            },
        );
        let s = &long.spark["x"];
        // 366 days, 12 per bar: 31 bars, the last of 6 days
        assert_eq!(s.len(), 31);
        assert_eq!((s[0], s[1], s[30]), (3, 4, 1));
        assert_eq!(long.spark_days.header(), "events per 12 UTC days");
        assert_eq!(
            long.spark_days.legend(),
            "bars: one per 12 UTC days, 2024-12-04 (from the window's start) to 2025-12-04; the last bar 6 days"
        );
        let days31 = SparkDays::new(
            t("2025-11-03T19:00:00Z"),
            t("2025-12-04T19:00:00Z"),
            std::iter::empty(),
        );
        assert_eq!((days31.days_per_bar, days31.bars()), (2, 16));
        assert_eq!(
            days31.legend(),
            "bars: one per 2 UTC days, 2025-11-03 (from the window's start) to 2025-12-04"
        );
    }

    fn report_data() -> SummaryData {
        SummaryData {
            generated_at: t("2025-12-04T19:00:00Z"),
            period_start: t("2025-11-04T19:00:00Z"),
            by_type: vec![],
            daily: vec![],
        }
    }

    #[test]
    fn table_and_csv_views() {
        let mut buf = Vec::new();
        let mut out = Output::new(crate::output::Format::Csv, Style::plain(), &mut buf);
        out.render(&report()).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "org_id,event_type,count,total_quantity,first_event,last_event\n'=org,chat_message,45,45,2025-11-04T19:00:00Z,2025-12-04T18:30:00.000001Z\n"
        );
        let text = report().human(&Style::plain());
        assert!(text.starts_with("Usage for org =org over the last 30 days (2025-11-04T19:00:00Z to 2025-12-04T19:00:00Z, UTC)"), "{text}");
        assert!(text.contains("45 events in all"));
        assert!(text.contains("events per UTC day"), "{text}");
        assert!(
            text.contains(
                "\nbars: one per UTC day, 2025-11-04 (from the window's start) to 2025-12-04\n"
            ),
            "{text}"
        );
        let empty = SummaryReport::new("o", 1, report_data()).human(&Style::plain());
        assert!(
            empty.contains("last 1 day (") && empty.contains("no events in this window"),
            "{empty}"
        );
    }
}
