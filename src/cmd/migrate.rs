//! `usagectl migrate`: create or adopt `usage_events` and apply additive migrations.
use anyhow::Result;
use clap::Args;
use postgres::Client;

use crate::app::migrate::{migrate, status};
use crate::db::schema::{self, STEPS};
use crate::output::Output;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Adopting an existing table: migrate never changes or drops a column, row, index or
policy. Indexes on usage_events are built CONCURRENTLY so the web app's inserts are never
blocked; steps that need a brief lock the inserts queue behind (ADD COLUMN, CREATE
TRIGGER) wait at most 200 ms for it and are retried, saying on stderr who holds it. Index
builds, backfills and steps run without the role's statement_timeout. Running it twice
changes nothing. Each applied step's SQL checksum is recorded: a build whose SQL for an
applied step differs refuses to run (exit 1) rather than never applying the change.

Every object is created as the owner of usage_events: connected as another role (a
superuser, or a member of the owner's role), migrate runs the steps after SET ROLE to the
owner, and first hands the owner usagectl's objects an earlier run left owned by another
role; any other role is refused before anything runs (exit 1). The owner needs to CREATE
in the table's schema; --roles creates the roles as the connecting role (CREATEROLE).

migrate needs a session of its own: a session-level lock keeps two runs apart and
CREATE INDEX CONCURRENTLY cannot run in a transaction. Through a transaction pooler
(PgBouncer pool_mode=transaction, Supavisor's transaction port) it refuses: connect to
PostgreSQL directly or through a session-mode pool. --allow-pooler skips the check when
the evidence is only a port mapping (Docker, kubectl port-forward).

Examples:
  usagectl migrate --dry-run        # print the SQL that would run, run nothing
  usagectl migrate                  # apply it
  usagectl migrate -o json          # the applied steps as JSON
  usagectl migrate --status         # every migration: applied, pending or changed
  usagectl migrate --target-version 10   # stage an upgrade: steps up to 10 only

",
    crate::exit_codes!()
);

/// Arguments of `usagectl migrate`.
#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Print the SQL that would run, and run nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Also create (idempotently) the usage_reader and usage_writer roles, enable the seed's
    /// RLS policy, and print which command needs which role
    #[arg(long)]
    pub roles: bool,

    /// List every migration with its state (applied, pending, changed after it was
    /// applied) and change nothing; exit 3 when one is pending or changed
    #[arg(long, conflicts_with_all = ["dry_run", "roles"])]
    pub status: bool,

    /// Run even where the connection looks pooled or forwarded (say so only for a port
    /// mapping or a session-mode pool: migrate needs one server session throughout)
    #[arg(long)]
    pub allow_pooler: bool,

    /// Apply the pending steps up to and including this version only (to stage an upgrade;
    /// `migrate --status` lists the versions)
    #[arg(long, value_name = "N", conflicts_with = "status",
          value_parser = clap::value_parser!(i32).range(1..))]
    pub target_version: Option<i32>,
}

/// Run `usagectl migrate`.
pub fn run(
    client: &mut Client,
    params: &crate::db::ConnParams,
    args: &MigrateArgs,
    out: &mut Output,
) -> Result<u8> {
    if !args.dry_run
        && !args.status
        && !args.allow_pooler
        && let Some(why) = crate::db::pooler_evidence(client, params)?
    {
        return Err(crate::error::usage(format!(
            "migrate needs a session of its own, and {why}; connect to PostgreSQL directly or through a session-mode pool (or pass --allow-pooler if this is only a port mapping)"
        )));
    }
    if args.status {
        let report = status(client)?;
        out.render(&report)?;
        return Ok(if report.needs_attention() {
            crate::error::EXIT_FOUND
        } else {
            crate::error::EXIT_OK
        });
    }
    if let Some(t) = args.target_version
        && !STEPS.iter().any(|s| s.version == t)
    {
        return Err(crate::error::usage(format!(
            "--target-version {t}: this usagectl knows versions 1 to {}",
            schema::latest_version()
        )));
    }
    let report = migrate(client, args.dry_run, args.roles, args.target_version)?;
    out.render(&report)?;
    Ok(crate::error::EXIT_OK)
}
