//! Everything that talks to PostgreSQL: connecting, the schema, and the query module.
pub mod conninfo;
pub mod queries;
pub mod schema;

use anyhow::{Context, Result};
use postgres::error::SqlState;
use postgres::{Client, NoTls};

pub use conninfo::ConnParams;

/// Resolve the connection from the command line and the process environment.
pub fn params(database_url: Option<&str>) -> Result<ConnParams> {
    conninfo::resolve(database_url, &|k| std::env::var(k).ok())
}

/// Open a connection. The session runs in UTC so that day arithmetic and printed times
/// match psql's over the same half-open UTC windows.
pub fn connect(p: &ConnParams) -> Result<Client> {
    let mut cfg = postgres::Config::new();
    for h in &p.hosts {
        cfg.host(h);
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
    match p.target_session_attrs.as_deref() {
        None | Some("any") => {}
        Some("read-write") => {
            cfg.target_session_attrs(postgres::config::TargetSessionAttrs::ReadWrite);
        }
        Some(other) => {
            return Err(crate::error::usage(format!(
                "target_session_attrs \"{other}\" is not supported (use any or read-write)"
            )));
        }
    }
    let ssl = match p.sslmode.as_str() {
        "disable" => postgres::config::SslMode::Disable,
        // Without a TLS connector, allow and prefer fall back to an unencrypted
        // connection exactly as libpq does when the server offers no TLS.
        "allow" | "prefer" => postgres::config::SslMode::Prefer,
        other => {
            return Err(crate::error::usage(format!(
                "sslmode={other} needs TLS, which this build of usagectl does not support yet; use sslmode=disable or prefer"
            )));
        }
    };
    cfg.ssl_mode(ssl);
    let mut client = cfg
        .connect(NoTls)
        .with_context(|| format!("could not connect to PostgreSQL ({})", p.describe()))?;
    client
        .batch_execute("SET TIME ZONE 'UTC'")
        .context("setting the session time zone to UTC")?;
    Ok(client)
}

/// Add advice for SQLSTATEs a user can act on.
pub fn advise(err: anyhow::Error) -> anyhow::Error {
    let state = err
        .chain()
        .find_map(|c| c.downcast_ref::<postgres::Error>())
        .and_then(|e| e.code().cloned());
    match state {
        Some(s) if s == SqlState::UNDEFINED_TABLE || s == SqlState::UNDEFINED_COLUMN => {
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
