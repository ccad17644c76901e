//! Times as the API shows them: RFC 3339 in UTC with a `Z`, microseconds kept when
//! present and no trailing zeros otherwise (`2025-11-04T10:00:00Z`).
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// The earliest instant a "since" reaches back to (1900-01-01T00:00:00Z): before every
/// event, and inside PostgreSQL's range.
pub const EARLIEST: DateTime<Utc> = DateTime::from_timestamp_nanos(-2_208_988_800_000_000_000);

/// Parse a duration back from now: `90s`, `30m`, `2h`, `7d`.
pub fn parse_ago(s: &str) -> Result<std::time::Duration, String> {
    let bad = || {
        format!(
            "{} is not a duration like 90s, 30m, 2h or 7d",
            crate::error::echo(s)
        )
    };
    let at = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(at);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(secs)))
}

/// `d` before `now`, never before [`EARLIEST`] (`--since 999999999d` means "all").
pub fn before(now: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .map_or(EARLIEST, |t| t.max(EARLIEST))
}

/// Format an instant as RFC 3339 UTC.
pub fn fmt_utc(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// serde helper: `#[serde(serialize_with = "crate::time::ser")]`.
pub fn ser<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_utc(t))
}

/// serde helper for optional instants.
pub fn ser_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&fmt_utc(t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_back_from_now() {
        use std::time::Duration;
        assert_eq!(parse_ago("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ago("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_ago("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_ago("7").is_err() && parse_ago("d").is_err() && parse_ago("1w").is_err());
        let now: DateTime<Utc> = "2026-12-02T00:00:00Z".parse().unwrap();
        assert_eq!(
            fmt_utc(&before(now, Duration::from_secs(86_400))),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(before(now, Duration::from_secs(u64::MAX)), EARLIEST);
        assert_eq!(fmt_utc(&EARLIEST), "1900-01-01T00:00:00Z");
    }

    #[test]
    fn whole_seconds_and_microseconds() {
        let t: DateTime<Utc> = "2025-11-04T10:00:00Z".parse().unwrap();
        assert_eq!(fmt_utc(&t), "2025-11-04T10:00:00Z");
        let t: DateTime<Utc> = "2025-11-04T10:00:00.000001+00:00".parse().unwrap();
        assert_eq!(fmt_utc(&t), "2025-11-04T10:00:00.000001Z");
        let t: DateTime<Utc> = "2025-11-04T12:00:00.5+02:00".parse().unwrap();
        assert_eq!(fmt_utc(&t), "2025-11-04T10:00:00.500Z");
    }
}
