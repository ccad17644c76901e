//! Times as the API shows them: RFC 3339 in UTC with a `Z`, microseconds kept when
//! present and no trailing zeros otherwise (`2025-11-04T10:00:00Z`).
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// The earliest instant a "since" reaches back to (1900-01-01T00:00:00Z): before every
/// event, and inside PostgreSQL's range.
pub const EARLIEST: DateTime<Utc> = DateTime::from_timestamp_nanos(-2_208_988_800_000_000_000);

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
    fn whole_seconds_and_microseconds() {
        let t: DateTime<Utc> = "2025-11-04T10:00:00Z".parse().unwrap();
        assert_eq!(fmt_utc(&t), "2025-11-04T10:00:00Z");
        let t: DateTime<Utc> = "2025-11-04T10:00:00.000001+00:00".parse().unwrap();
        assert_eq!(fmt_utc(&t), "2025-11-04T10:00:00.000001Z");
        let t: DateTime<Utc> = "2025-11-04T12:00:00.5+02:00".parse().unwrap();
        assert_eq!(fmt_utc(&t), "2025-11-04T10:00:00.500Z");
    }
}
