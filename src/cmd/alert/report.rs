//! What the alert commands print.
use super::*;

pub(super) fn metrics_text(r: &Rule) -> String {
    match &r.metrics {
        None => "all".to_string(),
        Some(ms) => ms.iter().map(|m| m.name()).collect::<Vec<_>>().join(","),
    }
}

pub(super) fn thresholds_text(r: &Rule) -> String {
    r.thresholds
        .iter()
        .map(|t| format!("{t}%"))
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn rules_table(rules: &[Rule], style: &Style) -> String {
    let mut t = style.table(&[
        "name", "webhook", "format", "at", "metrics", "scope", "added",
    ]);
    for r in rules {
        t.add_row(vec![
            style.cell(&r.name, None),
            style.cell(&r.webhook, None),
            style.cell(r.format.name(), None),
            style.cell(thresholds_text(r), None),
            style.cell(metrics_text(r), None),
            style.cell(r.scope(), None),
            style.cell(
                format!("{} by {}", fmt_utc(&r.created_at), r.created_by),
                None,
            ),
        ]);
    }
    t.to_string()
}

pub(super) const RULE_HEADER: [&str; 10] = [
    "name",
    "webhook",
    "format",
    "thresholds",
    "metrics",
    "org_id",
    "tier",
    "allow_insecure_http",
    "created_at",
    "created_by",
];

pub(super) fn rule_cells(r: &Rule) -> Vec<Cell> {
    let opt = |s: &Option<String>| s.as_ref().map_or(Cell::Empty, Cell::text);
    vec![
        Cell::text(&r.name),
        Cell::text(&r.webhook),
        Cell::text(r.format.name()),
        Cell::text(
            r.thresholds
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Cell::text(metrics_text(r)),
        opt(&r.org_id),
        opt(&r.tier),
        Cell::text(r.allow_insecure_http.to_string()),
        Cell::Time(r.created_at),
        Cell::text(&r.created_by),
    ]
}

/// `alert add`: the rule, and the secret when usagectl generated it (shown this once).
#[derive(Debug, Serialize)]
pub struct Added {
    /// The rule as stored.
    pub rule: Rule,
    /// The generated secret; absent when --secret-file gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Render for Added {
    fn csv_header(&self) -> Vec<&'static str> {
        let mut h = RULE_HEADER.to_vec();
        h.push("secret");
        h
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        let mut c = rule_cells(&self.rule);
        c.push(self.secret.as_ref().map_or(Cell::Empty, Cell::text));
        vec![c]
    }
    fn human(&self, style: &Style) -> String {
        let secret = match &self.secret {
            Some(s) => format!("signing secret (shown this once; give it to the receiver): {s}\n"),
            None => "signing with the secret from --secret-file\n".to_string(),
        };
        format!(
            "alert {} added: {} at {} of {} for {}\n{}\n{secret}",
            self.rule.name,
            metrics_text(&self.rule),
            thresholds_text(&self.rule),
            self.rule.webhook,
            self.rule.scope(),
            rules_table(std::slice::from_ref(&self.rule), style)
        )
    }
}

/// `alert list`.
#[derive(Debug, Serialize)]
pub struct RuleList {
    /// By name.
    pub rules: Vec<Rule>,
}

impl Render for RuleList {
    fn csv_header(&self) -> Vec<&'static str> {
        RULE_HEADER.to_vec()
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.rules.iter().map(rule_cells).collect()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.rules)
    }
    fn human(&self, style: &Style) -> String {
        if self.rules.is_empty() {
            return "no alert rules (usagectl alert add NAME --webhook-file PATH adds one)\n"
                .to_string();
        }
        format!("{}\n", rules_table(&self.rules, style))
    }
}

/// `alert remove`.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// The rule removed.
    pub name: String,
    /// Its deliveries that were still pending (dropped with it).
    pub pending_dropped: i64,
}

impl Render for Removed {
    fn csv_header(&self) -> Vec<&'static str> {
        vec!["name", "pending_dropped"]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        vec![vec![
            Cell::text(&self.name),
            Cell::Num(self.pending_dropped),
        ]]
    }
    fn human(&self, _: &Style) -> String {
        format!(
            "alert {} removed with its states and history; {} dropped\n",
            self.name,
            output::count(
                self.pending_dropped,
                "pending delivery",
                "pending deliveries"
            )
        )
    }
}

/// One delivery tried in this run (or by `alert test`).
#[derive(Debug, Serialize)]
pub struct DeliveryRow {
    /// Message id (the webhook-id).
    pub id: String,
    /// The rule.
    pub rule: String,
    /// Organisation.
    pub org_id: String,
    /// The event's type.
    #[serde(rename = "type")]
    pub kind: String,
    /// delivered, failed (for good) or retrying (on a later run).
    pub status: DeliveryStatus,
    /// Attempts in this run.
    pub attempts: u32,
    /// The last answer's HTTP status.
    pub http_status: Option<u16>,
    /// The last error (no URL, no secret).
    pub error: Option<String>,
    /// When a retrying one is tried next.
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A decision, as `alert run` shows it.
#[derive(Debug, Serialize)]
pub struct DecisionRow {
    /// The rule.
    pub rule: String,
    /// What the receiver gets (format standard).
    #[serde(flatten)]
    pub payload: Payload,
}

/// `alert run`.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// Nothing was written or sent.
    pub dry_run: bool,
    /// Rules evaluated.
    pub rules: usize,
    /// Orgs read.
    pub orgs: usize,
    /// State changes decided in this run.
    pub decisions: Vec<DecisionRow>,
    /// Deliveries tried in this run (this run's decisions and earlier ones that were due).
    pub deliveries: Vec<DeliveryRow>,
    /// Pending deliveries given up after 24 hours before this run tried them.
    pub expired: u64,
}

impl Render for RunReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "id",
            "rule",
            "org_id",
            "type",
            "metric",
            "threshold_pct",
            "current",
            "limit",
            "period_start",
            "period_end",
            "delivery",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.decisions
            .iter()
            .map(|d| {
                let p = &d.payload;
                let delivery = self
                    .deliveries
                    .iter()
                    .find(|x| x.id == p.id)
                    .map_or(if self.dry_run { "dry_run" } else { "not_tried" }, |x| {
                        x.status.as_str()
                    });
                vec![
                    Cell::text(&p.id),
                    Cell::text(&d.rule),
                    Cell::text(&p.org_id),
                    Cell::text(&p.kind),
                    Cell::text(&p.metric),
                    Cell::Num(i64::from(p.threshold_pct)),
                    Cell::Num(p.current),
                    p.limit.map_or(Cell::Empty, Cell::Num),
                    Cell::text(&p.period_start),
                    Cell::text(&p.period_end),
                    Cell::text(delivery),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let mut s = format!(
            "{}{} over {}: {} decided\n",
            if self.dry_run { "dry run: " } else { "" },
            output::count(self.rules as i64, "alert rule", "alert rules"),
            output::count(self.orgs as i64, "org", "orgs"),
            output::count(self.decisions.len() as i64, "change", "changes"),
        );
        if !self.decisions.is_empty() {
            let mut t = style.table(&["rule", "org", "event", "metric", "at", "use", "period"]);
            for d in &self.decisions {
                let p = &d.payload;
                t.add_row(vec![
                    style.cell(&d.rule, None),
                    style.cell(&p.org_id, None),
                    style.cell(Kind::label(&p.kind), None),
                    style.cell(&p.metric, None),
                    style.cell(format!("{}%", p.threshold_pct), None),
                    style.cell(alerts::use_text(p.current, p.limit), None),
                    style.cell(format!("[{}, {})", p.period_start, p.period_end), None),
                ]);
            }
            s.push_str(&format!("{t}\n"));
        }
        if self.dry_run {
            s.push_str("nothing written or sent\n");
            return s;
        }
        let ok = self
            .deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Delivered)
            .count();
        s.push_str(&format!(
            "{} tried: {ok} delivered, {} not\n",
            output::count(self.deliveries.len() as i64, "delivery", "deliveries"),
            self.deliveries.len() - ok
        ));
        if self.expired > 0 {
            s.push_str(&format!(
                "{} given up after 24 hours\n",
                output::count(self.expired, "pending delivery", "pending deliveries")
            ));
        }
        s
    }
}

/// `alert history`.
#[derive(Debug, Serialize)]
pub struct History {
    /// Newest first.
    pub events: Vec<AlertHistoryRow>,
}

impl Render for History {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "id",
            "rule",
            "org_id",
            "type",
            "metric",
            "threshold_pct",
            "current",
            "limit",
            "decided_at",
            "status",
            "attempts",
            "last_status",
            "last_error",
            "next_attempt_at",
            "finished_at",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.events
            .iter()
            .map(|e| {
                vec![
                    Cell::text(&e.id),
                    Cell::text(&e.rule),
                    Cell::text(&e.org_id),
                    Cell::text(&e.kind),
                    Cell::text(&e.metric),
                    Cell::Num(e.threshold_pct),
                    Cell::Num(e.current),
                    e.limit.map_or(Cell::Empty, Cell::Num),
                    Cell::Time(e.decided_at),
                    Cell::text(e.status),
                    Cell::Num(i64::from(e.attempts)),
                    e.last_status
                        .map_or(Cell::Empty, |s| Cell::Num(i64::from(s))),
                    e.last_error.as_ref().map_or(Cell::Empty, Cell::text),
                    e.next_attempt_at.map_or(Cell::Empty, Cell::Time),
                    e.finished_at.map_or(Cell::Empty, Cell::Time),
                ]
            })
            .collect()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.events)
    }
    fn human(&self, style: &Style) -> String {
        if self.events.is_empty() {
            return "no alert decisions\n".to_string();
        }
        let mut t = style.table(&[
            "decided",
            "rule",
            "org",
            "event",
            "metric",
            "at",
            "use",
            "delivery",
            "attempts",
            "last error",
        ]);
        for e in &self.events {
            let delivery = match (e.status, e.next_attempt_at) {
                (OutboxStatus::Pending, Some(next)) => {
                    format!("pending, next try {}", fmt_utc(&next))
                }
                (s, _) => s.to_string(),
            };
            t.add_row(vec![
                style.cell(fmt_utc(&e.decided_at), None),
                style.cell(&e.rule, None),
                style.cell(&e.org_id, None),
                style.cell(Kind::label(&e.kind), None),
                style.cell(&e.metric, None),
                style.cell(format!("{}%", e.threshold_pct), None),
                style.cell(alerts::use_text(e.current, e.limit), None),
                style.cell(delivery, None),
                style.cell(e.attempts, None),
                style.cell(e.last_error.clone().unwrap_or_default(), None),
            ]);
        }
        format!("{t}\n")
    }
}

/// `alert test`.
#[derive(Debug, Serialize)]
pub(super) struct TestReport {
    pub(super) webhook: String,
    #[serde(flatten)]
    pub(super) delivery: DeliveryRow,
}

impl Render for TestReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec!["id", "rule", "webhook", "status", "http_status"]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        vec![vec![
            Cell::text(&self.delivery.id),
            Cell::text(&self.delivery.rule),
            Cell::text(&self.webhook),
            Cell::text(self.delivery.status),
            self.delivery
                .http_status
                .map_or(Cell::Empty, |s| Cell::Num(i64::from(s))),
        ]]
    }
    fn human(&self, _: &Style) -> String {
        format!(
            "test delivery {} of alert {} to {}: HTTP {}\n",
            self.delivery.id,
            self.delivery.rule,
            self.webhook,
            self.delivery.http_status.unwrap_or_default()
        )
    }
}
