//! The event types the seed defines, and validation of what a user asks to record.
use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::error::usage;
use crate::time::fmt_utc;

/// How far in the future an event's time may be (clock skew between machines).
pub const MAX_FUTURE: Duration = Duration::minutes(5);

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

/// The known type closest to `input`, if it is plausibly a typo.
pub fn did_you_mean(input: &str) -> Option<&'static str> {
    let lower = input.to_lowercase().replace('-', "_");
    EVENT_TYPES
        .iter()
        .map(|t| (distance(&lower, t), *t))
        .filter(|(d, t)| *d <= 3.max(t.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, t)| t)
}

/// The rules for an event type: one of the 11, or anything clean with `custom`.
pub fn check_event_type(input: &str, custom: bool) -> Result<(), String> {
    if input.is_empty() || input.trim() != input || input.chars().any(char::is_control) {
        return Err(format!(
            "invalid event type {input:?}: it must be non-empty, without surrounding spaces or control characters"
        ));
    }
    if custom || EVENT_TYPES.contains(&input) {
        return Ok(());
    }
    let hint = match did_you_mean(input) {
        Some(t) => format!(" (did you mean '{t}'?)"),
        None => String::new(),
    };
    Err(format!(
        "unknown event type '{input}'{hint}; valid types: {}; pass --custom-event to record a new type on purpose",
        EVENT_TYPES.join(", ")
    ))
}

/// Check an event type given on the command line (misuse, exit 2).
pub fn validate_event_type(input: &str, custom: bool) -> Result<()> {
    check_event_type(input, custom).map_err(usage)
}

/// The rule for an org id: any text is data, but it must be non-empty.
pub fn check_org(org: &str) -> Result<(), String> {
    if org.is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(())
}

/// Check an org id given on the command line (misuse, exit 2).
pub fn validate_org(org: &str) -> Result<()> {
    check_org(org).map_err(|p| usage(format!("--org {p}")))
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
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    check_quantity(q, adjust)
}

/// Parse metadata: a JSON object.
pub fn parse_metadata(s: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(s) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("must be a JSON object, like '{\"model\":\"x\"}'".to_string()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

/// Parse an event time: RFC 3339 with an offset, at most [`MAX_FUTURE`] ahead.
pub fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s.trim())
        .map_err(|e| {
            format!("not an RFC 3339 time with an offset (like 2025-12-01T09:30:00Z): {e}")
        })?
        .with_timezone(&Utc);
    if t > Utc::now() + MAX_FUTURE {
        return Err(format!(
            "{} is more than 5 minutes in the future",
            fmt_utc(&t)
        ));
    }
    Ok(t)
}

/// The rule for an idempotency key: absent, or non-empty.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn typos_get_a_suggestion() {
        assert_eq!(did_you_mean("chat_mesage"), Some("chat_message"));
        assert_eq!(did_you_mean("CSV-Upload"), Some("csv_upload"));
        assert_eq!(did_you_mean("ai_tokens_in"), Some("ai_tokens_input"));
        assert_eq!(did_you_mean("completely_unrelated_thing"), None);
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
