//! The one printer: everything usagectl says on stderr besides its result and its final
//! error goes through here (uv's `Printer`). How much to say (quiet, normal, verbose) and
//! whether to show progress are decided once, in [`crate::run`]; the db layer and the
//! domain return facts, and commands decide which to say.
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::db::report::Event;
use crate::db::{conninfo, waits};
use crate::output::escape_human;

/// How much to say besides the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Only what is about the answer (notes, warnings): no progress, no terminal hints.
    Quiet,
    /// Notes, warnings, and progress on a terminal.
    Normal,
    /// Also how the connection was made and what the db layer is doing (`--verbose`).
    Verbose,
}

/// Where and how much usagectl says on stderr.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    verbosity: Verbosity,
    terminal: bool,
}

static PRINTER: OnceLock<Printer> = OnceLock::new();

/// Decide, once, how much this process says; later calls are ignored. Also routes the db
/// layer's events ([`crate::db::report`]) here.
pub fn init(verbosity: Verbosity) {
    let _ = PRINTER.set(Printer {
        verbosity,
        terminal: std::io::stderr().is_terminal(),
    });
    crate::db::report::observe(|e| get().db_event(e));
}

/// The process's printer (normal verbosity until [`init`]).
pub fn get() -> Printer {
    PRINTER.get().copied().unwrap_or(Printer {
        verbosity: Verbosity::Normal,
        terminal: false,
    })
}

impl Printer {
    /// Whether `--verbose` was given.
    pub fn is_verbose(&self) -> bool {
        self.verbosity == Verbosity::Verbose
    }

    fn write(&self, msg: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{}", escape_human(msg, false));
    }

    /// A note for the person running the command. Control characters in it are escaped;
    /// its line breaks are kept.
    pub fn note(&self, msg: &str) {
        self.write(msg);
    }

    /// Something the person running the command should know about the answer (an unknown
    /// org, a month that has not begun): `usagectl: note: ...`.
    pub fn notice(&self, msg: &str) {
        self.write(&format!("usagectl: note: {msg}"));
    }

    /// A warning: `usagectl: warning: ...`.
    pub fn warn(&self, msg: &str) {
        self.write(&format!("usagectl: warning: {msg}"));
    }

    /// A note only with `--verbose`.
    pub fn verbose(&self, msg: &str) {
        if self.is_verbose() {
            self.write(msg);
        }
    }

    /// A hint only for a person watching a terminal (never in quiet mode): cron mail stays
    /// clean.
    pub fn hint(&self, msg: &str) {
        if self.terminal && self.verbosity != Verbosity::Quiet {
            self.write(msg);
        }
    }

    /// A progress line for a long stream, shown only on a terminal and never when quiet.
    pub fn progress(&self) -> Progress {
        let now = Instant::now();
        Progress {
            enabled: self.terminal && self.verbosity != Verbosity::Quiet,
            start: now,
            last: now,
            shown: false,
        }
    }

    /// Say what the db layer reported, as far as this verbosity wants it.
    pub fn db_event(&self, e: &Event<'_>) {
        match e {
            Event::InsecurePassfile { path } => {
                self.warn(&conninfo::Passfile::insecure_warning(path))
            }
            Event::ServerNotReady {
                host,
                why,
                retry_in,
            } => self.verbose(&format!(
                "usagectl: the server at {host} cannot take connections yet ({why}); trying again in {:.1} s",
                retry_in.as_secs_f64()
            )),
            Event::ReplicaUnreachable { error } => self.note(&format!(
                "usagectl: read replica unreachable ({error}); reading the primary"
            )),
            Event::ReplicaRead { replica, lag } => self.verbose(&format!(
                "usagectl: reading the replica ({replica}), {:.1} s behind",
                lag.as_secs_f64()
            )),
            Event::ReplicaStale { lag, max } => self.note(&format!(
                "usagectl: read replica is {:.1} s behind (more than --max-staleness {} s); reading the primary",
                lag.as_secs_f64(),
                max.as_secs()
            )),
            Event::ReplicaNotReplaying => self.note(
                "usagectl: read replica is paused, not replaying, or not a replica; reading the primary",
            ),
            Event::LockWait {
                what,
                holders,
                attempt,
                spent,
                budget,
                pause,
            } => {
                let of = if budget.is_zero() {
                    String::new()
                } else {
                    format!(
                        ", {:.1} s of --lock-timeout {}",
                        spent.as_secs_f64(),
                        waits::secs(*budget)
                    )
                };
                self.note(&format!(
                    "usagectl: {what}: waiting for a lock {holders}, attempt {attempt}{of}; next try in {} ms",
                    pause.as_millis()
                ))
            }
        }
    }
}

/// A note: [`Printer::note`] of the process's printer.
pub fn note(msg: &str) {
    get().note(msg)
}

/// A notice: [`Printer::notice`] of the process's printer.
pub fn notice(msg: &str) {
    get().notice(msg)
}

/// A warning: [`Printer::warn`] of the process's printer.
pub fn warn(msg: &str) {
    get().warn(msg)
}

/// A progress line on stderr (rows, rows per second), from [`Printer::progress`].
pub struct Progress {
    enabled: bool,
    start: Instant,
    last: Instant,
    shown: bool,
}

impl Progress {
    /// Report `rows` done so far (throttled).
    pub fn tick(&mut self, rows: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        let secs = self.start.elapsed().as_secs_f64().max(0.001);
        eprint!("\r{rows} rows, {:.0} rows/s ", rows as f64 / secs);
        self.shown = true;
    }

    /// End the line.
    pub fn finish(&mut self, rows: u64) {
        if self.shown {
            let secs = self.start.elapsed().as_secs_f64().max(0.001);
            eprintln!(
                "\r{rows} rows, {:.0} rows/s, done in {secs:.1} s",
                rows as f64 / secs
            );
        }
    }
}
