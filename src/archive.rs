//! Archives of whole UTC months (`usagectl archive`): which months a run takes, the files'
//! names and manifest, the records of a PostgreSQL CSV stream, and what a written file must
//! hold before any row of its month is removed. The database side (the rollup keeping an
//! archived month's figures, reads that need its raw rows refusing) is in the definition
//! files; docs/operations.md tells the operator's side.
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::echo;
use crate::period::Month;

crate::text_enum! {
    /// Where an archived month stands (`usagectl_archives.state`).
    pub enum ArchiveState {
        /// Its file is being written and checked; every row is still in the table.
        Writing = "writing",
        /// Its file is verified; rows identical to the file's are being removed in batches.
        Deleting = "deleting",
        /// Done: its rows are in the file, its figures in the rollup.
        Archived = "archived",
        /// `archive --restore` put its rows back.
        Restored = "restored",
    }
}

impl ArchiveState {
    /// Whether some of the month's rows may be gone from the table (reads that need them
    /// refuse, and a restore has something to do).
    pub fn rows_out(self) -> bool {
        matches!(self, ArchiveState::Deleting | ArchiveState::Archived)
    }
}

/// The manifest's `format`: what a reader of the files may rely on.
pub const FORMAT: &str = "usagectl-archive-1";

/// Events and quantity per (org, event type).
pub type Totals = BTreeMap<(String, String), (i64, i64)>;

/// The archive file of `month` in `dir`: `usage_events-YYYY-MM.csv.gz`.
pub fn data_file(dir: &Path, month: &Month) -> PathBuf {
    dir.join(format!("usage_events-{}.csv.gz", month.label()))
}

/// Its manifest: `usage_events-YYYY-MM.manifest.json`.
pub fn manifest_file(dir: &Path, month: &Month) -> PathBuf {
    dir.join(format!("usage_events-{}.manifest.json", month.label()))
}

/// The months an `archive --before BEFORE` run takes: every whole month from the one of
/// the oldest event to the one before `before`. A month that has not ended at `now` cannot
/// be archived (its rows are still arriving), so `before` may be at most the current month.
pub fn months_before(
    oldest: Option<DateTime<Utc>>,
    before: Month,
    now: DateTime<Utc>,
) -> Result<Vec<Month>, String> {
    let current = Month::containing(now);
    if before.start > current.start {
        return Err(format!(
            "--before {} would archive {}, which has not ended (the server's time is {}): \
             the latest --before is {}",
            before.label(),
            before.previous().label(),
            crate::time::fmt_utc(&now),
            current.label()
        ));
    }
    let Some(oldest) = oldest else {
        return Ok(Vec::new());
    };
    let mut months = Vec::new();
    let mut m = Month::containing(oldest);
    while m.start < before.start {
        months.push(m);
        m = Month::containing(m.end);
    }
    Ok(months)
}

/// How long after a month ends its raw rows stay needed by default: `summary --days N`
/// (N up to 365) starts at an instant inside a UTC day, whose rows it reads raw.
pub const RAW_DAYS: i64 = 366;

/// Whether `month` ended less than [`RAW_DAYS`] before `now`: archiving it makes a
/// `summary` whose window starts inside it exit 5 (allowed with `--force`).
pub fn too_recent(month: &Month, now: DateTime<Utc>) -> bool {
    month.end > now - chrono::Duration::days(RAW_DAYS)
}

/// One line of the manifest's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalRow {
    /// Organisation.
    pub org_id: String,
    /// Event type.
    pub event_type: String,
    /// Events.
    pub events: i64,
    /// Sum of their quantity.
    pub quantity: i64,
}

/// The manifest written beside each archive file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// `YYYY-MM` (UTC).
    pub month: String,
    /// The data file's name (beside the manifest).
    pub file: String,
    /// SHA-256 of the data file's bytes (the gzip stream), lowercase hex.
    pub sha256: String,
    /// The CSV's columns, in order (its header line): usage_events' columns but usagectl_seq.
    pub columns: Vec<String>,
    /// Rows in the file.
    pub events: i64,
    /// Sum of their quantity.
    pub quantity: i64,
    /// Per org and event type, ordered.
    pub totals: Vec<TotalRow>,
    /// When it was written.
    #[serde(with = "instant")]
    pub written_at: DateTime<Utc>,
}

mod instant {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        crate::time::ser(t, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The manifest's totals from `totals`.
pub fn total_rows(totals: &Totals) -> Vec<TotalRow> {
    totals
        .iter()
        .map(|((org_id, event_type), &(events, quantity))| TotalRow {
            org_id: org_id.clone(),
            event_type: event_type.clone(),
            events,
            quantity,
        })
        .collect()
}

/// Events and quantity over all of `totals`.
pub fn sum(totals: &Totals) -> (i64, i64) {
    totals
        .values()
        .fold((0, 0), |(e, q), &(de, dq)| (e + de, q + dq))
}

/// What a re-read archive holds: its header and totals, parsed from the CSV.
pub fn read_totals(csv: impl std::io::Read) -> anyhow::Result<(Vec<String>, Totals)> {
    use anyhow::{Context, bail};
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv);
    let header: Vec<String> = reader
        .headers()
        .context("reading the archive's header")?
        .iter()
        .map(str::to_string)
        .collect();
    let at = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("the archive has no {name} column"))
    };
    let (org, kind, quantity) = (at("org_id")?, at("event_type")?, at("quantity")?);
    let mut totals = Totals::new();
    let mut record = csv::ByteRecord::new();
    let mut line = 1u64;
    while reader
        .read_byte_record(&mut record)
        .context("reading the archive's rows")?
    {
        line += 1;
        let field = |i: usize| std::str::from_utf8(record.get(i).unwrap_or_default());
        let (Ok(o), Ok(t), Ok(q)) = (field(org), field(kind), field(quantity)) else {
            bail!("row {line} of the archive is not UTF-8");
        };
        let q: i64 = q
            .parse()
            .with_context(|| format!("row {line}: quantity {}", echo(q)))?;
        let e = totals.entry((o.to_string(), t.to_string())).or_default();
        e.0 += 1;
        e.1 += q;
    }
    Ok((header, totals))
}

/// Where two totals differ, for a message: at most three (org, event type) pairs.
pub fn differences(expected: &Totals, found: &Totals) -> Option<String> {
    let keys: std::collections::BTreeSet<_> = expected.keys().chain(found.keys()).collect();
    let diff: Vec<String> = keys
        .into_iter()
        .filter(|k| expected.get(*k) != found.get(*k))
        .map(|(o, t)| {
            let show = |v: Option<&(i64, i64)>| {
                v.map_or("none".to_string(), |(e, q)| {
                    format!("{e} events, quantity {q}")
                })
            };
            format!(
                "{} {}: {} expected, {} found",
                echo(o),
                t,
                show(expected.get(&(o.clone(), t.clone()))),
                show(found.get(&(o.clone(), t.clone())))
            )
        })
        .collect();
    if diff.is_empty() {
        return None;
    }
    let more = diff.len().saturating_sub(3);
    let mut text = diff.into_iter().take(3).collect::<Vec<_>>().join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    Some(text)
}

/// The records of a PostgreSQL CSV stream, as the bytes COPY wrote them (a record ends at
/// a newline outside double quotes; `""` inside quotes is one quote), so a batch of them
/// goes back through `COPY ... FROM STDIN (FORMAT csv)` exactly as it came out: a NULL stays
/// NULL and an empty string stays empty, which a CSV parser cannot tell apart.
pub struct Records<R> {
    input: R,
}

impl<R: BufRead> Records<R> {
    /// Records of `input` (after its header line, when the caller has read it).
    pub fn new(input: R) -> Records<R> {
        Records { input }
    }

    /// Up to `n` records appended to `out`; how many. Fewer than `n` only at the end.
    pub fn read_batch(&mut self, n: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
        let mut count = 0;
        while count < n {
            let start = out.len();
            let mut quotes = 0usize;
            loop {
                let before = out.len();
                if self.input.read_until(b'\n', out)? == 0 {
                    if out.len() > start {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the archive ends inside a quoted field",
                        ));
                    }
                    return Ok(count);
                }
                quotes += out[before..].iter().filter(|&&b| b == b'"').count();
                if quotes.is_multiple_of(2) {
                    break;
                }
            }
            count += 1;
        }
        Ok(count)
    }
}

/// A writer that hashes what passes through it (the archive's SHA-256 is of the bytes on
/// disk).
pub struct Hashing<W> {
    inner: W,
    hasher: sha2::Sha256,
}

impl<W> Hashing<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Hashing<W> {
        use sha2::Digest;
        Hashing {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    /// The inner writer and the hex digest of everything written.
    pub fn finish(self) -> (W, String) {
        use sha2::Digest;
        (self.inner, hex(&self.hasher.finalize()))
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 of a file's bytes, lowercase hex.
pub fn sha256_of(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    #[test]
    fn a_run_takes_every_whole_month_from_the_oldest_event_to_before() {
        let now = t("2026-12-07T10:00:00Z");
        let got = months_before(Some(t("2026-08-31T23:59:59Z")), m("2026-11"), now).unwrap();
        let labels: Vec<String> = got.iter().map(Month::label).collect();
        assert_eq!(labels, ["2026-08", "2026-09", "2026-10"]);
        // the current month may be named: every month before it
        assert_eq!(
            months_before(Some(t("2026-11-01T00:00:00Z")), m("2026-12"), now)
                .unwrap()
                .len(),
            1
        );
        assert!(
            months_before(Some(t("2026-12-01T00:00:00Z")), m("2026-12"), now)
                .unwrap()
                .is_empty()
        );
        assert!(months_before(None, m("2026-12"), now).unwrap().is_empty());
    }

    #[test]
    fn a_month_is_recent_until_a_year_and_a_day_after_it_ends() {
        let now = t("2026-12-07T10:00:00Z");
        assert!(too_recent(&m("2025-12"), now));
        assert!(!too_recent(&m("2025-11"), now));
        // its end exactly RAW_DAYS before now is not recent
        assert!(!too_recent(&m("2025-12"), t("2027-01-02T00:00:00Z")));
        assert!(too_recent(&m("2025-12"), t("2027-01-01T23:59:59Z")));
    }

    #[test]
    fn a_month_still_running_cannot_be_archived() {
        let err = months_before(None, m("2027-01"), t("2026-12-07T10:00:00Z")).unwrap_err();
        assert!(err.contains("2026-12, which has not ended"), "{err}");
        assert!(err.contains("the latest --before is 2026-12"), "{err}");
    }

    #[test]
    fn records_end_at_newlines_outside_quotes() {
        let csv = b"a,\"x\ny\",1\nb,,2\nc,\"\"\"q\"\"\",3\nd,\"\",4\n";
        let mut r = Records::new(&csv[..]);
        let mut out = Vec::new();
        assert_eq!(r.read_batch(2, &mut out).unwrap(), 2);
        assert_eq!(out, b"a,\"x\ny\",1\nb,,2\n");
        out.clear();
        assert_eq!(r.read_batch(5, &mut out).unwrap(), 2);
        assert_eq!(out, b"c,\"\"\"q\"\"\",3\nd,\"\",4\n");
        out.clear();
        assert_eq!(r.read_batch(5, &mut out).unwrap(), 0);
        // cut inside a quoted field
        let mut r = Records::new(&b"a,\"open\n"[..]);
        assert!(r.read_batch(1, &mut Vec::new()).is_err());
    }

    #[test]
    fn totals_are_read_by_column_name() {
        let csv = "id,org_id,event_type,quantity,metadata\n1,acme,chat_message,2,\n2,acme,chat_message,3,\"{\"\"a\"\": 1}\"\n3,b,csv_upload,1,\n";
        let (header, totals) = read_totals(csv.as_bytes()).unwrap();
        assert_eq!(header[1], "org_id");
        assert_eq!(totals[&("acme".into(), "chat_message".into())], (2, 5));
        assert_eq!(sum(&totals), (3, 6));
        let mut other = totals.clone();
        other.insert(("b".into(), "csv_upload".into()), (1, 2));
        let diff = differences(&totals, &other).unwrap();
        assert!(
            diff.contains(
                "'b' csv_upload: 1 events, quantity 1 expected, 1 events, quantity 2 found"
            ),
            "{diff}"
        );
        assert_eq!(differences(&totals, &totals), None);
    }

    #[test]
    fn the_file_names_carry_the_month() {
        let dir = Path::new("/srv/archive");
        assert_eq!(
            data_file(dir, &m("2026-03")),
            Path::new("/srv/archive/usage_events-2026-03.csv.gz")
        );
        assert_eq!(
            manifest_file(dir, &m("2026-03")),
            Path::new("/srv/archive/usage_events-2026-03.manifest.json")
        );
    }
}
