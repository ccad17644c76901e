//! Bounded waits: every transaction usagectl opens sets its own `lock_timeout`,
//! `statement_timeout` and `client_connection_check_interval` with `SET LOCAL`, so nothing
//! outlives the transaction (safe behind a transaction pooler) and nothing waits forever.
//! A command that gives up on a lock says who holds it.
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result};
use postgres::error::SqlState;
use postgres::{GenericClient, Transaction};

use super::sql::Sql;

/// How long usagectl's own statements may wait; zero means no bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waits {
    /// Longest wait for one lock (`--lock-timeout`).
    pub lock_timeout: Duration,
    /// Longest run of one statement (`--statement-timeout`); `None` leaves the server's
    /// setting (the role's or database's) in force.
    pub statement_timeout: Option<Duration>,
}

impl Default for Waits {
    fn default() -> Self {
        Waits {
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            statement_timeout: None,
        }
    }
}

/// `--lock-timeout`'s default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the server checks that usagectl is still connected while a statement runs,
/// so a killed usagectl's statement stops within seconds (PostgreSQL 14 and later).
pub const CONNECTION_CHECK_INTERVAL_MS: u64 = 2000;

static WAITS: OnceLock<Waits> = OnceLock::new();

/// Bounds for steps that must run long (index builds, backfills, repairs): no statement
/// timeout, whatever the role's, and lock waits of at most `lock` each (they are retried).
pub fn long_running(lock: Duration) -> Waits {
    let user = current().lock_timeout;
    Waits {
        lock_timeout: if user.is_zero() { lock } else { user.min(lock) },
        statement_timeout: Some(Duration::ZERO),
    }
}

/// Set the process's bounds once, from the command line (before connecting).
pub fn configure(w: Waits) {
    let _ = WAITS.set(w);
}

/// The process's bounds.
pub fn current() -> Waits {
    WAITS.get().copied().unwrap_or_default()
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// The `SET LOCAL`s every transaction starts with: literals of numbers usagectl computed,
/// never input. `client_connection_check_interval` is set only where the server has it
/// (PostgreSQL 14 on), asked of `current_setting(.., true)`: a scan of `pg_settings` cost
/// a new session about 0.8 ms more.
pub fn local_settings(w: Waits) -> String {
    let statement = w
        .statement_timeout
        .map(|t| format!("SET LOCAL statement_timeout = {}", ms(t)))
        .unwrap_or_default();
    // statement_timeout last: it bounds the statements after it, not these
    format!(
        "SET LOCAL lock_timeout = {}; SET LOCAL TimeZone = 'UTC'; \
         SELECT set_config('client_connection_check_interval', '{CONNECTION_CHECK_INTERVAL_MS}', true) \
          WHERE current_setting('client_connection_check_interval', true) IS NOT NULL; {statement}",
        ms(w.lock_timeout),
    )
}

/// Begin a transaction (a savepoint inside one) under the process's bounds.
pub fn begin<C: GenericClient>(db: &mut C) -> Result<Transaction<'_>> {
    begin_with(db, current(), "")
}

/// Begin a read-only REPEATABLE READ transaction under the process's bounds: every
/// figure read in it comes from one snapshot.
pub fn begin_snapshot<C: GenericClient>(db: &mut C) -> Result<Transaction<'_>> {
    begin_with(
        db,
        current(),
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; ",
    )
}

/// Begin a transaction under the given bounds (steps that must run long pass their own),
/// running `first` (a `SET TRANSACTION`, or nothing) before anything else.
pub fn begin_with<'a, C: GenericClient>(
    db: &'a mut C,
    w: Waits,
    first: &str,
) -> Result<Transaction<'a>> {
    let mut tx = db.transaction().context("starting a transaction")?;
    tx.batch_execute(&format!("{first}{}", local_settings(w)))
        .context("setting the transaction's lock and statement timeouts")?;
    Ok(tx)
}

/// A session that holds a lock usagectl may wait for.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    /// Its backend pid.
    pub pid: i32,
    /// Its application_name (or user name when it set none).
    pub application: String,
    /// The lock mode, e.g. `AccessExclusiveLock`.
    pub mode: String,
    /// The table or index it holds it on.
    pub relation: String,
    /// Seconds since its transaction began.
    pub seconds: f64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} ({}, {} on {}, for {:.0} s)",
            self.pid,
            crate::text::escape_text(&self.application),
            self.mode,
            self.relation,
            self.seconds
        )
    }
}

/// Lock modes that block reads or writes (what a command waits behind), strongest first.
const BLOCKING_MODES: [&str; 4] = [
    "AccessExclusiveLock",
    "ExclusiveLock",
    "ShareRowExclusiveLock",
    "ShareLock",
];

/// Sessions other than this one holding a lock on usage_events or one of the tool's
/// tables, strongest lock first. When some hold a lock that blocks reads or writes, only
/// those: they are what a command waits behind; otherwise every holder (a long reader is
/// what ADD COLUMN and CREATE TRIGGER wait behind).
pub fn holders(db: &mut impl GenericClient) -> Result<Vec<Holder>> {
    let rows = db
        .rows(
            "SELECT l.pid, coalesce(nullif(a.application_name, ''), a.usename::text, '?'),
                    l.mode, l.relation::regclass::text,
                    coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid()
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND (l.relation = to_regclass('usage_events')
                     OR l.relation::regclass::text LIKE 'usagectl\\_%')
              ORDER BY array_position($1::text[], l.mode::text) NULLS LAST, 5 DESC, 1",
            &[&BLOCKING_MODES.as_slice()],
        )
        .context("asking the server who holds the lock")?;
    let all: Vec<Holder> = rows
        .iter()
        .map(|r| Holder {
            pid: r.get(0),
            application: r.get(1),
            mode: r.get(2),
            relation: r.get(3),
            seconds: r.get(4),
        })
        .collect();
    let blocking: Vec<Holder> = all
        .iter()
        .filter(|h| BLOCKING_MODES.contains(&h.mode.as_str()))
        .cloned()
        .collect();
    let mut chosen = if blocking.is_empty() { all } else { blocking };
    // one line per session: its strongest lock
    let mut seen = std::collections::BTreeSet::new();
    chosen.retain(|h| seen.insert(h.pid));
    chosen.truncate(3);
    Ok(chosen)
}

/// `held by pid 1 (...), pid 2 (...)`, or why nobody is named.
fn describe_holders(db: Result<Vec<Holder>>) -> String {
    match db {
        Ok(hs) if hs.is_empty() => {
            "whose holder has ended (or holds a row lock, not a table lock)".to_string()
        }
        Ok(hs) => {
            let list: Vec<String> = hs.iter().map(|h| h.to_string()).collect();
            format!("held by {}", list.join(", "))
        }
        Err(e) => format!(
            "(could not ask who holds it: {})",
            crate::error::one_line(&e)
        ),
    }
}

/// The pause after the `n`th lock timeout: growing, at most 2 s, so the web app's inserts
/// that queued behind the attempt drain before the next one.
pub fn pause_after(n: u32) -> Duration {
    Duration::from_millis((250 * u64::from(n)).min(2000))
}

/// Run `attempt` until it succeeds, trying again after each lock timeout for as long as
/// `--lock-timeout` allows in all (0: without end), and say on stderr each time what it
/// waits for: `migration 4: waiting for a lock held by pid 812 (psql, AccessShareLock on
/// usage_events, for 6 s), attempt 3, 1.9 s of --lock-timeout 30 s; next try in 750 ms`.
pub fn retrying<T>(
    client: &mut postgres::Client,
    what: &str,
    mut attempt: impl FnMut(&mut postgres::Client) -> Result<T>,
) -> Result<T> {
    let budget = current().lock_timeout;
    let started = std::time::Instant::now();
    let mut n = 1;
    loop {
        match attempt(client) {
            Ok(v) => return Ok(v),
            Err(e) if is_lock_timeout(&e) => {
                let pause = pause_after(n);
                let spent = started.elapsed();
                if !budget.is_zero() && spent + pause >= budget {
                    // say why it stops short of the budget: the next try would end past it
                    return Err(e.context(format!(
                        "{what}: gave up after {n} attempt{} in {:.1} s (another, {} later, would end past --lock-timeout {})",
                        if n == 1 { "" } else { "s" },
                        spent.as_secs_f64(),
                        secs(pause),
                        secs(budget)
                    )));
                }
                super::report::report(super::report::Event::LockWait {
                    what,
                    holders: describe_holders(holders(client)),
                    attempt: n,
                    spent,
                    budget,
                    pause,
                });
                std::thread::sleep(pause);
                n += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The longest a step that takes a lock inserts queue behind (ADD COLUMN, CREATE
/// TRIGGER, a repair batch) waits for it per attempt: short enough that the web app's
/// inserts never stall for a whole second.
pub const SHORT_LOCK: Duration = Duration::from_millis(200);

/// The SQLSTATE at the bottom of an error chain, if the server sent one.
pub fn sqlstate(err: &anyhow::Error) -> Option<SqlState> {
    err.chain()
        .find_map(|c| c.downcast_ref::<postgres::Error>())
        .and_then(|e| e.code().cloned())
}

/// Whether a cancelled statement was cancelled by statement_timeout (57014 is also a
/// user's cancel request, which needs no advice). Best effort: it reads the server's
/// message, so with a translated `lc_messages` the advice is left out, never wrong.
fn is_statement_timeout(err: &anyhow::Error) -> bool {
    err.chain()
        .find_map(|c| c.downcast_ref::<postgres::Error>())
        .and_then(|e| e.as_db_error())
        .is_some_and(|db| db.message().contains("statement timeout"))
}

/// Whether the error is a lock_timeout.
pub fn is_lock_timeout(err: &anyhow::Error) -> bool {
    sqlstate(err) == Some(SqlState::LOCK_NOT_AVAILABLE)
}

/// A duration as `--lock-timeout` shows it: whole seconds, or milliseconds.
pub fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Name the blockers of a lock wait that gave up, or of a statement that ran too long;
/// `connect` opens a fresh connection to ask (the failed one may be unusable).
pub fn explain(
    err: anyhow::Error,
    connect: &dyn Fn() -> Result<postgres::Client>,
) -> anyhow::Error {
    let w = current();
    match sqlstate(&err) {
        Some(s) if s == SqlState::LOCK_NOT_AVAILABLE => {
            let who = describe_holders(connect().and_then(|mut c| holders(&mut c)));
            // with --lock-timeout 0 only a short attempt of migrate's or a repair's gives up
            let waited = if w.lock_timeout.is_zero() {
                format!("one attempt of {}", secs(SHORT_LOCK))
            } else {
                format!("--lock-timeout {}", secs(w.lock_timeout))
            };
            err.context(format!(
                "gave up waiting for a lock after {waited}, {who}; retry when it is released, or raise --lock-timeout (0 waits forever)"
            ))
        }
        Some(s) if s == SqlState::QUERY_CANCELED && is_statement_timeout(&err) => {
            let bound = match w.statement_timeout {
                Some(t) if !t.is_zero() => format!("--statement-timeout {}", secs(t)),
                _ => {
                    "the server's statement_timeout (the role's or database's setting)".to_string()
                }
            };
            err.context(format!(
                "a statement was cancelled: it ran longer than {bound}; raise it (0 = no limit) or retry when the server is less busy"
            ))
        }
        _ => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_local_and_numeric() {
        let sql = local_settings(Waits {
            lock_timeout: Duration::from_millis(1500),
            statement_timeout: Some(Duration::ZERO),
        });
        assert!(sql.contains("SET LOCAL lock_timeout = 1500;"), "{sql}");
        assert!(sql.ends_with("SET LOCAL statement_timeout = 0"), "{sql}");
        assert!(!sql.contains("SET lock_timeout"), "{sql}");
        // unset: the role's statement_timeout stays in force
        let sql = local_settings(Waits::default());
        assert!(!sql.contains("statement_timeout"), "{sql}");
    }
}
