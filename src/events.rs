//! The event types the seed defines, and validation of what a user asks to record.
use anyhow::Result;

use crate::error::usage;

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

/// Check an event type: one of the 11, or anything non-empty with `custom`.
pub fn validate_event_type(input: &str, custom: bool) -> Result<()> {
    if input.is_empty() || input.trim() != input || input.chars().any(char::is_control) {
        return Err(usage(format!(
            "invalid event type {input:?}: it must be non-empty, without surrounding spaces or control characters"
        )));
    }
    if custom || EVENT_TYPES.contains(&input) {
        return Ok(());
    }
    let hint = match did_you_mean(input) {
        Some(t) => format!(" (did you mean '{t}'?)"),
        None => String::new(),
    };
    Err(usage(format!(
        "unknown event type '{input}'{hint}; valid types: {}; pass --custom-event to record a new type on purpose",
        EVENT_TYPES.join(", ")
    )))
}

/// Check an org id: any text is data, but it must be non-empty.
pub fn validate_org(org: &str) -> Result<()> {
    if org.is_empty() {
        return Err(usage("--org must not be empty"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
