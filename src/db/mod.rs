//! Everything that talks to PostgreSQL: connecting, the schema, and the query module.
pub mod conninfo;
pub mod queries;
pub mod schema;
pub mod sql;
pub mod tls;
pub mod waits;

pub use waits::begin;

use anyhow::{Context, Result};
use postgres::Client;

use crate::error;
use postgres::error::SqlState;

pub use conninfo::ConnParams;

/// Resolve the connection from the command line and the process environment.
pub fn params(database_url: Option<&str>) -> Result<ConnParams> {
    conninfo::resolve(database_url, &|k| std::env::var(k).ok())
}

/// Open a connection. The session runs in UTC so that day arithmetic and printed times
/// match psql's over the same half-open UTC windows.
pub fn connect(p: &ConnParams) -> Result<Client> {
    use postgres::config::{SslMode, TargetSessionAttrs};
    let mut cfg = postgres::Config::new();
    for h in &p.hosts {
        cfg.host(h);
    }
    for a in &p.hostaddrs {
        cfg.hostaddr(*a);
    }
    for port in &p.ports {
        cfg.port(*port);
    }
    cfg.user(&p.user)
        .dbname(&p.dbname)
        .application_name(&p.application_name)
        .connect_timeout(p.connect_timeout);
    if let Some(pw) = &p.password {
        cfg.password(pw);
    }
    if let Some(o) = &p.options {
        cfg.options(o);
    }
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
    let mut last_err = None;
    for attr in &attrs {
        for mode in modes {
            cfg.target_session_attrs(*attr).ssl_mode(*mode);
            match cfg.connect(tls.clone()) {
                Ok(mut client) => {
                    client
                        .batch_execute("SET TIME ZONE 'UTC'")
                        .context("setting the session time zone to UTC")?;
                    return Ok(client);
                }
                Err(e) => last_err = Some(e),
            }
        }
    }
    let err = last_err.map_or_else(|| anyhow::anyhow!("no server to try"), anyhow::Error::new);
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
    Err(err)
}

/// Connect to the read replica at `read_url` if its data is at most `max_staleness` old;
/// otherwise (or when it cannot be reached) connect with `primary` and say so on stderr.
/// Staleness: none when the replica has replayed all the WAL the primary has written; else
/// the time since the replica's last replayed commit (a paused replica is always stale).
pub fn connect_fresh_replica(
    read_url: &str,
    primary: &dyn Fn() -> Result<Client>,
    max_staleness: std::time::Duration,
    verbose: bool,
) -> Result<Client> {
    let say = |msg: &str| crate::output::note(&format!("usagectl: {msg}"));
    let params = params(Some(read_url))?;
    let mut replica = match connect(&params) {
        Ok(c) => c,
        Err(e) => {
            say(&format!(
                "read replica unreachable ({}); reading the primary",
                error::one_line(&e)
            ));
            return primary();
        }
    };
    let mut main = primary()?;
    let lag = queries::replica_lag(&mut replica, &mut main)?;
    match lag {
        Some(lag) if lag <= max_staleness => {
            if verbose {
                say(&format!(
                    "reading the replica ({}), {:.1} s behind",
                    params.describe(),
                    lag.as_secs_f64()
                ));
            }
            Ok(replica)
        }
        Some(lag) => {
            say(&format!(
                "read replica is {:.1} s behind (more than --max-staleness {} s); reading the primary",
                lag.as_secs_f64(),
                max_staleness.as_secs()
            ));
            Ok(main)
        }
        None => {
            say("read replica is paused, not replaying, or not a replica; reading the primary");
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
            "usagectl connected over a Unix socket but the server was reached over TCP port {sp}: a pooler or proxy is in between"
        )),
        (false, None) => Some(format!(
            "usagectl connected to TCP port {port} but the server was reached over a Unix socket: a pooler or proxy is in between"
        )),
        (false, Some(sp)) if sp != port => Some(format!(
            "usagectl connected to port {port} but the server listens on port {sp}: a pooler, proxy or port mapping is in between"
        )),
        _ => None,
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
        Some(s) if s == SqlState::INVALID_COLUMN_REFERENCE => err.context(
            "the idempotency index is missing: run `usagectl migrate` (it builds it CONCURRENTLY)",
        ),
        Some(s) if s == SqlState::INSUFFICIENT_PRIVILEGE => err.context(
            "the connecting role lacks a privilege this command needs (see README, \"Roles\")",
        ),
        Some(s) if s == SqlState::READ_ONLY_SQL_TRANSACTION => {
            err.context("this command writes: connect to the primary, not a read-only replica")
        }
        _ => err,
    }
}
