//! `export --check`: compare a written export with the database again.
use super::*;

/// One difference found by `--check`.
#[derive(Debug, Serialize)]
pub struct Change {
    /// YYYY-MM.
    pub month: String,
    /// Organisation.
    pub org_id: String,
    /// The billing period's start (`--billing-periods` exports only).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::time::ser_opt"
    )]
    pub period_start: Option<DateTime<Utc>>,
    /// Event type.
    pub event_type: String,
    /// Events in the file's totals.
    pub events_then: i64,
    /// Events now.
    pub events_now: i64,
    /// Quantity in the file's totals.
    pub quantity_then: i64,
    /// Quantity now.
    pub quantity_now: i64,
}

/// What `--check` found.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// The manifest checked.
    pub manifest: String,
    /// The data file.
    pub file: String,
    /// Whether the file on disk still has the manifest's SHA-256.
    pub file_matches: bool,
    /// What is wrong with the file, if anything.
    pub file_problem: Option<String>,
    /// Totals that changed since the export.
    pub changes: Vec<Change>,
}

impl CheckReport {
    /// Whether the changes name billing periods (a `--billing-periods` export).
    fn periods(&self) -> bool {
        self.changes.iter().any(|c| c.period_start.is_some())
    }
}

impl Render for CheckReport {
    fn csv_header(&self) -> Vec<&'static str> {
        let mut h = vec!["month", "org_id"];
        if self.periods() {
            h.push("period_start");
        }
        h.extend([
            "event_type",
            "events_then",
            "events_now",
            "quantity_then",
            "quantity_now",
        ]);
        h
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        let periods = self.periods();
        self.changes
            .iter()
            .map(|c| {
                let mut row = vec![Cell::text(&c.month), Cell::text(&c.org_id)];
                if periods {
                    row.push(c.period_start.map_or(Cell::Empty, Cell::Time));
                }
                row.extend([
                    Cell::text(&c.event_type),
                    Cell::Num(c.events_then),
                    Cell::Num(c.events_now),
                    Cell::Num(c.quantity_then),
                    Cell::Num(c.quantity_now),
                ]);
                row
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let mut s = match &self.file_problem {
            None => format!("{}: unchanged on disk (sha256 matches)\n", self.file),
            Some(p) => format!("{}: {p}\n", self.file),
        };
        if self.changes.is_empty() {
            s.push_str("no totals changed since the export\n");
        } else {
            s.push_str(&format!(
                "{} changed since the export:\n{}\n",
                output::count(self.changes.len() as u64, "total", "totals"),
                self.csv_table(style)
            ));
        }
        s
    }
}

/// The manifest `--check` reads for `given`: `given` itself when it is named like one
/// (`*.manifest.json`), else `given.manifest.json` when that exists beside it (the data
/// file was passed), else `given` (a renamed manifest).
pub(super) fn manifest_for(given: &Path) -> PathBuf {
    let beside = manifest_path(given);
    if !is_manifest_name(given) && beside.is_file() {
        beside
    } else {
        given.to_path_buf()
    }
}

/// Read and parse a manifest; a file that is not one (the data file, say) is misuse, with
/// the advice to pass the manifest.
pub(super) fn read_manifest(given: &Path, manifest_file: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(manifest_file)
        .with_context(|| format!("reading {}", manifest_file.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        let why = match e.classify() {
            serde_json::error::Category::Data => format!(" ({e})"),
            _ => " (it is not JSON)".to_string(),
        };
        let advice = if manifest_file == given && !is_manifest_name(given) {
            format!(
                ": pass the manifest that `export --output FILE` writes beside FILE, FILE.manifest.json (there is no {})",
                manifest_path(given).display()
            )
        } else {
            String::new()
        };
        usage(format!(
            "{} is not a usagectl export manifest{why}{advice}",
            manifest_file.display()
        ))
    })
}

pub(super) fn is_manifest_name(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".manifest.json"))
}

pub(super) fn check(client: &mut Client, given: &Path, out: &mut Output) -> Result<u8> {
    let manifest_file = &manifest_for(given);
    let m = read_manifest(given, manifest_file)?;
    if manifest_file != given {
        crate::printer::notice(&format!(
            "{} is an export's data file: checking its manifest, {}",
            given.display(),
            manifest_file.display()
        ));
    }
    let dir = manifest_file.parent().unwrap_or(Path::new("."));
    let data = dir.join(&m.file);
    let file_problem = match sha256_file(&data) {
        Ok(sha) if sha == m.sha256 => None,
        Ok(_) => Some("changed on disk: its sha256 no longer matches the manifest".to_string()),
        Err(e) => Some(format!("cannot be read: {e:#}")),
    };
    let mut tx = queries::read_snapshot(client)?;
    // a manifest of every org checked by a role that sees one would call every other
    // org's rows gone
    match m.org.as_deref() {
        Some(org) => queries::scope_to_org(&mut tx, org)?,
        None => every_org::require_every(&mut tx, |seen| {
            format!(
                "{} covers every org, but this role sees only org {}: check it as the table's \
                 owner or a role with BYPASSRLS",
                manifest_file.display(),
                crate::error::echo(seen)
            )
        })?,
    }
    let now = if m.kind == BILLING_KIND {
        let month = Month::parse(&m.from)
            .map_err(|e| anyhow::anyhow!("{}: from: {e}", manifest_file.display()))?;
        queries::export_billing_aggregate(&mut tx, &month, m.org.as_deref())?
    } else {
        queries::export_aggregate(&mut tx, &m.period_start, &m.period_end, m.org.as_deref())?
    };
    tx.commit()?;
    // a billing-period export can hold two periods of one org in a month: the period is
    // part of the key
    let key = |r: &ExportRow| {
        (
            r.month.clone(),
            r.org_id.clone(),
            r.period_start,
            r.event_type.clone(),
        )
    };
    let then: std::collections::BTreeMap<_, _> = m
        .totals
        .iter()
        .map(|r| (key(r), (r.events, r.quantity)))
        .collect();
    let current: std::collections::BTreeMap<_, _> = now
        .iter()
        .map(|r| (key(r), (r.events, r.quantity)))
        .collect();
    let mut keys: Vec<_> = then.keys().chain(current.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let changes: Vec<Change> = keys
        .into_iter()
        .filter_map(|k| {
            let a = then.get(&k).copied().unwrap_or((0, 0));
            let b = current.get(&k).copied().unwrap_or((0, 0));
            (a != b).then_some(Change {
                month: k.0,
                org_id: k.1,
                period_start: k.2,
                event_type: k.3,
                events_then: a.0,
                events_now: b.0,
                quantity_then: a.1,
                quantity_now: b.1,
            })
        })
        .collect();
    let report = CheckReport {
        manifest: manifest_file.display().to_string(),
        file: data.display().to_string(),
        file_matches: file_problem.is_none(),
        file_problem,
        changes,
    };
    out.render(&report)?;
    Ok(if report.changes.is_empty() && report.file_matches {
        EXIT_OK
    } else {
        EXIT_FOUND
    })
}
