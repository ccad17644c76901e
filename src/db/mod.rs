//! Everything that talks to PostgreSQL: connecting, the schema, and the query module.
pub mod conninfo;
pub mod queries;
pub mod report;
pub mod schema;
pub mod sql;

pub mod waits;

pub use waits::begin;

use anyhow::{Context, Result};
use postgres::Client;

use crate::error;
use crate::tls;
use postgres::error::SqlState;

pub use conninfo::ConnParams;

/// Resolve the connection from the command line and the process environment.
pub fn params(database_url: Option<&str>) -> Result<ConnParams> {
    conninfo::resolve(database_url, &|k| std::env::var(k).ok())
}

/// Open a connection. The session runs in UTC so that day arithmetic and printed times
/// match psql's over the same half-open UTC windows.
///
/// Like libpq: each host in turn (with no host given, the socket directories, then
/// localhost), each with its own port and its own line of the password file. A server that
/// answers it cannot take connections yet (SQLSTATE 57P03: starting up, in recovery, a
/// standby not yet consistent) is tried again with backoff until `connect_timeout` has
/// passed since the first try; with `-v` each wait is said on stderr.
pub fn connect(p: &ConnParams) -> Result<Client> {
    use postgres::config::{SslMode, TargetSessionAttrs};
    use std::time::{Duration, Instant};
    let attrs = match p.target_session_attrs.as_deref() {
        None | Some("any") => vec![TargetSessionAttrs::Any],
        Some("read-write") => vec![TargetSessionAttrs::ReadWrite],
        Some("read-only") => vec![TargetSessionAttrs::ReadOnly],
        // a standby if one answers, else any server
        Some("prefer-standby") => vec![TargetSessionAttrs::ReadOnly, TargetSessionAttrs::Any],
        Some(other) => {
            return Err(crate::error::usage(format!(
                "target_session_attrs \"{other}\" is not supported (use any, read-write, read-only or prefer-standby)"
            )));
        }
    };
    // libpq's allow tries without TLS first, then with it
    let modes: &[SslMode] = match p.sslmode.as_str() {
        "disable" => &[SslMode::Disable],
        "allow" => &[SslMode::Disable, SslMode::Require],
        "prefer" => &[SslMode::Prefer],
        _ => &[SslMode::Require],
    };
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls::client_config(&p.tls)?);
    let mut warned = false;
    let mut passwords = Vec::with_capacity(p.hosts.len());
    for i in 0..p.hosts.len() {
        passwords.push(match p.password_for(i)? {
            conninfo::Passfile::Insecure => {
                if !std::mem::replace(&mut warned, true)
                    && let Some(path) = &p.passfile
                {
                    report::report(report::Event::InsecurePassfile { path });
                }
                None
            }
            found => found.password(),
        });
    }
    let try_every_host = || -> std::result::Result<Client, Vec<(String, postgres::Error)>> {
        let mut failures = Vec::new();
        for attr in &attrs {
            for (i, host) in p.hosts.iter().enumerate() {
                let mut cfg = postgres::Config::new();
                cfg.host(host).port(p.port_for(i));
                if let Some(a) = p.hostaddrs.get(i) {
                    cfg.hostaddr(*a);
                }
                cfg.user(&p.user)
                    .dbname(&p.dbname)
                    .application_name(&p.application_name)
                    .connect_timeout(p.connect_timeout)
                    .target_session_attrs(*attr);
                if let Some(pw) = &passwords[i] {
                    cfg.password(pw);
                }
                if let Some(o) = &p.options {
                    cfg.options(o);
                }
                for mode in modes {
                    cfg.ssl_mode(*mode);
                    match cfg.connect(tls.clone()) {
                        Ok(client) => return Ok(client),
                        Err(e) => failures.push((format!("{host} port {}", p.port_for(i)), e)),
                    }
                }
            }
        }
        Err(failures)
    };
    let not_yet = |e: &postgres::Error| e.code() == Some(&SqlState::CANNOT_CONNECT_NOW);
    let started = Instant::now();
    let deadline = started.checked_add(p.connect_timeout);
    let mut wait = Duration::from_millis(100);
    let failures = loop {
        match try_every_host() {
            // no session state: every transaction sets its own time zone (`waits::begin`)
            Ok(client) => return Ok(client),
            Err(failures) => {
                let Some((host, e)) = failures.iter().find(|(_, e)| not_yet(e)) else {
                    break failures;
                };
                if deadline.is_some_and(|d| Instant::now() + wait > d) {
                    break failures;
                }
                report::report(report::Event::ServerNotReady {
                    host,
                    why: e.as_db_error().map_or("", |d| d.message()),
                    retry_in: wait,
                });
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    };
    Err(connect_error(p, failures, started.elapsed()))
}

/// One error for every host that failed, built around the one that got furthest (the
/// last of a server's answers or TLS failures, else the last failure), listed last, so
/// that [`tls::explain`] and [`advise`] find it in the chain; the others are named first,
/// in the order tried.
fn connect_error(
    p: &ConnParams,
    mut failures: Vec<(String, postgres::Error)>,
    waited: std::time::Duration,
) -> anyhow::Error {
    let furthest = |e: &postgres::Error| -> u8 {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return 2;
            }
            source = s.source();
        }
        u8::from(e.code().is_some()) + 1
    };
    let Some(best) = (0..failures.len()).max_by_key(|&i| furthest(&failures[i].1)) else {
        return anyhow::anyhow!("no server to try");
    };
    let (best_host, best_err) = failures.remove(best);
    let still_starting = best_err.code() == Some(&SqlState::CANNOT_CONNECT_NOW);
    let mut err = anyhow::Error::new(best_err);
    if !failures.is_empty() {
        let others: Vec<String> = failures
            .iter()
            .map(|(h, e)| {
                let mut msg = e.to_string();
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    msg.push_str(&format!(": {s}"));
                    source = s.source();
                }
                format!("{h}: {}", error::one_line(&anyhow::anyhow!(msg)))
            })
            .collect();
        err = err.context(format!("{}; {best_host}", others.join("; ")));
    }
    if still_starting {
        err = err.context(format!(
            "the server still could not take connections after {:.0} s (connect_timeout)",
            waited.as_secs_f64()
        ));
    }
    let mut err = err.context(format!(
        "could not connect to PostgreSQL ({})",
        p.describe()
    ));
    if let Some(why) = tls::explain(&err, p.first_host()) {
        err = err.context(why);
    } else if format!("{err:#}").contains("no encryption") {
        err = err.context(
            "the server accepts only encrypted connections here: use sslmode=require or stronger",
        );
    }
    err
}

/// Connect to the read replica at `read_url` if its data is at most `max_staleness` old;
/// otherwise (or when it cannot be reached) connect with `primary` and say so on stderr.
/// Staleness: none when the replica has replayed all the WAL the primary has written; else
/// the time since the replica's last replayed commit (a paused replica is always stale).
pub fn connect_fresh_replica(
    read_url: &str,
    primary: &dyn Fn() -> Result<Client>,
    max_staleness: std::time::Duration,
) -> Result<Client> {
    use report::{Event, report};
    let params = params(Some(read_url))?;
    let mut replica = match connect(&params) {
        Ok(c) => c,
        Err(e) => {
            report(Event::ReplicaUnreachable {
                error: error::one_line(&e),
            });
            return primary();
        }
    };
    let mut main = primary()?;
    let lag = queries::replica_lag(&mut replica, &mut main)?;
    match lag {
        Some(lag) if lag <= max_staleness => {
            report(Event::ReplicaRead {
                replica: params.describe(),
                lag,
            });
            Ok(replica)
        }
        Some(lag) => {
            report(Event::ReplicaStale {
                lag,
                max: max_staleness,
            });
            Ok(main)
        }
        None => {
            report(Event::ReplicaNotReplaying);
            Ok(main)
        }
    }
}

/// Signs that something between usagectl and PostgreSQL hands the connection's statements
/// to other server sessions (a transaction pooler such as PgBouncer `pool_mode=transaction`,
/// Supavisor or RDS Proxy), or at least forwards it (a port mapping): `None` when the
/// session looks direct. Checked: whether the server listens on the address kind and port
/// usagectl connected to, and whether two statements in a row reach the same backend.
pub fn pooler_evidence(client: &mut Client, p: &ConnParams) -> Result<Option<String>> {
    use sql::Sql;
    let first = client
        .row("SELECT inet_server_port(), pg_backend_pid()", &[])
        .context("asking the server which port and backend answer")?;
    let server_port: Option<i32> = first.get(0);
    let pid: i32 = first.get(1);
    let second: i32 = client
        .row("SELECT pg_backend_pid()", &[])
        .context("asking the server which backend answers")?
        .get(0);
    if second != pid {
        return Ok(Some(format!(
            "two statements in a row ran in different server sessions (backend {pid}, then {second}): a transaction pooler is in between"
        )));
    }
    if p.hosts.len() != 1 || p.ports.len() > 1 {
        return Ok(None);
    }
    let socket = p.hosts[0].starts_with('/') || p.hosts[0].starts_with('@');
    let port = i32::from(p.ports.first().copied().unwrap_or(5432));
    Ok(match (socket, server_port) {
        (true, Some(sp)) => Some(format!(
            "connected over a Unix socket but the server was reached over TCP port {sp}: a pooler or proxy is in between"
        )),
        (false, None) => Some(format!(
            "connected to TCP port {port} but the server was reached over a Unix socket: a pooler or proxy is in between"
        )),
        (false, Some(sp)) if sp != port => Some(format!(
            "connected to port {port} but the server listens on port {sp}: a pooler, proxy or port mapping is in between"
        )),
        _ => None,
    })
}

/// The PL/pgSQL function an error was raised in, from the error's context (its first
/// `PL/pgSQL function NAME(ARGS) line N ...` line: the innermost call).
fn plpgsql_function(context: &str) -> Option<&str> {
    context.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("PL/pgSQL function ")?;
        let end = rest.find(')')?;
        Some(&rest[..=end])
    })
}

/// Add advice for SQLSTATEs a user can act on.
pub fn advise(err: anyhow::Error) -> anyhow::Error {
    let state = err
        .chain()
        .find_map(|c| c.downcast_ref::<postgres::Error>())
        .and_then(|e| e.code().cloned());
    match state {
        Some(s)
            if s == SqlState::UNDEFINED_TABLE
                || s == SqlState::UNDEFINED_COLUMN
                || s == SqlState::UNDEFINED_FUNCTION =>
        {
            err.context("the schema is missing or out of date: run `usagectl migrate` first")
        }
        Some(s) if s == SqlState::INVALID_COLUMN_REFERENCE => {
            let function = err
                .chain()
                .find_map(|c| c.downcast_ref::<postgres::Error>())
                .and_then(|e| e.as_db_error())
                .and_then(|e| e.where_())
                .and_then(plpgsql_function)
                .map(str::to_string);
            err.context(on_conflict_advice(function.as_deref()))
        }
        Some(s) if s == SqlState::INSUFFICIENT_PRIVILEGE => err.context(
            "the connecting role lacks a privilege this command needs (see README, \"Roles\")",
        ),
        Some(s) if s == SqlState::READ_ONLY_SQL_TRANSACTION => {
            err.context("this command writes: connect to the primary, not a read-only replica")
        }
        _ => err,
    }
}

/// What to do about an ON CONFLICT that matches no unique index, raised inside `function`
/// (`name(args)`) or by a statement of the command. `doctor --repair` installs this build's
/// definition of a function the definition files define.
fn on_conflict_advice(function: Option<&str>) -> String {
    let repairable = |f: &str| {
        let name = f.split('(').next().unwrap_or(f);
        schema::defined_functions().contains(&name)
    };
    match function {
        Some(f) if repairable(f) => format!(
            "{f} runs an ON CONFLICT that no unique index matches: the installed {f} is not this build's (`usagectl doctor` names what differs, `usagectl doctor --repair` installs this build's definitions)"
        ),
        Some(f) => format!(
            "{f} runs an ON CONFLICT that no unique index matches: the installed {f} does not match the tables it writes; `usagectl doctor` checks the schema (do not drop it or replay old migrations: nothing here would reinstall it)"
        ),
        None => "an ON CONFLICT of this command matches no unique index (the idempotency index usagectl_events_org_key, or a usagectl table's key): `usagectl doctor` lists missing indexes, `usagectl migrate` builds them".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_is_advised_only_for_a_function_the_definitions_define() {
        let fold = on_conflict_advice(Some("usagectl_fold(interval)"));
        assert!(
            fold.contains("`usagectl doctor --repair` installs this build's definitions")
                && !fold.contains("DROP FUNCTION"),
            "{fold}"
        );
        let add = on_conflict_advice(Some("usagectl_rollup_add(text,date,text,bigint)"));
        assert!(
            !add.contains("DROP FUNCTION") && add.contains("do not drop it"),
            "{add}"
        );
        assert!(on_conflict_advice(None).contains("usagectl migrate"));
    }

    #[test]
    fn the_function_an_error_was_raised_in_is_the_innermost_call() {
        assert_eq!(
            plpgsql_function(
                "PL/pgSQL function usagectl_rollup_add(text,date,text,bigint) line 3 at SQL statement\nPL/pgSQL function usagectl_fold(interval) line 40 at PERFORM"
            ),
            Some("usagectl_rollup_add(text,date,text,bigint)")
        );
        assert_eq!(plpgsql_function("SQL statement \"INSERT ...\""), None);
        assert_eq!(plpgsql_function(""), None);
    }
}
