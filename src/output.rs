//! The one renderer: every command hands a typed result here and it is printed as a
//! table, JSON or CSV. Colour and terminal decisions are made here and nowhere else.
use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use comfy_table::{Cell as TableCell, Color, ContentArrangement, Table, presets};
use serde::Serialize;

pub use crate::cli::{ColorChoice, Format};

/// One CSV cell. Text goes through the spreadsheet formula guard; numbers never do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Free text (org ids, event types, JSON, times).
    Text(String),
    /// A number, written as is.
    Num(i64),
    /// An empty cell.
    Empty,
}

impl Cell {
    /// A text cell from anything printable.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// The cell as written, without the CSV formula guard.
    pub fn into_plain(self) -> String {
        match self {
            Cell::Text(s) => s,
            Cell::Num(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// A result that can be printed in every format.
pub trait Render: Serialize {
    /// Column names of the CSV form.
    fn csv_header(&self) -> Vec<&'static str>;
    /// Flat CSV rows, one per record.
    fn csv_rows(&self) -> Vec<Vec<Cell>>;
    /// The view for people: tables and lines, built with `style`.
    fn human(&self, style: &Style) -> String;
    /// The items of the JSON Lines form: the whole document as one line by default.
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        serde_json::to_value(self).into_iter().collect()
    }
    /// The CSV form as a table for people, for results whose human view is just that.
    fn csv_table(&self, style: &Style) -> Table {
        let mut t = style.table(&self.csv_header());
        for row in self.csv_rows() {
            t.add_row(row.into_iter().map(Cell::into_plain));
        }
        t
    }
}

/// Colour and width decisions for the human view, made once per run.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Whether to use ANSI colours.
    pub color: bool,
    /// Whether stdout is a terminal (tables may use its width).
    pub tty: bool,
}

impl Style {
    /// Decide colour: only for tables, only when asked or when stdout is a terminal,
    /// NO_COLOR is unset and TERM is not `dumb`.
    pub fn detect(choice: ColorChoice, format: Format) -> Style {
        let tty = std::io::stdout().is_terminal();
        let env_allows = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        let color = format == Format::Table
            && match choice {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => tty && env_allows,
            };
        Style { color, tty }
    }

    /// A plain style (no colour, no terminal), for tests.
    pub fn plain() -> Style {
        Style {
            color: false,
            tty: false,
        }
    }

    /// A new table with the project's look.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED);
        if self.tty {
            t.set_content_arrangement(ContentArrangement::Dynamic);
        } else {
            t.force_no_tty();
        }
        if self.color {
            t.enforce_styling();
        }
        t.set_header(header.iter().map(|h| self.header_cell(h)));
        t
    }

    fn header_cell(&self, text: &str) -> TableCell {
        let c = TableCell::new(text);
        if self.color {
            c.add_attribute(comfy_table::Attribute::Bold)
        } else {
            c
        }
    }

    /// A cell coloured `color` when colour is on.
    pub fn cell(&self, text: impl ToString, color: Option<Color>) -> TableCell {
        let c = TableCell::new(text.to_string());
        match (self.color, color) {
            (true, Some(col)) => c.fg(col),
            _ => c,
        }
    }

    /// Text made bold when colour is on.
    pub fn bold(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Neutralise a text cell that a spreadsheet would run as a formula (OWASP: prefix `'`).
pub fn formula_guard(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// Where results go and how they look.
pub struct Output<'a> {
    format: Format,
    style: Style,
    out: &'a mut dyn Write,
    formula_guard: bool,
}

impl<'a> Output<'a> {
    /// An output writing `format` to `out`.
    pub fn new(format: Format, style: Style, out: &'a mut dyn Write) -> Output<'a> {
        Output {
            format,
            style,
            out,
            formula_guard: true,
        }
    }

    /// Turn the CSV formula guard on or off (on by default).
    pub fn with_formula_guard(mut self, on: bool) -> Self {
        self.formula_guard = on;
        self
    }

    /// See [`Output::with_formula_guard`].
    pub fn set_formula_guard(&mut self, on: bool) {
        self.formula_guard = on;
    }

    /// The underlying writer, for output that is not a result (completion scripts,
    /// streamed exports).
    pub fn raw(&mut self) -> &mut dyn Write {
        self.out
    }

    /// The chosen format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Print one result in the chosen format.
    pub fn render<R: Render>(&mut self, result: &R) -> Result<()> {
        match self.format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut *self.out, result).context("writing JSON")?;
                writeln!(self.out).context("writing JSON")?;
            }
            Format::Jsonl => {
                for item in result.jsonl_items() {
                    serde_json::to_writer(&mut *self.out, &item).context("writing JSON Lines")?;
                    writeln!(self.out).context("writing JSON Lines")?;
                }
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(&mut *self.out);
                w.write_record(result.csv_header()).context("writing CSV")?;
                for row in result.csv_rows() {
                    let cells: Vec<String> = row
                        .into_iter()
                        .map(|c| match c {
                            Cell::Text(s) if self.formula_guard => formula_guard(&s).into_owned(),
                            c => c.into_plain(),
                        })
                        .collect();
                    w.write_record(&cells).context("writing CSV")?;
                }
                w.flush().context("writing CSV")?;
            }
            Format::Table => {
                let text = result.human(&self.style);
                self.out
                    .write_all(text.as_bytes())
                    .context("writing output")?;
                if !text.ends_with('\n') {
                    writeln!(self.out).context("writing output")?;
                }
            }
        }
        self.out.flush().context("writing output")?;
        Ok(())
    }
}

/// A note for the person running the command, on stderr (stdout stays the result). Every
/// message usagectl prints besides its result and its error goes through here or [`warn`].
pub fn note(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// A note only for a person watching a terminal: cron mail stays clean.
pub fn note_if_terminal(msg: &str) {
    if std::io::stderr().is_terminal() {
        note(msg);
    }
}

/// A warning for the person running the command, on stderr (never mixed into JSON or CSV
/// on stdout).
pub fn warn(msg: &str) {
    note(&format!("usagectl: warning: {msg}"));
}

/// A sparkline of the values, scaled to the largest.
pub fn sparkline(values: &[i64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if v <= 0 || max <= 0 {
                ' '
            } else {
                let idx = ((v as f64 / max as f64) * 7.0).round() as usize;
                BARS[idx.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Rows(Vec<(String, i64)>);

    impl Render for Rows {
        fn csv_header(&self) -> Vec<&'static str> {
            vec!["name", "n"]
        }
        fn csv_rows(&self) -> Vec<Vec<Cell>> {
            self.0
                .iter()
                .map(|(s, n)| vec![Cell::text(s), Cell::Num(*n)])
                .collect()
        }
        fn human(&self, style: &Style) -> String {
            let mut t = style.table(&["name", "n"]);
            for (s, n) in &self.0 {
                t.add_row(vec![s.clone(), n.to_string()]);
            }
            t.to_string()
        }
    }

    fn render(format: Format, rows: &Rows) -> String {
        let mut buf = Vec::new();
        Output::new(format, Style::plain(), &mut buf)
            .render(rows)
            .unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn csv_guards_text_but_not_numbers() {
        let rows = Rows(vec![
            ("=HYPERLINK(\"x\")".into(), -5),
            ("+1".into(), 3),
            ("@sum".into(), 0),
            ("-x".into(), 1),
            ("\tt".into(), 1),
            ("plain, with comma".into(), 7),
        ]);
        assert_eq!(
            render(Format::Csv, &rows),
            "name,n\n\"'=HYPERLINK(\"\"x\"\")\",-5\n'+1,3\n'@sum,0\n'-x,1\n'\tt,1\n\"plain, with comma\",7\n"
        );
    }

    #[test]
    fn json_is_the_serialized_value() {
        let rows = Rows(vec![("a".into(), 1)]);
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, &rows)).unwrap();
        assert_eq!(v, serde_json::json!([["a", 1]]));
    }

    #[test]
    fn plain_table_has_no_escape_codes() {
        let rows = Rows(vec![("a".into(), 1)]);
        let text = render(Format::Table, &rows);
        assert!(!text.contains('\x1b'));
        assert!(text.contains("│ a    ┆ 1 │"), "{text}");
    }

    #[test]
    fn colour_never_for_json_or_csv() {
        assert!(!Style::detect(ColorChoice::Always, Format::Json).color);
        assert!(!Style::detect(ColorChoice::Always, Format::Csv).color);
        assert!(Style::detect(ColorChoice::Always, Format::Table).color);
        assert!(!Style::detect(ColorChoice::Never, Format::Table).color);
    }

    #[test]
    fn sparkline_scales_to_max() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), " ▂▃▅█");
        assert_eq!(sparkline(&[]), "");
    }
}
