//! The docs' examples are tests: every ```console block of README.md and docs/*.md runs
//! here with trycmd, against the pinned demo (`usagectl demo --month 2026-11`), and fails
//! when the output differs. `[..]` in an expected line and `...` on a line of its own
//! stand for what changes from run to run (times, ids, paths).
//!
//! Each document gets a demo cluster of its own (its writes and roles stay its own) and a
//! working directory of its own: the files its commands write land there, and a fenced
//! block whose info string says `file=NAME` (```csv file=nightly.csv) is written there
//! first, so the file a command reads is the one the reader sees.
//!
//! `cargo test --test docs` runs them all; `TRYCMD=overwrite cargo test --test docs`
//! writes the outputs the commands gave back into the documents (check the diff: the
//! elisions are kept where trycmd can).
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "it/support.rs"]
mod support;

/// The examples run on the table as `migrate` leaves it (see tests/it/support.rs).
pub const PARTITIONED: bool = false;

/// The documents whose console blocks run, relative to the crate.
const DOCS: [&str; 7] = [
    "README.md",
    "docs/support.md",
    "docs/finance.md",
    "docs/operations.md",
    "docs/web-app.md",
    "docs/design.md",
    "docs/benchmarks.md",
];

/// The month the demo is pinned to for the docs.
const DEMO_MONTH: &str = "2026-11";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_usagectl"))
}

/// One fenced block of a Markdown file.
struct Block {
    info: String,
    first_line: usize,
    lines: Vec<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(String, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match &mut open {
            None if ticks >= 3 => {
                open = Some((
                    "`".repeat(ticks),
                    Block {
                        info: line[ticks..].trim().to_string(),
                        first_line: i + 1,
                        lines: Vec::new(),
                    },
                ))
            }
            None => {}
            Some((fence, _)) if line.starts_with(fence.as_str()) => {
                out.push(open.take().unwrap().1);
            }
            Some((_, b)) => b.lines.push(line.to_string()),
        }
    }
    assert!(open.is_none(), "a fenced block is not closed");
    out
}

/// The lines of a console block that run a command (`$ ...`), each checked to run
/// usagectl: trycmd skips, without failing, a command whose program it does not know.
fn commands(doc: &str, b: &Block) -> usize {
    let mut n = 0;
    for line in &b.lines {
        let Some(cmd) = line.strip_prefix("$ ") else {
            continue;
        };
        let program = cmd
            .split_whitespace()
            .find(|w| !w.contains('='))
            .unwrap_or("");
        assert_eq!(
            program, "usagectl",
            "{doc}:{}: a console block runs only usagectl (make other blocks ```sh or ```text): {line}",
            b.first_line
        );
        n += 1;
    }
    n
}

/// A directory under /tmp that the demo server's unprivileged user can reach.
fn workdir(prefix: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("creating a working directory")
        .keep();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Run one document's console blocks; returns (blocks, commands).
fn run_doc(doc: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(root().join(doc)).unwrap();
    let all = blocks(&text);
    for b in &all {
        assert!(
            !b.info.is_empty(),
            "{doc}:{}: a fenced block needs a language (```console runs; ```sh, ```text do not)",
            b.first_line
        );
    }
    let console: Vec<&Block> = all
        .iter()
        .filter(|b| b.info.split(',').next() == Some("console"))
        .collect();
    let n_commands: usize = console.iter().map(|b| commands(doc, b)).sum();
    if console.is_empty() {
        return (0, 0);
    }

    // the document, and the files it shows, in a directory of its own
    let work = workdir("usagectl-docs-");
    let copy = work.join(doc);
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::write(&copy, &text).unwrap();
    let cwd = copy.with_extension("in");
    std::fs::create_dir_all(&cwd).unwrap();
    for b in &all {
        if let Some(name) = b
            .info
            .split_whitespace()
            .find_map(|w| w.strip_prefix("file="))
        {
            std::fs::write(cwd.join(name), b.lines.join("\n") + "\n").unwrap();
        }
    }

    // its own pinned demo cluster, in the place `usagectl demo` picks when TMPDIR is `tmp`
    let tmp = work.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    let uid = unsafe { libc::geteuid() };
    let cluster = tmp.join(format!("usagectl-demo-{uid}"));
    let pg = usagectl::localpg::LocalPg::new(&cluster, 5432, "").unwrap();
    let out = Command::new(bin())
        .args(["demo", "--month", DEMO_MONTH])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "usagectl demo --month {DEMO_MONTH}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    support::spawn_watchdog(&pg, &work);

    let url = pg.conninfo("usagectl_demo");
    let cases = trycmd::TestCases::new();
    cases
        .case(&copy)
        .register_bin("usagectl", bin())
        .env("DATABASE_URL", url)
        .env("TMPDIR", tmp.display().to_string())
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env("COLUMNS", "100")
        .env("HOME", "/nonexistent")
        .timeout(std::time::Duration::from_secs(60));
    cases.run();
    if std::env::var("TRYCMD").as_deref() == Ok("overwrite") {
        std::fs::copy(&copy, root().join(doc)).unwrap();
    }
    let _ = Command::new(bin())
        .args(["demo", "--stop"])
        .env("TMPDIR", &tmp)
        .output();
    let _ = std::fs::remove_dir_all(&work);
    (console.len(), n_commands)
}

#[test]
fn every_console_example_in_the_docs_runs_and_prints_what_it_shows() {
    let results: Vec<(&str, (usize, usize))> = std::thread::scope(|s| {
        let handles: Vec<_> = DOCS
            .iter()
            .map(|doc| (*doc, s.spawn(move || run_doc(doc))))
            .collect();
        handles
            .into_iter()
            .map(|(doc, h)| (doc, h.join().unwrap_or_else(|_| panic!("{doc} failed"))))
            .collect()
    });
    let (mut blocks, mut commands) = (0, 0);
    for (doc, (b, c)) in &results {
        eprintln!("{doc}: {b} console blocks, {c} commands");
        blocks += b;
        commands += c;
    }
    eprintln!("in all: {blocks} console blocks, {commands} commands");
    for doc in [
        "README.md",
        "docs/support.md",
        "docs/finance.md",
        "docs/operations.md",
    ] {
        let (_, (b, _)) = results.iter().find(|(d, _)| *d == doc).unwrap();
        assert!(*b > 0, "{doc} has no console example");
    }
}

/// README.md is the entrance: short, with a contents list linking every guide.
#[test]
fn the_readme_is_short_and_links_every_guide() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 330,
        "README.md has {lines} lines; keep it to about 300"
    );
    for guide in DOCS.iter().filter(|d| d.starts_with("docs/")) {
        assert!(
            readme.contains(&format!("({guide})")),
            "README.md does not link {guide}"
        );
        let text = std::fs::read_to_string(root().join(guide)).unwrap();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        assert!(first.starts_with("# "), "{guide} starts with its title");
    }
}

/// User docs name no commit and no issue: history is CHANGELOG.md's and git's.
#[test]
fn the_docs_name_no_commit_hash_and_no_issue_number() {
    let mut problems = Vec::new();
    for doc in DOCS {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        for (i, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            // a word of 7 to 12 hex digits, with a digit and a letter: a commit hash
            for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
                let hex = word
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
                if hex
                    && (7..=12).contains(&word.len())
                    && word.chars().any(|c| c.is_ascii_digit())
                    && word.chars().any(|c| c.is_ascii_alphabetic())
                {
                    problems.push(format!("{doc}:{}: {word}", i + 1));
                }
            }
            for pat in ["issue ", "issues ", "#"] {
                let mut rest = lower.as_str();
                while let Some(at) = rest.find(pat) {
                    let after = &rest[at + pat.len()..];
                    if after.starts_with(|c: char| c.is_ascii_digit()) {
                        problems.push(format!("{doc}:{}: {}", i + 1, line.trim()));
                    }
                    rest = after;
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
