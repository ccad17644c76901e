//! The one renderer: every command hands a typed result here and it is printed as a
//! table, JSON or CSV. Colour and terminal decisions are made here and nowhere else, and so
//! is the escaping of control characters in what people read ([`escape_text`]).
use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use clap::ValueEnum;
use comfy_table::{Cell as TableCell, Color, ColumnConstraint, Width, presets};
use serde::Serialize;

use crate::text::push_escaped;
use crate::text::{escape_text, is_unsafe_char};

/// How results are printed.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned table for people
    Table,
    /// JSON document (the HTTP API's bodies)
    Json,
    /// CSV with a header row
    Csv,
    /// JSON Lines: one JSON object per line (export --raw)
    Jsonl,
}

/// Colour decision requested on the command line.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal, NO_COLOR is unset and TERM is not dumb
    Auto,
    /// Always colour tables
    Always,
    /// Never colour
    Never,
}

/// One CSV cell. Text goes through the spreadsheet formula guard ([`formula_guard`]);
/// numbers and instants never do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Free text (org ids, event types, JSON, messages, names).
    Text(String),
    /// A number, written as is.
    Num(i64),
    /// A decimal number's text (exact USD, a percentage), written as is.
    Decimal(String),
    /// An instant, written as RFC 3339 UTC ([`crate::time::fmt_utc`]), as is.
    Time(chrono::DateTime<chrono::Utc>),
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
            Cell::Decimal(d) => d,
            Cell::Time(t) => crate::time::fmt_utc(&t),
            Cell::Empty => String::new(),
        }
    }

    /// The cell as a CSV file gets it: text through [`formula_guard`] when `guard` is on,
    /// everything else as written.
    pub fn into_csv(self, guard: bool) -> String {
        match self {
            Cell::Text(s) if guard => match formula_guard(s.as_bytes()) {
                Some(guarded) => String::from_utf8(guarded).unwrap_or(s),
                None => s,
            },
            c => c.into_plain(),
        }
    }
}

/// The JSON Lines items of a result that is a list: one line per item (for
/// [`Render::jsonl_items`]).
pub fn json_items<T: Serialize>(items: &[T]) -> Vec<serde_json::Value> {
    items
        .iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
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

/// The whole human view as printed: [`escape_text`] over the lines, keeping their line
/// breaks and, when colour is on, the SGR colour sequences (`ESC [ digits;... m`) the
/// renderer itself writes. Table cells were escaped as they were added ([`Table`]), so this
/// catches the user text a view puts in its other lines.
pub(crate) fn escape_human(text: &str, color: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe_char(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let sgr = if color && c == '\x1b' {
            sgr_len(rest)
        } else {
            None
        };
        if let Some(n) = sgr {
            out.push_str(&rest[..n]);
            rest = &rest[n..];
            continue;
        }
        if c == '\n' {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of the SGR sequence `ESC [ [0-9;]* m` at the start of `s`, if there is one.
fn sgr_len(s: &str) -> Option<usize> {
    let params = s.strip_prefix("\x1b[")?;
    let n = params
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (params.as_bytes().get(n) == Some(&b'm')).then_some(2 + n + 1)
}

/// A table of the human view. Every cell and header is escaped ([`escape_text`]) as it is
/// added, so no command can put a raw control character on a terminal by way of a table.
///
/// It is fitted to the style's width when printed ([`fit`]): cells wrap only between words,
/// so a timestamp, a name or a [`Table::keep_whole`] cell is never split, and when the
/// words alone do not fit, whole columns are left out ([`Table::drop_order`]) and named
/// under the table.
pub struct Table {
    inner: comfy_table::Table,
    width: Option<u16>,
    keep_whole: Vec<usize>,
    drop_order: Option<Vec<usize>>,
}

impl Table {
    /// Add a row of cells: text ([`String`], `&str`) or [`Style::cell`]s.
    pub fn add_row<C: Into<TextCell>>(&mut self, cells: impl IntoIterator<Item = C>) -> &mut Self {
        self.inner.add_row(
            cells
                .into_iter()
                .map(|c| c.into().into_cell())
                .collect::<Vec<_>>(),
        );
        self
    }

    /// A column, to set its alignment (its content only comes through [`Table::add_row`],
    /// its width from [`fit`]).
    pub fn column_mut(&mut self, index: usize) -> Option<&mut comfy_table::Column> {
        self.inner.column_mut(index)
    }

    /// Never wrap the cells of column `index`, not even at a space (bars, sparklines).
    pub fn keep_whole(&mut self, index: usize) -> &mut Self {
        self.keep_whole.push(index);
        self
    }

    /// The columns that may be left out when the table cannot fit, the first to go first;
    /// the others are always shown. Without it: every column but the first, from the right.
    pub fn drop_order(&mut self, order: &[usize]) -> &mut Self {
        self.drop_order = Some(order.to_vec());
        self
    }

    fn header_names(&self) -> Vec<String> {
        self.inner
            .header()
            .map(|h| h.cell_iter().map(|c| c.content()).collect())
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(width) = self.width else {
            return self.inner.fmt(f);
        };
        let columns = self.inner.column_iter().count();
        let (mut natural, mut min) = (vec![0; columns], vec![0; columns]);
        for i in 0..columns {
            for cell in self.inner.column_cells_with_header_iter(i).flatten() {
                for line in cell.content().lines() {
                    natural[i] = natural[i].max(text_width(line));
                    min[i] = min[i].max(if self.keep_whole.contains(&i) {
                        text_width(line)
                    } else {
                        line.split_whitespace().map(text_width).max().unwrap_or(0)
                    });
                }
            }
        }
        let order: Vec<usize> = match &self.drop_order {
            Some(o) => o.clone(),
            None => (1..columns).rev().collect(),
        };
        let widths = fit(&natural, &min, &order, usize::from(width));
        let mut t = self.inner.clone();
        for (i, w) in widths.iter().enumerate() {
            if let Some(c) = t.column_mut(i) {
                c.set_constraint(match w {
                    // comfy-table's width counts the padding of one space either side
                    Some(w) => ColumnConstraint::Absolute(Width::Fixed(
                        u16::try_from(w + 2).unwrap_or(u16::MAX),
                    )),
                    None => ColumnConstraint::Hidden,
                });
            }
        }
        t.fmt(f)?;
        let names = self.header_names();
        let left_out: Vec<&str> = widths
            .iter()
            .enumerate()
            .filter(|(_, w)| w.is_none())
            .filter_map(|(i, _)| names.get(i).map(String::as_str))
            .collect();
        if !left_out.is_empty() {
            let note = format!(
                "(not shown at {width} columns: {}; -o json shows every column)",
                left_out.join(", ")
            );
            // the note wraps between words too
            let mut line = String::new();
            for word in note.split(' ') {
                if !line.is_empty() && text_width(&line) + 1 + text_width(word) > usize::from(width)
                {
                    write!(f, "\n{line}")?;
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            write!(f, "\n{line}")?;
        }
        Ok(())
    }
}

/// How many terminal columns `s` takes.
fn text_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// The width tables are fitted to when neither `COLUMNS` nor the terminal says: a pipe, a
/// file, cron mail, or a terminal that reports its size as 0. 100 keeps the usual tables
/// whole (an org, a tier, two RFC 3339 instants and a few figures) while staying readable
/// in an 80–120 column pager or mail.
pub const FALLBACK_WIDTH: u16 = 100;

/// THE width rule for tables: `COLUMNS` when it is a positive number (as `ls` and `git`
/// read it), else the terminal's width when stdout is one and it reports a size above 0,
/// else [`FALLBACK_WIDTH`].
pub fn table_width(columns: Option<&str>, terminal: Option<u16>) -> u16 {
    columns
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&c| c > 0)
        .or(terminal.filter(|&t| t > 0))
        .unwrap_or(FALLBACK_WIDTH)
}

/// THE fitting rule: the content width of each column (without its padding), or `None` for
/// a column left out, so that the table (one space of padding either side of each cell, a
/// border between and around columns) is at most `width` wide. `natural` is each column's
/// widest line, `min` its widest word (what must never be split). A table that fits keeps
/// its natural widths; otherwise columns are left out in `drop_order` until the words fit
/// (never the last one standing), each gets its widest word, and what space is left is
/// shared out evenly, no column taking more than its natural width. A table whose words do
/// not fit even so is wider than `width`: a split token is worse than a wide line.
pub fn fit(
    natural: &[usize],
    min: &[usize],
    drop_order: &[usize],
    width: usize,
) -> Vec<Option<usize>> {
    let frame = |shown: &[bool]| {
        let n = shown.iter().filter(|s| **s).count();
        3 * n + 1
    };
    let total = |ws: &[usize], shown: &[bool]| {
        ws.iter()
            .zip(shown)
            .filter(|(_, s)| **s)
            .map(|(w, _)| *w)
            .sum::<usize>()
            + frame(shown)
    };
    let mut shown = vec![true; natural.len()];
    if total(natural, &shown) <= width {
        return natural.iter().map(|w| Some(*w)).collect();
    }
    for &i in drop_order {
        if total(min, &shown) <= width || shown.iter().filter(|s| **s).count() <= 1 {
            break;
        }
        if let Some(s) = shown.get_mut(i) {
            *s = false;
        }
    }
    let mut widths: Vec<usize> = min.to_vec();
    let mut spare = width.saturating_sub(total(min, &shown));
    loop {
        let wanting: Vec<usize> = (0..widths.len())
            .filter(|&i| shown[i] && widths[i] < natural[i])
            .collect();
        if spare == 0 || wanting.is_empty() {
            break;
        }
        let share = (spare / wanting.len()).max(1);
        for i in wanting {
            let give = share.min(natural[i] - widths[i]).min(spare);
            widths[i] += give;
            spare -= give;
        }
    }
    widths
        .into_iter()
        .zip(shown)
        .map(|(w, s)| s.then_some(w))
        .collect()
}

/// One cell of a [`Table`]: its text and how it is styled (only when colour is on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextCell {
    text: String,
    color: Option<Color>,
    bold: bool,
}

impl TextCell {
    fn into_cell(self) -> TableCell {
        let mut c = TableCell::new(escape_text(&self.text));
        if let Some(col) = self.color {
            c = c.fg(col);
        }
        if self.bold {
            c = c.add_attribute(comfy_table::Attribute::Bold);
        }
        c
    }
}

impl From<String> for TextCell {
    fn from(text: String) -> TextCell {
        TextCell {
            text,
            color: None,
            bold: false,
        }
    }
}

impl From<&str> for TextCell {
    fn from(text: &str) -> TextCell {
        TextCell::from(text.to_string())
    }
}

impl From<&String> for TextCell {
    fn from(text: &String) -> TextCell {
        TextCell::from(text.clone())
    }
}

/// Colour and width decisions for the human view, made once per run.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Whether to use ANSI colours.
    pub color: bool,
    /// Whether stdout is a terminal.
    pub tty: bool,
    /// The width tables are fitted to ([`table_width`]); `None`: their natural width (a
    /// file written with --output, tests).
    pub width: Option<u16>,
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
        // comfy-table reads the terminal's size only when stdout is one
        let terminal = if tty {
            comfy_table::Table::new().width()
        } else {
            None
        };
        let columns = std::env::var("COLUMNS").ok();
        Style {
            color,
            tty,
            width: Some(table_width(columns.as_deref(), terminal)),
        }
    }

    /// A plain style (no colour, no terminal), for tests.
    pub fn plain() -> Style {
        Style {
            color: false,
            tty: false,
            width: None,
        }
    }

    /// This style with tables fitted to `width` columns (`None`: their natural width).
    pub fn with_width(self, width: Option<u16>) -> Style {
        Style { width, ..self }
    }

    /// A new table with the project's look.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut t = comfy_table::Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED);
        // widths are decided by [`fit`] and colour by `self.color`, never by comfy-table's
        // own look at the terminal
        t.force_no_tty();
        if self.color {
            t.enforce_styling();
        }
        t.set_header(header.iter().map(|h| self.header_cell(h).into_cell()));
        Table {
            inner: t,
            width: self.width,
            keep_whole: Vec::new(),
            drop_order: None,
        }
    }

    fn header_cell(&self, text: &str) -> TextCell {
        TextCell {
            text: text.to_string(),
            color: None,
            bold: self.color,
        }
    }

    /// A cell coloured `color` when colour is on.
    pub fn cell(&self, text: impl ToString, color: Option<Color>) -> TextCell {
        TextCell {
            text: text.to_string(),
            color: color.filter(|_| self.color),
            bold: false,
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

/// The first bytes that make a spreadsheet run a cell as a formula (OWASP's list): `=`,
/// `+`, `-`, `@`, tab and carriage return.
pub const FORMULA_TRIGGERS: [u8; 6] = [b'=', b'+', b'-', b'@', b'\t', b'\r'];

/// Whether a text cell starting with `first` gets the formula guard's leading `'`.
pub fn starts_formula(first: u8) -> bool {
    FORMULA_TRIGGERS.contains(&first)
}

/// The spreadsheet formula guard, the one rule for every CSV usagectl writes (rendered
/// results and the raw export's stream alike): a text cell that starts with one of
/// [`FORMULA_TRIGGERS`] gets a leading `'`, and the guarded cell is returned; `None` for a
/// cell that is safe as it is. Only text cells are passed here: numbers and instants never.
pub fn formula_guard(cell: &[u8]) -> Option<Vec<u8>> {
    if !starts_formula(cell.first().copied()?) {
        return None;
    }
    let mut guarded = Vec::with_capacity(cell.len() + 1);
    guarded.push(b'\'');
    guarded.extend_from_slice(cell);
    Some(guarded)
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
                        .map(|c| c.into_csv(self.formula_guard))
                        .collect();
                    w.write_record(&cells).context("writing CSV")?;
                }
                w.flush().context("writing CSV")?;
            }
            Format::Table => {
                let human = result.human(&self.style);
                let text = escape_human(&human, self.style.color);
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

/// `n` and the noun, singular for exactly one: `1 row`, `0 rows`, `2 events`. The one
/// place counts meet words in what usagectl prints.
pub fn count(n: impl Into<i128>, singular: &str, plural: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { singular } else { plural })
}

impl Format {
    /// Its name on the command line (`-o`) and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
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
    fn control_and_bidi_characters_are_escaped_and_their_neighbours_are_not() {
        let escaped = [
            ('\u{0}', "\\u{0}"),
            ('\t', "\\u{9}"),
            ('\n', "\\u{a}"),
            ('\r', "\\u{d}"),
            ('\u{1b}', "\\u{1b}"),
            ('\u{1f}', "\\u{1f}"),
            ('\u{7f}', "\\u{7f}"),
            ('\u{80}', "\\u{80}"),
            ('\u{9b}', "\\u{9b}"),
            ('\u{9f}', "\\u{9f}"),
            ('\u{200e}', "\\u{200e}"),
            ('\u{200f}', "\\u{200f}"),
            ('\u{202a}', "\\u{202a}"),
            ('\u{202e}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2069}', "\\u{2069}"),
        ];
        for (c, want) in escaped {
            assert_eq!(escape_text(&format!("a{c}b")), format!("a{want}b"), "{c:?}");
        }
        for c in [
            ' ', '~', '\\', '\u{a0}', 'é', '\u{200d}', '\u{2010}', '\u{2029}', '\u{202f}',
            '\u{2065}', '\u{206a}', '工',
        ] {
            let s = format!("a{c}b");
            assert!(
                matches!(escape_text(&s), Cow::Borrowed(t) if t == s),
                "{c:?}"
            );
        }
    }

    #[test]
    fn table_cells_and_other_lines_are_escaped_json_and_csv_keep_the_bytes() {
        let rows = Rows(vec![("ev\u{1b}]0;pwned\u{7}il\n\u{202e}x".into(), 1)]);
        let text = render(Format::Table, &rows);
        assert!(
            text.contains("│ ev\\u{1b}]0;pwned\\u{7}il\\u{a}\\u{202e}x ┆ 1 │"),
            "{text}"
        );
        assert!(
            !text.chars().any(|c| c != '\n' && is_unsafe_char(c)),
            "{text}"
        );
        let csv = render(Format::Csv, &rows);
        assert_eq!(csv, "name,n\n\"ev\u{1b}]0;pwned\u{7}il\n\u{202e}x\",1\n");
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, &rows)).unwrap();
        assert_eq!(v[0][0], "ev\u{1b}]0;pwned\u{7}il\n\u{202e}x");

        // a line outside any table: escaped, its line breaks kept
        struct Line(&'static str);
        impl Serialize for Line {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.0)
            }
        }
        impl Render for Line {
            fn csv_header(&self) -> Vec<&'static str> {
                vec![]
            }
            fn csv_rows(&self) -> Vec<Vec<Cell>> {
                vec![]
            }
            fn human(&self, _: &Style) -> String {
                self.0.to_string()
            }
        }
        let mut buf = Vec::new();
        Output::new(Format::Table, Style::plain(), &mut buf)
            .render(&Line("org a\u{1b}[2Jb\u{85}\nnext\n"))
            .unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "org a\\u{1b}[2Jb\\u{85}\nnext\n"
        );
    }

    #[test]
    fn with_colour_the_renderers_sequences_stay_and_the_users_are_escaped() {
        let style = Style {
            color: true,
            tty: false,
            width: None,
        };
        let mut t = style.table(&["org"]);
        t.add_row(vec![style.cell("a\u{1b}[31mb", Some(Color::Red))]);
        let human = format!("{}\n{t}", style.bold("title"));
        let text = escape_human(&human, true);
        assert!(text.starts_with("\u{1b}[1mtitle\u{1b}[0m\n"), "{text:?}");
        assert!(text.contains("a\\u{1b}[31mb"), "{text:?}");
        assert!(
            text.contains("\u{1b}[38;5;9m") || text.contains("\u{1b}[31m"),
            "{text:?}"
        );
        assert_eq!(
            escape_human("\u{1b}[1mx\u{1b}]8;;u\u{7}\u{1b}[m\u{1b}[1", true),
            "\u{1b}[1mx\\u{1b}]8;;u\\u{7}\u{1b}[m\\u{1b}[1"
        );
        assert_eq!(escape_human("\u{1b}[1mx", false), "\\u{1b}[1mx");
    }

    #[test]
    fn sparkline_scales_to_max() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), " ▂▃▅█");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn every_trigger_is_guarded_and_nothing_else() {
        for c in ['=', '+', '-', '@', '\t', '\r'] {
            let cell = format!("{c}x");
            assert_eq!(
                Cell::text(&cell).into_csv(true),
                format!("'{cell}"),
                "{c:?}"
            );
            assert_eq!(Cell::text(&cell).into_csv(false), cell);
        }
        for safe in ["x", "", "'=x", " =x", "1", "é=", "\n="] {
            assert_eq!(Cell::text(safe).into_csv(true), safe, "{safe:?}");
        }
        // numbers and instants are never guarded, whatever they start with
        assert_eq!(Cell::Num(-5).into_csv(true), "-5");
        assert_eq!(Cell::Decimal("-0.25".into()).into_csv(true), "-0.25");
        let far: chrono::DateTime<chrono::Utc> = "+10000-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(Cell::Time(far).into_csv(true), "+10000-01-01T00:00:00Z");
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(1u64, "row", "rows"), "1 row");
        assert_eq!(count(0u64, "row", "rows"), "0 rows");
        assert_eq!(count(2i64, "event", "events"), "2 events");
        assert_eq!(count(-1i64, "event", "events"), "-1 events");
    }

    #[test]
    fn format_names_are_the_command_lines() {
        use clap::ValueEnum;
        for f in Format::value_variants() {
            assert_eq!(f.to_possible_value().unwrap().get_name(), f.name());
        }
    }
}

/// A duration for people, to the largest whole unit: `42 s`, `5 min`, `3 h`, `2 d`.
pub fn human_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod duration_tests {
    #[test]
    fn durations_for_people() {
        use std::time::Duration;
        assert_eq!(super::human_duration(Duration::from_millis(999)), "0 s");
        assert_eq!(super::human_duration(Duration::from_secs(119)), "119 s");
        assert_eq!(super::human_duration(Duration::from_secs(120)), "2 min");
        assert_eq!(super::human_duration(Duration::from_secs(7200)), "2 h");
        assert_eq!(super::human_duration(Duration::from_secs(200_000)), "2 d");
    }
}

#[cfg(test)]
mod fit_tests {
    use super::*;

    /// A table of events as people read them, fitted to `width`.
    fn events(width: Option<u16>) -> String {
        let style = Style::plain().with_width(width);
        let mut t = style.table(&[
            "created_at",
            "org_id",
            "event_type",
            "quantity",
            "note",
            "trend",
        ]);
        t.keep_whole(5);
        t.drop_order(&[5, 4, 3]);
        t.add_row(vec![
            "2026-11-07T02:41:03Z",
            "acme-foods",
            "ai_tokens_input",
            "125000",
            "first import of the November catalogue, retried after a timeout",
            " ▂▃ ▅█",
        ]);
        t.add_row(vec![
            "2026-11-07T02:41:04.123456Z",
            "globex-trial",
            "ai_tokens_output",
            "7",
            "",
            "█ ▁",
        ]);
        t.to_string()
    }

    #[test]
    fn at_80_columns_whole_columns_go_and_no_token_is_split() {
        assert_eq!(
            events(Some(80)),
            "\
┌─────────────────────────────┬──────────────┬──────────────────┬──────────┐
│ created_at                  ┆ org_id       ┆ event_type       ┆ quantity │
╞═════════════════════════════╪══════════════╪══════════════════╪══════════╡
│ 2026-11-07T02:41:03Z        ┆ acme-foods   ┆ ai_tokens_input  ┆ 125000   │
│ 2026-11-07T02:41:04.123456Z ┆ globex-trial ┆ ai_tokens_output ┆ 7        │
└─────────────────────────────┴──────────────┴──────────────────┴──────────┘
(not shown at 80 columns: note, trend; -o json shows every column)"
        );
    }

    #[test]
    fn a_terminal_of_size_0_gets_the_fallback_width_and_text_wraps_between_words() {
        let width = table_width(None, Some(0));
        assert_eq!(width, FALLBACK_WIDTH);
        let text = events(Some(width));
        assert_eq!(
            text,
            "\
┌─────────────────────────────┬──────────────┬──────────────────┬──────────┬──────────────┬────────┐
│ created_at                  ┆ org_id       ┆ event_type       ┆ quantity ┆ note         ┆ trend  │
╞═════════════════════════════╪══════════════╪══════════════════╪══════════╪══════════════╪════════╡
│ 2026-11-07T02:41:03Z        ┆ acme-foods   ┆ ai_tokens_input  ┆ 125000   ┆ first import ┆  ▂▃ ▅█ │
│                             ┆              ┆                  ┆          ┆ of the       ┆        │
│                             ┆              ┆                  ┆          ┆ November     ┆        │
│                             ┆              ┆                  ┆          ┆ catalogue,   ┆        │
│                             ┆              ┆                  ┆          ┆ retried      ┆        │
│                             ┆              ┆                  ┆          ┆ after a      ┆        │
│                             ┆              ┆                  ┆          ┆ timeout      ┆        │
│ 2026-11-07T02:41:04.123456Z ┆ globex-trial ┆ ai_tokens_output ┆ 7        ┆              ┆ █ ▁    │
└─────────────────────────────┴──────────────┴──────────────────┴──────────┴──────────────┴────────┘"
        );
        assert!(text.lines().all(|l| text_width(l) <= 100), "{text}");
    }

    #[test]
    fn a_table_that_fits_and_one_without_a_width_keep_their_natural_widths() {
        let natural = events(None);
        assert!(natural.lines().any(|l| text_width(l) > 100));
        assert_eq!(events(Some(200)), natural);
    }

    #[test]
    fn the_width_is_columns_then_the_terminal_then_100() {
        assert_eq!(table_width(None, None), 100);
        assert_eq!(table_width(None, Some(0)), 100);
        assert_eq!(table_width(None, Some(80)), 80);
        assert_eq!(table_width(Some("120"), Some(80)), 120);
        assert_eq!(table_width(Some("0"), Some(80)), 80);
        assert_eq!(table_width(Some("wide"), None), 100);
    }

    #[test]
    fn fit_drops_in_order_then_shares_the_space() {
        // fits: natural widths
        assert_eq!(fit(&[5, 5], &[5, 5], &[1], 17), vec![Some(5), Some(5)]);
        // one too narrow: column 1 wraps down toward its widest word
        assert_eq!(fit(&[5, 20], &[5, 4], &[1], 20), vec![Some(5), Some(8)]);
        // words do not fit: column 1 goes
        assert_eq!(fit(&[5, 20], &[5, 12], &[1], 20), vec![Some(5), None]);
        // never the last column standing; wider than asked rather than split
        assert_eq!(fit(&[30], &[30], &[0], 10), vec![Some(30)]);
        // the spare space is shared evenly, each up to its natural width
        assert_eq!(
            fit(&[10, 40, 40], &[10, 4, 4], &[], 50),
            vec![Some(10), Some(15), Some(15)]
        );
    }
}
