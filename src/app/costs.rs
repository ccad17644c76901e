//! What each org's AI tokens cost in a month, in exact decimal arithmetic: the report
//! `costs` prints and `top --by cost` ranks.
use std::str::FromStr;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::db::queries::CostRow;
use crate::output::{Cell, Render, Style};
use crate::period::Month;
use crate::prices::{cents, from_text, trim};

/// One line of `costs`: one org, model and price.
#[derive(Debug, Clone, Serialize)]
pub struct CostLine {
    /// Organisation.
    pub org_id: String,
    /// The model; null for tokens that name none.
    pub model: Option<String>,
    /// The price's first instant; null when unpriced.
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub price_from: Option<DateTime<Utc>>,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// USD per million input tokens; null when unpriced.
    pub input_per_mtok: Option<String>,
    /// USD per million output tokens; null when unpriced.
    pub output_per_mtok: Option<String>,
    /// Exact USD; null when unpriced.
    pub cost_usd: Option<String>,
    /// `no model` or `no price for MODEL` when unpriced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpriced: Option<String>,
}

/// One org's total.
#[derive(Debug, Clone, Serialize)]
pub struct OrgCost {
    /// Organisation.
    pub org_id: String,
    /// Exact USD of its priced tokens.
    pub cost_usd: String,
    /// Tokens left unpriced.
    pub unpriced_tokens: i64,
}

/// `usagectl costs`.
#[derive(Debug, Serialize)]
pub struct Costs {
    /// The month.
    pub month: String,
    /// First instant counted.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_start: DateTime<Utc>,
    /// First instant not counted.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_end: DateTime<Utc>,
    /// Per org, model and price.
    pub lines: Vec<CostLine>,
    /// Per org.
    pub orgs: Vec<OrgCost>,
    /// Exact USD over every org.
    pub total_usd: String,
    /// Tokens left unpriced (listed in `lines`).
    pub unpriced_tokens: i64,
}

impl Render for Costs {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "month",
            "org_id",
            "model",
            "price_from",
            "input_tokens",
            "output_tokens",
            "input_per_mtok",
            "output_per_mtok",
            "cost_usd",
            "unpriced",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        let opt = |s: &Option<String>| s.as_ref().map_or(Cell::Empty, Cell::text);
        self.lines
            .iter()
            .map(|l| {
                vec![
                    Cell::text(&self.month),
                    Cell::text(&l.org_id),
                    opt(&l.model),
                    l.price_from
                        .map_or(Cell::Empty, |t| Cell::text(from_text(&t))),
                    Cell::Num(l.input_tokens),
                    Cell::Num(l.output_tokens),
                    opt(&l.input_per_mtok),
                    opt(&l.output_per_mtok),
                    opt(&l.cost_usd),
                    opt(&l.unpriced),
                ]
            })
            .collect()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.lines)
    }
    fn human(&self, style: &Style) -> String {
        let mut s = format!(
            "AI costs for {} (UTC): {} in total",
            self.month,
            cents(&self.total_usd)
        );
        if self.unpriced_tokens > 0 {
            s.push_str(&format!(", {} tokens unpriced", self.unpriced_tokens));
        }
        s.push('\n');
        if self.lines.is_empty() {
            s.push_str("no token events\n");
            return s;
        }
        let mut t = style.table(&[
            "org",
            "model",
            "input tokens",
            "output tokens",
            "cost",
            "note",
        ]);
        for l in &self.lines {
            t.add_row(vec![
                style.cell(&l.org_id, None),
                style.cell(l.model.clone().unwrap_or_else(|| "(none)".into()), None),
                style.cell(l.input_tokens, None),
                style.cell(l.output_tokens, None),
                style.cell(l.cost_usd.as_deref().map(cents).unwrap_or_default(), None),
                style.cell(l.unpriced.clone().unwrap_or_default(), None),
            ]);
        }
        s.push_str(&format!("{t}\n"));
        let mut o = style.table(&["org", "cost", "unpriced tokens"]);
        for c in &self.orgs {
            o.add_row(vec![
                style.cell(&c.org_id, None),
                style.cell(cents(&c.cost_usd), None),
                style.cell(c.unpriced_tokens, None),
            ]);
        }
        s.push_str(&format!("{o}\n"));
        s
    }
}

/// Build the report from the priced rows: per org and total in exact decimals.
pub fn report(month: &Month, rows: Vec<CostRow>) -> Result<Costs> {
    let mut orgs: Vec<OrgCost> = Vec::new();
    let mut total = Decimal::ZERO;
    let mut unpriced_total = 0i64;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        let cost = r
            .cost
            .as_deref()
            .map(Decimal::from_str)
            .transpose()
            .context("reading a cost")?;
        let unpriced = match (&r.model, &cost) {
            (None, _) => Some("no model".to_string()),
            (Some(m), None) => Some(format!("no price for {m}")),
            _ => None,
        };
        let tokens = r.input_tokens + r.output_tokens;
        if orgs.last().is_none_or(|o| o.org_id != r.org_id) {
            orgs.push(OrgCost {
                org_id: r.org_id.clone(),
                cost_usd: "0".into(),
                unpriced_tokens: 0,
            });
        }
        let o = orgs.last_mut().expect("pushed above");
        match cost {
            Some(c) => {
                let sum = Decimal::from_str(&o.cost_usd).unwrap_or_default() + c;
                o.cost_usd = sum.normalize().to_string();
                total += c;
            }
            None => {
                o.unpriced_tokens += tokens;
                unpriced_total += tokens;
            }
        }
        lines.push(CostLine {
            org_id: r.org_id,
            model: r.model,
            price_from: r.price_from,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            input_per_mtok: r.input_per_mtok.as_deref().map(trim),
            output_per_mtok: r.output_per_mtok.as_deref().map(trim),
            cost_usd: cost.map(|c| c.normalize().to_string()),
            unpriced,
        });
    }
    Ok(Costs {
        month: month.label(),
        period_start: month.start,
        period_end: month.end,
        lines,
        orgs,
        total_usd: total.normalize().to_string(),
        unpriced_tokens: unpriced_total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_exactly_and_unpriced_tokens_are_kept() {
        let m = Month::parse("2026-11").unwrap();
        let row = |org: &str, model: Option<&str>, cost: Option<&str>, i: i64, o: i64| CostRow {
            org_id: org.into(),
            model: model.map(Into::into),
            price_from: None,
            input_tokens: i,
            output_tokens: o,
            input_per_mtok: None,
            output_per_mtok: None,
            cost: cost.map(Into::into),
        };
        let r = report(
            &m,
            vec![
                row("a", Some("m1"), Some("0.1"), 1, 1),
                row("a", Some("m1"), Some("0.2"), 1, 1),
                row("a", None, None, 5, 6),
                row("b", Some("m2"), None, 7, 0),
                row("b", Some("m1"), Some("0.0000000003"), 1, 0),
            ],
        )
        .unwrap();
        assert_eq!(r.total_usd, "0.3000000003");
        assert_eq!(r.orgs[0].cost_usd, "0.3");
        assert_eq!(r.orgs[0].unpriced_tokens, 11);
        assert_eq!(r.orgs[1].unpriced_tokens, 7);
        assert_eq!(r.unpriced_tokens, 18);
        assert_eq!(r.lines[2].unpriced.as_deref(), Some("no model"));
        assert_eq!(r.lines[3].unpriced.as_deref(), Some("no price for m2"));
    }
}
