//! `usagectl archive`: write whole UTC months to verified files and remove their raw
//! rows (the rollup keeps their figures), list what is archived, and put a month back.
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use postgres::Client;
use serde::Serialize;

use crate::archive::{self, ArchiveState, Hashing, Manifest, Records};
use crate::db::queries::{self, ArchiveRecord};
use crate::error::{EXIT_OK, echo, usage};
use crate::output::{Cell, Output, Render, Style};
use crate::period::Month;

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Each whole UTC month before --before that still has rows is written to
DIR/usage_events-YYYY-MM.csv.gz (gzip'd CSV with a header: every column of usage_events
but usagectl_seq, instants in UTC, oldest first) with a manifest beside it
(usage_events-YYYY-MM.manifest.json: rows, per org and event type totals, SHA-256). The
file is read back and compared with the database before any row goes; then the month's
rows identical to the file's are removed in batches of --batch rows, each its own short
transaction (the web app's inserts never wait for them). The rollup keeps the month:
limits, status, export totals, costs, top and Stripe reconcile of it stay exact. Reads
that need its raw rows (events, export --raw, a window edge inside one of its days) exit
5 and name the file.

A month is archived once it ended at least 366 days ago (no `summary --days N` window
starts inside it); --force archives later ones too. Two runs of one month never overlap
(the second says the first is running). Interrupted at any point (kill -9 included), a
month is whole in the table or whole in a verified file; run the same command again to
finish. A row that changed after its file was written stays in the table, and so does
one that arrives for the month later. Idempotency keys are remembered only while their
rows are in the table.

Examples:
  usagectl archive --before 2025-12 --dir /srv/usage-archive
  usagectl archive --list
  usagectl archive --restore 2025-03 --file /srv/usage-archive/usage_events-2025-03.csv.gz

",
    crate::exit_codes!()
);

/// Arguments of `usagectl archive`.
#[derive(Args, Debug)]
pub struct ArchiveArgs {
    /// Archive every whole UTC month before this one (at most the current month)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse,
          required_unless_present_any = ["restore", "list"], conflicts_with_all = ["restore", "list"])]
    pub before: Option<Month>,

    /// Where the archive files go (created if missing)
    #[arg(long, value_name = "DIR", default_value = ".", conflicts_with_all = ["restore", "list"])]
    pub dir: PathBuf,

    /// Archive months that ended less than 366 days ago too: a `summary` whose window
    /// starts inside one of them then exits 5 (it needs that day's raw rows)
    #[arg(long, conflicts_with_all = ["restore", "list"])]
    pub force: bool,

    /// Rows removed per transaction
    #[arg(long, value_name = "N", default_value_t = 5000,
          value_parser = clap::value_parser!(u32).range(100..=100_000))]
    pub batch: u32,

    /// Put an archived month's rows back from its file (a month not archived: nothing to do)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse, requires = "file",
          conflicts_with = "list")]
    pub restore: Option<Month>,

    /// The archive file --restore reads
    #[arg(long, value_name = "FILE", requires = "restore")]
    pub file: Option<PathBuf>,

    /// List the archived months: state, file, rows, who and when
    #[arg(long)]
    pub list: bool,
}

/// What happened to one month.
#[derive(Debug, Serialize)]
pub struct MonthReport {
    /// `YYYY-MM`.
    pub month: String,
    /// archived, already archived, restored, or not archived.
    pub action: &'static str,
    /// The archive file.
    pub file: String,
    /// Rows removed from the table (archive) or put back (restore).
    pub rows: i64,
    /// Their quantity (archive).
    pub quantity: Option<i64>,
    /// Rows of the month left in the table: changed since the file was written, or
    /// arrived after it.
    pub rows_kept: i64,
    /// SHA-256 of the file.
    pub sha256: Option<String>,
}

/// What a run did, month by month.
#[derive(Debug, Serialize)]
pub struct ArchiveReport {
    /// Each month touched.
    pub months: Vec<MonthReport>,
}

impl Render for ArchiveReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "month",
            "action",
            "file",
            "rows",
            "quantity",
            "rows_kept",
            "sha256",
        ]
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.months
            .iter()
            .map(|m| {
                vec![
                    Cell::text(&m.month),
                    Cell::text(m.action),
                    Cell::text(&m.file),
                    Cell::Num(m.rows),
                    m.quantity.map_or(Cell::Empty, Cell::Num),
                    Cell::Num(m.rows_kept),
                    m.sha256.as_deref().map_or(Cell::Empty, Cell::text),
                ]
            })
            .collect()
    }

    fn human(&self, _style: &Style) -> String {
        if self.months.is_empty() {
            return "no month to archive: none before --before has rows\n".to_string();
        }
        let mut s = String::new();
        for m in &self.months {
            s.push_str(&match m.action {
                "archived" => format!(
                    "{}: archived {} row(s) to {}{}\n",
                    m.month,
                    m.rows,
                    m.file,
                    if m.rows_kept > 0 {
                        format!(
                            "; {} row(s) stay in the table (changed after the file was written, or arrived later)",
                            m.rows_kept
                        )
                    } else {
                        String::new()
                    }
                ),
                "already archived" => format!("{}: already archived in {}\n", m.month, m.file),
                "restored" => format!("{}: put {} row(s) back from {}\n", m.month, m.rows, m.file),
                _ => format!(
                    "{}: not archived (its rows are in the table): nothing to restore\n",
                    m.month
                ),
            });
        }
        s
    }
}

/// The archived months, as `--list` shows them.
#[derive(Debug, Serialize)]
pub struct ArchiveList {
    /// Every month ever archived, oldest first.
    pub archives: Vec<ArchiveRecord>,
}

impl Render for ArchiveList {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "month",
            "state",
            "file",
            "rows",
            "quantity",
            "sha256",
            "started_by",
            "started_at",
            "archived_at",
            "restored_at",
        ]
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or(Cell::Empty, Cell::Time);
        self.archives
            .iter()
            .map(|a| {
                vec![
                    Cell::text(&a.month),
                    Cell::text(a.state.as_str()),
                    Cell::text(&a.file),
                    a.events.map_or(Cell::Empty, Cell::Num),
                    a.quantity.map_or(Cell::Empty, Cell::Num),
                    a.sha256.as_deref().map_or(Cell::Empty, Cell::text),
                    Cell::text(&a.started_by),
                    Cell::Time(a.started_at),
                    time(a.archived_at),
                    time(a.restored_at),
                ]
            })
            .collect()
    }

    fn human(&self, style: &Style) -> String {
        if self.archives.is_empty() {
            return "no month has been archived\n".to_string();
        }
        format!("{}\n", self.csv_table(style))
    }
}

/// Run `usagectl archive`.
pub fn run(client: &mut Client, args: &ArchiveArgs, out: &mut Output) -> Result<u8> {
    if args.list {
        out.render(&ArchiveList {
            archives: queries::archive_records(client)?,
        })?;
        return Ok(EXIT_OK);
    }
    if let (Some(month), Some(file)) = (&args.restore, &args.file) {
        let report = restore(client, month, file)?;
        out.render(&ArchiveReport {
            months: vec![report],
        })?;
        return Ok(EXIT_OK);
    }
    let before = args.before.expect("clap requires --before here");
    let now = queries::server_now(client)?;
    let mut months =
        archive::months_before(queries::oldest_event(client)?, before, now).map_err(usage)?;
    // and those archived already (to say so) or left half done by an interrupted run
    // (perhaps with no row left in the table)
    let records = queries::archive_records(client)?;
    for r in records.iter().filter(|r| r.state != ArchiveState::Restored) {
        if let Ok(m) = Month::parse(&r.month)
            && m.start < before.start
            && !months.contains(&m)
        {
            months.push(m);
        }
    }
    months.sort_by_key(|m| m.start);
    if !args.force
        && let Some(recent) = months.iter().find(|m| archive::too_recent(m, now))
    {
        return Err(usage(format!(
            "{} ended less than {} days ago: a `summary` whose window starts inside it would need its raw rows; archive months before {} only, or pass --force",
            recent.label(),
            archive::RAW_DAYS,
            Month::containing(now - chrono::Duration::days(archive::RAW_DAYS)).label()
        )));
    }
    let dir = std::path::absolute(&args.dir)
        .with_context(|| format!("finding {}", args.dir.display()))?;
    let mut reports = Vec::new();
    for month in months {
        let record = queries::archive_record(client, &month)?;
        if let Some(r) = record
            .as_ref()
            .filter(|r| r.state == ArchiveState::Archived)
        {
            reports.push(MonthReport {
                month: month.label(),
                action: "already archived",
                file: r.file.clone(),
                rows: r.events.unwrap_or(0),
                quantity: r.quantity,
                rows_kept: queries::rows_in_month(client, &month)?,
                sha256: r.sha256.clone(),
            });
            continue;
        }
        let resuming = record.as_ref().is_some_and(|r| r.state.rows_out());
        if !resuming && !queries::month_has_rows(client, &month)? {
            continue;
        }
        reports.push(archive_month(client, &month, &dir, args.batch as usize)?);
    }
    out.render(&ArchiveReport { months: reports })?;
    Ok(EXIT_OK)
}

/// Test hook. `USAGECTL_FAILPOINT=archive-<step>` kills this process (SIGKILL, as `kill -9`
/// would) when the archive reaches that step, so the tests can prove each step leaves the
/// month whole; `archive-<step>:wait` waits there for the advisory lock `usagectl
/// failpoint` (a test holds it, changes the table, and lets go: ordered by the lock, not by
/// sleeping). Steps: written, verified, deleting, batch, emptied.
fn failpoint(client: &mut Client, step: &str) -> Result<()> {
    let Ok(point) = std::env::var("USAGECTL_FAILPOINT") else {
        return Ok(());
    };
    let name = format!("archive-{step}");
    if point == name {
        // SAFETY: kill(2) on this process with a valid signal number has no preconditions
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    } else if point == format!("{name}:wait") {
        client.batch_execute(
            "SELECT pg_advisory_lock(hashtext('usagectl failpoint'));
             SELECT pg_advisory_unlock(hashtext('usagectl failpoint'));",
        )?;
    }
    Ok(())
}

fn archive_month(
    client: &mut Client,
    month: &Month,
    dir: &Path,
    batch: usize,
) -> Result<MonthReport> {
    if !queries::lock_archive(client, month)? {
        bail!(
            "another usagectl archive of {} is running: let it finish",
            month.label()
        );
    }
    if !queries::pending_backfill_days(client)?.is_empty() {
        bail!(
            "the rollup's backfill is not finished (run `usagectl migrate`): nothing is archived before the rollup counts every row"
        );
    }
    // every row of the month counted by the rollup first: the archive removes only rows
    // the rollup holds
    if queries::unfolded_rows_in(client, month)? > 0 {
        queries::fold(client, std::time::Duration::from_secs(30))?;
        let left = queries::unfolded_rows_in(client, month)?;
        if left > 0 {
            bail!(
                "{} row(s) of {} are not folded yet (a transaction inserting them is still open?): run again",
                left,
                month.label()
            );
        }
    }
    let file = archive::data_file(dir, month);
    let file_text = file
        .to_str()
        .ok_or_else(|| usage(format!("{} is not UTF-8", file.display())))?
        .to_string();
    let (file, sha256, done) = match queries::start_archive(client, month, &file_text)? {
        // rows already going: finish from the file that was verified
        Some(r) => {
            let columns = queries::archive_columns(client)?;
            if r.columns.as_ref() != Some(&columns) {
                bail!(
                    "usage_events' columns changed since {} was verified ({:?}, now {columns:?}): \
                     its rows cannot be compared with the table's; restore the month \
                     (usagectl archive --restore {} --file {}) and archive it again",
                    r.file,
                    r.columns.unwrap_or_default(),
                    r.month,
                    r.file
                );
            }
            let sha = r.sha256.clone().unwrap_or_default();
            let file = PathBuf::from(&r.file);
            let on_disk = archive::sha256_of(&file)
                .with_context(|| format!("reading {} to finish archiving {}", r.file, r.month))?;
            if on_disk != sha {
                bail!(
                    "{} changed since it was verified (SHA-256 {on_disk}, recorded {sha}): \
                     the rows of {} it held are gone from the table; put the verified file back",
                    r.file,
                    r.month
                );
            }
            (file, sha, r.records_done)
        }
        None => {
            let (file, sha) = write_and_verify(client, month, &file, dir)?;
            (file, sha, 0)
        }
    };
    failpoint(client, "deleting")?;
    let mut reader = BufReader::new(MultiGzDecoder::new(BufReader::new(
        File::open(&file).with_context(|| format!("opening {}", file.display()))?,
    )));
    let columns = header_of(&mut reader, &file)?;
    let mut records = Records::new(reader);
    let mut buf = Vec::new();
    // the records an earlier run's batches processed
    let skip = usize::try_from(done).unwrap_or(0);
    if records
        .read_batch(skip, &mut buf)
        .with_context(|| format!("reading {}", file.display()))?
        < skip
    {
        bail!(
            "{} holds fewer rows than its batches processed",
            file.display()
        );
    }
    loop {
        buf.clear();
        let n = records
            .read_batch(batch, &mut buf)
            .with_context(|| format!("reading {}", file.display()))?;
        if n == 0 {
            break;
        }
        queries::delete_archived_batch(client, month, &columns, &buf, n)?;
        failpoint(client, "batch")?;
    }
    failpoint(client, "emptied")?;
    let (rows, quantity) = queries::finish_archive(client, month)?;
    Ok(MonthReport {
        month: month.label(),
        action: "archived",
        file: file.display().to_string(),
        rows,
        quantity: Some(quantity),
        rows_kept: queries::rows_in_month(client, month)?,
        sha256: Some(sha256),
    })
}

/// The first line of an archive: its columns.
fn header_of(reader: &mut impl std::io::BufRead, file: &Path) -> Result<Vec<String>> {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .with_context(|| format!("reading the header of {}", file.display()))?;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    let header = csv
        .records()
        .next()
        .transpose()
        .with_context(|| format!("reading the header of {}", file.display()))?
        .ok_or_else(|| anyhow::anyhow!("{} is empty", file.display()))?;
    Ok(header.iter().map(str::to_string).collect())
}

/// Write the month to `file` (through `file.partial`, renamed once whole and synced),
/// read it back and compare it with the snapshot it came from, write the manifest, and
/// record the file as verified. Returns the file and its SHA-256.
fn write_and_verify(
    client: &mut Client,
    month: &Month,
    file: &Path,
    dir: &Path,
) -> Result<(PathBuf, String)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let columns = queries::archive_columns(client)?;
    let partial = file.with_extension("gz.partial");
    let (totals, sha256) = {
        let mut tx = queries::read_snapshot(client)?;
        let totals = queries::month_totals(&mut tx, month)?;
        // the rollup must hold the month as its rows do: an archived month cannot be
        // counted afresh from them later
        let (rollup, folded) = queries::rollup_and_raw_of(&mut tx, month, None)?;
        if let Some(d) = archive::differences(&folded, &rollup) {
            bail!(
                "the rollup of {} disagrees with its rows ({d}): run `usagectl doctor --month {} --repair` first",
                month.label(),
                month.label()
            );
        }
        let out =
            File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let mut gz = GzEncoder::new(Hashing::new(out), Compression::default());
        {
            let mut rows = queries::copy_month_out(&mut tx, month, &columns)?;
            std::io::copy(&mut rows, &mut gz)
                .with_context(|| format!("writing {}", partial.display()))?;
        }
        let (out, sha256) = gz
            .finish()
            .with_context(|| format!("writing {}", partial.display()))?
            .finish();
        out.sync_all()
            .with_context(|| format!("syncing {}", partial.display()))?;
        tx.commit()?;
        (totals, sha256)
    };
    failpoint(client, "written")?;
    // read back: the bytes, then every row, against the snapshot's totals
    let on_disk = archive::sha256_of(&partial)
        .with_context(|| format!("reading {} back", partial.display()))?;
    let (header, found) = archive::read_totals(MultiGzDecoder::new(BufReader::new(
        File::open(&partial).with_context(|| format!("opening {}", partial.display()))?,
    )))
    .with_context(|| format!("reading {} back", partial.display()))?;
    let problem = if on_disk != sha256 {
        Some(format!(
            "its SHA-256 is {on_disk}, not the {sha256} written"
        ))
    } else if header != columns {
        Some(format!("its header is {header:?}, not {columns:?}"))
    } else {
        archive::differences(&totals, &found)
    };
    if let Some(problem) = problem {
        let _ = std::fs::remove_file(&partial);
        bail!(
            "{} does not hold {} as the database does ({problem}); nothing was removed",
            partial.display(),
            month.label()
        );
    }
    std::fs::rename(&partial, file)
        .with_context(|| format!("renaming {} to {}", partial.display(), file.display()))?;
    let (events, quantity) = archive::sum(&totals);
    let manifest = Manifest {
        format: archive::FORMAT.to_string(),
        month: month.label(),
        file: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: sha256.clone(),
        columns: columns.clone(),
        events,
        quantity,
        totals: archive::total_rows(&totals),
        written_at: queries::server_now(client)?,
    };
    let manifest_path = archive::manifest_file(dir, month);
    let tmp = manifest_path.with_extension("json.partial");
    {
        let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        serde_json::to_writer_pretty(&mut f, &manifest)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &manifest_path).with_context(|| format!("renaming {}", tmp.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    failpoint(client, "verified")?;
    queries::mark_deleting(client, month, &sha256, &columns)?;
    Ok((file.to_path_buf(), sha256))
}

fn restore(client: &mut Client, month: &Month, file: &Path) -> Result<MonthReport> {
    let record = queries::archive_record(client, month)?;
    let Some(record) = record.filter(|r| r.state.rows_out()) else {
        return Ok(MonthReport {
            month: month.label(),
            action: "not archived",
            file: file.display().to_string(),
            rows: 0,
            quantity: None,
            rows_kept: queries::rows_in_month(client, month)?,
            sha256: None,
        });
    };
    let sha = archive::sha256_of(file).with_context(|| format!("reading {}", file.display()))?;
    if Some(&sha) != record.sha256.as_ref() {
        return Err(usage(format!(
            "{} is not the archive of {} (its SHA-256 is {sha}; the archive's, in {}, is {})",
            echo(&file.display().to_string()),
            month.label(),
            record.file,
            record.sha256.as_deref().unwrap_or("not recorded")
        )));
    }
    if !queries::lock_archive(client, month)? {
        bail!(
            "another usagectl archive of {} is running: let it finish",
            month.label()
        );
    }
    let mut reader = BufReader::new(MultiGzDecoder::new(BufReader::new(File::open(file)?)));
    let columns = header_of(&mut reader, file)?;
    // the records the archive's batches processed (all of them once it finished),
    // streamed a batch at a time
    let mut records = Records::new(reader);
    let mut left = usize::try_from(record.records_done).unwrap_or(0);
    let back = queries::restore_month(client, month, &columns, |sink| {
        let mut buf = Vec::new();
        while left > 0 {
            buf.clear();
            let n = records
                .read_batch(left.min(10_000), &mut buf)
                .with_context(|| format!("reading {}", file.display()))?;
            if n == 0 {
                bail!(
                    "{} holds fewer rows than the archive removed",
                    file.display()
                );
            }
            sink.write_all(&buf)?;
            left -= n;
        }
        Ok(())
    })?;
    Ok(MonthReport {
        month: month.label(),
        action: "restored",
        file: file.display().to_string(),
        rows: i64::try_from(back).unwrap_or(i64::MAX),
        quantity: None,
        rows_kept: queries::rows_in_month(client, month)?,
        sha256: Some(sha),
    })
}
