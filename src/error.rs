//! Error kinds that change the exit code, and the one place errors are printed.
use std::io::Write;
use std::process::ExitCode;

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for a runtime failure: connection, SQL, I/O, bad data rows.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for command-line misuse: a flag or value that cannot be accepted.
pub const EXIT_USAGE: u8 = 2;

/// The exit-code table shown in `--help`, the man pages and the README, as a literal so
/// that each subcommand can `concat!` it after its examples.
#[macro_export]
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0  success
  1  runtime failure (connection, SQL, I/O, bad data rows)
  2  command-line misuse (unknown flag, missing or conflicting flags, a value out of range
     or unparsable, an unknown event type); partition adopt refused what it would break
  3  quota state approaching_limit (status); export --check, doctor or migrate --status
     found something
  4  quota state over_limit (status), or record --enforce refused the event
  5  the command needs raw rows of an archived month (usagectl archive --list)"
    };
}

/// The exit-code table (see [`exit_codes!`]).
pub const EXIT_CODES_HELP: &str = exit_codes!();

/// Command-line misuse found after clap parsed the arguments (exit 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Exit code when the quota state is `approaching_limit`.
pub const EXIT_APPROACHING: u8 = 3;
/// Exit code when the quota state is `over_limit`, or `record --enforce` refused an event.
pub const EXIT_OVER: u8 = 4;
/// Exit code when `export --check` or `doctor` found something to look at.
pub const EXIT_FOUND: u8 = 3;

/// Exit code when a command needs raw rows of an archived month.
pub const EXIT_ARCHIVED: u8 = 5;

/// SQLSTATE the read path raises when a read needs raw rows of an archived month
/// (`usagectl_require_raw()`).
pub const SQLSTATE_ARCHIVED: &str = "UA001";

/// A command needs raw rows of an archived month (exit 5).
#[derive(Debug)]
pub struct Archived(pub String);

impl std::fmt::Display for Archived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Archived {}

/// Whether the error says an archived month's raw rows were needed: [`Archived`], or the
/// server's [`SQLSTATE_ARCHIVED`].
pub fn is_archived(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<Archived>().is_some()
            || cause
                .downcast_ref::<postgres::Error>()
                .and_then(postgres::Error::code)
                .is_some_and(|c| c.code() == SQLSTATE_ARCHIVED)
    })
}

/// `record --enforce` refused an event: it would exceed a limit (exit 4).
#[derive(Debug)]
pub struct QuotaExceeded(pub String);

impl std::fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QuotaExceeded {}

/// Input rows that failed validation: nothing was recorded (exit 1). Printed as a
/// header line and up to [`BadRows::SHOWN`] `LINE: field: problem` lines.
#[derive(Debug)]
pub struct BadRows {
    /// Where the rows came from.
    pub source: String,
    /// Rows with at least one problem.
    pub bad_rows: u64,
    /// The first problems, as `LINE: field: problem`.
    pub shown: Vec<String>,
}

impl BadRows {
    /// How many problems are listed.
    pub const SHOWN: usize = 20;
}

impl std::fmt::Display for BadRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bad row{} in {}; nothing was recorded",
            self.bad_rows,
            if self.bad_rows == 1 { "" } else { "s" },
            self.source
        )
    }
}

impl std::error::Error for BadRows {}

/// How many characters of a value a message echoes before cutting it.
pub const ECHO_CHARS: usize = 100;

/// A value the user gave, as every message that echoes one shows it: in single quotes, with
/// control and bidi characters escaped ([`crate::text::escape_text`]: `'a\u{1b}b'`), and
/// when longer than [`ECHO_CHARS`] characters, cut there with its full length after it:
/// `'aaaa…' (10240 characters)`.
pub fn echo(value: &str) -> String {
    let len = value.chars().count();
    if len <= ECHO_CHARS {
        return format!("'{}'", crate::text::escape_text(value));
    }
    let head: String = value.chars().take(ECHO_CHARS).collect();
    format!("'{}…' ({len} characters)", crate::text::escape_text(&head))
}

/// Build a misuse error (exit 2).
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// True when the error chain ends in a closed pipe (`usagectl ... | head`): that is success.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::BrokenPipe;
        }
        if let Some(json) = cause.downcast_ref::<serde_json::Error>() {
            return json.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe);
        }
        if let Some(csv) = cause.downcast_ref::<csv::Error>()
            && let csv::ErrorKind::Io(io) = csv.kind()
        {
            return io.kind() == std::io::ErrorKind::BrokenPipe;
        }
        false
    })
}

/// The exit code an error maps to.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        EXIT_OK
    } else if err.downcast_ref::<UsageError>().is_some() {
        EXIT_USAGE
    } else if err.downcast_ref::<QuotaExceeded>().is_some() {
        EXIT_OVER
    } else if is_archived(err) {
        EXIT_ARCHIVED
    } else {
        EXIT_FAILURE
    }
}

/// Render an error chain as one line: `{:#}` joins the causes, and the server's
/// multi-line DETAIL / HINT are folded onto the same line. Any control character left (a
/// value echoed by the server or the OS) is escaped as [`echo`] does.
pub fn one_line(err: &anyhow::Error) -> String {
    let text = archived_text(err).unwrap_or_else(|| format!("{err:#}"));
    let line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    crate::text::escape_text(&line).into_owned()
}

/// The server's refusal of a read of an archived month ([`SQLSTATE_ARCHIVED`]) as words for
/// people: what usagectl was doing, the server's message and its hint, without the
/// protocol's `db error: ERROR:` framing.
fn archived_text(err: &anyhow::Error) -> Option<String> {
    let db = err
        .chain()
        .filter_map(|c| c.downcast_ref::<postgres::Error>())
        .find_map(postgres::Error::as_db_error)
        .filter(|db| db.code().code() == SQLSTATE_ARCHIVED)?;
    let doing: Vec<String> = err
        .chain()
        .take_while(|c| c.downcast_ref::<postgres::Error>().is_none())
        .map(|c| c.to_string())
        .collect();
    let mut text = doing;
    text.push(db.message().trim_start_matches("usagectl: ").to_string());
    let text = text.join(": ");
    Some(match db.hint() {
        Some(hint) => format!("{text}; {hint}"),
        None => text,
    })
}

/// Print the error (one line on stderr) and return its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let code = exit_code(err);
    if code != EXIT_OK {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "usagectl: error: {}", one_line(err));
        if let Some(bad) = err.downcast_ref::<BadRows>() {
            for line in &bad.shown {
                let _ = writeln!(stderr, "  {}", crate::text::escape_text(line));
            }
            if bad.shown.len() as u64 >= BadRows::SHOWN as u64 {
                let _ = writeln!(
                    stderr,
                    "  (only the first {} problems are shown)",
                    BadRows::SHOWN
                );
            }
        }
    }
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn usage_errors_exit_2_even_with_context() {
        let err = Err::<(), _>(usage("bad --days"))
            .context("parsing")
            .unwrap_err();
        assert_eq!(exit_code(&err), EXIT_USAGE);
        assert_eq!(one_line(&err), "parsing: bad --days");
    }

    #[test]
    fn broken_pipe_is_success() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe");
        let err = anyhow::Error::new(io).context("writing output");
        assert_eq!(exit_code(&err), EXIT_OK);
        let json = serde_json::Error::io(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(exit_code(&anyhow::Error::new(json)), EXIT_OK);
    }

    #[test]
    fn echoed_values_are_quoted_escaped_and_cut_at_100_characters() {
        assert_eq!(echo("acme"), "'acme'");
        assert_eq!(echo("a\u{1b}[2J\u{202e}b"), "'a\\u{1b}[2J\\u{202e}b'");
        let hundred = "é".repeat(ECHO_CHARS);
        assert_eq!(echo(&hundred), format!("'{hundred}'"));
        let long = format!("{hundred}é");
        assert_eq!(echo(&long), format!("'{hundred}…' (101 characters)"));
        assert_eq!(
            echo(&"a".repeat(10240)),
            format!("'{}…' (10240 characters)", "a".repeat(100))
        );
        // the cut is made before escaping, so an escape is never cut in two
        let controls = "\u{1b}".repeat(150);
        assert_eq!(
            echo(&controls),
            format!("'{}…' (150 characters)", "\\u{1b}".repeat(100))
        );
    }

    #[test]
    fn printed_errors_escape_what_the_server_or_os_echoed() {
        let err =
            anyhow::anyhow!("ERROR: bad \"a\u{1b}[2Jb\"\nDETAIL: \u{202e}x").context("reading");
        assert_eq!(
            one_line(&err),
            "reading: ERROR: bad \"a\\u{1b}[2Jb\"; DETAIL: \\u{202e}x"
        );
    }

    #[test]
    fn multi_line_causes_fold_to_one_line() {
        let err = anyhow::anyhow!("ERROR: boom\nDETAIL: why\nHINT: fix").context("reading");
        assert_eq!(
            one_line(&err),
            "reading: ERROR: boom; DETAIL: why; HINT: fix"
        );
        assert_eq!(exit_code(&err), EXIT_FAILURE);
    }
}
