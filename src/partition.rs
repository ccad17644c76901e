//! Monthly partitions of `usage_events`: the rules of `partition adopt` and of the months
//! `maintain` creates ahead. The SQL that carries them out is
//! `src/db/definitions/partitions.sql`; why it never blocks the web app for long is in
//! docs/operations.md ("Partitions").
use chrono::{DateTime, Utc};

use crate::period::Month;

/// How many months after the current one have a partition ready: `adopt` creates them
/// and `maintain` keeps them so. An insert dated past the last partition is refused
/// (there is no default partition to collect it silently), so the margin is months, not
/// days.
pub const MONTHS_AHEAD: u32 = 3;

/// How `usage_events` is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One table (the seed's).
    Heap,
    /// Partitioned by `created_at`, its partitions created by usagectl.
    Partitioned,
    /// Partitioned, and pg_partman's `part_config` lists it: pg_partman creates the
    /// partitions, usagectl leaves them alone.
    PartitionedByPartman,
    /// Partitioned some other way than by a range of `created_at`: usagectl creates no
    /// partitions.
    PartitionedOtherwise,
}

/// What the catalog says of the heap before an adoption, for [`refusals`].
#[derive(Debug, Default, Clone)]
pub struct AdoptionFacts {
    /// Triggers on `usage_events` that usagectl did not create.
    pub foreign_triggers: Vec<String>,
    /// Foreign keys from or to `usage_events` (a partitioned parent cannot take one
    /// without checking every row under lock, nor be referenced without a unique key
    /// that includes `created_at`).
    pub foreign_keys: Vec<String>,
    /// Views, materialized views and rules that read `usage_events` (bound to the heap,
    /// they would go on reading only it).
    pub dependent_views: Vec<String>,
    /// Functions outside usagectl whose arguments or result are the table's row type.
    pub dependent_functions: Vec<String>,
    /// Publications that list the table by name (logical replication).
    pub publications: Vec<String>,
    /// Tables inheriting from `usage_events`.
    pub children: Vec<String>,
    /// Columns with privileges of their own.
    pub column_grants: Vec<String>,
    /// Identity and generated columns (the new parent would not have them as they are).
    pub special_columns: Vec<String>,
    /// Indexes an interrupted build left invalid.
    pub invalid_indexes: Vec<String>,
    /// The latest `created_at`, when it is more than a year ahead of now: a partition
    /// bound past it would leave the table unpartitioned for years.
    pub far_future_row: Option<String>,
}

/// Why the heap cannot be adopted as it is: one line per obstacle, each saying what to do.
/// Empty: go ahead.
pub fn refusals(f: &AdoptionFacts) -> Vec<String> {
    let mut out = Vec::new();
    let mut say = |what: &[String], why: &str| {
        if !what.is_empty() {
            out.push(format!("{} ({why})", what.join(", ")));
        }
    };
    say(
        &f.foreign_triggers,
        "a trigger usagectl did not create: drop it, adopt, and create it on the new parent",
    );
    say(
        &f.foreign_keys,
        "a foreign key: a partitioned table cannot take it without a full scan under lock",
    );
    say(
        &f.dependent_views,
        "a view on usage_events would go on reading the old table only: drop it, adopt, create it again",
    );
    say(
        &f.dependent_functions,
        "a function over usage_events' row type: drop it, adopt, create it again",
    );
    say(
        &f.publications,
        "a publication listing usage_events: remove the table from it, adopt, add the new parent",
    );
    say(&f.children, "a table inheriting from usage_events");
    say(
        &f.column_grants,
        "a column-level grant: grant on the table instead",
    );
    say(
        &f.special_columns,
        "an identity or generated column, which the new parent would not have as it is",
    );
    say(
        &f.invalid_indexes,
        "an invalid index (an interrupted build): drop it or build it again first",
    );
    if let Some(at) = &f.far_future_row {
        out.push(format!(
            "a row dated {at}, more than a year ahead: correct or delete it (every row before the first partition's month stays in the table as it is)"
        ));
    }
    out
}

/// The latest row's day (UTC), when it is dated more than a year after `now`.
pub fn far_future(latest_event: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<String> {
    let year_ahead = now.checked_add_months(chrono::Months::new(12))?;
    latest_event
        .filter(|t| *t > year_ahead)
        .map(|t| t.format("%Y-%m-%d").to_string())
}

/// The first instant the adopted heap does not hold: the first day of the month after
/// next (an insert of the web app made at the last second of this month still lands in
/// the heap while the adoption runs), or later when a row is already dated later.
pub fn adoption_bound(now: DateTime<Utc>, latest_event: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let after_next = Month::containing(now).next().next().start;
    match latest_event {
        Some(t) if t >= after_next => Month::containing(t).next().start,
        _ => after_next,
    }
}

/// The last month that must have a partition: the [`MONTHS_AHEAD`]th after `now`'s.
fn last_month_ahead(now: DateTime<Utc>) -> Month {
    (0..MONTHS_AHEAD).fold(Month::containing(now), |m, _| m.next())
}

/// How many monthly partitions the switch creates from `bound` on: through
/// [`last_month_ahead`] (at least one, the bound's own month).
pub fn partitions_from_bound(bound: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    let last = last_month_ahead(now);
    let mut m = Month::containing(bound);
    let mut n = 1;
    while m.end < last.end {
        m = m.next();
        n += 1;
    }
    n
}

/// A partition's half-open range of instants; `None` is unbounded (MINVALUE, MAXVALUE).
pub type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The months from `from` through [`MONTHS_AHEAD`] months after `now`'s that no
/// partition covers yet (`covered`: each partition's half-open range; `None` is unbounded).
pub fn months_to_create(now: DateTime<Utc>, covered: &[Range]) -> Vec<Month> {
    let mut m = Month::containing(now);
    let mut out = Vec::new();
    for _ in 0..=MONTHS_AHEAD {
        let overlaps = covered
            .iter()
            .any(|(lo, hi)| lo.is_none_or(|lo| lo < m.end) && hi.is_none_or(|hi| hi > m.start));
        if !overlaps {
            out.push(m);
        }
        m = m.next();
    }
    out
}

/// A default partition of usage_events (usagectl creates none; pg_partman's
/// `create_parent` does), for [`verdict`].
#[derive(Debug, Clone)]
pub struct DefaultPartition {
    /// Its name.
    pub name: String,
    /// Whether it holds a row.
    pub holds_rows: bool,
}

/// `doctor`'s verdict on the layout: `Ok` what it is, `Err` what is wrong and what to do.
/// `stray_bound`: usage_events (a heap) still has the CHECK constraint an interrupted
/// `partition adopt` added; `covered`: the ranges of the partitions but the default one;
/// `default`: the default partition, if there is one.
pub fn verdict(
    layout: Layout,
    stray_bound: bool,
    covered: &[Range],
    default: Option<&DefaultPartition>,
    now: DateTime<Utc>,
) -> Result<String, String> {
    if stray_bound {
        return Err("the CHECK constraint usagectl_partition_bound, left by an interrupted `partition adopt`, refuses inserts dated on or after its bound: run `usagectl partition adopt` again to finish (or drop the constraint)".into());
    }
    if let Some(d) = default.filter(|d| d.holds_rows) {
        return Err(format!(
            "the default partition {} holds rows dated outside every monthly partition: reads count them, but their months cannot have partitions of their own until the rows move (pg_partman's partition_data_time() moves them)",
            d.name
        ));
    }
    let empty_default = default.map_or(String::new(), |d| {
        format!(", and an empty default partition {}", d.name)
    });
    // a month without a partition: its inserts fail, or go to the default partition
    let missing = |months: String, what_to_do: &str| {
        let fate = match default {
            Some(d) => format!("go to the default partition {}", d.name),
            None => "are refused".to_string(),
        };
        format!("no partition for {months}: inserts dated then {fate}; {what_to_do}")
    };
    match layout {
        Layout::Heap => Ok("one table, not partitioned".into()),
        // pg_partman creates them; a month it has not is still a month whose inserts fail
        Layout::PartitionedByPartman => match missing_months(now, covered) {
            None => Ok(format!(
                "{} partitions through {}; pg_partman creates them{empty_default}",
                covered.len(),
                covered_through(covered)
            )),
            Some(months) => Err(missing(
                months,
                "pg_partman manages this table: run its run_maintenance() (its premake sets how many months it keeps ahead)",
            )),
        },
        Layout::PartitionedOtherwise => Ok(format!(
            "{} partitions, not by a range of created_at: usagectl creates none",
            covered.len()
        )),
        Layout::Partitioned => match missing_months(now, covered) {
            None => Ok(format!(
                "{} partitions by month, ready through {}{empty_default}",
                covered.len(),
                covered_through(covered)
            )),
            Some(months) => Err(missing(
                months,
                "run `usagectl maintain` (or `usagectl partition ahead`)",
            )),
        },
    }
}

/// The last month the partitions cover, as a label.
fn covered_through(covered: &[Range]) -> String {
    if covered.iter().any(|(_, hi)| hi.is_none()) {
        return "every later month".into();
    }
    covered
        .iter()
        .filter_map(|(_, hi)| *hi)
        .max()
        .map_or("no month".into(), |hi| {
            Month::containing(hi - chrono::Duration::microseconds(1)).label()
        })
}

/// The months from now through [`MONTHS_AHEAD`] ahead that no partition covers, as a
/// list (`None` when every one is covered).
fn missing_months(now: DateTime<Utc>, covered: &[Range]) -> Option<String> {
    let missing = months_to_create(now, covered);
    (!missing.is_empty()).then(|| {
        missing
            .iter()
            .map(Month::label)
            .collect::<Vec<_>>()
            .join(", ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn the_heap_holds_through_next_month_even_adopted_at_the_last_second_of_one() {
        // adopted a second before December ends: January's inserts still go to the heap
        let b = adoption_bound(at(2026, 12, 31, 23, 59, 59), None);
        assert_eq!(b, at(2027, 2, 1, 0, 0, 0));
        assert_eq!(
            adoption_bound(at(2026, 12, 1, 0, 0, 0), Some(at(2026, 11, 3, 0, 0, 0))),
            at(2027, 2, 1, 0, 0, 0)
        );
    }

    #[test]
    fn a_row_dated_later_moves_the_bound_past_its_month() {
        let now = at(2026, 12, 6, 12, 0, 0);
        // exactly at the default bound: it must be inside the heap
        assert_eq!(
            adoption_bound(now, Some(at(2027, 2, 1, 0, 0, 0))),
            at(2027, 3, 1, 0, 0, 0)
        );
        assert_eq!(
            adoption_bound(now, Some(at(2027, 1, 31, 23, 59, 59))),
            at(2027, 2, 1, 0, 0, 0)
        );
        assert_eq!(
            adoption_bound(now, Some(at(2030, 6, 15, 0, 0, 0))),
            at(2030, 7, 1, 0, 0, 0)
        );
    }

    #[test]
    fn the_switch_creates_the_months_from_the_bound_through_three_after_now() {
        let now = at(2026, 12, 6, 12, 0, 0);
        // the usual bound, February: February and March
        assert_eq!(partitions_from_bound(adoption_bound(now, None), now), 2);
        // an earlier bound (the tests' layout): every month from it through March
        assert_eq!(partitions_from_bound(at(2026, 1, 1, 0, 0, 0), now), 15);
        // a bound past the horizon: its own month still
        assert_eq!(partitions_from_bound(at(2030, 7, 1, 0, 0, 0), now), 1);
    }

    #[test]
    fn months_ahead_are_the_current_one_and_three_more_less_those_covered() {
        let now = at(2026, 12, 6, 12, 0, 0);
        let labels = |v: Vec<Month>| v.iter().map(|m| m.label()).collect::<Vec<_>>();
        assert_eq!(
            labels(months_to_create(now, &[])),
            ["2026-12", "2027-01", "2027-02", "2027-03"]
        );
        // the adopted heap (MINVALUE to February) and February
        let covered = [
            (None, Some(at(2027, 2, 1, 0, 0, 0))),
            (Some(at(2027, 2, 1, 0, 0, 0)), Some(at(2027, 3, 1, 0, 0, 0))),
        ];
        assert_eq!(labels(months_to_create(now, &covered)), ["2027-03"]);
        // a month boundary is half-open: a partition ending at 2027-01-01 does not cover January
        let covered = [(None, Some(at(2027, 1, 1, 0, 0, 0)))];
        assert_eq!(
            labels(months_to_create(now, &covered)),
            ["2027-01", "2027-02", "2027-03"]
        );
    }

    #[test]
    fn doctor_names_a_stray_bound_and_missing_months_ahead() {
        let now = at(2026, 12, 6, 12, 0, 0);
        let through = |m: u32| {
            vec![
                (None, Some(at(2027, 2, 1, 0, 0, 0))),
                (Some(at(2027, 2, 1, 0, 0, 0)), Some(at(2027, m, 1, 0, 0, 0))),
            ]
        };
        assert!(verdict(Layout::Heap, false, &[], None, now).is_ok());
        let stray = verdict(Layout::Heap, true, &[], None, now).unwrap_err();
        assert!(stray.contains("partition adopt` again"), "{stray}");
        assert_eq!(
            verdict(Layout::Partitioned, false, &through(4), None, now).unwrap(),
            "2 partitions by month, ready through 2027-03"
        );
        // partitions further ahead than needed: the last one is named
        assert_eq!(
            verdict(Layout::Partitioned, false, &through(7), None, now).unwrap(),
            "2 partitions by month, ready through 2027-06"
        );
        // March missing: inserts dated then would be refused
        let gap = verdict(Layout::Partitioned, false, &through(3), None, now).unwrap_err();
        assert!(
            gap.starts_with("no partition for 2027-03: inserts dated then are refused"),
            "{gap}"
        );
        // pg_partman's table: its to create, but a missing month is still named
        assert!(verdict(Layout::PartitionedByPartman, false, &through(4), None, now).is_ok());
        let partman =
            verdict(Layout::PartitionedByPartman, false, &through(3), None, now).unwrap_err();
        assert!(
            partman.starts_with("no partition for 2027-03:")
                && partman.contains("run_maintenance()"),
            "{partman}"
        );
        // a default partition: empty, it is named; holding rows, they are strays
        let mut default = DefaultPartition {
            name: "usage_events_default".into(),
            holds_rows: false,
        };
        let ok = verdict(
            Layout::PartitionedByPartman,
            false,
            &through(4),
            Some(&default),
            now,
        )
        .unwrap();
        assert!(
            ok.ends_with("an empty default partition usage_events_default"),
            "{ok}"
        );
        let into_default = verdict(
            Layout::PartitionedByPartman,
            false,
            &through(3),
            Some(&default),
            now,
        )
        .unwrap_err();
        assert!(
            into_default
                .contains("inserts dated then go to the default partition usage_events_default"),
            "{into_default}"
        );
        default.holds_rows = true;
        let strays =
            verdict(Layout::Partitioned, false, &through(4), Some(&default), now).unwrap_err();
        assert!(
            strays.starts_with("the default partition usage_events_default holds rows"),
            "{strays}"
        );
    }

    #[test]
    fn a_row_more_than_a_year_ahead_is_far_future() {
        let now = at(2026, 12, 6, 12, 0, 0);
        assert_eq!(far_future(None, now), None);
        assert_eq!(far_future(Some(at(2027, 12, 6, 12, 0, 0)), now), None);
        assert_eq!(
            far_future(Some(at(2027, 12, 6, 12, 0, 1)), now),
            Some("2027-12-06".into())
        );
    }

    #[test]
    fn every_obstacle_is_named_with_what_to_do() {
        assert!(refusals(&AdoptionFacts::default()).is_empty());
        let f = AdoptionFacts {
            foreign_triggers: vec!["audit_usage on usage_events".into()],
            dependent_views: vec!["v_usage".into()],
            column_grants: vec!["metadata to analyst".into()],
            ..Default::default()
        };
        let r = refusals(&f);
        assert_eq!(r.len(), 3);
        let far = refusals(&AdoptionFacts {
            far_future_row: Some("2099-01-01".into()),
            ..Default::default()
        });
        assert!(far[0].starts_with("a row dated 2099-01-01"), "{far:?}");
        assert!(r[0].starts_with("audit_usage on usage_events (a trigger"));
        assert!(r[1].contains("v_usage") && r[1].contains("create it again"));
        assert!(r[2].contains("metadata to analyst"));
    }
}
