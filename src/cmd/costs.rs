//! `usagectl price` and `usagectl costs`: AI token prices per model over time, and what each
//! org's tokens cost in a month, in exact decimal arithmetic.
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use postgres::Client;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::app::costs::report;
use crate::app::every_org;
use crate::db::queries::{self, Price, RemovedPrice};
use crate::error::{self, usage};
use crate::output::{Cell, Output, Render, Style};
use crate::period::Month;
use crate::prices::{always, cents, from_text, parse_usd, trim};
use crate::time::fmt_utc;

/// Examples and exit codes for `usagectl price --help`.
pub const PRICE_HELP: &str = concat!(
    "\
Prices are USD per million tokens, input and output apart, exact decimals (at most 10
places). A model's prices are a history: each is in force from --from until the next one,
and every token event is priced with the price in force at its time. A model's first price
holds for all time unless --from says otherwise; a later one needs --from.

Examples:
  usagectl price set claude-3-5-sonnet-20241022 --input-per-mtok 3 --output-per-mtok 15
  usagectl price set claude-3-5-sonnet-20241022 --input-per-mtok 2.5 --output-per-mtok 12.5 \\
      --from 2026-12-15
  usagectl price remove claude-3-5-sonnet-20241022 --from 2026-12-15 --reason \"set by mistake\"
  usagectl price list --removed

",
    crate::exit_codes!()
);

/// Examples and exit codes for `usagectl costs --help`.
pub const COSTS_HELP: &str = concat!(
    "\
What each org's AI tokens (ai_tokens_input, ai_tokens_output) of a UTC calendar month cost:
per org and model (the events' metadata->>'model'), tokens times the price in force at each
event's time, per org and in total. Exact decimal arithmetic: no floats; the table shows
cents, JSON and CSV keep every digit. Tokens whose model has no price, or that name no
model, are listed as unpriced, never dropped. --output writes the file atomically in the -o
format (CSV when -o is not given, as export) with a manifest beside it (FILE.manifest.json:
month, format, rows, total, unpriced tokens, SHA-256).

Examples:
  usagectl costs                               # this month, every org
  usagectl costs --month 2026-11 --org acme -o json
  usagectl costs --month 2026-11 -o csv --output costs-2026-11.csv

",
    crate::exit_codes!()
);

/// Arguments of `usagectl price`.
#[derive(Args, Debug)]
pub struct PriceArgs {
    /// What to do
    #[command(subcommand)]
    pub command: PriceCommand,
}

/// `usagectl price` subcommands.
#[derive(Subcommand, Debug)]
pub enum PriceCommand {
    /// Set a model's price from an instant on
    Set {
        /// The model, as the web app writes it in the events' metadata
        model: String,
        /// USD per million input tokens
        #[arg(long, value_name = "USD", value_parser = parse_usd, allow_negative_numbers = true)]
        input_per_mtok: Decimal,
        /// USD per million output tokens
        #[arg(long, value_name = "USD", value_parser = parse_usd, allow_negative_numbers = true)]
        output_per_mtok: Decimal,
        /// In force from this day (00:00 UTC) or RFC 3339 instant
        #[arg(long, value_name = "YYYY-MM-DD|RFC3339", value_parser = parse_from)]
        from: Option<DateTime<Utc>>,
    },
    /// Take a price set by mistake out of force (it is kept, with who removed it and why)
    Remove {
        /// The model whose price to remove, as `price list` shows it
        model: String,
        /// Which of its prices: the day or instant it is in force from (needed when the
        /// model has more than one)
        #[arg(long, value_name = "YYYY-MM-DD|RFC3339", value_parser = parse_from)]
        from: Option<DateTime<Utc>>,
        /// Why (one line; finance reads it later)
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// List every price
    List {
        /// Also list the prices removed, with who removed them and why
        #[arg(long)]
        removed: bool,
    },
}

fn parse_from(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    crate::period::parse_instant(s)
}

/// `price list` / `price set`.
#[derive(Debug, Serialize)]
pub struct Prices {
    /// What changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// Every price.
    pub prices: Vec<Price>,
    /// The removed prices (`price list --removed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<Vec<RemovedPrice>>,
}

impl Render for Prices {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "model",
            "valid_from",
            "valid_to",
            "input_per_mtok",
            "output_per_mtok",
            "set_at",
            "set_by",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.prices
            .iter()
            .map(|p| {
                vec![
                    Cell::text(&p.model),
                    Cell::text(from_text(&p.valid_from)),
                    p.valid_to.map_or(Cell::Empty, Cell::Time),
                    Cell::text(&p.input_per_mtok),
                    Cell::text(&p.output_per_mtok),
                    Cell::Time(p.set_at),
                    Cell::text(&p.set_by),
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
        let prices = if self.prices.is_empty() {
            "no prices (usagectl price set MODEL --input-per-mtok USD --output-per-mtok USD)\n"
                .to_string()
        } else {
            self.price_table(style)
        };
        let removed = match &self.removed {
            Some(removed) if !removed.is_empty() => {
                format!("removed:\n{}\n", removed_table(removed, style))
            }
            Some(_) => "no removed prices\n".to_string(),
            None => String::new(),
        };
        format!("{head}{prices}{removed}")
    }
}

impl Prices {
    fn price_table(&self, style: &Style) -> String {
        let mut t = style.table(&[
            "model",
            "from",
            "until",
            "input $/Mtok",
            "output $/Mtok",
            "set",
        ]);
        for p in &self.prices {
            t.add_row(vec![
                style.cell(&p.model, None),
                style.cell(from_text(&p.valid_from), None),
                style.cell(p.valid_to.map(|t| fmt_utc(&t)).unwrap_or_default(), None),
                style.cell(trim(&p.input_per_mtok), None),
                style.cell(trim(&p.output_per_mtok), None),
                style.cell(format!("{} by {}", fmt_utc(&p.set_at), p.set_by), None),
            ]);
        }
        format!("{t}\n")
    }
}

/// The removed prices, with who removed each, when and why.
fn removed_table(removed: &[RemovedPrice], style: &Style) -> crate::output::Table {
    let mut r = style.table(&[
        "model",
        "from",
        "input $/Mtok",
        "output $/Mtok",
        "removed",
        "reason",
    ]);
    for p in removed {
        let os = p
            .removed_by_os
            .as_deref()
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        r.add_row(vec![
            style.cell(&p.model, None),
            style.cell(from_text(&p.valid_from), None),
            style.cell(trim(&p.input_per_mtok), None),
            style.cell(trim(&p.output_per_mtok), None),
            style.cell(
                format!("{} by {}{os}", fmt_utc(&p.removed_at), p.removed_by),
                None,
            ),
            style.cell(&p.reason, None),
        ]);
    }
    r
}

/// Run `usagectl price ...`.
pub fn run_price(client: &mut Client, args: &PriceArgs, out: &mut Output) -> Result<()> {
    let change = match &args.command {
        PriceCommand::Set {
            model,
            input_per_mtok,
            output_per_mtok,
            from,
        } => {
            if model.trim().is_empty() || model.len() > 200 {
                return Err(usage("the model name takes 1 to 200 characters"));
            }
            let mut tx = crate::db::begin(client)?;
            let has = queries::prices(&mut tx)?.iter().any(|p| &p.model == model);
            let from = match (from, has) {
                (Some(f), _) => *f,
                (None, false) => always(),
                (None, true) => {
                    return Err(usage(format!(
                        "{model} has prices already: say from when this one holds with --from"
                    )));
                }
            };
            queries::set_price(
                &mut tx,
                model,
                from,
                &input_per_mtok.to_string(),
                &output_per_mtok.to_string(),
            )?;
            tx.commit().context("committing the price")?;
            Some(format!(
                "{model}: ${} per million input tokens, ${} per million output tokens, from {}",
                input_per_mtok.normalize(),
                output_per_mtok.normalize(),
                from_text(&from)
            ))
        }
        PriceCommand::Remove {
            model,
            from,
            reason,
        } => {
            crate::period::validate_reason(reason)?;
            let mut tx = crate::db::begin(client)?;
            let froms: Vec<DateTime<Utc>> = queries::prices(&mut tx)?
                .into_iter()
                .filter(|p| &p.model == model)
                .map(|p| p.valid_from)
                .collect();
            let from = crate::prices::price_to_remove(model, &froms, *from).map_err(usage)?;
            let os = crate::db::conninfo::os_user_name();
            let removed = queries::remove_price(&mut tx, model, from, reason, os.as_deref())?
                .context("the price vanished while it was removed")?;
            tx.commit().context("committing the removal")?;
            let which = if removed.valid_from <= always() {
                "its price for all time".to_string()
            } else {
                format!("the price from {}", fmt_utc(&removed.valid_from))
            };
            Some(format!(
                "{model}: {which} (${} / ${} per million input / output tokens) is removed; \
                 costs of that time use the price in force before it, if any",
                trim(&removed.input_per_mtok),
                trim(&removed.output_per_mtok),
            ))
        }
        PriceCommand::List { .. } => None,
    };
    let mut tx = queries::read_snapshot(client)?;
    let prices = queries::prices(&mut tx)?;
    let removed = match &args.command {
        PriceCommand::List { removed: true } => Some(queries::removed_prices(&mut tx)?),
        _ => None,
    };
    tx.commit()?;
    out.render(&Prices {
        change,
        prices,
        removed,
    })
}

/// Arguments of `usagectl costs`.
#[derive(Args, Debug)]
pub struct CostsArgs {
    /// The UTC calendar month (default the current one)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
    pub month: Option<Month>,
    /// Only this org
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// Write to this file in the -o format (default csv), with a manifest beside it
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With --output: replace an existing file
    #[arg(long, requires = "output")]
    pub force: bool,
}

/// The manifest beside `costs --output FILE`.
#[derive(Debug, Serialize)]
struct Manifest {
    file: String,
    kind: &'static str,
    format: &'static str,
    month: String,
    org: Option<String>,
    #[serde(serialize_with = "crate::time::ser")]
    snapshot_time: DateTime<Utc>,
    row_count: usize,
    total_usd: String,
    unpriced_tokens: i64,
    sha256: String,
}

/// Run `usagectl costs`.
pub fn run_costs(client: &mut Client, args: &CostsArgs, out: &mut Output) -> Result<u8> {
    if let Some(o) = &args.org {
        crate::events::validate_org(o)?;
    }
    let mut tx = queries::read_snapshot(client)?;
    // one org scoped for the role: the rows read are that org's already
    every_org::scope(
        &mut tx,
        args.org.as_deref(),
        Some("usagectl costs --org ORG"),
    )?;
    let now = queries::server_now(&mut tx)?;
    let month = args.month.unwrap_or_else(|| Month::containing(now));
    let rows = queries::costs(&mut tx, args.org.as_deref(), month.start, month.end)?;
    if let Some(org) = &args.org
        && let Some(note) = crate::app::orgs::unknown_org(&mut tx, org)?
    {
        crate::printer::notice(&note);
    }
    tx.commit()?;
    let report = report(&month, rows)?;
    let Some(path) = &args.output else {
        out.render(&report)?;
        return Ok(error::EXIT_OK);
    };
    // the -o format, as export writes it (CSV unless -o is given: see `run`)
    let format = out.format();
    let mut file = crate::sink::AtomicFile::create(path, args.force)?;
    let written = Output::new(format, Style::plain(), file.writer()).render(&report);
    if let Err(e) = written {
        return Err(file.discard(e));
    }
    let sha = file.commit()?;
    let manifest = Manifest {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        kind: "costs",
        format: format.name(),
        month: report.month.clone(),
        org: args.org.clone(),
        snapshot_time: now,
        row_count: report.lines.len(),
        total_usd: report.total_usd.clone(),
        unpriced_tokens: report.unpriced_tokens,
        sha256: sha,
    };
    let mpath = crate::sink::manifest_path(path);
    let mut m = crate::sink::AtomicFile::create(&mpath, true)?;
    serde_json::to_writer_pretty(&mut *m.writer(), &manifest).context("writing the manifest")?;
    m.commit()?;
    crate::printer::note(&format!(
        "usagectl: wrote {} ({} rows, {} in total) and {}",
        path.display(),
        report.lines.len(),
        cents(&report.total_usd),
        mpath.display()
    ));
    Ok(error::EXIT_OK)
}
