//! Where long outputs go: stdout, or a file that appears under its final name only once
//! it is complete and synced; with a running SHA-256 and a progress line on a terminal.
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

mod cleanup;

/// A writer that hashes what passes through it.
pub struct Hashing<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Hashing<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The hex SHA-256 of everything written, and the inner writer.
    pub fn finish(self) -> (String, W) {
        let digest = self.hasher.finalize();
        let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
        (hex, self.inner)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Undo the escapes of COPY's text format (`\\`, `\n`, `\t`, `\r`, `\b`, `\f`, `\v`)
/// on the way to `inner`, so a JSON value streamed by COPY arrives as the server made it.
pub struct CopyTextUnescape<W: Write> {
    inner: W,
    pending_backslash: bool,
    buf: Vec<u8>,
}

impl<W: Write> CopyTextUnescape<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Self {
        CopyTextUnescape {
            inner,
            pending_backslash: false,
            buf: Vec::new(),
        }
    }
}

impl<W: Write> Write for CopyTextUnescape<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.clear();
        for &b in data {
            if self.pending_backslash {
                self.pending_backslash = false;
                match b {
                    b'\\' => self.buf.push(b'\\'),
                    b'n' => self.buf.push(b'\n'),
                    b't' => self.buf.push(b'\t'),
                    b'r' => self.buf.push(b'\r'),
                    b'b' => self.buf.push(8),
                    b'f' => self.buf.push(12),
                    b'v' => self.buf.push(11),
                    other => self.buf.extend_from_slice(&[b'\\', other]),
                }
            } else if b == b'\\' {
                self.pending_backslash = true;
            } else {
                self.buf.push(b);
            }
        }
        self.inner.write_all(&self.buf)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The formula guard ([`crate::output::formula_guard`]) applied to PostgreSQL's CSV as it
/// streams by, for the text columns `columns` of every row after the header: a `'` goes
/// before the first character of such a cell that starts a formula, inside its quotes if
/// it has them. Everything else passes through byte for byte, so the file is the server's
/// CSV (as psql's `\copy` writes it) but for those cells; one pass with no parsing into
/// fields and no re-encoding, which is what kept a guarded export behind psql.
pub struct GuardedCsv<W: Write> {
    inner: W,
    columns: &'static [usize],
    /// Rows begun so far, the header included (so the row being read is `row - 1`).
    row: u64,
    field: usize,
    at_field_start: bool,
    in_quotes: bool,
    /// A `"` was read inside quotes: an escaped quote if another follows, else the end.
    quote_pending: bool,
    /// The cell just opened with `"`: its first character is the next byte.
    first_quoted: bool,
}

impl<W: Write> GuardedCsv<W> {
    /// Wrap `inner`, guarding the cells of `columns` (0-based).
    pub fn new(inner: W, columns: &'static [usize]) -> Self {
        GuardedCsv {
            inner,
            columns,
            row: 1,
            field: 0,
            at_field_start: true,
            in_quotes: false,
            quote_pending: false,
            first_quoted: false,
        }
    }

    /// Data rows written (the header not counted); a row is counted once begun.
    pub fn rows(&self) -> u64 {
        self.row - 1 - u64::from(self.at_field_start && self.field == 0)
    }

    fn guarded(&self, first: u8) -> bool {
        self.row > 1 && self.columns.contains(&self.field) && crate::output::starts_formula(first)
    }
}

impl<W: Write> Write for GuardedCsv<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut from = 0;
        for (i, &b) in data.iter().enumerate() {
            if self.first_quoted {
                self.first_quoted = false;
                if self.guarded(b) {
                    self.inner.write_all(&data[from..i])?;
                    self.inner.write_all(b"'")?;
                    from = i;
                }
            }
            if self.quote_pending {
                self.quote_pending = false;
                if b == b'"' {
                    continue; // an escaped quote: still inside
                }
                self.in_quotes = false;
            }
            if self.in_quotes {
                if b == b'"' {
                    self.quote_pending = true;
                }
                continue;
            }
            if self.at_field_start {
                self.at_field_start = false;
                if b == b'"' {
                    self.in_quotes = true;
                    self.first_quoted = true;
                    continue;
                }
                if self.guarded(b) {
                    self.inner.write_all(&data[from..i])?;
                    self.inner.write_all(b"'")?;
                    from = i;
                }
            }
            match b {
                b',' => {
                    self.field += 1;
                    self.at_field_start = true;
                }
                b'\n' => {
                    self.row += 1;
                    self.field = 0;
                    self.at_field_start = true;
                }
                _ => {}
            }
        }
        self.inner.write_all(&data[from..])?;
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The hex SHA-256 of bytes in memory.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut w = Hashing::new(io::sink());
    let _ = w.write_all(bytes);
    w.finish().0
}

/// The hex SHA-256 of a file on disk.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Hashing::new(io::sink());
    io::copy(&mut f, &mut h).with_context(|| format!("reading {}", path.display()))?;
    Ok(h.finish().0)
}

/// A file written under a temporary name in the target's directory, renamed into place
/// by [`AtomicFile::commit`] after it is flushed and synced. Nothing ever appears under
/// the final name half-written, and the temporary file does not outlive a failure:
/// [`AtomicFile::discard`] and a failed commit remove it (or say where it was left), a
/// dropped one is removed quietly, and SIGINT, SIGTERM or SIGHUP remove it before the
/// process dies. All removal goes through one function, none through tempfile's own
/// cleanup, so a path that forgets it shows in the tests.
pub struct AtomicFile {
    target: PathBuf,
    force: bool,
    /// `None` once committed or discarded.
    open: Option<Open>,
}

struct Open {
    writer: Hashing<io::BufWriter<tempfile::NamedTempFile>>,
    on_signal: cleanup::Registration,
}

type Writer = Hashing<io::BufWriter<tempfile::NamedTempFile>>;

impl AtomicFile {
    /// Start writing `target`. Without `force`, an existing target is refused now (and
    /// again, atomically, at commit).
    pub fn create(target: &Path, force: bool) -> Result<AtomicFile> {
        if !force && target.exists() {
            bail!(
                "{} exists already: pass --force to replace it",
                target.display()
            );
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .with_context(|| format!("{} is not a file name", target.display()))?
            .to_string_lossy()
            .into_owned();
        // no signal between making the file and registering it for removal
        let blocked = cleanup::Blocked::new();
        // 0666 less the umask, as `cp` and shell redirection create files (tempfile's own
        // default is 0600): what an export holds is the caller's to share or not
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .disable_cleanup(true)
            .tempfile_in(&dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        let on_signal = blocked.register(tmp.path());
        drop(blocked);
        Ok(AtomicFile {
            target: target.to_path_buf(),
            force,
            open: Some(Open {
                writer: Hashing::new(io::BufWriter::with_capacity(1 << 20, tmp)),
                on_signal,
            }),
        })
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut Writer {
        // `open` is only taken by the methods that consume `self`
        let open = self
            .open
            .as_mut()
            .expect("an AtomicFile is open until consumed");
        &mut open.writer
    }

    /// Give up on the file after `err`: remove the temporary file without writing what
    /// is still buffered, and return `err`, naming the file when it could not be removed.
    pub fn discard(mut self, err: anyhow::Error) -> anyhow::Error {
        match self.open.take() {
            Some(open) => open.abandon(err),
            None => err,
        }
    }

    /// Flush, sync and rename into place; returns the file's SHA-256. On failure the
    /// temporary file is removed (see [`AtomicFile::discard`]).
    pub fn commit(mut self) -> Result<String> {
        let Some(Open { writer, on_signal }) = self.open.take() else {
            bail!("{} was already finished", self.target.display());
        };
        let target = &self.target;
        let (sha, buf) = writer.finish();
        let tmp = match buf.into_inner() {
            Ok(tmp) => tmp,
            Err(e) => {
                let (e, buf) = e.into_parts();
                let err = anyhow::Error::new(e).context(format!("writing {}", target.display()));
                return Err(remove_temporary(buf.into_parts().0, err));
            }
        };
        if let Err(e) = tmp.as_file().sync_all() {
            let err = anyhow::Error::new(e).context(format!("syncing {}", target.display()));
            return Err(remove_temporary(tmp, err));
        }
        let persisted = if self.force {
            tmp.persist(target)
        } else {
            tmp.persist_noclobber(target)
        };
        if let Err(e) = persisted {
            let err = anyhow::Error::new(e.error).context(format!(
                "renaming the finished file to {}",
                target.display()
            ));
            return Err(remove_temporary(e.file, err));
        }
        // renamed: nothing left for the handler to remove
        drop(on_signal);
        if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(sha)
    }
}

impl Open {
    fn abandon(self, err: anyhow::Error) -> anyhow::Error {
        let (_, buf) = self.writer.finish();
        let (tmp, _unwritten) = buf.into_parts();
        let err = remove_temporary(tmp, err);
        drop(self.on_signal);
        err
    }
}

impl Drop for AtomicFile {
    /// Neither committed nor discarded (a panic, or an early return): remove the
    /// temporary file; there is no error left to report a failure in.
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            drop(open.abandon(anyhow::anyhow!("abandoned")));
        }
    }
}

/// Close and remove `tmp` after `err`; when it cannot be removed, say so and where.
fn remove_temporary(tmp: tempfile::NamedTempFile, err: anyhow::Error) -> anyhow::Error {
    let mut path = tmp.into_temp_path();
    let removed = std::fs::remove_file(&path);
    // removed (or reported) here: not again, silently, on drop
    path.disable_cleanup(true);
    match removed {
        Ok(()) => err,
        Err(e) if e.kind() == io::ErrorKind::NotFound => err,
        Err(e) => err.context(format!(
            "left the temporary file {} behind: {e}",
            path.display()
        )),
    }
}

/// `FILE.manifest.json`.
pub fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let mut f = AtomicFile::create(&target, false).unwrap();
        f.writer().write_all(b"a,b\n1,2\n").unwrap();
        assert!(!target.exists());
        let sha = f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"a,b\n1,2\n");
        assert_eq!(sha, sha256_file(&target).unwrap());
        // dropped without commit: nothing new, no temporary left behind
        let mut g = AtomicFile::create(&dir.path().join("other.csv"), false).unwrap();
        g.writer().write_all(b"partial").unwrap();
        drop(g);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.csv")]);
        // an existing file needs force
        assert!(AtomicFile::create(&target, false).is_err());
        let mut h = AtomicFile::create(&target, true).unwrap();
        h.writer().write_all(b"new\n").unwrap();
        h.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
    }

    fn temporary_path(f: &AtomicFile) -> PathBuf {
        let open = f.open.as_ref().unwrap();
        open.writer.inner.get_ref().path().to_path_buf()
    }

    #[test]
    fn a_discarded_file_is_removed_or_named() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let mut f = AtomicFile::create(&target, false).unwrap();
        f.writer().write_all(b"partial").unwrap();
        let tmp = temporary_path(&f);
        assert!(tmp.exists());
        let err = f.discard(anyhow::anyhow!("the stream broke"));
        assert_eq!(format!("{err:#}"), "the stream broke");
        assert!(!tmp.exists());

        // a temporary that cannot be removed (here a directory took its place) is named
        let f = AtomicFile::create(&target, false).unwrap();
        let tmp = temporary_path(&f);
        std::fs::remove_file(&tmp).unwrap();
        std::fs::create_dir(&tmp).unwrap();
        std::fs::write(tmp.join("x"), b"x").unwrap();
        let err = f.discard(anyhow::anyhow!("the stream broke"));
        let shown = format!("{err:#}");
        assert!(
            shown.starts_with(&format!(
                "left the temporary file {} behind: ",
                tmp.display()
            )),
            "{shown}"
        );
        assert!(shown.ends_with(": the stream broke"), "{shown}");
        assert!(!target.exists());
    }

    #[test]
    fn a_failed_rename_removes_the_finished_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::create_dir(&target).unwrap();
        let mut f = AtomicFile::create(&target, true).unwrap();
        f.writer().write_all(b"a,b\n").unwrap();
        let tmp = temporary_path(&f);
        let err = f.commit().unwrap_err();
        let shown = format!("{err:#}");
        assert!(
            shown.starts_with(&format!(
                "renaming the finished file to {}: ",
                target.display()
            )),
            "{shown}"
        );
        assert!(!tmp.exists());
        assert!(target.is_dir());
    }

    /// The guard as the csv crate would apply it: parse, guard the text cells, re-encode.
    fn guarded_by_parsing(input: &[u8], columns: &[usize]) -> Vec<u8> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(input);
        let mut out = Vec::new();
        {
            let mut wtr = csv::Writer::from_writer(&mut out);
            for (row, record) in rdr.byte_records().enumerate() {
                let record = record.unwrap();
                let cells: Vec<Vec<u8>> = record
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        (row > 0 && columns.contains(&i))
                            .then(|| crate::output::formula_guard(c))
                            .flatten()
                            .unwrap_or_else(|| c.to_vec())
                    })
                    .collect();
                wtr.write_record(&cells).unwrap();
            }
        }
        out
    }

    #[test]
    fn the_streamed_guard_equals_the_parsed_one_at_every_chunk_boundary() {
        // PostgreSQL's CSV: quoted only where needed, "" for a quote, newlines in quotes
        let input: &[u8] = b"id,org_id,event_type,quantity,created_at,metadata\n\
            1,=cmd,chat_message,-3,2026-12-01T00:00:00Z,\n\
            2,\"+a,b\",@x,4,2026-12-01T00:00:00Z,\"{\"\"k\"\": \"\"-v\"\"}\"\n\
            3,plain,\"-multi\nline\",5,2026-12-01T00:00:00Z,\"=\"\"q\"\"\"\n\
            4,\"\"\"=quoted start\",\t tab,6,2026-12-01T00:00:00Z,{}\n";
        let columns = &[1, 2, 5];
        let want = guarded_by_parsing(input, columns);
        assert!(
            want.windows(5).any(|w| w == b"'=cmd"),
            "{}",
            String::from_utf8_lossy(&want)
        );
        for split in 0..=input.len() {
            let mut g = GuardedCsv::new(Vec::new(), columns);
            g.write_all(&input[..split]).unwrap();
            g.write_all(&input[split..]).unwrap();
            assert_eq!(g.rows(), 4, "split at {split}");
            assert_eq!(
                String::from_utf8_lossy(&g.inner),
                String::from_utf8_lossy(&want),
                "split at {split}"
            );
        }
        // the header's cells and the number columns are never touched
        let mut g = GuardedCsv::new(Vec::new(), columns);
        g.write_all(b"=h,-h\n-1,-2\n").unwrap();
        assert_eq!(g.inner, b"=h,-h\n-1,'-2\n");
    }

    #[test]
    fn copy_text_escapes_are_undone_across_chunks() {
        let mut out = CopyTextUnescape::new(Vec::new());
        out.write_all(b"{\"a\": \"x\\\\\"y\\").unwrap();
        out.write_all(b"\\n\"}\n").unwrap();
        assert_eq!(out.inner, b"{\"a\": \"x\\\"y\\n\"}\n");
    }

    #[test]
    fn sha256_of_known_input() {
        let mut h = Hashing::new(Vec::new());
        h.write_all(b"abc").unwrap();
        assert_eq!(
            h.finish().0,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
