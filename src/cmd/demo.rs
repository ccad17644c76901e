//! `usagectl demo`: start (or reuse) a private local PostgreSQL, migrate it, load a
//! realistic sample month for a few orgs and show one org's summary.
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::app::migrate;
use crate::db::{self, queries};
use crate::localpg::LocalPg;
use crate::output::Output;

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

Examples:
  usagectl demo
  usagectl demo --org globex-trial -o json
  usagectl demo --stop

",
    crate::exit_codes!()
);

/// Arguments of `usagectl demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Org whose summary to show (acme-foods, northwind-plant, globex-trial, initech)
    #[arg(long, value_name = "ORG", default_value = "acme-foods")]
    pub org: String,

    /// Directory of the demo cluster
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

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
        let n = queries::load_demo_month(&mut tx)?;
        tx.commit()?;
        n
    };
    let report = crate::app::summary::summarise(&mut client, &args.org, 30)?;
    out.render(&report)?;
    let mut notes = format!(
        "demo: PostgreSQL running in {} ({} new sample events loaded for {})\n",
        dir.display(),
        loaded,
        DEMO_ORGS.join(", ")
    );
    notes.push_str(&format!("demo: try it:  export DATABASE_URL='{url}'\n"));
    notes.push_str("demo:          usagectl summary --org northwind-plant --days 7\n");
    notes.push_str("demo:          usagectl status --all\n");
    notes.push_str("demo:          usagectl limits --org globex-trial\n");
    notes.push_str(&match &args.dir {
        Some(d) => format!("demo: stop it: usagectl demo --dir {} --stop", d.display()),
        None => "demo: stop it: usagectl demo --stop".into(),
    });
    crate::printer::note(&notes);
    Ok(())
}
