//! `usagectl summary`: the seed's `GET /api/v1/usage/summary` for one org.
use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use postgres::Client;
use serde::Serialize;

use crate::db::queries::{self, SummaryData};
use crate::output::{Cell, Output, Render, Style, sparkline};
use crate::time::fmt_utc;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
The window is created_at >= now() - N days, measured by the server in UTC, with no upper
bound, exactly as the HTTP endpoint counts it. Figures are aggregated in SQL within one
read-only snapshot.

Examples:
  usagectl summary --org acme                 # last 30 days, as a table
  usagectl summary --org acme --days 7 -o json
  usagectl summary --org acme -o csv > acme-usage.csv

",
    crate::exit_codes!()
);

/// Most columns the per-day sparkline uses; longer windows are grouped into buckets.
const SPARK_COLUMNS: i32 = 30;

/// Arguments of `usagectl summary`.
#[derive(Args, Debug)]
pub struct SummaryArgs {
    /// Organisation id
    #[arg(long, value_name = "ORG")]
    pub org: String,

    /// Days to look back, 1 to 365
    #[arg(long, value_name = "N", default_value_t = 30, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(1..=365))]
    pub days: i32,
}

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
    /// Events per sparkline column per type (table view only).
    #[serde(skip)]
    pub spark: BTreeMap<String, Vec<i64>>,
}

impl SummaryReport {
    /// Shape the database figures into the report.
    pub fn new(org_id: &str, days: i32, data: SummaryData) -> SummaryReport {
        let columns = days.min(SPARK_COLUMNS);
        let mut spark: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (event_type, day, n) in &data.daily {
            let col = (day.clamp(&0, &(days - 1)) * columns / days) as usize;
            spark
                .entry(event_type.clone())
                .or_insert_with(|| vec![0; columns as usize])[col] += n;
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
            spark,
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
                    Cell::text(fmt_utc(&s.first_event)),
                    Cell::text(fmt_utc(&s.last_event)),
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
        let per = if self.period_days > SPARK_COLUMNS {
            "events per period"
        } else {
            "events per day"
        };
        let mut t = style.table(&[
            "event type",
            "events",
            "quantity",
            "first event",
            "last event",
            per,
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
        for col in 1..=2 {
            if let Some(c) = t.column_mut(col) {
                c.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        format!(
            "{}\n{t}\n{} events in all\n",
            style.bold(&title),
            self.total_events
        )
    }
}

/// Run `usagectl summary`.
pub fn run(client: &mut Client, args: &SummaryArgs, out: &mut Output) -> Result<()> {
    let report = summarise(client, args)?;
    out.render(&report)
}

/// Compute the summary report.
pub fn summarise(client: &mut Client, args: &SummaryArgs) -> Result<SummaryReport> {
    let data = queries::summary(client, &args.org, args.days)?;
    Ok(SummaryReport::new(&args.org, args.days, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::queries::TypeTotals;

    fn t(s: &str) -> DateTime<Utc> {
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
                    ("chat_message".into(), 0, 5),
                    ("chat_message".into(), 29, 40),
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
                "period_start": "2025-11-04T19:00:00Z"
            })
        );
    }

    #[test]
    fn sparkline_buckets_days() {
        let r = report();
        let s = &r.spark["chat_message"];
        assert_eq!(s.len(), 30);
        assert_eq!((s[0], s[29]), (5, 40));
        let long = SummaryReport::new(
            "o",
            365,
            SummaryData {
                daily: vec![("x".into(), 364, 1), ("x".into(), 0, 2)],
                ..report_data()
            },
        );
        assert_eq!(long.spark["x"].len(), 30);
        assert_eq!((long.spark["x"][0], long.spark["x"][29]), (2, 1));
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
        let mut out = Output::new(crate::cli::Format::Csv, Style::plain(), &mut buf);
        out.render(&report()).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "org_id,event_type,count,total_quantity,first_event,last_event\n'=org,chat_message,45,45,2025-11-04T19:00:00Z,2025-12-04T18:30:00.000001Z\n"
        );
        let text = report().human(&Style::plain());
        assert!(text.starts_with("Usage for org =org over the last 30 days (2025-11-04T19:00:00Z to 2025-12-04T19:00:00Z, UTC)"), "{text}");
        assert!(text.contains("45 events in all"));
        let empty = SummaryReport::new("o", 1, report_data()).human(&Style::plain());
        assert!(
            empty.contains("last 1 day (") && empty.contains("no events in this window"),
            "{empty}"
        );
    }
}
