//! Rules about AI model prices that need no database.
use chrono::{DateTime, Utc};

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

#[cfg(test)]
mod tests {
    use super::*;

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
