//! usagectl: usage metering and quota administration on PostgreSQL.
//!
//! `main` parses the command line with [`cli::parse`] and hands it to [`run`]; errors come
//! back as `anyhow` chains that [`error::report`] prints as one line with an exit code.
#![warn(missing_docs)]

pub mod error;

pub mod alerts;
pub mod archive;

pub mod app;
pub mod cli;
pub mod cmd;
pub mod db;
pub mod events;
pub mod ingest;
pub mod localpg;
pub mod output;
pub mod partition;
pub mod period;
pub mod prices;
pub mod printer;
pub mod quota;
pub mod sink;
pub mod state;
pub mod stripe;
pub mod text;
pub mod time;
pub mod tls;
pub mod webhook;

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Result;

use cli::{Cli, Command};
use output::{Output, Style};

/// Run one parsed command line; the database is opened once here and passed down.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let global = &cli.global;
    let format = global.format.unwrap_or(match &cli.command {
        // a file written with --output is CSV unless -o says otherwise (export: stdout too)
        Command::Export(args) if args.check.is_none() => output::Format::Csv,
        Command::Costs(args) if args.output.is_some() => output::Format::Csv,
        _ => output::Format::Table,
    });
    let style = Style::detect(global.color, format);
    let stdout = std::io::stdout();
    let mut sink = BufWriter::new(stdout.lock());
    let mut out = Output::new(format, style, &mut sink);
    printer::init(if global.verbose {
        printer::Verbosity::Verbose
    } else if cli.command.is_quiet() {
        printer::Verbosity::Quiet
    } else {
        printer::Verbosity::Normal
    });
    let say = printer::get();
    db::waits::configure(db::waits::Waits {
        lock_timeout: global.lock_timeout,
        statement_timeout: global.statement_timeout,
    });
    let primary_url = primary_url(global)?;
    let said_pooler = std::cell::Cell::new(false);
    let connect = || -> Result<postgres::Client> {
        let params = db::params(primary_url.as_deref())?;
        say.verbose(&format!("usagectl: connecting to {}", params.describe()));
        let mut client = db::connect(&params)?;
        if say.is_verbose() && !said_pooler.replace(true) {
            match db::pooler_evidence(&mut client, &params) {
                Ok(Some(why)) => say.verbose(&format!(
                    "usagectl: {why}; usagectl sends only unnamed statements and keeps no state past a transaction, so that works (migrate excepted)"
                )),
                Ok(None) => say.verbose("usagectl: the session looks direct (no pooler seen)"),
                Err(e) => say.verbose(&format!(
                    "usagectl: could not tell whether a pooler is in between: {}",
                    error::one_line(&e)
                )),
            }
        }
        Ok(client)
    };
    // reads may go to a replica that is fresh enough
    let connect_read = || -> Result<postgres::Client> {
        let Some(read_url) = global.read_database_url.as_deref() else {
            return connect();
        };
        db::connect_fresh_replica(
            read_url,
            &connect,
            std::time::Duration::from_secs(global.max_staleness),
        )
    };
    let result = match &cli.command {
        Command::Completions(args) => cmd::completions::run(args, &mut out.raw()).map(|()| 0),
        Command::Demo(args) => cmd::demo::run(args, &mut out).map(|()| 0),
        Command::Migrate(args) => {
            let params = db::params(primary_url.as_deref())?;
            let mut client = connect()?;
            cmd::migrate::run(&mut client, &params, args, &mut out)
        }
        Command::Record(args) if args.file.is_some() => {
            if args.dry_run {
                cmd::record::bulk::run(None, args, &mut out)
            } else {
                let mut client = connect()?;
                cmd::record::bulk::run(Some(&mut client), args, &mut out)
            }
        }
        Command::Record(args) => {
            let event = args.to_event()?;
            let mut client = connect()?;
            cmd::record::run(&mut client, args, &event, &mut out).map(|()| 0)
        }
        Command::Summary(args) => {
            events::validate_org(&args.org)?;
            let mut client = connect_read()?;
            cmd::summary::run(&mut client, args, &mut out).map(|()| 0)
        }
        Command::Limits(args) => {
            events::validate_org(&args.org)?;
            let mut client = connect_read()?;
            cmd::limits::run(&mut client, args, &mut out).map(|()| 0)
        }
        Command::Status(args) => {
            if let Some(org) = &args.org {
                events::validate_org(org)?;
            }
            let mut client = connect_read()?;
            cmd::status::run(&mut client, args, &mut out)
        }
        Command::Events(args) => {
            args.validate()?;
            // --follow waits on the primary's writers: a replica cannot see them
            let mut client = if args.follow {
                connect()?
            } else {
                connect_read()?
            };
            cmd::events::run(&mut client, args, &mut out).map(|()| 0)
        }
        Command::Top(args) => {
            let mut client = connect_read()?;
            cmd::top::run(&mut client, args, &mut out).map(|()| 0)
        }
        Command::Price(args) => {
            let mut client = if matches!(args.command, cmd::costs::PriceCommand::List { .. }) {
                connect_read()?
            } else {
                connect()?
            };
            cmd::costs::run_price(&mut client, args, &mut out).map(|()| 0)
        }
        Command::Costs(args) => {
            let mut client = connect_read()?;
            cmd::costs::run_costs(&mut client, args, &mut out)
        }
        Command::Export(args) => {
            args.validate(format)?;
            let mut client = connect_read()?;
            cmd::export::run(&mut client, args, &mut out)
        }
        Command::Doctor(args) => {
            if let Some(org) = &args.org {
                events::validate_org(org)?;
            }
            let mut client = connect()?;
            cmd::doctor::run(&mut client, args, &mut out)
        }
        Command::Maintain(args) => {
            let mut client = connect()?;
            cmd::maintain::run(&mut client, args, &mut out)
        }
        Command::Archive(args) => {
            let mut client = if args.list {
                connect_read()?
            } else {
                connect()?
            };
            cmd::archive::run(&mut client, args, &mut out)
        }
        Command::Partition(args) => {
            let mut client = if args.reads_only() {
                connect_read()?
            } else {
                connect()?
            };
            cmd::partition::run(&mut client, args, &mut out)
        }
        Command::Tier(args) => {
            cmd::tier::validate(args)?;
            let mut client = connect()?;
            cmd::tier::run(&mut client, args, &mut out).map(|()| 0)
        }
        Command::Org(args) => {
            cmd::org::validate(args)?;
            let mut client = if cmd::org::reads_only(args) {
                connect_read()?
            } else {
                connect()?
            };
            cmd::org::run(&mut client, args, &mut out).map(|()| 0)
        }
        Command::Grant(args) => {
            cmd::grant::validate(args)?;
            let mut client = if cmd::grant::reads_only(args) {
                connect_read()?
            } else {
                connect()?
            };
            cmd::grant::run(&mut client, args, &mut out).map(|()| 0)
        }
        Command::Stripe(args) => {
            cmd::stripe::validate(args)?;
            let mut client = connect()?;
            cmd::stripe::run(&mut client, &connect, args, &mut out)
        }
        Command::Alert(args) => {
            cmd::alert::validate(args)?;
            let mut client = if cmd::alert::reads_only(args) {
                connect_read()?
            } else {
                connect()?
            };
            cmd::alert::run(&mut client, args, &mut out)
        }
    };
    let reads = matches!(
        cli.command,
        Command::Summary(_) | Command::Limits(_) | Command::Status(_) | Command::Export(_)
    );
    let code = result
        .map_err(|e| db::waits::explain(e, if reads { &connect_read } else { &connect }))
        .map_err(db::advise)?;
    sink.flush()?;
    Ok(ExitCode::from(code))
}

/// The primary's connection string: `--database-url` typed on the command line, else
/// `--database-url-file`, else `DATABASE_URL`, else none (libpq's PG* variables).
fn primary_url(global: &cli::GlobalOpts) -> Result<Option<String>> {
    use anyhow::Context;
    if global.database_url_from_cli {
        if let Some(url) = &global.database_url
            && db::conninfo::parse(url).is_ok_and(|o| o.contains_key("password"))
        {
            crate::printer::warn(
                "a password in --database-url shows in the process list; use PGPASSFILE (~/.pgpass), PGPASSWORD, DATABASE_URL or --database-url-file instead",
            );
        }
        return Ok(global.database_url.clone());
    }
    if let Some(path) = &global.database_url_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the connection string from {}", path.display()))?;
        let url = text.trim().to_string();
        if url.is_empty() {
            return Err(error::usage(format!(
                "{} holds no connection string",
                path.display()
            )));
        }
        return Ok(Some(url));
    }
    Ok(global.database_url.clone())
}
