//! What the stripe commands print.
use super::*;

pub(super) fn meters_table(meters: &[StripeMeter], style: &Style) -> String {
    let mut t = style.table(&["source", "sums", "event name", "meter id", "from", "added"]);
    for m in meters {
        t.add_row(vec![
            style.cell(&m.source, None),
            style.cell(m.event_types.join(" + "), None),
            style.cell(&m.event_name, None),
            style.cell(m.meter_id.clone().unwrap_or_default(), None),
            style.cell(m.from_day, None),
            style.cell(format!("{} by {}", fmt_utc(&m.added_at), m.added_by), None),
        ]);
    }
    t.to_string()
}

/// `stripe meter list` / `add` / `remove`.
#[derive(Debug, Serialize)]
pub struct Meters {
    /// What changed, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// Every mapping.
    pub meters: Vec<StripeMeter>,
}

impl Render for Meters {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "source",
            "event_types",
            "event_name",
            "meter_id",
            "from_day",
            "added_at",
            "added_by",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.meters
            .iter()
            .map(|m| {
                vec![
                    Cell::text(&m.source),
                    Cell::text(m.event_types.join(" ")),
                    Cell::text(&m.event_name),
                    m.meter_id.as_ref().map_or(Cell::Empty, Cell::text),
                    Cell::text(m.from_day.to_string()),
                    Cell::Time(m.added_at),
                    Cell::text(&m.added_by),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let head = self
            .change
            .clone()
            .map(|c| format!("{c}\n"))
            .unwrap_or_default();
        if self.meters.is_empty() {
            return format!("{head}no Stripe meters mapped\n");
        }
        format!("{head}{}\n", meters_table(&self.meters, style))
    }
}

/// One revision decided or sent by a push.
#[derive(Debug, Clone, Serialize)]
pub struct PushRow {
    /// Organisation.
    pub org_id: String,
    /// Source.
    pub source: String,
    /// UTC day.
    pub day: NaiveDate,
    /// Revision.
    pub revision: i32,
    /// Identifier / Idempotency-Key.
    pub identifier: String,
    /// Value sent (negative: a decrease).
    pub value: i64,
    /// sent, failed (pending, tried again by the next push) or manual_credit.
    pub status: RevisionStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `stripe push`.
#[derive(Debug, Serialize)]
pub struct PushReport {
    /// test or live.
    pub mode: Mode,
    /// Usage counted up to this instant.
    #[serde(serialize_with = "crate::time::ser")]
    pub through: DateTime<Utc>,
    /// Streams (org, meter) looked at.
    pub streams: usize,
    /// Streams skipped because another push is deciding or sending them.
    pub busy: Vec<String>,
    /// Revisions sent, failed or recorded as manual credits.
    pub revisions: Vec<PushRow>,
}

impl Render for PushReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "mode",
            "org_id",
            "source",
            "day",
            "revision",
            "identifier",
            "value",
            "status",
            "error",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.revisions
            .iter()
            .map(|r| {
                vec![
                    Cell::text(self.mode.name()),
                    Cell::text(&r.org_id),
                    Cell::text(&r.source),
                    Cell::text(r.day.to_string()),
                    Cell::Num(i64::from(r.revision)),
                    Cell::text(&r.identifier),
                    Cell::Num(r.value),
                    Cell::text(r.status.as_str()),
                    r.error.as_ref().map_or(Cell::Empty, Cell::text),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let count = |s: RevisionStatus| self.revisions.iter().filter(|r| r.status == s).count();
        let mut out = format!(
            "stripe push ({} mode) through {}: {} over {}; {} sent, {} failed, {} manual credit{}\n",
            self.mode.name(),
            fmt_utc(&self.through),
            output::count(self.revisions.len() as i64, "revision", "revisions"),
            output::count(self.streams as i64, "stream", "streams"),
            count(RevisionStatus::Sent),
            count(RevisionStatus::Failed),
            count(RevisionStatus::ManualCredit),
            if count(RevisionStatus::ManualCredit) == 1 {
                ""
            } else {
                "s"
            }
        );
        if !self.revisions.is_empty() {
            let mut t = style.table(&["org", "source", "day", "rev", "value", "status"]);
            for r in &self.revisions {
                t.add_row(vec![
                    style.cell(&r.org_id, None),
                    style.cell(&r.source, None),
                    style.cell(r.day, None),
                    style.cell(r.revision, None),
                    style.cell(r.value, None),
                    style.cell(
                        match &r.error {
                            Some(e) => format!("{}: {e}", r.status),
                            None => r.status.to_string(),
                        },
                        None,
                    ),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        for b in &self.busy {
            out.push_str(&format!(
                "skipped {b}: another push is deciding or sending it\n"
            ));
        }
        out
    }
}

/// One disagreeing day of `stripe reconcile`.
#[derive(Debug, Serialize)]
pub struct ReconcileRow {
    /// Organisation.
    pub org_id: String,
    /// Its customer.
    pub customer_id: String,
    /// Source.
    pub source: String,
    /// UTC day.
    pub day: NaiveDate,
    /// usagectl's usage.
    pub usage: i64,
    /// What the ledger says Stripe acknowledged.
    pub ledger_sent: i64,
    /// Decided but not acknowledged yet.
    pub ledger_pending: i64,
    /// Recorded as a manual credit (never sent).
    pub manual_credit: i64,
    /// What Stripe's daily summary holds.
    pub stripe: f64,
    /// In words.
    pub note: String,
}

/// `stripe reconcile`.
#[derive(Debug, Serialize)]
pub struct ReconcileReport {
    /// test or live.
    pub mode: Mode,
    /// The month.
    pub month: String,
    /// Streams compared.
    pub streams: usize,
    /// Days compared.
    pub days: usize,
    /// Meters without a meter id (their summaries cannot be read).
    pub without_meter_id: Vec<String>,
    /// Every day where Stripe, the ledger and the usage do not all agree.
    pub disagreements: Vec<ReconcileRow>,
}

impl Render for ReconcileReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "mode",
            "org_id",
            "customer_id",
            "source",
            "day",
            "usage",
            "ledger_sent",
            "ledger_pending",
            "manual_credit",
            "stripe",
            "note",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.disagreements
            .iter()
            .map(|r| {
                vec![
                    Cell::text(self.mode.name()),
                    Cell::text(&r.org_id),
                    Cell::text(&r.customer_id),
                    Cell::text(&r.source),
                    Cell::text(r.day.to_string()),
                    Cell::Num(r.usage),
                    Cell::Num(r.ledger_sent),
                    Cell::Num(r.ledger_pending),
                    Cell::Num(r.manual_credit),
                    Cell::text(r.stripe.to_string()),
                    Cell::text(&r.note),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let mut out = format!(
            "stripe reconcile ({} mode) {}: {} and {} compared, {} disagree{}\n",
            self.mode.name(),
            self.month,
            output::count(self.streams as i64, "stream", "streams"),
            output::count(self.days as i64, "day", "days"),
            self.disagreements.len(),
            if self.disagreements.len() == 1 {
                "s"
            } else {
                ""
            }
        );
        if !self.disagreements.is_empty() {
            let mut t = style.table(&["org", "source", "day", "usage", "sent", "stripe", "note"]);
            for r in &self.disagreements {
                t.add_row(vec![
                    style.cell(&r.org_id, None),
                    style.cell(&r.source, None),
                    style.cell(r.day, None),
                    style.cell(r.usage, None),
                    style.cell(r.ledger_sent, None),
                    style.cell(r.stripe, None),
                    style.cell(&r.note, None),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
        for m in &self.without_meter_id {
            out.push_str(&format!(
                "not compared: meter {m} has no meter id (stripe meter remove it and add it again with --meter-id)\n"
            ));
        }
        out
    }
}
