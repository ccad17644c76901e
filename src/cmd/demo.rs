//! `usagectl demo`: start (or reuse) a private local PostgreSQL, migrate it, load a
//! realistic sample month for a few orgs and show one org's summary (or, for a pinned
//! `--month`, its limits in that month).
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::app::limits::LimitsReport;
use crate::app::migrate;
use crate::app::quotas::read_org_quota;
use crate::db::{self, queries};
use crate::localpg::LocalPg;
use crate::output::Output;
use crate::period::{Month, PeriodChoice};

/// Database the demo creates in its cluster.
pub const DEMO_DB: &str = "usagectl_demo";
/// Orgs the sample month holds.
pub const DEMO_ORGS: [&str; 4] = ["acme-foods", "northwind-plant", "globex-trial", "initech"];

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
The cluster lives in --dir (default: a directory under the system temp dir), listens on
its Unix socket only, and keeps running afterwards so you can try the other commands on
it; loading again adds only the hours that are new. Needs the PostgreSQL server binaries
(initdb, pg_ctl): Debian/Ubuntu's `postgresql` package.

Without --month the sample covers the 30 days up to the current hour, so its figures
change every hour. --month loads one calendar month (UTC) that has ended instead: the
same events, ids included, on every machine and every day. The README and the guides in
docs/ use --month 2026-11, and their examples run as tests against it.

Examples:
  usagectl demo
  usagectl demo --month 2026-11                     # the month the docs' examples use
  usagectl demo --org globex-trial -o json
  usagectl demo --stop

",
    crate::exit_codes!()
);

/// Arguments of `usagectl demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Org to show (acme-foods, northwind-plant, globex-trial, initech)
    #[arg(long, value_name = "ORG", default_value = "acme-foods")]
    pub org: String,

    /// Directory of the demo cluster
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Load this calendar month (UTC) instead of the 30 days up to now, and show the
    /// org's limits in it: the same figures every time (the docs use 2026-11)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
    pub month: Option<Month>,

    /// Stop the demo cluster and exit
    #[arg(long)]
    pub stop: bool,
}

fn default_dir() -> PathBuf {
    let uid = unsafe { libc::geteuid() };
    std::env::temp_dir().join(format!("usagectl-demo-{uid}"))
}

/// Run `usagectl demo`.
pub fn run(args: &DemoArgs, out: &mut Output) -> Result<()> {
    let dir = args.dir.clone().unwrap_or_else(default_dir);
    let pg = LocalPg::new(&dir, 5432, "")?;
    if args.stop {
        pg.stop()?;
        crate::printer::note(&format!("demo: cluster in {} stopped", dir.display()));
        return Ok(());
    }
    if let Some(m) = &args.month
        && m.end > chrono::Utc::now()
    {
        return Err(crate::error::usage(format!(
            "--month {} has not ended yet: demo --month loads a month that has (without --month, the demo loads the 30 days up to now)",
            m.start.format("%Y-%m")
        )));
    }
    pg.init(&[]).context("creating the demo cluster")?;
    pg.start(&[]).context("starting the demo cluster")?;

    let mut admin = db::connect(&db::params(Some(&pg.conninfo("postgres")))?)?;
    let exists = queries::database_exists(&mut admin, DEMO_DB)?;
    if !exists {
        queries::create_database(&mut admin, DEMO_DB)?;
    }
    let url = pg.conninfo(DEMO_DB);
    let mut client = db::connect(&db::params(Some(&url))?)?;
    migrate::migrate(&mut client, false, false, None)?;
    let loaded = {
        let mut tx = db::begin(&mut client)?;
        let n = queries::load_demo_month(&mut tx, args.month.as_ref())?;
        tx.commit()?;
        n
    };
    match args.month {
        Some(m) => {
            let q = read_org_quota(&mut client, &args.org, PeriodChoice::Month(m))?;
            out.render(&LimitsReport::new(&q))?;
        }
        None => {
            let report = crate::app::summary::summarise(&mut client, &args.org, 30)?;
            out.render(&report)?;
        }
    }
    let mut notes = format!(
        "demo: PostgreSQL running in {} ({} new sample events loaded for {})\n",
        dir.display(),
        loaded,
        DEMO_ORGS.join(", ")
    );
    notes.push_str(&format!("demo: try it:  export DATABASE_URL='{url}'\n"));
    match &args.month {
        Some(m) => {
            let m = m.start.format("%Y-%m");
            notes.push_str(&format!(
                "demo:          usagectl status --all --month {m}\n"
            ));
            notes.push_str(&format!(
                "demo:          usagectl limits --org globex-trial --month {m}\n"
            ));
            notes.push_str(&format!(
                "demo:          usagectl export --month {m} --org initech\n"
            ));
        }
        None => {
            notes.push_str("demo:          usagectl summary --org northwind-plant --days 7\n");
            notes.push_str("demo:          usagectl status --all\n");
            notes.push_str("demo:          usagectl limits --org globex-trial\n");
        }
    }
    notes.push_str(&match &args.dir {
        Some(d) => format!("demo: stop it: usagectl demo --dir {} --stop", d.display()),
        None => "demo: stop it: usagectl demo --stop".into(),
    });
    crate::printer::note(&notes);
    Ok(())
}
