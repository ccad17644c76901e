//! What doctor prints.
use super::*;

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In order.
    Ok,
    /// Needs attention.
    Problem,
    /// Needed attention, and --repair fixed it.
    Repaired,
    /// For information only.
    Info,
}

impl Status {
    /// The name shown in every output.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Problem => "problem",
            Status::Repaired => "repaired",
            Status::Info => "info",
        }
    }

    /// Whether doctor found something (exit 3).
    pub fn found(self) -> bool {
        matches!(self, Status::Problem | Status::Repaired)
    }
}

/// One check's outcome.
#[derive(Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub check: &'static str,
    /// Its outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

/// What doctor found.
#[derive(Debug, Serialize)]
pub struct DoctorReport {
    /// The month whose rollup was recomputed.
    #[serde(flatten)]
    pub period: Period,
    /// --org, if given.
    pub org: Option<String>,
    /// Every check.
    pub checks: Vec<Check>,
    /// Where the rollup and the raw rows disagreed.
    pub drift: Vec<Drift>,
}

impl DoctorReport {
    /// Whether anything needed attention.
    pub fn found_something(&self) -> bool {
        self.checks.iter().any(|c| c.status.found())
    }
}

/// What a drifted bucket counts: the event type, its model and, for a bucket from a registered boundary,
/// the side of the boundary.
pub(super) fn drift_label(x: &Drift) -> String {
    let mut what = x.event_type.clone();
    if !x.model.is_empty() {
        what.push_str(&format!(" (model {})", x.model));
    }
    if let Some(b) = x.bucket {
        what.push_str(&format!(", from the boundary {}", crate::time::fmt_utc(&b)));
    }
    what
}

impl Render for DoctorReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec!["check", "status", "detail"]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.checks
            .iter()
            .map(|c| {
                vec![
                    Cell::text(c.check),
                    Cell::text(c.status.name()),
                    Cell::text(&c.detail),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let mut t = style.table(&["check", "status", "detail"]);
        for c in &self.checks {
            let color = match c.status {
                Status::Ok => Some(comfy_table::Color::Green),
                Status::Problem => Some(comfy_table::Color::Red),
                Status::Repaired => Some(comfy_table::Color::Yellow),
                Status::Info => None,
            };
            t.add_row(vec![
                style.cell(c.check, None),
                style.cell(c.status.name(), color),
                style.cell(&c.detail, None),
            ]);
        }
        let mut s = format!("{t}\n");
        if !self.drift.is_empty() {
            let mut d = style.table(&[
                "org",
                "day",
                "event type",
                "raw events",
                "rollup events",
                "raw quantity",
                "rollup quantity",
            ]);
            for x in self.drift.iter().take(50) {
                d.add_row(vec![
                    x.org_id.clone(),
                    x.day.to_string(),
                    drift_label(x),
                    x.raw_events.to_string(),
                    x.rollup_events.to_string(),
                    x.raw_quantity.to_string(),
                    x.rollup_quantity.to_string(),
                ]);
            }
            s.push_str(&format!("{d}\n"));
            if self.drift.len() > 50 {
                s.push_str(&format!(
                    "(first 50 of {} shown; -o json lists them all)\n",
                    self.drift.len()
                ));
            }
        }
        s
    }
}
