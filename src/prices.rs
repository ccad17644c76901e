//! Rules about AI model prices that need no database.
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::echo;
use crate::time::fmt_utc;

/// Which of `model`'s prices (in force from each of `froms`) `price remove` takes out:
/// the one from `given`, which must be one of them; with no `--from`, the model's only
/// price. The message says what to do instead.
pub fn price_to_remove(
    model: &str,
    froms: &[DateTime<Utc>],
    given: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>, String> {
    let listed = || froms.iter().map(fmt_utc).collect::<Vec<_>>().join(", ");
    match (froms, given) {
        ([], _) => Err(format!(
            "{} has no price to remove (usagectl price list shows the prices)",
            echo(model)
        )),
        (_, Some(at)) if froms.contains(&at) => Ok(at),
        (_, Some(at)) => Err(format!(
            "{} has no price from {}: its prices are from {}",
            echo(model),
            fmt_utc(&at),
            listed()
        )),
        ([only], None) => Ok(*only),
        (_, None) => Err(format!(
            "{} has {} prices (from {}): say which with --from",
            echo(model),
            froms.len(),
            listed()
        )),
    }
}

/// Exact USD shown to the cent (half away from zero), e.g. `$12.35`.
pub fn cents(s: &str) -> String {
    Decimal::from_str(s)
        .map(|d| {
            let mut c =
                d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            c.rescale(2); // always two places: $0.00, $3.70
            if c.is_sign_negative() && !c.is_zero() {
                format!("-${}", c.abs())
            } else {
                format!("${}", c.abs())
            }
        })
        .unwrap_or_else(|_| s.to_string())
}

/// A numeric's text without trailing zeros (`3.0000000000` -> `3`).
pub fn trim(s: &str) -> String {
    Decimal::from_str(s)
        .map(|d| d.normalize().to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// Parse a USD price per million tokens: a non-negative decimal with at most 10 places.
pub fn parse_usd(s: &str) -> Result<Decimal, String> {
    let bad = || {
        format!(
            "{} is not an amount of USD like 3 or 2.5 (at most 10 decimal places)",
            echo(s)
        )
    };
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("{} is negative: a price is 0 USD or more", echo(s)));
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let d = Decimal::from_str(t).map_err(|_| bad())?;
    if d.is_sign_negative() || d.scale() > 10 || d > Decimal::from(1_000_000_000i64) {
        return Err(bad());
    }
    Ok(d)
}

/// The first instant of a model's first price when no --from is given: before any event
/// (PostgreSQL's -infinity has no chrono form).
pub fn always() -> DateTime<Utc> {
    DateTime::from_timestamp(-2_208_988_800, 0).unwrap_or_default() // 1900-01-01T00:00:00Z
}

/// A price's first instant as shown: `always` for a first price.
pub fn from_text(t: &DateTime<Utc>) -> String {
    if *t <= always() {
        "always".to_string()
    } else {
        fmt_utc(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_shown_to_the_cent() {
        assert_eq!(parse_usd("3").unwrap().to_string(), "3");
        assert_eq!(
            parse_usd("0.0000000001").unwrap().to_string(),
            "0.0000000001"
        );
        assert!(parse_usd("0.00000000001").is_err());
        assert!(parse_usd("-1").is_err());
        assert!(parse_usd("1e3").is_err());
        assert_eq!(cents("12.345"), "$12.35");
        assert_eq!(cents("12.344999"), "$12.34");
        assert_eq!(cents("0.005"), "$0.01");
        assert_eq!(cents("0"), "$0.00");
        assert_eq!(cents("3.7"), "$3.70");
        assert_eq!(cents("-0.3"), "-$0.30");
        assert_eq!(cents("-0.001"), "$0.00", "no minus sign on a zero");
        assert_eq!(trim("3.0000000000"), "3");
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_price_removed_is_the_one_named_or_the_only_one() {
        let one = [t("2026-11-01T00:00:00Z")];
        let two = [t("2026-11-01T00:00:00Z"), t("2026-12-15T00:00:00Z")];
        assert_eq!(price_to_remove("m", &one, None), Ok(one[0]));
        assert_eq!(price_to_remove("m", &two, Some(two[1])), Ok(two[1]));
        assert_eq!(
            price_to_remove("m", &two, None),
            Err("'m' has 2 prices (from 2026-11-01T00:00:00Z, 2026-12-15T00:00:00Z): say which with --from".into())
        );
        assert_eq!(
            price_to_remove("m", &two, Some(t("2026-12-16T00:00:00Z"))),
            Err("'m' has no price from 2026-12-16T00:00:00Z: its prices are from 2026-11-01T00:00:00Z, 2026-12-15T00:00:00Z".into())
        );
        assert_eq!(
            price_to_remove("m", &[], None),
            Err("'m' has no price to remove (usagectl price list shows the prices)".into())
        );
    }
}
