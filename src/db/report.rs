//! What the db layer has to tell while it works (a wait, a retry, a fallback), as facts:
//! the caller registers one observer ([`observe`]) and decides what, if anything, to say.
//! Nothing in `db` prints.
use std::sync::OnceLock;
use std::time::Duration;

/// One thing the db layer did or found that a person may want to know.
#[derive(Debug)]
pub enum Event<'a> {
    /// The password file is readable by others, so it was not used.
    InsecurePassfile {
        /// Its path.
        path: &'a std::path::Path,
    },
    /// A server answered that it cannot take connections yet (starting, recovering).
    ServerNotReady {
        /// The host that answered.
        host: &'a str,
        /// The server's words.
        why: &'a str,
        /// When the next attempt is.
        retry_in: Duration,
    },
    /// The read replica could not be reached; the primary is read.
    ReplicaUnreachable {
        /// The connection error, one line.
        error: String,
    },
    /// The read replica is fresh enough and is read.
    ReplicaRead {
        /// Where it is (no password).
        replica: String,
        /// How far behind the primary it is.
        lag: Duration,
    },
    /// The read replica is further behind than allowed; the primary is read.
    ReplicaStale {
        /// How far behind.
        lag: Duration,
        /// The bound (`--max-staleness`).
        max: Duration,
    },
    /// The read replica replays nothing (paused, or not a replica); the primary is read.
    ReplicaNotReplaying,
    /// A lock was busy past the per-try bound; the statement runs again after a pause.
    LockWait {
        /// What was being done.
        what: &'a str,
        /// Who holds the lock, described.
        holders: String,
        /// The attempt that timed out (1 for the first).
        attempt: u32,
        /// Time spent so far.
        spent: Duration,
        /// `--lock-timeout` (zero: no bound).
        budget: Duration,
        /// The pause before the next try.
        pause: Duration,
    },
}

static OBSERVER: OnceLock<fn(&Event<'_>)> = OnceLock::new();

/// Send the db layer's events to `f` from now on (once per process; later calls are
/// ignored). Without an observer the events are dropped.
pub fn observe(f: fn(&Event<'_>)) {
    let _ = OBSERVER.set(f);
}

/// Hand `e` to the observer, if there is one.
pub(crate) fn report(e: Event<'_>) {
    if let Some(f) = OBSERVER.get() {
        f(&e);
    }
}
