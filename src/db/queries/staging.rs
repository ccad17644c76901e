//! Bulk record: the staging table, its COPY and the inserts from it.
use super::*;

/// Create the transaction's staging table for `record --file` (dropped at commit).
pub fn create_staging(db: &mut impl GenericClient) -> Result<()> {
    db.batch_execute(
        "CREATE TEMP TABLE usagectl_staging (
             line bigint NOT NULL,
             org_id text NOT NULL,
             event_type text NOT NULL,
             quantity integer NOT NULL,
             metadata jsonb,
             created_at timestamptz,
             idempotency_key text
         ) ON COMMIT DROP",
    )
    .context("creating the staging table")
}

/// A binary COPY into the staging table.
pub fn staging_writer<'a>(
    tx: &'a mut postgres::Transaction<'_>,
) -> Result<postgres::binary_copy::BinaryCopyInWriter<'a>> {
    use postgres::types::Type;
    let statement = crate::db::sql::prepare_copy(
        tx,
        "COPY usagectl_staging (line, org_id, event_type, quantity, metadata, created_at, idempotency_key)
         FROM STDIN (FORMAT binary)",
    )
    .context("preparing the COPY into the staging table")?;
    let sink = tx
        .copy_in(&statement)
        .context("starting COPY into the staging table")?;
    Ok(postgres::binary_copy::BinaryCopyInWriter::new(
        sink,
        &[
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT4,
            Type::JSONB,
            Type::TIMESTAMPTZ,
            Type::TEXT,
        ],
    ))
}

/// Send one validated row to the staging COPY.
pub fn write_staging(
    w: &mut postgres::binary_copy::BinaryCopyInWriter<'_>,
    line: i64,
    ev: &NewEvent,
) -> Result<()> {
    w.write(&[
        &line,
        &ev.org_id,
        &ev.event_type,
        &ev.quantity,
        &ev.metadata,
        &ev.created_at,
        &ev.idempotency_key,
    ])
    .context("streaming rows to the server")
}

/// Staged rows that would be inserted: keyless rows, and the first row of each key that is
/// not stored yet. Used by --enforce, after the orgs are locked.
const NEW_STAGED_ROWS: &str = "
    SELECT s.* FROM (
        SELECT *, row_number() OVER (PARTITION BY org_id, idempotency_key ORDER BY line) AS n
        FROM usagectl_staging WHERE org_id = $1
    ) s
    WHERE s.idempotency_key IS NULL
       OR (s.n = 1 AND NOT EXISTS (
             SELECT 1 FROM usage_events e
             WHERE e.org_id = s.org_id AND e.idempotency_key = s.idempotency_key))";

/// The orgs in the staging table, in byte order (the order their locks are taken in).
pub fn staged_orgs(db: &mut impl GenericClient) -> Result<Vec<String>> {
    Ok(db
        .rows(
            r#"SELECT DISTINCT org_id COLLATE "C" FROM usagectl_staging ORDER BY 1"#,
            &[],
        )
        .context("listing the orgs in the input")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Quantity per billing period and event type of one org's staged rows that would be
/// inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedTotal {
    /// The first instant of the org's billing period the rows fall in.
    pub period_start: DateTime<Utc>,
    /// The end of that period.
    pub period_end: DateTime<Utc>,
    /// Event type.
    pub event_type: String,
    /// Sum of quantity.
    pub quantity: i64,
}

/// See [`StagedTotal`], periods in order; one org at a time, so the transaction can be
/// scoped to it for the seed's RLS policy. The periods come from `usagectl_periods()`
/// (the one period rule) over the span of the rows' instants.
pub fn staged_new_totals(db: &mut impl GenericClient, org: &str) -> Result<Vec<StagedTotal>> {
    Ok(db
        .rows(
            &format!(
                "WITH t AS (SELECT event_type, quantity, coalesce(created_at, now()) AS at
                            FROM ({NEW_STAGED_ROWS}) n),
                      p AS (SELECT p.* FROM (SELECT min(at) AS lo, max(at) AS hi FROM t) b
                            CROSS JOIN LATERAL usagectl_periods($1, b.lo, b.hi) p
                            WHERE b.lo IS NOT NULL)
                 SELECT p.period_start, p.period_end, t.event_type, sum(t.quantity)::bigint
                 FROM t JOIN p ON t.at >= p.period_start AND t.at < p.period_end
                 GROUP BY 1, 2, 3 ORDER BY 1, 3"
            ),
            &[&org],
        )
        .context("summing the input per billing period")?
        .iter()
        .map(|r| StagedTotal {
            period_start: r.get(0),
            period_end: r.get(1),
            event_type: r.get(2),
            quantity: r.get(3),
        })
        .collect())
}

/// Input lines per call of `usagectl_insert_events()`: its arrays stay a few MB however
/// large the file.
const INSERT_CHUNK: i64 = 20_000;

/// Insert the staged rows in input order, skipping keys stored already or seen earlier in
/// the input, and every row of the `refused` orgs. Returns how many were inserted.
pub fn insert_from_staging(db: &mut impl GenericClient, refused: &[String]) -> Result<u64> {
    let last: i64 = db
        .row(
            "SELECT coalesce(max(line), 0)::bigint FROM usagectl_staging",
            &[],
        )
        .context("counting the staged rows")?
        .get(0);
    if last > INSERT_CHUNK {
        // each chunk reads its lines, not the whole table
        db.batch_execute("CREATE INDEX ON usagectl_staging (line)")
            .context("indexing the staged rows")?;
    }
    let mut inserted = 0i64;
    let mut from = 0i64;
    while from < last {
        let to = from + INSERT_CHUNK;
        let n: i64 = db
            .row(
                "SELECT count(*)
                 FROM (SELECT array_agg(NULL::uuid ORDER BY line) AS id, array_agg(org_id ORDER BY line) AS org,
                              array_agg(event_type ORDER BY line) AS t, array_agg(quantity ORDER BY line) AS q,
                              array_agg(metadata ORDER BY line) AS m, array_agg(created_at ORDER BY line) AS at,
                              array_agg(idempotency_key ORDER BY line) AS k
                         FROM usagectl_staging
                        WHERE line > $2 AND line <= $3 AND NOT (org_id = ANY($1))) s
                 CROSS JOIN LATERAL usagectl_insert_events(s.id, s.org, s.t, s.q, s.m, s.at, s.k)",
                &[&refused, &from, &to],
            )
            .context("inserting the rows")?
            .get(0);
        inserted += n;
        from = to;
    }
    Ok(inserted as u64)
}
