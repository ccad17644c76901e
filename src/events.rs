//! The event types the seed defines, and validation of what a user asks to record.
//!
//! Each rule is one function here, and every way in calls it: `record` for one event
//! ([`crate::cmd::record::RecordArgs::to_event`]) and `record --file` for each row
//! ([`crate::ingest`]), so a dry run refuses exactly what the real run would.
use anyhow::Result;
use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::Value;

use crate::error::{echo, usage};
use crate::time::fmt_utc;

/// How far in the future an event's time may be (clock skew between machines).
pub const MAX_FUTURE: Duration = Duration::minutes(5);

/// The most bytes an org id, an event type or an idempotency key may have. A btree index
/// entry holds at most 2,704 bytes (a third of an 8 kB page, less overheads); the widest
/// index on these texts holds two of them, (org_id, idempotency_key) and the rollup's
/// (org_id, day, event_type), so 1,000 bytes each keeps every entry well under the limit,
/// compressed or not.
pub const MAX_INDEXED_BYTES: usize = 1000;

/// The rule for any text PostgreSQL stores (text and jsonb alike): it cannot hold NUL.
pub fn check_no_nul(s: &str) -> Result<(), String> {
    if s.contains('\0') {
        return Err(format!(
            "{} contains a NUL character (\\u{{0}}), which PostgreSQL cannot store",
            echo(s)
        ));
    }
    Ok(())
}

/// The rule for text that is part of an index key (org id, event type, idempotency key):
/// no NUL, and at most [`MAX_INDEXED_BYTES`] bytes.
fn check_indexed(s: &str) -> Result<(), String> {
    check_no_nul(s)?;
    if s.len() > MAX_INDEXED_BYTES {
        return Err(format!(
            "{} is {} bytes long; at most {MAX_INDEXED_BYTES} bytes fit an index entry",
            echo(s),
            s.len()
        ));
    }
    Ok(())
}

/// The seed's 11 event types (`UsageEventType`).
pub const EVENT_TYPES: [&str; 11] = [
    "csv_upload",
    "csv_row_processed",
    "analysis_run",
    "analyzer_execution",
    "chat_message",
    "ai_tokens_input",
    "ai_tokens_output",
    "mapping_profile_created",
    "mapping_profile_used",
    "export_pdf",
    "export_csv",
];

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// How ids are compared for "did you mean": case and `-` versus `_` do not count.
fn fold(s: &str) -> String {
    s.to_lowercase().replace('-', "_")
}

/// The "did you mean" rule, for event types and org ids alike: the candidates within a
/// third of their length (at least one edit) of `input`, ignoring case and `-` versus
/// `_`, closest first (then in byte order), at most `max` of them, never `input` itself.
pub fn similar<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<&'a str> {
    let folded = fold(input);
    let mut close: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != input)
        .map(|c| (distance(&folded, &fold(c)), c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(1))
        .collect();
    close.sort();
    close.dedup();
    close.into_iter().take(max).map(|(_, c)| c).collect()
}

/// The known type closest to `input`, if it is plausibly a typo.
pub fn did_you_mean(input: &str) -> Option<&'static str> {
    similar(input, EVENT_TYPES, 1).first().copied()
}

/// The types in `types` that are not one of the built-in [`EVENT_TYPES`] (custom types, or
/// typos of built-in ones), in the order given.
pub fn custom_types(types: &[String]) -> Vec<&str> {
    types
        .iter()
        .map(String::as_str)
        .filter(|t| !EVENT_TYPES.contains(t))
        .collect()
}

/// The rules for an event type: one of the 11, or anything clean with `custom`.
pub fn check_event_type(input: &str, custom: bool) -> Result<(), String> {
    if input.is_empty() || input.trim() != input || input.chars().any(char::is_control) {
        return Err(format!(
            "invalid event type {}: it must be non-empty, without surrounding spaces or control characters",
            echo(input)
        ));
    }
    check_indexed(input).map_err(|p| format!("event type {p}"))?;
    if custom || EVENT_TYPES.contains(&input) {
        return Ok(());
    }
    let hint = match did_you_mean(input) {
        Some(t) => format!(" (did you mean '{t}'?)"),
        None => String::new(),
    };
    Err(format!(
        "unknown event type {}{hint}; valid types: {}; pass --custom-event to record a new type on purpose",
        echo(input),
        EVENT_TYPES.join(", ")
    ))
}

/// Check an event type given on the command line (misuse, exit 2).
pub fn validate_event_type(input: &str, custom: bool) -> Result<()> {
    check_event_type(input, custom).map_err(usage)
}

/// The rule for an org id: any text is data (shown escaped, stored exactly), but it must be
/// non-empty and fit an index ([`check_indexed`]).
pub fn check_org(org: &str) -> Result<(), String> {
    if org.is_empty() {
        return Err("must not be empty".to_string());
    }
    check_indexed(org)
}

/// Check an org id given on the command line (misuse, exit 2).
pub fn validate_org(org: &str) -> Result<()> {
    check_org(org).map_err(|p| usage(format!("--org {p}")))
}

/// The rule for surrounding whitespace in a field of a file to record: refused, in every
/// field alike. An org id or idempotency key is stored exactly as written, so trimming it
/// would make another org or key than the file says, and keeping the spaces would make an
/// org nobody can find by typing its name; the row's line and field are named instead.
pub fn check_unpadded(value: &str) -> Result<(), String> {
    if value.trim() == value {
        return Ok(());
    }
    Err(format!(
        "{} has whitespace at its start or end: remove it (values are stored exactly as written)",
        echo(value)
    ))
}

/// The rule for a quantity: a whole number that fits PostgreSQL's `integer`, positive
/// unless it is a correction (`adjust`), and never zero.
pub fn check_quantity(q: i64, adjust: bool) -> Result<i32, String> {
    let q32 = i32::try_from(q).map_err(|_| format!("{q} does not fit PostgreSQL's integer"))?;
    match (q32, adjust) {
        (0, _) => Err("must not be 0".to_string()),
        (n, false) if n < 0 => Err(format!(
            "{n} is negative: only a correction (--adjust) may be"
        )),
        (n, _) => Ok(n),
    }
}

/// Parse a quantity from text (see [`check_quantity`]).
pub fn parse_quantity(s: &str, adjust: bool) -> Result<i32, String> {
    let q: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{} is not a whole number", echo(s)))?;
    check_quantity(q, adjust)
}

/// Parse metadata text: a JSON object (see [`check_metadata`]).
pub fn parse_metadata(s: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(s) {
        Ok(v) => check_metadata(v),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

/// The rule for metadata: a JSON object that jsonb can store, so no key or string in it
/// holds NUL (`\u0000`, which jsonb refuses).
pub fn check_metadata(v: Value) -> Result<Value, String> {
    if !v.is_object() {
        return Err("must be a JSON object, like '{\"model\":\"x\"}'".to_string());
    }
    fn nul_free(v: &Value) -> Result<(), String> {
        match v {
            Value::String(s) => check_no_nul(s),
            Value::Array(items) => items.iter().try_for_each(nul_free),
            Value::Object(m) => m.iter().try_for_each(|(k, v)| {
                check_no_nul(k)?;
                nul_free(v)
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }
    nul_free(&v).map_err(|p| format!("{p} (jsonb refuses \\u0000)"))?;
    Ok(v)
}

/// The earliest event time: 1970-01-01T00:00:00Z (the latest is the end of year 9999).
pub const MIN_AT: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// Parse an event time: RFC 3339 with an offset, from 1970-01-01 to 9999-12-31 in UTC, and
/// at most [`MAX_FUTURE`] ahead.
pub fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    let t = crate::time::parse_rfc3339(s)?;
    if t < MIN_AT || t.year() > 9999 {
        return Err(format!(
            "{} is outside 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the event times accepted",
            echo(s)
        ));
    }
    if t > Utc::now() + MAX_FUTURE {
        return Err(format!(
            "{} is more than 5 minutes in the future",
            fmt_utc(&t)
        ));
    }
    Ok(t)
}

/// The rule for an idempotency key: absent, or non-empty and fitting an index
/// ([`check_indexed`]).
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".to_string());
    }
    check_indexed(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_types_are_the_ones_not_built_in_in_the_order_given() {
        let given = ["chat_message", "pdf_page_rendered", "chat_mesage"].map(String::from);
        assert_eq!(custom_types(&given), ["pdf_page_rendered", "chat_mesage"]);
        assert!(custom_types(&[]).is_empty());
    }

    #[test]
    fn a_value_with_whitespace_at_either_end_is_refused_and_inner_spaces_are_data() {
        assert_eq!(check_unpadded("initech"), Ok(()));
        assert_eq!(check_unpadded("Acme Foods"), Ok(()));
        assert_eq!(check_unpadded(""), Ok(()));
        for padded in [" initech", "initech ", "\tinitech", "initech\r", "\u{a0}x"] {
            assert!(check_unpadded(padded).is_err(), "{padded:?}");
        }
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("5", false), Ok(5));
        assert!(parse_quantity("0", false).is_err());
        assert!(
            parse_quantity("-5", false)
                .unwrap_err()
                .contains("--adjust")
        );
        assert_eq!(parse_quantity("-5", true), Ok(-5));
        assert!(parse_quantity("0", true).is_err());
        assert!(
            parse_quantity("2147483648", false)
                .unwrap_err()
                .contains("integer")
        );
        assert!(parse_quantity("1.5", false).is_err());
    }

    #[test]
    fn metadata_must_be_an_object() {
        assert!(parse_metadata("{\"a\":1}").is_ok());
        assert!(parse_metadata("[1]").unwrap_err().contains("JSON object"));
        assert!(parse_metadata("{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn at_refuses_far_future_and_accepts_offsets() {
        let soon = (Utc::now() + Duration::minutes(4)).to_rfc3339();
        assert!(parse_at(&soon).is_ok());
        let later = (Utc::now() + Duration::minutes(6)).to_rfc3339();
        assert!(parse_at(&later).unwrap_err().contains("future"));
        let t = parse_at("2025-12-01T10:30:00+01:00").unwrap();
        assert_eq!(fmt_utc(&t), "2025-12-01T09:30:00Z");
        assert!(parse_at("2025-12-01 09:30").is_err());
    }

    #[test]
    fn nul_is_refused_in_every_text_and_in_metadata_anywhere() {
        let nul = "a\u{0}b";
        let want = "'a\\u{0}b' contains a NUL character (\\u{0}), which PostgreSQL cannot store";
        assert_eq!(check_org(nul), Err(want.to_string()));
        assert_eq!(check_key(nul), Err(want.to_string()));
        assert!(
            check_event_type(nul, true)
                .unwrap_err()
                .contains("control characters")
        );
        for json in [
            r#"{"m":"a\u0000b"}"#,
            r#"{"a\u0000b":1}"#,
            r#"{"m":["x",{"n":"a\u0000b"}]}"#,
        ] {
            assert_eq!(
                parse_metadata(json),
                Err(format!("{want} (jsonb refuses \\u0000)")),
                "{json}"
            );
        }
        assert!(parse_metadata(r#"{"m":["x",{"n":"a\\u0000b", "o": null, "p": 1.5}]}"#).is_ok());
        assert!(check_metadata(serde_json::json!([1])).is_err());
    }

    #[test]
    fn indexed_texts_are_at_most_1000_bytes() {
        let fits = "é".repeat(MAX_INDEXED_BYTES / 2);
        let over = format!("{fits}a");
        assert_eq!(check_org(&fits), Ok(()));
        assert_eq!(check_key(&fits), Ok(()));
        assert_eq!(check_event_type(&fits, true), Ok(()));
        let want = format!(
            "'{}…' (501 characters) is 1001 bytes long; at most 1000 bytes fit an index entry",
            "é".repeat(100)
        );
        assert_eq!(check_org(&over), Err(want.clone()));
        assert_eq!(check_key(&over), Err(want.clone()));
        assert_eq!(
            check_event_type(&over, true),
            Err(format!("event type {want}"))
        );
    }

    #[test]
    fn at_is_between_1970_and_9999() {
        assert_eq!(
            parse_at("1970-01-01T00:00:00Z").map(|t| fmt_utc(&t)),
            Ok("1970-01-01T00:00:00Z".to_string())
        );
        for early in [
            "1969-12-31T23:59:59.999999Z",
            "1970-01-01T00:30:00+01:00",
            "0000-01-01T00:00:00Z",
        ] {
            assert_eq!(
                parse_at(early),
                Err(format!(
                    "'{early}' is outside 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the event times accepted"
                ))
            );
        }
        // the future rule refuses it too, but the range is what is wrong with it
        assert!(
            parse_at("9999-12-31T23:00:00-05:00")
                .unwrap_err()
                .contains("is outside 1970-01-01")
        );
        assert!(
            parse_at("9999-12-31T23:00:00Z")
                .unwrap_err()
                .contains("future")
        );
    }

    #[test]
    fn echoed_values_are_escaped_and_cut() {
        let e = check_event_type(&format!("{}\u{1b}", "x".repeat(200)), true).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "invalid event type '{}…' (201 characters)",
                "x".repeat(100)
            )),
            "{e}"
        );
        let e = check_event_type("chat\u{202e}msg", false).unwrap_err();
        assert!(
            e.starts_with("unknown event type 'chat\\u{202e}msg';"),
            "{e}"
        );
        assert_eq!(
            parse_quantity("1\u{1b}[2J", false),
            Err("'1\\u{1b}[2J' is not a whole number".to_string())
        );
    }

    #[test]
    fn typos_get_a_suggestion() {
        assert_eq!(did_you_mean("chat_mesage"), Some("chat_message"));
        assert_eq!(did_you_mean("CSV-Upload"), Some("csv_upload"));
        assert_eq!(did_you_mean("ai_tokens_in"), Some("ai_tokens_input"));
        assert_eq!(did_you_mean("completely_unrelated_thing"), None);
    }

    #[test]
    fn similar_ids_closest_first() {
        let known = ["globex-trial", "globex", "acme", "acme-foods", "initech"];
        assert_eq!(similar("globx-trial", known, 3), ["globex-trial"]);
        assert_eq!(similar("Acme", known, 3), ["acme"]);
        assert_eq!(similar("acmee", known, 3), ["acme"]);
        assert_eq!(
            similar("acme", known, 3),
            Vec::<&str>::new(),
            "never itself"
        );
        assert_eq!(similar("xyz", known, 3), Vec::<&str>::new());
        assert_eq!(similar("globe", known, 3), ["globex"]);
        assert_eq!(similar("acme_foods", known, 3), ["acme-foods"]);
        let many = ["ab1", "ab2", "ab3", "ab4"];
        assert_eq!(similar("ab", many, 3), ["ab1", "ab2", "ab3"]);
    }

    #[test]
    fn unknown_types_are_usage_errors_with_the_valid_list() {
        let e = validate_event_type("chat_mesage", false).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("did you mean 'chat_message'?"), "{msg}");
        assert!(msg.contains("export_csv"), "{msg}");
        assert!(!msg.contains('\n'));
        assert_eq!(crate::error::exit_code(&e), 2);
        assert!(validate_event_type("chat_message", false).is_ok());
        assert!(validate_event_type("webhook_call", true).is_ok());
        assert!(validate_event_type("", true).is_err());
        assert!(validate_event_type(" x", true).is_err());
    }
}
