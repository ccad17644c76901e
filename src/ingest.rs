//! Reading events to record from a CSV or JSON Lines file: one validated row at a time,
//! with the line number a text editor shows, so memory stays flat whatever the size.
//!
//! Every field goes through the same rule functions as a single `record`
//! ([`crate::events`]), in the dry run and the real run alike.
mod lines;

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;
use serde_json::Value;

use crate::db::queries::NewEvent;
use crate::error::echo;
use crate::events;
use lines::{LineBreaks, LineTracker};

/// Input file formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// CSV with a header row
    Csv,
    /// JSON Lines: one JSON object per line
    Jsonl,
}

/// The columns (CSV) or keys (JSON Lines) a row may have.
pub const COLUMNS: [&str; 6] = [
    "org_id",
    "event_type",
    "quantity",
    "metadata",
    "created_at",
    "idempotency_key",
];

/// One problem with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line where the row starts (1-based, as an editor counts).
    pub line: u64,
    /// Which column or key.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl RowError {
    fn new(line: u64, field: &str, problem: impl Into<String>) -> RowError {
        RowError {
            line,
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}

/// A row with one problem.
fn bad_row(line: u64, field: &str, problem: impl Into<String>) -> Row {
    (line, Err(vec![RowError::new(line, field, problem)]))
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.line, self.field, self.problem)
    }
}

/// A row: its line and either the event or what is wrong with it.
pub type Row = (u64, Result<NewEvent, Vec<RowError>>);

/// The format of `path`: `--input-format`, else its extension.
pub fn detect_format(path: &Path, given: Option<InputFormat>) -> Result<InputFormat, String> {
    if let Some(f) = given {
        return Ok(f);
    }
    if path == Path::new("-") {
        return Err("reading stdin: say which format with --input-format csv|jsonl".to_string());
    }
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(InputFormat::Csv),
        Some("jsonl" | "ndjson") => Ok(InputFormat::Jsonl),
        _ => Err(format!(
            "cannot tell the format of {} from its extension: use --input-format csv|jsonl",
            path.display()
        )),
    }
}

/// A field as read: CSV text, or a JSON value (a JSON Lines key; `null` is as absent).
#[derive(Debug, Clone)]
enum FieldValue {
    Csv(String),
    Json(Value),
}

/// The JSON type of a value, for "is a string where a number belongs".
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The JSON Lines rule for a key whose value must be of one type: `value` is `want`.
fn wrong_type(v: &Value, want: &str) -> String {
    format!(
        "{} is {}: in JSON Lines it must be {want}",
        echo(&v.to_string()),
        json_type(v)
    )
}

/// A text field: CSV text, or a JSON string; `None` when absent, empty or null.
fn text_field(field: Option<&FieldValue>) -> Result<Option<String>, String> {
    match field {
        None | Some(FieldValue::Json(Value::Null)) => Ok(None),
        Some(FieldValue::Csv(s) | FieldValue::Json(Value::String(s))) => {
            Ok((!s.is_empty()).then(|| s.clone()))
        }
        Some(FieldValue::Json(v)) => Err(wrong_type(v, "a string")),
    }
}

/// Validate the raw fields of one row into an event. A CSV cell is text, parsed as the
/// column says; a JSON Lines key has the JSON type documented for it: org_id, event_type,
/// created_at and idempotency_key strings, quantity a number, metadata an object (any of
/// them may be null, as if absent).
fn build(
    line: u64,
    fields: &BTreeMap<&str, FieldValue>,
    custom: bool,
) -> Result<NewEvent, Vec<RowError>> {
    let mut errors: Vec<RowError> = Vec::new();
    // one problem per field: the first found (a padded value is not checked further)
    let mut check = |field: &str, r: Result<(), String>| {
        if let Err(p) = r
            && !errors.iter().any(|e| e.field == field)
        {
            errors.push(RowError::new(line, field, p));
        }
    };
    for (field, value) in fields {
        if let FieldValue::Csv(s) | FieldValue::Json(Value::String(s)) = value {
            check(field, events::check_unpadded(s));
        }
    }
    // a text key of the wrong JSON type is reported as such, not as empty
    let text = |field: &str, check: &mut dyn FnMut(&str, Result<(), String>)| {
        text_field(fields.get(field)).map_err(|p| check(field, Err(p)))
    };
    let org_id = text("org_id", &mut check).map(Option::unwrap_or_default);
    let event_type = text("event_type", &mut check).map(Option::unwrap_or_default);
    let created_at = text("created_at", &mut check);
    let idempotency_key = text("idempotency_key", &mut check);
    if let Ok(org_id) = &org_id {
        check("org_id", events::check_org(org_id));
    }
    if let Ok(event_type) = &event_type {
        check("event_type", events::check_event_type(event_type, custom));
    }
    let quantity = match fields.get("quantity") {
        None | Some(FieldValue::Json(Value::Null)) => Ok(1),
        Some(FieldValue::Csv(s)) if s.is_empty() => Ok(1),
        Some(FieldValue::Csv(s)) => events::parse_quantity(s, false),
        Some(FieldValue::Json(Value::Number(n))) => match n.as_i64() {
            Some(q) => events::check_quantity(q, false),
            None => Err(format!("{n} is not a whole number")),
        },
        Some(FieldValue::Json(v)) => Err(wrong_type(v, "a whole number")),
    };
    let quantity = quantity.unwrap_or_else(|p| {
        check("quantity", Err(p));
        1
    });
    let metadata = match fields.get("metadata") {
        None | Some(FieldValue::Json(Value::Null)) => Ok(None),
        Some(FieldValue::Csv(s)) if s.is_empty() => Ok(None),
        Some(FieldValue::Csv(s)) => events::parse_metadata(s).map(Some),
        Some(FieldValue::Json(v @ Value::Object(_))) => events::check_metadata(v.clone()).map(Some),
        Some(FieldValue::Json(v)) => Err(wrong_type(v, "an object")),
    };
    let metadata = metadata.unwrap_or_else(|p| {
        check("metadata", Err(p));
        None
    });
    let created_at = match created_at {
        Ok(Some(s)) => events::parse_at(&s)
            .map_err(|p| check("created_at", Err(p)))
            .ok(),
        _ => None,
    };
    let idempotency_key = match idempotency_key {
        Ok(Some(k)) => {
            let r = events::check_key(&k);
            let ok = r.is_ok();
            check("idempotency_key", r);
            ok.then_some(k)
        }
        _ => None,
    };
    if !errors.is_empty() {
        // in the order of the columns, whatever order they were checked in
        errors.sort_by_key(|e| COLUMNS.iter().position(|c| *c == e.field));
        return Err(errors);
    }
    Ok(NewEvent {
        org_id: org_id.unwrap_or_default(),
        event_type: event_type.unwrap_or_default(),
        quantity,
        metadata,
        created_at,
        idempotency_key,
    })
}

/// A stream of validated rows from a reader.
pub struct RowReader {
    kind: Kind,
    custom: bool,
}

enum Kind {
    Csv {
        reader: csv::Reader<LineTracker<Box<dyn Read>>>,
        columns: Vec<Option<&'static str>>,
        record: csv::StringRecord,
    },
    Jsonl {
        reader: BufReader<Box<dyn Read>>,
        breaks: LineBreaks,
        line: u64,
        buf: Vec<u8>,
    },
}

/// The column each header cell names (`None`: unknown), or every problem with the header.
fn csv_columns(header: &csv::StringRecord) -> Result<Vec<Option<&'static str>>, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    for name in header.iter() {
        let name = name.trim().trim_start_matches('\u{feff}');
        let column = COLUMNS.iter().copied().find(|c| *c == name);
        match column {
            Some(c) if columns.contains(&Some(c)) => errors.push(RowError::new(
                1,
                "header",
                format!("column {} appears twice", echo(name)),
            )),
            Some(_) => {}
            None => errors.push(RowError::new(
                1,
                "header",
                format!(
                    "unknown column {} (known: {})",
                    echo(name),
                    COLUMNS.join(", ")
                ),
            )),
        }
        columns.push(column);
    }
    for required in ["org_id", "event_type"] {
        if !columns.contains(&Some(required)) {
            errors.push(RowError::new(
                1,
                "header",
                format!("missing the required column '{required}'"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

impl RowReader {
    /// Start reading `input` as `format`. A CSV header with an unknown or missing column is
    /// reported as row errors on line 1.
    pub fn new(
        input: Box<dyn Read>,
        format: InputFormat,
        custom: bool,
    ) -> Result<Result<RowReader, Vec<RowError>>> {
        let kind = match format {
            InputFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(true)
                    .buffer_capacity(256 * 1024)
                    .from_reader(LineTracker::new(input));
                let header = reader.headers().context("reading the CSV header")?;
                let columns = match csv_columns(header) {
                    Ok(c) => c,
                    Err(errors) => return Ok(Err(errors)),
                };
                Kind::Csv {
                    reader,
                    columns,
                    record: csv::StringRecord::new(),
                }
            }
            InputFormat::Jsonl => Kind::Jsonl {
                reader: BufReader::with_capacity(256 * 1024, input),
                breaks: LineBreaks::default(),
                line: 0,
                buf: Vec::new(),
            },
        };
        Ok(Ok(RowReader { kind, custom }))
    }

    /// The next row, `None` at the end; `Err` for input that cannot be read at all.
    pub fn next_row(&mut self) -> Result<Option<Row>> {
        match &mut self.kind {
            Kind::Csv {
                reader,
                columns,
                record,
            } => {
                // the parser's own line count misses lone CRs and puts a CRLF row one line early
                let more = match reader.read_record(record) {
                    Ok(more) => more,
                    Err(e) => {
                        let start = e.position().map_or(0, csv::Position::byte);
                        let line = reader.get_mut().line_at(start);
                        if let csv::ErrorKind::Utf8 { .. } = e.kind() {
                            return Ok(Some(bad_row(line, "row", "is not valid UTF-8")));
                        }
                        return Err(e).context("reading the CSV input");
                    }
                };
                if !more {
                    return Ok(None);
                }
                let start = record.position().map_or(0, csv::Position::byte);
                let line = reader.get_mut().line_at(start);
                if record.len() != columns.len() {
                    let problem = format!(
                        "has {} fields where the header has {}",
                        record.len(),
                        columns.len()
                    );
                    return Ok(Some(bad_row(line, "row", problem)));
                }
                let fields: BTreeMap<&str, FieldValue> = columns
                    .iter()
                    .zip(record.iter())
                    .filter_map(|(c, v)| c.map(|c| (c, FieldValue::Csv(v.to_string()))))
                    .collect();
                Ok(Some((line, build(line, &fields, self.custom))))
            }
            Kind::Jsonl {
                reader,
                breaks,
                line,
                buf,
            } => loop {
                if !lines::read_line(reader, breaks, buf).context("reading the JSON Lines input")? {
                    return Ok(None);
                }
                *line += 1;
                let Ok(text) = std::str::from_utf8(buf) else {
                    return Ok(Some(bad_row(*line, "row", "is not valid UTF-8")));
                };
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                let obj = match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(o)) => o,
                    Ok(_) => return Ok(Some(bad_row(*line, "row", "is not a JSON object"))),
                    Err(e) => {
                        return Ok(Some(bad_row(
                            *line,
                            "row",
                            format!("is not valid JSON: {e}"),
                        )));
                    }
                };
                let mut fields = BTreeMap::new();
                for (k, v) in obj {
                    let Some(col) = COLUMNS.iter().find(|c| **c == k) else {
                        let problem =
                            format!("unknown key {} (known: {})", echo(&k), COLUMNS.join(", "));
                        return Ok(Some(bad_row(*line, "row", problem)));
                    };
                    fields.insert(*col, FieldValue::Json(v));
                }
                return Ok(Some((*line, build(*line, &fields, self.custom))));
            },
        }
    }
}

/// Open a file, or stdin for `-`.
pub fn open(path: &Path) -> Result<Box<dyn Read>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin()));
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &str, format: InputFormat) -> Vec<Row> {
        let mut r = RowReader::new(
            Box::new(std::io::Cursor::new(input.to_string())),
            format,
            false,
        )
        .unwrap()
        .unwrap();
        let mut out = Vec::new();
        while let Some(row) = r.next_row().unwrap() {
            out.push(row);
        }
        out
    }

    #[test]
    fn csv_rows_in_any_column_order_with_editor_line_numbers() {
        let input = "quantity,event_type,org_id,metadata\n\
                     5,chat_message,acme,\n\
                     ,csv_upload,acme,\"{\"\"note\"\": \"\"a, \\\"\" quote\"\",\n\"\"b\"\": 2}\"\n\
                     0,chat_mesage,,[1]\n";
        let r = rows(input, InputFormat::Csv);
        assert_eq!(r.len(), 3);
        let first = r[0].1.as_ref().unwrap();
        assert_eq!(
            (r[0].0, first.quantity, first.org_id.as_str()),
            (2, 5, "acme")
        );
        let second = r[1].1.as_ref().unwrap();
        assert_eq!(second.quantity, 1);
        assert_eq!(second.metadata.as_ref().unwrap()["note"], "a, \" quote");
        assert_eq!(
            r[2].0, 5,
            "the third row starts on line 5: the second spans two lines"
        );
        let errs: Vec<String> = r[2]
            .1
            .as_ref()
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs[0].starts_with("5: org_id: must not be empty"));
        assert!(errs[1].starts_with(
            "5: event_type: unknown event type 'chat_mesage' (did you mean 'chat_message'?)"
        ));
        assert!(errs[2].starts_with("5: quantity: must not be 0"));
        assert!(errs[3].starts_with("5: metadata: must be a JSON object"));
    }

    #[test]
    fn csv_header_problems_are_line_1() {
        let r = RowReader::new(
            Box::new(std::io::Cursor::new("org,event_type\n")),
            InputFormat::Csv,
            false,
        )
        .unwrap();
        let Err(errs) = r else {
            panic!("the header should be refused")
        };
        assert_eq!(
            errs[0].to_string(),
            "1: header: unknown column 'org' (known: org_id, event_type, quantity, metadata, created_at, idempotency_key)"
        );
        assert_eq!(
            errs[1].to_string(),
            "1: header: missing the required column 'org_id'"
        );
    }

    #[test]
    fn a_repeated_column_bad_rows_and_bad_bytes_are_named() {
        let Err(errs) = RowReader::new(
            Box::new(std::io::Cursor::new("org_id,event_type,org_id\n")),
            InputFormat::Csv,
            false,
        )
        .unwrap() else {
            panic!("the header should be refused")
        };
        assert_eq!(
            errs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["1: header: column 'org_id' appears twice"]
        );
        let mut input = b"org_id,event_type\na,chat_message,3\n".to_vec();
        input.extend_from_slice(b"b\xff,chat_message\n");
        let mut r = RowReader::new(
            Box::new(std::io::Cursor::new(input)),
            InputFormat::Csv,
            false,
        )
        .unwrap()
        .unwrap();
        let mut errs = Vec::new();
        while let Some((_, row)) = r.next_row().unwrap() {
            errs.push(row.unwrap_err()[0].to_string());
        }
        assert_eq!(
            errs,
            [
                "2: row: has 3 fields where the header has 2",
                "3: row: is not valid UTF-8"
            ]
        );
        let r = rows("{\"org_id\": \n", InputFormat::Jsonl);
        assert!(
            r[0].1.as_ref().unwrap_err()[0]
                .to_string()
                .starts_with("1: row: is not valid JSON: "),
            "{:?}",
            r[0]
        );
    }

    #[test]
    fn json_lines() {
        let input = "{\"org_id\":\"a\",\"event_type\":\"ai_tokens_input\",\"quantity\":12,\"metadata\":{\"m\":1},\"idempotency_key\":\"k\"}\n\
                     \n\
                     {\"org_id\":\"a\",\"event_type\":\"chat_message\",\"quantity\":-1}\n\
                     [1]\n\
                     {\"org\":\"a\"}\n";
        let r = rows(input, InputFormat::Jsonl);
        assert_eq!(r.len(), 4);
        let ok = r[0].1.as_ref().unwrap();
        assert_eq!(
            (ok.quantity, ok.idempotency_key.as_deref()),
            (12, Some("k"))
        );
        assert_eq!(r[1].0, 3);
        assert!(
            r[1].1.as_ref().unwrap_err()[0]
                .to_string()
                .starts_with("3: quantity: -1 is negative")
        );
        assert_eq!(
            r[2].1.as_ref().unwrap_err()[0].to_string(),
            "4: row: is not a JSON object"
        );
        assert!(
            r[3].1.as_ref().unwrap_err()[0]
                .to_string()
                .starts_with("5: row: unknown key 'org' (known: org_id,")
        );
    }

    /// Every problem of every row, as `LINE: field: problem`.
    fn problems(input: &[u8], format: InputFormat) -> Vec<String> {
        let mut r = RowReader::new(
            Box::new(std::io::Cursor::new(input.to_vec())),
            format,
            false,
        )
        .unwrap()
        .unwrap();
        let mut out = Vec::new();
        while let Some((line, row)) = r.next_row().unwrap() {
            match row {
                Ok(_) => out.push(format!("{line}: ok")),
                Err(errs) => out.extend(errs.iter().map(ToString::to_string)),
            }
        }
        out
    }

    #[test]
    fn crlf_and_lone_cr_rows_have_the_lines_an_editor_shows() {
        for eol in ["\n", "\r\n", "\r"] {
            let input = [
                "org_id,event_type,metadata",
                "a,chat_message,",
                "",
                "a,chat_message,\"{\"\"n\"\": 1,",
                "\"\"m\"\": 2}\"",
                "a,chat_mesage,",
                "",
                "",
                "a,chat_message,",
                "a,chat_message,[1]",
            ]
            .join(eol);
            assert_eq!(
                problems(input.as_bytes(), InputFormat::Csv),
                [
                    "2: ok",
                    "4: ok",
                    "6: event_type: unknown event type 'chat_mesage' (did you mean 'chat_message'?); valid types: csv_upload, csv_row_processed, analysis_run, analyzer_execution, chat_message, ai_tokens_input, ai_tokens_output, mapping_profile_created, mapping_profile_used, export_pdf, export_csv; pass --custom-event to record a new type on purpose",
                    "9: ok",
                    "10: metadata: must be a JSON object, like '{\"model\":\"x\"}'",
                ],
                "line ending {eol:?}"
            );
            let jsonl = [
                r#"{"org_id":"a","event_type":"chat_message"}"#,
                "",
                r#"{"org_id":"a","event_type":"chat_message","quantity":0}"#,
                r#"{"org_id":"a","event_type":"chat_message"}"#,
            ]
            .join(eol);
            assert_eq!(
                problems(jsonl.as_bytes(), InputFormat::Jsonl),
                ["1: ok", "3: quantity: must not be 0", "4: ok"],
                "line ending {eol:?}"
            );
        }
        let mut bad = b"org_id,event_type\r\na,chat_message\r\n".to_vec();
        bad.extend_from_slice(b"b\xff,chat_message\r\n");
        assert_eq!(
            problems(&bad, InputFormat::Csv),
            ["2: ok", "3: row: is not valid UTF-8"]
        );
        assert_eq!(
            problems(b"{\"org_id\":\"a\xff\"}\r\n", InputFormat::Jsonl),
            ["1: row: is not valid UTF-8"]
        );
    }

    #[test]
    fn rows_get_the_servers_rules_for_nul_and_index_size() {
        let nul = "contains a NUL character (\\u{0}), which PostgreSQL cannot store";
        let csv = "org_id,event_type,idempotency_key,metadata\n\
                   a\u{0}b,chat_message,k,\n\
                   a,chat_message,k\u{0},\n\
                   a,chat_message,k,\"{\"\"m\"\": \"\"\\u0000\"\"}\"\n\
                   a,chat\u{0},k,\n";
        let got = problems(csv.as_bytes(), InputFormat::Csv);
        assert_eq!(got[0], format!("2: org_id: 'a\\u{{0}}b' {nul}"));
        assert_eq!(got[1], format!("3: idempotency_key: 'k\\u{{0}}' {nul}"));
        assert_eq!(
            got[2],
            format!("4: metadata: '\\u{{0}}' {nul} (jsonb refuses \\u0000)")
        );
        assert!(
            got[3].starts_with("5: event_type: invalid event type 'chat\\u{0}'"),
            "{got:?}"
        );
        assert_eq!(got.len(), 4);

        let long = "k".repeat(events::MAX_INDEXED_BYTES + 1);
        let jsonl = format!(
            "{{\"org_id\":\"a\\u0000\",\"event_type\":\"chat_message\"}}\n\
             {{\"org_id\":\"a\",\"event_type\":\"chat_message\",\"metadata\":{{\"x\":[\"\\u0000\"]}}}}\n\
             {{\"org_id\":\"a\",\"event_type\":\"chat_message\",\"idempotency_key\":\"{long}\"}}\n\
             {{\"org_id\":\"{long}\",\"event_type\":\"chat_message\"}}\n\
             {{\"org_id\":\"a\",\"event_type\":\"chat_message\",\"idempotency_key\":\"{}\"}}\n",
            &long[1..]
        );
        let cut = format!(
            "'{}…' (1001 characters) is 1001 bytes long; at most 1000 bytes fit an index entry",
            "k".repeat(100)
        );
        assert_eq!(
            problems(jsonl.as_bytes(), InputFormat::Jsonl),
            [
                format!("1: org_id: 'a\\u{{0}}' {nul}"),
                format!("2: metadata: '\\u{{0}}' {nul} (jsonb refuses \\u0000)"),
                format!("3: idempotency_key: {cut}"),
                format!("4: org_id: {cut}"),
                "5: ok".to_string(),
            ]
        );
    }

    #[test]
    fn echoed_values_in_row_errors_are_escaped_and_cut() {
        let header = format!("org_id,event_type,{}\u{1b}[2J\n", "c".repeat(300));
        let Err(errs) = RowReader::new(
            Box::new(std::io::Cursor::new(header)),
            InputFormat::Csv,
            false,
        )
        .unwrap() else {
            panic!("the header should be refused")
        };
        assert!(
            errs[0].to_string().starts_with(&format!(
                "1: header: unknown column '{}…' (304 characters) (known: ",
                "c".repeat(100)
            )),
            "{}",
            errs[0]
        );
        let jsonl = "{\"org_id\":\"a\",\"event_type\":\"chat_message\",\"quantity\":\"\\u001b\"}\n\
                     {\"org_id\":\"a\",\"event_type\":\"chat_message\",\"quantity\":[\"\\u202e\"]}\n\
                     {\"org_id\":\"a\",\"event_type\":\"chat_message\",\"idempotency_key\":[\"\\u202e\"]}\n\
                     {\"o\\u001b\":1}\n";
        assert_eq!(
            problems(jsonl.as_bytes(), InputFormat::Jsonl),
            [
                "1: quantity: '\"\\u001b\"' is a string: in JSON Lines it must be a whole number",
                "2: quantity: '[\"\\u{202e}\"]' is an array: in JSON Lines it must be a whole number",
                "3: idempotency_key: '[\"\\u{202e}\"]' is an array: in JSON Lines it must be a string",
                "4: row: unknown key 'o\\u{1b}' (known: org_id, event_type, quantity, metadata, created_at, idempotency_key)",
            ]
        );
    }

    #[test]
    fn json_lines_keys_have_their_documented_types() {
        let jsonl = [
            r#"{"org_id":"a","event_type":"chat_message","quantity":"2"}"#,
            r#"{"org_id":"a","event_type":"chat_message","quantity":2.5}"#,
            r#"{"org_id":"a","event_type":"chat_message","quantity":true}"#,
            r#"{"org_id":5,"event_type":["chat_message"]}"#,
            r#"{"org_id":"a","event_type":"chat_message","metadata":"{\"m\":1}"}"#,
            r#"{"org_id":"a","event_type":"chat_message","created_at":1733000000,"idempotency_key":7}"#,
            r#"{"org_id":"a","event_type":"chat_message","quantity":2,"metadata":null,"created_at":null,"idempotency_key":null}"#,
            r#"{"org_id":null,"event_type":"chat_message"}"#,
        ]
        .join("\n");
        assert_eq!(
            problems(jsonl.as_bytes(), InputFormat::Jsonl),
            [
                "1: quantity: '\"2\"' is a string: in JSON Lines it must be a whole number",
                "2: quantity: 2.5 is not a whole number",
                "3: quantity: 'true' is a boolean: in JSON Lines it must be a whole number",
                "4: org_id: '5' is a number: in JSON Lines it must be a string",
                "4: event_type: '[\"chat_message\"]' is an array: in JSON Lines it must be a string",
                "5: metadata: '\"{\\\"m\\\":1}\"' is a string: in JSON Lines it must be an object",
                "6: created_at: '1733000000' is a number: in JSON Lines it must be a string",
                "6: idempotency_key: '7' is a number: in JSON Lines it must be a string",
                "7: ok",
                "8: org_id: must not be empty",
            ]
        );
        // in CSV every cell is text, parsed as its column says
        assert_eq!(
            problems(
                b"org_id,event_type,quantity\na,chat_message,2\na,chat_message,abc\n",
                InputFormat::Csv
            ),
            ["2: ok", "3: quantity: 'abc' is not a whole number"]
        );
    }

    #[test]
    fn formats_from_extension() {
        assert_eq!(
            detect_format(Path::new("a.CSV"), None),
            Ok(InputFormat::Csv)
        );
        assert_eq!(
            detect_format(Path::new("a.ndjson"), None),
            Ok(InputFormat::Jsonl)
        );
        assert!(detect_format(Path::new("-"), None).is_err());
        assert!(detect_format(Path::new("a.txt"), None).is_err());
        assert_eq!(
            detect_format(Path::new("-"), Some(InputFormat::Jsonl)),
            Ok(InputFormat::Jsonl)
        );
    }
}
