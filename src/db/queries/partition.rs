//! Monthly partitions of usage_events: the catalog facts `partition adopt` checks, the
//! bound's CHECK constraint, the switch and the months ahead (the SQL that carries them
//! out is `src/db/definitions/partitions.sql`).
use super::*;
use crate::db::waits;
use crate::partition::{AdoptionFacts, Layout};

/// One partition of usage_events.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionRow {
    /// Its name.
    pub partition: String,
    /// Its first instant (`None`: MINVALUE).
    pub from: Option<DateTime<Utc>>,
    /// The first instant after it (`None`: MAXVALUE).
    pub to: Option<DateTime<Utc>>,
    /// Whether it is the default partition (the rows no other takes; usagectl creates none,
    /// pg_partman does).
    pub default: bool,
    /// Rows, as the planner estimates them (`reltuples`; `None` before its first ANALYZE).
    pub rows_estimate: Option<i64>,
    /// Its size with indexes, in bytes.
    pub bytes: i64,
}

impl PartitionRow {
    /// The months it covers, as a range (`None` for the default partition, which takes
    /// the rows no other does and covers no month of its own).
    pub fn range(&self) -> Option<crate::partition::Range> {
        (!self.default).then_some((self.from, self.to))
    }
}

/// How usage_events is laid out (an error when it does not exist).
pub fn layout(db: &mut impl GenericClient) -> Result<Layout> {
    let row = db
        .opt_row(
            "SELECT c.relkind::text,
                    coalesce((SELECT pg_get_partkeydef(c.oid)), ''),
                    EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_partman')
               FROM pg_class c WHERE c.oid = to_regclass('usage_events')",
            &[],
        )
        .context("reading how usage_events is laid out")?
        .ok_or_else(|| {
            anyhow::anyhow!("this database has no usage_events table: run `usagectl migrate` first")
        })?;
    let kind: String = row.get(0);
    let key: String = row.get(1);
    let partman: bool = row.get(2);
    if kind != "p" {
        return Ok(Layout::Heap);
    }
    if key != "RANGE (created_at)" {
        return Ok(Layout::PartitionedOtherwise);
    }
    if partman && managed_by_partman(db)? {
        return Ok(Layout::PartitionedByPartman);
    }
    Ok(Layout::Partitioned)
}

/// Whether pg_partman's `part_config` lists usage_events (its schema is wherever the
/// extension was created).
fn managed_by_partman(db: &mut impl GenericClient) -> Result<bool> {
    let schema: String = db
        .row(
            "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
              WHERE e.extname = 'pg_partman'",
            &[],
        )?
        .get(0);
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {}.part_config
                         WHERE parent_table::regclass = 'usage_events'::regclass)",
        quote_ident(&schema)
    );
    Ok(db
        .row(&sql, &[])
        .context("reading pg_partman's part_config")?
        .get(0))
}

/// What stands in the way of adopting the heap (see [`crate::partition::refusals`]), given
/// its latest `created_at` and the server's clock.
pub fn adoption_facts(
    db: &mut impl GenericClient,
    latest_event: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<AdoptionFacts> {
    let mut q = |sql: &str| -> Result<Vec<String>> {
        Ok(db
            .rows(sql, &[])
            .context("reading what depends on usage_events")?
            .iter()
            .map(|r| r.get(0))
            .collect())
    };
    Ok(AdoptionFacts {
        foreign_triggers: q(
            "SELECT t.tgname::text || ' on usage_events' FROM pg_trigger t
              WHERE t.tgrelid = 'usage_events'::regclass AND NOT t.tgisinternal
                AND t.tgname NOT LIKE 'usagectl\\_%' ORDER BY 1",
        )?,
        foreign_keys: q(
            "SELECT c.conname::text || ' (' || c.conrelid::regclass::text || ')' FROM pg_constraint c
              WHERE c.contype = 'f' AND 'usage_events'::regclass IN (c.conrelid, c.confrelid) ORDER BY 1",
        )?,
        dependent_views: q(
            "SELECT DISTINCT r.ev_class::regclass::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
              WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = 'usage_events'::regclass
                AND r.ev_class <> 'usage_events'::regclass ORDER BY 1",
        )?,
        dependent_functions: q(
            "SELECT DISTINCT d.objid::regprocedure::text FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
              WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_type'::regclass
                AND d.refobjid IN (SELECT c.reltype FROM pg_class c WHERE c.oid = 'usage_events'::regclass
                                   UNION ALL
                                   SELECT t.typarray FROM pg_class c JOIN pg_type t ON t.oid = c.reltype
                                    WHERE c.oid = 'usage_events'::regclass)
                AND p.proname NOT LIKE 'usagectl\\_%'
                AND p.pronamespace <> coalesce(to_regnamespace('usagectl'), 0) ORDER BY 1",
        )?,
        publications: q(
            "SELECT p.pubname::text FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
              WHERE r.prrelid = 'usage_events'::regclass ORDER BY 1",
        )?,
        children: q(
            "SELECT i.inhrelid::regclass::text FROM pg_inherits i
              WHERE i.inhparent = 'usage_events'::regclass ORDER BY 1",
        )?,
        column_grants: q(
            "SELECT a.attname::text || ' to ' || x.grantee::regrole::text
               FROM pg_attribute a CROSS JOIN LATERAL aclexplode(a.attacl) x
              WHERE a.attrelid = 'usage_events'::regclass AND a.attacl IS NOT NULL ORDER BY 1",
        )?,
        special_columns: q(
            "SELECT a.attname::text FROM pg_attribute a
              WHERE a.attrelid = 'usage_events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
                AND (a.attidentity <> '' OR a.attgenerated <> '') ORDER BY 1",
        )?,
        invalid_indexes: q(
            "SELECT x.indexrelid::regclass::text FROM pg_index x
              WHERE x.indrelid = 'usage_events'::regclass AND NOT x.indisvalid ORDER BY 1",
        )?,
        far_future_row: crate::partition::far_future(latest_event, now),
    })
}

/// The latest `created_at` in usage_events (the index on it answers).
pub fn latest_event(db: &mut impl GenericClient) -> Result<Option<DateTime<Utc>>> {
    Ok(db
        .row("SELECT max(created_at) FROM usage_events", &[])
        .context("finding the latest event")?
        .get(0))
}

/// The bound of the CHECK constraint an earlier, interrupted adoption left, and whether it
/// was validated.
pub fn bound_check(db: &mut impl GenericClient) -> Result<Option<(String, bool)>> {
    Ok(db
        .opt_row(
            "SELECT pg_get_constraintdef(c.oid), c.convalidated FROM pg_constraint c
              WHERE c.conrelid = to_regclass('usage_events') AND c.conname = 'usagectl_partition_bound'",
            &[],
        )
        .context("looking for the adoption's CHECK constraint")?
        .map(|r| (r.get(0), r.get(1))))
}

/// The CHECK constraint `usagectl_partition_bound` (created_at IS NOT NULL AND created_at
/// < bound), NOT VALID: new rows must satisfy it at once, the rows there are checked by
/// [`validate_bound_check`]. An earlier one with another bound is replaced. Brief ACCESS
/// EXCLUSIVE lock, under the short lock wait, retried.
pub fn add_bound_check(client: &mut postgres::Client, bound: DateTime<Utc>) -> Result<()> {
    waits::retrying(client, "adding the partition bound", |client| {
        let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
        tx.batch_execute(&format!(
            "ALTER TABLE usage_events DROP CONSTRAINT IF EXISTS usagectl_partition_bound;
             ALTER TABLE usage_events ADD CONSTRAINT usagectl_partition_bound
                 CHECK (created_at IS NOT NULL AND created_at < '{}') NOT VALID",
            bound.to_rfc3339()
        ))
        .context("adding the CHECK constraint usagectl_partition_bound")?;
        tx.commit()?;
        Ok(())
    })
}

/// Check every row against the bound: a scan under SHARE UPDATE EXCLUSIVE, which inserts,
/// updates and deletes do not wait for.
pub fn validate_bound_check(client: &mut postgres::Client) -> Result<()> {
    waits::retrying(client, "validating the partition bound", |client| {
        let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
        tx.batch_execute("ALTER TABLE usage_events VALIDATE CONSTRAINT usagectl_partition_bound")?;
        tx.commit()?;
        Ok(())
    })
}

/// Remove the bound's CHECK constraint (an adoption that cannot go on).
pub fn drop_bound_check(client: &mut postgres::Client) -> Result<()> {
    waits::retrying(client, "removing the partition bound", |client| {
        let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
        tx.batch_execute(
            "ALTER TABLE usage_events DROP CONSTRAINT IF EXISTS usagectl_partition_bound",
        )?;
        tx.commit()?;
        Ok(())
    })
}

/// What the switch did.
#[derive(Debug)]
pub struct Switched {
    /// The heap's new name.
    pub heap: String,
    /// How long usage_events was locked (the web app's inserts waited at most this).
    pub locked_for: std::time::Duration,
}

/// The switch, in one transaction under ACCESS EXCLUSIVE on usage_events (the short lock
/// wait, retried): the keys of rows numbered after `numbered_above`, then
/// `usagectl_partition_switch()` (with `months` partitions from the bound's month on),
/// then this build's definitions on the new parent.
pub fn switch_to_partitions(
    client: &mut postgres::Client,
    bound: DateTime<Utc>,
    months: u32,
    numbered_above: i64,
) -> Result<Switched> {
    waits::retrying(client, "switching usage_events to partitions", |client| {
        let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
        tx.batch_execute("LOCK TABLE usage_events IN ACCESS EXCLUSIVE MODE")
            .context("locking usage_events")?;
        let started = std::time::Instant::now();
        claim_missing_keys(&mut tx, Some(numbered_above))?;
        let heap: String = tx
            .row(
                "SELECT usagectl_partition_switch($1, $2)",
                &[&bound, &(months as i32)],
            )
            .context("turning usage_events into a partitioned table")?
            .get(0);
        install_definitions_in(&mut tx)?;
        tx.commit().context("committing the switch")?;
        Ok(Switched {
            heap,
            locked_for: started.elapsed(),
        })
    })
}

/// The parent's statistics (autovacuum analyzes partitions, never a partitioned parent).
pub fn analyze_parent(client: &mut postgres::Client) -> Result<()> {
    client
        .batch_execute("ANALYZE usage_events")
        .context("collecting statistics for usage_events")
}

/// The partitions, oldest first.
pub fn partitions(db: &mut impl GenericClient) -> Result<Vec<PartitionRow>> {
    Ok(db
        .rows(
            "SELECT p.partition::text, p.range_from, p.range_to,
                    CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END,
                    pg_total_relation_size(p.partition), p.is_default
               FROM usagectl_partitions() p JOIN pg_class c ON c.oid = p.partition",
            &[],
        )
        .context("listing the partitions of usage_events")?
        .iter()
        .map(|r| PartitionRow {
            partition: r.get(0),
            from: r.get(1),
            to: r.get(2),
            rows_estimate: r.get(3),
            bytes: r.get(4),
            default: r.get(5),
        })
        .collect())
}

/// Whether `partition` (a name as [`partitions`] gives it, from the catalog) holds a row.
pub fn holds_rows(db: &mut impl GenericClient, partition: &str) -> Result<bool> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {partition})");
    Ok(db
        .row(&sql, &[])
        .with_context(|| format!("reading whether {partition} holds rows"))?
        .get(0))
}

/// Create the partition of `month` (false: one covers it already). SHARE UPDATE
/// EXCLUSIVE on usage_events (inserts go on), under the short lock wait, retried.
pub fn create_partition(client: &mut postgres::Client, month: &Month) -> Result<bool> {
    let first = month.start.date_naive();
    waits::retrying(client, "creating a partition", |client| {
        let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
        let made: bool = tx
            .row("SELECT usagectl_create_partition($1)", &[&first])
            .with_context(|| format!("creating the partition of {}", month.label()))?
            .get(0);
        tx.commit()?;
        Ok(made)
    })
}
