//! `usagectl doctor`: check the schema usagectl relies on, and that the rollup agrees
//! with the raw rows; `--repair` rewrites the rollup where it does not.
use anyhow::Result;
use clap::Args;
use postgres::Client;
use serde::Serialize;

use crate::app::every_org;
use crate::db::queries::{self, Drift};
use crate::db::schema;
use crate::error::{EXIT_FOUND, EXIT_OK};
use crate::output::{Cell, Output, Render, Style};
use crate::partition::{self, Layout};
use crate::period::{Month, Period};

mod report;

pub use report::*;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Checks the tables, indexes, triggers, functions, row-level security and roles usagectl
relies on, then recomputes the rollup from the raw rows for one month (and one org
with --org) and lists every org, day and event type where they disagree. --repair
rewrites those rollup rows from the raw rows, 10 groups per transaction: the web app's
inserts wait for one batch (tens of milliseconds), never for the whole repair, and get as
long again between batches; a batch waits at most 200 ms for its lock and is retried,
saying on stderr who holds it. --repair also reinstalls usagectl's functions dropped after
migrate installed them, as this build defines them, as the owner of usage_events. Exit 0
when everything is in order, 3 when doctor found something (even if --repair fixed it), 1
on error.

Examples:
  usagectl doctor
  usagectl doctor --month 2025-11 --org acme
  usagectl doctor --repair

",
    crate::exit_codes!()
);

/// Arguments of `usagectl doctor`.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Month whose rollup to recompute, YYYY-MM in UTC (default: the current month)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
    pub month: Option<Month>,

    /// Only this organisation's rollup
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,

    /// Rewrite the rollup rows that disagree with the raw rows, and reinstall usagectl's
    /// functions dropped after migrate installed them
    #[arg(long)]
    pub repair: bool,
}

fn check(checks: &mut Vec<Check>, check: &'static str, problem: Option<String>, ok: &str) {
    checks.push(match problem {
        Some(detail) => Check {
            check,
            status: Status::Problem,
            detail,
        },
        None => Check {
            check,
            status: Status::Ok,
            detail: ok.to_string(),
        },
    });
}

/// Run `usagectl doctor`; returns 0 when all is well, 3 when it found something.
pub fn run(client: &mut Client, args: &DoctorArgs, out: &mut Output) -> Result<u8> {
    // functions dropped after migrate installed them, reinstalled before the checks look
    let reinstalled = if args.repair {
        reinstall_definitions(client)?
    } else {
        None
    };
    // the checks read one snapshot, under the usual lock and statement timeouts
    let mut tx = queries::read_snapshot(client)?;
    let now = queries::server_now(&mut tx)?;
    let month = args.month.unwrap_or_else(|| Month::containing(now));
    let mut checks = Vec::new();

    const TABLES: [&str; 28] = [
        "usage_events",
        "usagectl_schema_migrations",
        "usagectl_tiers",
        "usagectl_tier_limits",
        "usagectl_org_tiers",
        "usagectl_org_limit_overrides",
        "usagectl_org_locks",
        "usagectl_rollup",
        "usagectl_rollup_backfill",
        "usagectl_fold_state",
        "usagectl_org_settings",
        "usagectl_grants",
        "usagectl_grant_revocations",
        "usagectl_alert_rules",
        "usagectl_alert_states",
        "usagectl_alert_outbox",
        "usagectl_alert_attempts",
        "usagectl_alert_evaluation",
        "usagectl_stripe_customers",
        "usagectl_stripe_meters",
        "usagectl_stripe_streams",
        "usagectl_stripe_ledger",
        "usagectl_model_prices",
        "usagectl_boundaries",
        "usagectl_archives",
        "usagectl_archive_totals",
        "usagectl_archive_kept",
        "usagectl_event_keys",
    ];
    let present = queries::existing_relations(&mut tx, &TABLES)?;
    let missing: Vec<&str> = TABLES
        .iter()
        .copied()
        .filter(|t| !present.iter().any(|p| p == t))
        .collect();
    check(
        &mut checks,
        "tables",
        (!missing.is_empty())
            .then(|| format!("missing {}: run `usagectl migrate`", missing.join(", "))),
        "all present",
    );
    if !present.iter().any(|p| p == "usage_events") {
        return finish(out, month, now, args, checks, Vec::new());
    }
    let recorded = queries::applied_migrations(&mut tx)?;
    let version = recorded.iter().map(|a| a.version).max().unwrap_or(0);
    check(
        &mut checks,
        "schema version",
        (version < schema::latest_version()).then(|| {
            format!(
                "version {version} of {}: run `usagectl migrate`",
                schema::latest_version()
            )
        }),
        &format!("version {version}"),
    );
    let changed: Vec<String> = schema::migration_states(&recorded)
        .iter()
        .filter(|m| m.3 == schema::MigrationState::Changed)
        .map(|m| m.0.to_string())
        .collect();
    check(
        &mut checks,
        "migration checksums",
        (!changed.is_empty()).then(|| {
            format!(
                "migration {} changed after it was applied: `usagectl migrate --status`",
                changed.join(", ")
            )
        }),
        "every applied step matches this build",
    );
    const INDEXES: [&str; 4] = [
        "idx_usage_events_org_id",
        "idx_usage_events_created_at",
        "usagectl_events_org_key",
        "usagectl_events_seq",
    ];
    let have = queries::existing_relations(&mut tx, &INDEXES)?;
    let invalid = queries::invalid_indexes(&mut tx)?;
    let mut problems: Vec<String> = INDEXES
        .iter()
        .filter(|i| !have.iter().any(|h| h == *i))
        .map(|i| format!("missing {i}"))
        .collect();
    problems.extend(
        invalid
            .iter()
            .map(|i| format!("invalid {i} (an interrupted build)")),
    );
    check(
        &mut checks,
        "indexes",
        (!problems.is_empty()).then(|| format!("{}: run `usagectl migrate`", problems.join(", "))),
        "present and valid",
    );
    let layout = queries::layout(&mut tx)?;
    let stray_bound = layout == Layout::Heap && queries::bound_check(&mut tx)?.is_some();
    let partitions = if layout == Layout::Heap {
        Vec::new()
    } else {
        queries::partitions(&mut tx)?
    };
    let covered: Vec<partition::Range> = partitions
        .iter()
        .filter_map(queries::PartitionRow::range)
        .collect();
    let default = match partitions.iter().find(|p| p.default) {
        Some(p) => Some(partition::DefaultPartition {
            holds_rows: queries::holds_rows(&mut tx, &p.partition)?,
            name: p.partition.clone(),
        }),
        None => None,
    };
    match partition::verdict(layout, stray_bound, &covered, default.as_ref(), now) {
        Ok(ok) => check(&mut checks, "partitions", None, &ok),
        Err(problem) => check(&mut checks, "partitions", Some(problem), ""),
    }
    let definitions = queries::definitions_state(&mut tx)?;
    let objects = |list: &[(String, &str)]| {
        list.iter()
            .map(|(o, what)| format!("{o} {what}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match (&definitions, &reinstalled) {
        (queries::DefinitionsState::Unreadable, _) => checks.push(Check {
            check: "functions and triggers",
            status: Status::Info,
            detail: "not checked: this role may not read usagectl_definitions".into(),
        }),
        (queries::DefinitionsState::Current, Some(was)) => checks.push(Check {
            check: "functions and triggers",
            status: Status::Repaired,
            detail: match was {
                queries::DefinitionsState::Drifted(list) => {
                    format!(
                        "installed again as this build defines them ({})",
                        objects(list)
                    )
                }
                _ => "this build's installed (the database had another build's)".into(),
            },
        }),
        _ => check(
            &mut checks,
            "functions and triggers",
            match &definitions {
                queries::DefinitionsState::Current | queries::DefinitionsState::Unreadable => None,
                queries::DefinitionsState::Predates | queries::DefinitionsState::OtherBuild => {
                    Some("another build's are installed: run `usagectl migrate`".into())
                }
                queries::DefinitionsState::Drifted(list) => Some(format!(
                    "{}: the rollup, reads or enforcement may be wrong; `usagectl doctor --repair` installs them again",
                    objects(list)
                )),
            },
            "each as this build defines it",
        ),
    }
    match queries::api_state(&mut tx)? {
        queries::ApiState::Version(v) => check(
            &mut checks,
            "web app API",
            None,
            &format!("version {v} in schema usagectl"),
        ),
        queries::ApiState::NotInstalled => check(
            &mut checks,
            "web app API",
            Some("schema usagectl has no API in it: run `usagectl migrate`".into()),
            "",
        ),
        queries::ApiState::NoSchema => checks.push(Check {
            check: "web app API",
            status: Status::Info,
            detail: "not installed: no schema usagectl (a DBA runs CREATE SCHEMA usagectl AUTHORIZATION <owner of usage_events>, then `usagectl migrate`)".into(),
        }),
        queries::ApiState::Unreadable => checks.push(Check {
            check: "web app API",
            status: Status::Info,
            detail: "not checked: this role may not call usagectl.api_version()".into(),
        }),
    }
    if let Some(lag) = queries::fold_lag(&mut tx)? {
        let default = queries::usage_events_column_default(&mut tx, "usagectl_seq")?;
        let numbered = default
            .as_deref()
            .is_some_and(|d| d.contains("usagectl_event_seq"));
        let since = now - lag.folded_at;
        let stale = lag.unfolded_events > 0 && since > chrono::TimeDelta::hours(1);
        let detail = format!(
            "watermark {}, last fold {}; {} event(s) not folded yet{}",
            lag.watermark,
            lag.folded_at.format("%Y-%m-%dT%H:%M:%SZ"),
            lag.unfolded_events,
            lag.oldest_unfolded
                .map(|t| format!(" (the oldest stamped {})", t.format("%Y-%m-%dT%H:%M:%SZ")))
                .unwrap_or_default()
        );
        checks.push(Check {
            check: "fold",
            status: if stale || !numbered {
                Status::Problem
            } else {
                Status::Info
            },
            detail: if !numbered {
                "usage_events.usagectl_seq lost its default nextval('usagectl_event_seq'): new rows are never folded; restore it with `ALTER TABLE usage_events ALTER COLUMN usagectl_seq SET DEFAULT nextval('usagectl_event_seq')`".into()
            } else if stale {
                format!("{detail}: the fold has not run for {}; schedule `usagectl maintain` every minute (reads stay exact, but slower as the backlog grows)", crate::output::human_duration(since.to_std().unwrap_or_default()))
            } else {
                detail
            },
        });
    }
    if let Some(b) = queries::boundary_registration(&mut tx)? {
        checks.push(Check {
            check: "period boundaries",
            status: Status::Info,
            detail: if b.unregistered_orgs == 0 {
                format!(
                    "{} period boundary(ies) inside UTC days registered; every org's current period reads no raw rows",
                    b.registered
                )
            } else {
                format!(
                    "{} period boundary(ies) inside UTC days registered; {} org(s) have a current period boundary not registered yet, read from the raw rows (exact, slower) until `usagectl maintain` runs",
                    b.registered, b.unregistered_orgs
                )
            },
        });
    }
    let pending = queries::pending_backfill_days(&mut tx)?;
    check(
        &mut checks,
        "rollup backfill",
        (!pending.is_empty()).then(|| {
            format!("{} day(s) still to count: run `usagectl migrate` to finish (reads use the raw rows meanwhile)", pending.len())
        }),
        "complete",
    );
    let rls = queries::rls_enabled(&mut tx, "usage_events")?;
    checks.push(Check {
        check: "row-level security",
        status: Status::Info,
        detail: if rls {
            "enabled on usage_events: roles without BYPASSRLS read one org at a time".into()
        } else {
            "not enabled on usage_events: every role with SELECT reads every org".into()
        },
    });
    let roles = queries::existing_roles(&mut tx, &["usage_reader", "usage_writer"])?;
    checks.push(Check {
        check: "roles",
        status: Status::Info,
        detail: if roles.is_empty() {
            "usage_reader and usage_writer do not exist (usagectl migrate --roles creates them)"
                .into()
        } else {
            format!("{} exist", roles.join(", "))
        },
    });

    let mut drift = Vec::new();
    if present.iter().any(|p| p == "usagectl_rollup") && pending.is_empty() {
        // last in the transaction: the scope holds to its end
        every_org::scope(
            &mut tx,
            args.org.as_deref(),
            Some("usagectl doctor --org ORG"),
        )?;
        let scope = match &args.org {
            Some(org) => format!("{} for org {org}", month.label()),
            None => month.label(),
        };
        let archived = if present.iter().any(|p| p == "usagectl_archives") {
            queries::archived_in(&mut tx, Some(month.start), month.end)?
        } else {
            Vec::new()
        };
        if let Some((label, file)) = archived.first() {
            // an archived month's rows are in its file: the rollup is compared with what
            // the archive removed and the rows still in the table
            let mut expected = queries::archive_totals(&mut tx, &month, args.org.as_deref())?;
            let (rollup, raw) = queries::rollup_and_raw_of(&mut tx, &month, args.org.as_deref())?;
            tx.commit()?;
            for (key, (events, quantity)) in raw {
                let e = expected.entry(key).or_default();
                e.0 += events;
                e.1 += quantity;
            }
            checks.push(match crate::archive::differences(&expected, &rollup) {
                None => Check {
                    check: "rollup drift",
                    status: Status::Ok,
                    detail: format!("{scope} (archived in {file}): agrees with what the archive removed and the rows left"),
                },
                Some(d) => Check {
                    check: "rollup drift",
                    status: Status::Problem,
                    detail: format!("{scope} (archived in {file}): disagrees with what the archive removed and the rows left ({d}); an archived month cannot be counted afresh: restore it first (usagectl archive --restore {label} --file {file})"),
                },
            });
            return finish(out, month, now, args, checks, drift);
        }
        drift = queries::rollup_drift(
            &mut tx,
            month.start.date_naive(),
            month.end.date_naive(),
            args.org.as_deref(),
        )?;
        tx.commit()?;
        if drift.is_empty() {
            checks.push(Check {
                check: "rollup drift",
                status: Status::Ok,
                detail: format!("{scope}: agrees with the raw rows"),
            });
        } else if args.repair {
            queries::repair_drift(client, &drift)?;
            checks.push(Check {
                check: "rollup drift",
                status: Status::Repaired,
                detail: format!(
                    "{scope}: {} group(s) disagreed and were rewritten from the raw rows",
                    drift.len()
                ),
            });
        } else {
            checks.push(Check {
                check: "rollup drift",
                status: Status::Problem,
                detail: format!("{scope}: {} group(s) disagree with the raw rows: `usagectl doctor --repair` fixes them", drift.len()),
            });
        }
    }
    finish(out, month, now, args, checks, drift)
}

/// `--repair`: install this build's definitions again when a function or trigger differs
/// from them (or another build's are installed), as the owner of usage_events; returns
/// what was wrong.
fn reinstall_definitions(client: &mut Client) -> Result<Option<queries::DefinitionsState>> {
    let (state, owner) = {
        let mut tx = queries::read_snapshot(client)?;
        if !queries::usage_events_exists(&mut tx)? {
            return Ok(None);
        }
        let state = queries::definitions_state(&mut tx)?;
        (state, queries::usage_events_owner(&mut tx)?)
    };
    if matches!(
        state,
        queries::DefinitionsState::Current
            | queries::DefinitionsState::Predates
            | queries::DefinitionsState::Unreadable
    ) {
        return Ok(None);
    }
    let role = match schema::run_as(owner.as_ref()).map_err(anyhow::Error::msg)? {
        schema::RunAs::Owner(role) => Some(role),
        schema::RunAs::Connected => None,
    };
    queries::install_definitions(client, role.as_deref())?;
    Ok(Some(state))
}

fn finish(
    out: &mut Output,
    month: Month,
    now: chrono::DateTime<chrono::Utc>,
    args: &DoctorArgs,
    checks: Vec<Check>,
    drift: Vec<Drift>,
) -> Result<u8> {
    let report = DoctorReport {
        period: Period::new(&month, now),
        org: args.org.clone(),
        checks,
        drift,
    };
    out.render(&report)?;
    Ok(if report.found_something() {
        EXIT_FOUND
    } else {
        EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_one_name_in_every_output() {
        for s in [Status::Ok, Status::Problem, Status::Repaired, Status::Info] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
        assert!(Status::Problem.found() && Status::Repaired.found());
        assert!(!Status::Ok.found() && !Status::Info.found());
    }
}
