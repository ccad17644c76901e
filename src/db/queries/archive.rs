//! Archived months (`usagectl archive`): the record of each, a month's rows out to a file
//! and back, and the batches that remove the rows a verified file holds.
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use postgres::GenericClient;
use serde::Serialize;

use super::catalog::quote_ident;
use crate::archive::{ArchiveState, Totals};
use crate::db::sql::{CopyOut, Sql};
use crate::period::Month;

/// One month's archive record.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveRecord {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// Where it stands.
    pub state: ArchiveState,
    /// The archive file (as written: an absolute path).
    pub file: String,
    /// SHA-256 of the file, once verified.
    pub sha256: Option<String>,
    /// Rows removed from the table (the file may hold more: rows that changed after it was
    /// written stay in the table).
    #[serde(rename = "rows")]
    pub events: Option<i64>,
    /// Their quantity.
    pub quantity: Option<i64>,
    /// The file's columns, once verified.
    pub columns: Option<Vec<String>>,
    /// The file's records the batches have processed.
    pub records_done: i64,
    /// Who started it.
    pub started_by: String,
    /// When.
    #[serde(serialize_with = "crate::time::ser")]
    pub started_at: DateTime<Utc>,
    /// When the rows were gone.
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub archived_at: Option<DateTime<Utc>>,
    /// Who restored it.
    pub restored_by: Option<String>,
    /// When.
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub restored_at: Option<DateTime<Utc>>,
}

const RECORD: &str =
    "SELECT to_char(month, 'YYYY-MM'), state, file, sha256, events, quantity, started_by,
            started_at, archived_at, restored_by, restored_at, columns, records_done
       FROM usagectl_archives";

fn record(r: &postgres::Row) -> ArchiveRecord {
    ArchiveRecord {
        month: r.get(0),
        state: r.get(1),
        file: r.get(2),
        sha256: r.get(3),
        events: r.get(4),
        quantity: r.get(5),
        started_by: r.get(6),
        started_at: r.get(7),
        archived_at: r.get(8),
        restored_by: r.get(9),
        restored_at: r.get(10),
        columns: r.get(11),
        records_done: r.get(12),
    }
}

/// What every statement that writes or reads an archive's CSV sets first: instants in UTC
/// and ISO dates whatever the role's or database's settings, so a file reads back (and
/// restores) as it was written.
const CSV_SETTINGS: &str = "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD';
     SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3;";

/// Hold the archive of `month` for this session (both `archive` and `--restore` take it):
/// false when another session holds it.
pub fn lock_archive(db: &mut impl GenericClient, month: &Month) -> Result<bool> {
    let (y, m) = month.year_month();
    Ok(db
        .row(
            "SELECT pg_try_advisory_lock(hashtext('usagectl archive'), $1)",
            &[&(y * 100 + m)],
        )
        .context("taking the archive's lock")?
        .get(0))
}

fn first_day(month: &Month) -> NaiveDate {
    month.start.date_naive()
}

/// The record of `month`, if it was ever archived.
pub fn archive_record(db: &mut impl GenericClient, month: &Month) -> Result<Option<ArchiveRecord>> {
    Ok(db
        .opt_row(&format!("{RECORD} WHERE month = $1"), &[&first_day(month)])
        .with_context(|| format!("reading the archive record of {}", month.label()))?
        .as_ref()
        .map(record))
}

/// Every month's record, oldest first.
pub fn archive_records(db: &mut impl GenericClient) -> Result<Vec<ArchiveRecord>> {
    Ok(db
        .rows(&format!("{RECORD} ORDER BY month"), &[])
        .context("reading the archive records")?
        .iter()
        .map(record)
        .collect())
}

/// The months of `[from, to)` whose rows are (partly) in archive files, with the files
/// (none where this build's definitions are not installed yet: nothing was archived).
pub fn archived_in(
    db: &mut impl GenericClient,
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String)>> {
    let installed: bool = db
        .row(
            "SELECT to_regprocedure('usagectl_archived_in(timestamptz, timestamptz)') IS NOT NULL",
            &[],
        )?
        .get(0);
    if !installed {
        return Ok(Vec::new());
    }
    Ok(db
        .rows(
            "SELECT to_char(month, 'YYYY-MM'), file FROM usagectl_archived_in($1, $2)",
            &[&from, &to],
        )
        .context("looking for archived months")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// The oldest event's instant (the created_at index's first entry).
pub fn oldest_event(db: &mut impl GenericClient) -> Result<Option<DateTime<Utc>>> {
    Ok(db
        .row("SELECT min(created_at) FROM usage_events", &[])
        .context("looking for the oldest event")?
        .get(0))
}

/// Whether any row of `month` is in the table.
pub fn month_has_rows(db: &mut impl GenericClient, month: &Month) -> Result<bool> {
    Ok(db
        .row(
            "SELECT EXISTS (SELECT 1 FROM usage_events WHERE created_at >= $1 AND created_at < $2)",
            &[&month.start, &month.end],
        )
        .with_context(|| format!("looking for rows of {}", month.label()))?
        .get(0))
}

/// Rows of `month` the fold has not reached (through the sequence index: few).
pub fn unfolded_rows_in(db: &mut impl GenericClient, month: &Month) -> Result<i64> {
    Ok(db
        .row(
            "SELECT count(*) FROM usage_events
              WHERE usagectl_seq > (SELECT watermark FROM usagectl_fold_state)
                AND created_at >= $1 AND created_at < $2",
            &[&month.start, &month.end],
        )
        .context("counting the month's rows the fold has not reached")?
        .get(0))
}

/// The columns an archive holds: every column of usage_events but usagectl_seq (the
/// fold's numbering, meaningless outside this database), in table order.
pub fn archive_columns(db: &mut impl GenericClient) -> Result<Vec<String>> {
    Ok(db
        .rows(
            "SELECT attname::text FROM pg_attribute
              WHERE attrelid = 'usage_events'::regclass AND attnum > 0 AND NOT attisdropped
                AND attname <> 'usagectl_seq'
              ORDER BY attnum",
            &[],
        )
        .context("reading usage_events' columns")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Start (or start again) the archive of `month` into `file`: state writing. A month
/// already archived, or with rows being removed, is left as it is; returns its record then.
pub fn start_archive(
    db: &mut impl GenericClient,
    month: &Month,
    file: &str,
) -> Result<Option<ArchiveRecord>> {
    let mut tx = crate::db::begin(db)?;
    let existing = tx
        .opt_row(
            &format!("{RECORD} WHERE month = $1 FOR UPDATE"),
            &[&first_day(month)],
        )?
        .as_ref()
        .map(record);
    if let Some(r) = existing.as_ref().filter(|r| r.state.rows_out()) {
        tx.commit()?;
        return Ok(Some(r.clone()));
    }
    tx.exec(
        "INSERT INTO usagectl_archives (month, state, file) VALUES ($1, 'writing', $2)
         ON CONFLICT (month) DO UPDATE
            SET state = 'writing', file = EXCLUDED.file, sha256 = NULL, events = NULL,
                quantity = NULL, columns = NULL, records_done = 0, started_by = current_user,
                started_at = now(), archived_at = NULL, restored_by = NULL, restored_at = NULL",
        &[&first_day(month), &file],
    )
    .with_context(|| format!("recording the archive of {}", month.label()))?;
    tx.batch_execute(&format!(
        "DELETE FROM usagectl_archive_totals WHERE month = '{0}';
         DELETE FROM usagectl_archive_kept WHERE month = '{0}';",
        first_day(month)
    ))?;
    tx.commit()?;
    Ok(None)
}

/// The month's events and quantity per org and type, in `tx`'s snapshot.
pub fn month_totals(db: &mut impl GenericClient, month: &Month) -> Result<Totals> {
    Ok(db
        .rows(
            "SELECT org_id, event_type, count(*), coalesce(sum(quantity), 0)::bigint
               FROM usage_events WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2",
            &[&month.start, &month.end],
        )
        .with_context(|| format!("totalling {}", month.label()))?
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect())
}

/// The month's rows as CSV with a header (UTC instants), oldest first, in `tx`'s snapshot.
pub fn copy_month_out<'a>(
    tx: &'a mut postgres::Transaction<'_>,
    month: &Month,
    columns: &[String],
) -> Result<CopyOut<'a>> {
    tx.batch_execute(CSV_SETTINGS)?;
    // COPY takes no parameters: the bounds are instants usagectl formats itself
    let sql = format!(
        "COPY (SELECT {} FROM usage_events
                WHERE created_at >= '{}' AND created_at < '{}' ORDER BY created_at, id)
         TO STDOUT (FORMAT csv, HEADER)",
        column_list(columns),
        crate::time::fmt_utc(&month.start),
        crate::time::fmt_utc(&month.end)
    );
    crate::db::sql::copy_out(tx, &sql, &format!("the rows of {}", month.label()))
}

/// The file is written and verified: its rows may go (state deleting).
pub fn mark_deleting(
    db: &mut impl GenericClient,
    month: &Month,
    sha256: &str,
    columns: &[String],
) -> Result<()> {
    db.exec(
        "UPDATE usagectl_archives SET state = 'deleting', sha256 = $2, columns = $3
          WHERE month = $1 AND state = 'writing'",
        &[&first_day(month), &sha256, &columns],
    )
    .context("recording the verified archive file")?;
    Ok(())
}

/// Remove the rows of `month` that are in `records` (the next `count` CSV records of the
/// archive, no header), identical to them there and folded, in one transaction: the
/// rollup keeps their figures (the delete trigger sees usagectl.archiving),
/// usagectl_archive_totals records them, usagectl_archive_kept the ids of the records whose
/// row was not removed (changed since the file was written, not folded, or gone), and the
/// month's record counts the records done. Refused unless the month is being deleted (a
/// restore or a new start meanwhile). Returns the rows removed.
pub fn delete_archived_batch(
    client: &mut postgres::Client,
    month: &Month,
    columns: &[String],
    records: &[u8],
    count: usize,
) -> Result<i64> {
    use std::io::Write;
    let mut tx = crate::db::begin(client)?;
    let state: Option<ArchiveState> = tx
        .opt_row(
            "SELECT state FROM usagectl_archives WHERE month = $1 FOR SHARE",
            &[&first_day(month)],
        )?
        .map(|r| r.get(0));
    if state != Some(ArchiveState::Deleting) {
        anyhow::bail!(
            "the archive of {} was restored or started again meanwhile: nothing more was removed",
            month.label()
        );
    }
    tx.batch_execute(&format!(
        "{CSV_SETTINGS}
         SET LOCAL usagectl.archiving = '{}';
         CREATE TEMP TABLE IF NOT EXISTS usagectl_archive_batch (LIKE usage_events) ON COMMIT DELETE ROWS;",
        first_day(month)
    ))
    .context("preparing a batch of the archived rows")?;
    let list = column_list(columns);
    {
        let statement = crate::db::sql::prepare_copy(
            &mut tx,
            &format!("COPY usagectl_archive_batch ({list}) FROM STDIN (FORMAT csv)"),
        )?;
        let mut sink = tx.copy_in(&statement)?;
        sink.write_all(records)
            .context("sending a batch of the archive's rows")?;
        sink.finish()
            .context("loading a batch of the archive's rows")?;
    }
    let of = |alias: &str| {
        columns
            .iter()
            .map(|c| format!("{alias}.{}", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (same, theirs) = (of("e"), of("b"));
    let removed: i64 = tx
        .row(
            &format!(
                "WITH d AS (
                     DELETE FROM usage_events e USING usagectl_archive_batch b
                      WHERE e.id = b.id AND e.created_at >= $2 AND e.created_at < $3
                        AND ROW({same})::text = ROW({theirs})::text
                        AND usagectl_is_folded(e.usagectl_seq, (SELECT f.watermark FROM usagectl_fold_state f))
                     RETURNING e.id, e.org_id, e.event_type, e.quantity),
                 t AS (
                     INSERT INTO usagectl_archive_totals AS a (month, org_id, event_type, events, quantity)
                     SELECT $1, d.org_id, d.event_type, count(*), sum(d.quantity) FROM d GROUP BY 2, 3
                     ON CONFLICT (month, org_id, event_type) DO UPDATE
                        SET events = a.events + EXCLUDED.events, quantity = a.quantity + EXCLUDED.quantity),
                 k AS (
                     INSERT INTO usagectl_archive_kept (month, id)
                     SELECT $1, b.id::text FROM usagectl_archive_batch b
                      WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.id = b.id)
                     ON CONFLICT (month, id) DO NOTHING)
                 SELECT count(*) FROM d"
            ),
            &[&first_day(month), &month.start, &month.end],
        )
        .context("removing a batch of the archived rows")?
        .get(0);
    tx.exec(
        "UPDATE usagectl_archives SET records_done = records_done + $2 WHERE month = $1",
        &[&first_day(month), &(count as i64)],
    )?;
    tx.commit().context("committing a batch of the archive")?;
    Ok(removed)
}

/// Every row the file holds is gone (or stays because it changed): state archived, with
/// what was removed. Returns the rows and quantity removed.
pub fn finish_archive(db: &mut impl GenericClient, month: &Month) -> Result<(i64, i64)> {
    let row = db
        .row(
            "UPDATE usagectl_archives a
                SET state = 'archived', archived_at = now(),
                    events = t.events, quantity = t.quantity
               FROM (SELECT coalesce(sum(events), 0)::bigint AS events,
                            coalesce(sum(quantity), 0)::bigint AS quantity
                       FROM usagectl_archive_totals WHERE month = $1) t
              WHERE a.month = $1 AND a.state = 'deleting'
             RETURNING a.events, a.quantity",
            &[&first_day(month)],
        )
        .context("recording the month as archived")?;
    Ok((row.get(0), row.get(1)))
}

/// Rows of `month` in the table.
pub fn rows_in_month(db: &mut impl GenericClient, month: &Month) -> Result<i64> {
    Ok(db
        .row(
            "SELECT count(*) FROM usage_events WHERE created_at >= $1 AND created_at < $2",
            &[&month.start, &month.end],
        )?
        .get(0))
}

/// What the archive of `month` removed from the table, per org and type.
pub fn archive_totals(
    db: &mut impl GenericClient,
    month: &Month,
    org: Option<&str>,
) -> Result<Totals> {
    Ok(db
        .rows(
            "SELECT org_id, event_type, events, quantity FROM usagectl_archive_totals
              WHERE month = $1 AND ($2::text IS NULL OR org_id = $2)",
            &[&first_day(month), &org],
        )
        .context("reading what the archive removed")?
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect())
}

/// The rollup's figures of `month` per org and type, and the folded rows of it still in
/// the table: what doctor compares with [`archive_totals`] for an archived month.
pub fn rollup_and_raw_of(
    db: &mut impl GenericClient,
    month: &Month,
    org: Option<&str>,
) -> Result<(Totals, Totals)> {
    let read = |db: &mut _, sql: &str| -> Result<Totals> {
        Ok(Sql::rows(db, sql, &[&month.start, &month.end, &org])?
            .iter()
            .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
            .collect())
    };
    let rollup = read(
        db,
        "SELECT org_id, event_type, sum(events)::bigint, sum(quantity)::bigint FROM usagectl_rollup
          WHERE bucket >= $1 AND bucket < $2
            AND day >= ($1 AT TIME ZONE 'UTC')::date AND day < ($2 AT TIME ZONE 'UTC')::date
            AND ($3::text IS NULL OR org_id = $3)
          GROUP BY 1, 2",
    )
    .context("reading the rollup of an archived month")?;
    let raw = read(
        db,
        &format!(
            "SELECT org_id, event_type, count(*), coalesce(sum(quantity), 0)::bigint FROM usage_events
              WHERE created_at >= $1 AND created_at < $2 AND ($3::text IS NULL OR org_id = $3)
                AND {}
              GROUP BY 1, 2",
            super::rollup::FOLDED
        ),
    )
    .context("reading the rows of an archived month still in the table")?;
    Ok((rollup, raw))
}

/// Put back the rows a verified archive's batches removed: `records` writes the file's
/// first records (no header), those the batches processed; the ones not listed as kept and whose
/// id is not in the table go back as rows the rollup counts already (no event number: the
/// fold leaves them be), the month is marked restored and its days are counted afresh, in
/// one transaction that first locks the month's record and checks that its rows are out.
/// Returns the rows put back.
pub fn restore_month(
    client: &mut postgres::Client,
    month: &Month,
    columns: &[String],
    records: impl FnOnce(&mut dyn std::io::Write) -> Result<()>,
) -> Result<u64> {
    let mut tx = crate::db::waits::begin_with(
        client,
        crate::db::waits::long_running(crate::db::waits::SHORT_LOCK),
        "",
    )?;
    let state: Option<ArchiveState> = tx
        .opt_row(
            "SELECT state FROM usagectl_archives WHERE month = $1 FOR UPDATE",
            &[&first_day(month)],
        )?
        .map(|r| r.get(0));
    if !state.is_some_and(ArchiveState::rows_out) {
        anyhow::bail!(
            "{} is not archived any more: nothing was restored",
            month.label()
        );
    }
    tx.batch_execute(&format!(
        "{CSV_SETTINGS}
         CREATE TEMP TABLE IF NOT EXISTS usagectl_archive_batch (LIKE usage_events) ON COMMIT DELETE ROWS;"
    ))?;
    let list = column_list(columns);
    {
        let statement = crate::db::sql::prepare_copy(
            &mut tx,
            &format!("COPY usagectl_archive_batch ({list}) FROM STDIN (FORMAT csv)"),
        )?;
        let mut sink = tx.copy_in(&statement)?;
        records(&mut sink).context("sending the archive's rows")?;
        sink.finish().context("loading the archive's rows")?;
    }
    let theirs = columns
        .iter()
        .map(|c| format!("b.{}", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let back = tx
        .exec(
            &format!(
                "INSERT INTO usage_events ({list}, usagectl_seq)
                 SELECT {theirs}, NULL FROM usagectl_archive_batch b
                  WHERE NOT EXISTS (SELECT 1 FROM usagectl_archive_kept k
                                     WHERE k.month = $1 AND k.id = b.id::text)
                    AND NOT EXISTS (SELECT 1 FROM usage_events e WHERE e.id = b.id)"
            ),
            &[&first_day(month)],
        )
        .context("putting the archived rows back")?;
    // their keys, claimed again (the archive's DELETE dropped them with their events)
    tx.exec(
        "INSERT INTO usagectl_event_keys (org_id, idempotency_key, event_id)
         SELECT b.org_id, b.idempotency_key, b.id FROM usagectl_archive_batch b
          WHERE b.idempotency_key IS NOT NULL
            AND EXISTS (SELECT 1 FROM usage_events e WHERE e.id = b.id)
          ORDER BY 1, 2
         ON CONFLICT DO NOTHING",
        &[],
    )
    .context("claiming the restored rows' idempotency keys")?;
    tx.batch_execute(&format!(
        "DELETE FROM usagectl_archive_totals WHERE month = '{0}';
         DELETE FROM usagectl_archive_kept WHERE month = '{0}';
         UPDATE usagectl_archives SET state = 'restored', restored_by = current_user, restored_at = now()
          WHERE month = '{0}';",
        first_day(month)
    ))?;
    // every day of the month counted afresh from its rows, all back now (the recount
    // protocol: the watermark row first, so no fold or correction runs meanwhile): the
    // first and last events the archive could not measure again are measured
    tx.exec("SELECT 1 FROM usagectl_fold_state FOR UPDATE", &[])?;
    tx.exec(
        "SELECT usagectl_recount(NULL, d::date)
           FROM generate_series($1::date, $2::date - 1, interval '1 day') d",
        &[&first_day(month), &month.end.date_naive()],
    )
    .context("counting the restored month afresh")?;
    tx.commit().context("committing the restore")?;
    Ok(back)
}
