//! Times as the API shows them: RFC 3339 in UTC with a `Z`, microseconds kept when
//! present and no trailing zeros otherwise (`2025-11-04T10:00:00Z`).
use chrono::{DateTime, Datelike, SecondsFormat, Utc};
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

/// Parse an RFC 3339 instant with an offset, the one parser of every instant usagectl
/// reads. A well-formed time that names no real date or time says which
/// (`2026-02-30 is not a date: 2026-02 has 28 days`) instead of chrono's "out of range".
pub fn parse_rfc3339(s: &str) -> Result<DateTime<Utc>, String> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Ok(t.with_timezone(&Utc)),
        Err(e) if e.kind() == chrono::format::ParseErrorKind::OutOfRange => {
            Err(impossible_field(s)
                .unwrap_or_else(|| format!("{} names no real date or time", crate::error::echo(s))))
        }
        Err(_) => Err(format!(
            "{} is not an RFC 3339 instant like 2026-11-15T05:00:00Z",
            crate::error::echo(s)
        )),
    }
}

/// Which field of a well-formed `YYYY-MM-DDTHH:MM:SS…` is out of range, in words.
fn impossible_field(s: &str) -> Option<String> {
    let num = |range: std::ops::Range<usize>| s.get(range)?.parse::<u32>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) {
        return Some(format!(
            "{} is not a date: there is no month {month:02}",
            &s[..10]
        ));
    }
    let days = chrono::NaiveDate::from_ymd_opt(year as i32, month, 1)?
        .checked_add_months(chrono::Months::new(1))?
        .pred_opt()?
        .day();
    if day == 0 || day > days {
        return Some(format!(
            "{} is not a date: {year:04}-{month:02} has {days} days",
            &s[..10]
        ));
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return Some(format!(
            "{} is not a time of day: hours run 00-23, minutes and seconds 00-59",
            &s[11..19]
        ));
    }
    None
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

/// Parse `--lock-timeout` / `--statement-timeout`: `5s`, `500ms`, `2m`, or a bare number
/// of seconds; `0` means no bound.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&t[..i], t[i..].trim()),
        None => (t, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (try 5s, 500ms or 2m; 0 for no limit)"))?;
    let factor = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "{s:?} has an unknown unit (use ms, s, m or h; 0 for no limit)"
            ));
        }
    };
    let secs = n * factor;
    if !secs.is_finite() || secs > 86_400.0 * 24.0 {
        return Err(format!("{s:?} is out of range (at most 24 days)"));
    }
    Ok(std::time::Duration::from_millis(
        (secs * 1000.0).round() as u64
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
    }

    use super::*;

    #[test]
    fn an_impossible_date_or_time_is_named_and_a_malformed_one_shown_with_an_example() {
        let err = |s| parse_rfc3339(s).unwrap_err();
        assert_eq!(
            err("2026-02-30T00:00:00Z"),
            "2026-02-30 is not a date: 2026-02 has 28 days"
        );
        assert_eq!(
            err("2028-02-30T00:00:00+01:00"),
            "2028-02-30 is not a date: 2028-02 has 29 days"
        );
        assert_eq!(
            err("2026-04-31T12:00:00Z"),
            "2026-04-31 is not a date: 2026-04 has 30 days"
        );
        assert_eq!(
            err("2026-13-01T00:00:00Z"),
            "2026-13-01 is not a date: there is no month 13"
        );
        assert_eq!(
            err("2026-12-01T24:00:00Z"),
            "24:00:00 is not a time of day: hours run 00-23, minutes and seconds 00-59"
        );
        assert_eq!(
            err("yesterday"),
            "'yesterday' is not an RFC 3339 instant like 2026-11-15T05:00:00Z"
        );
        assert_eq!(
            parse_rfc3339("2026-02-28T23:00:00-01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
    }

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
