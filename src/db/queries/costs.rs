//! AI prices and costs (migration 19), and an org's raw events (`usagectl events`).
use super::*;

/// One price row.
#[derive(Debug, Clone, Serialize)]
pub struct Price {
    /// The model name, as the web app writes it in `metadata->>'model'`.
    pub model: String,
    /// In force from (inclusive).
    #[serde(serialize_with = "crate::time::ser")]
    pub valid_from: DateTime<Utc>,
    /// In force until (the next price's valid_from), if any.
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub valid_to: Option<DateTime<Utc>>,
    /// USD per million input tokens (exact decimal).
    pub input_per_mtok: String,
    /// USD per million output tokens.
    pub output_per_mtok: String,
    /// When and by whom it was set.
    #[serde(serialize_with = "crate::time::ser")]
    pub set_at: DateTime<Utc>,
    /// Database role.
    pub set_by: String,
}

/// Set a model's price from an instant (replacing a price set for that same instant).
pub fn set_price(
    db: &mut impl GenericClient,
    model: &str,
    from: DateTime<Utc>,
    input: &str,
    output: &str,
) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_model_prices (model, valid_from, input_per_mtok, output_per_mtok)
         VALUES ($1, $2, $3::numeric, $4::numeric)
         ON CONFLICT (model, valid_from) DO UPDATE
            SET input_per_mtok = excluded.input_per_mtok, output_per_mtok = excluded.output_per_mtok,
                set_at = now(), set_by = current_user",
        &[&model, &from, &input, &output],
    )
    .context("setting the price")?;
    Ok(())
}

/// A price that `price remove` took out of force, with who removed it and why.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedPrice {
    /// The model.
    pub model: String,
    /// The instant it was in force from.
    #[serde(serialize_with = "crate::time::ser")]
    pub valid_from: DateTime<Utc>,
    /// USD per million input tokens (exact decimal).
    pub input_per_mtok: String,
    /// USD per million output tokens.
    pub output_per_mtok: String,
    /// When it was removed.
    #[serde(serialize_with = "crate::time::ser")]
    pub removed_at: DateTime<Utc>,
    /// Database role that removed it.
    pub removed_by: String,
    /// OS user that removed it.
    pub removed_by_os: Option<String>,
    /// Why.
    pub reason: String,
}

const REMOVED_COLUMNS: &str = "model, valid_from, input_per_mtok::text, output_per_mtok::text, \
                               removed_at, removed_by, removed_by_os, reason";

fn removed_price(r: &postgres::Row) -> RemovedPrice {
    RemovedPrice {
        model: r.get(0),
        valid_from: r.get(1),
        input_per_mtok: r.get(2),
        output_per_mtok: r.get(3),
        removed_at: r.get(4),
        removed_by: r.get(5),
        removed_by_os: r.get(6),
        reason: r.get(7),
    }
}

/// Take `model`'s price from `from` out of force, keeping it with who, when and why in
/// `usagectl_model_price_removals`, in one statement; `None` when there is no such price.
pub fn remove_price(
    db: &mut impl GenericClient,
    model: &str,
    from: DateTime<Utc>,
    reason: &str,
    os_user: Option<&str>,
) -> Result<Option<RemovedPrice>> {
    let row = db
        .opt_row(
            &format!(
                "WITH gone AS (
                     DELETE FROM usagectl_model_prices WHERE model = $1 AND valid_from = $2
                  RETURNING model, valid_from, input_per_mtok, output_per_mtok, set_at, set_by)
                 INSERT INTO usagectl_model_price_removals
                        (model, valid_from, input_per_mtok, output_per_mtok, set_at, set_by, reason, removed_by_os)
                 SELECT model, valid_from, input_per_mtok, output_per_mtok, set_at, set_by, $3, $4 FROM gone
                 RETURNING {REMOVED_COLUMNS}"
            ),
            &[&model, &from, &reason, &os_user],
        )
        .context("removing the price")?;
    Ok(row.as_ref().map(removed_price))
}

/// Every removed price, by model and time.
pub fn removed_prices(db: &mut impl GenericClient) -> Result<Vec<RemovedPrice>> {
    Ok(db
        .rows(
            &format!(
                "SELECT {REMOVED_COLUMNS} FROM usagectl_model_price_removals
                  ORDER BY model, valid_from, removed_at"
            ),
            &[],
        )
        .context("reading the removed prices")?
        .iter()
        .map(removed_price)
        .collect())
}

/// Every price, by model and time.
pub fn prices(db: &mut impl GenericClient) -> Result<Vec<Price>> {
    Ok(db
        .rows(
            "SELECT model, valid_from, lead(valid_from) OVER (PARTITION BY model ORDER BY valid_from),
                    input_per_mtok::text, output_per_mtok::text, set_at, set_by
               FROM usagectl_model_prices ORDER BY model, valid_from",
            &[],
        )
        .context("reading the prices")?
        .iter()
        .map(|r| Price {
            model: r.get(0),
            valid_from: r.get(1),
            valid_to: r.get(2),
            input_per_mtok: r.get(3),
            output_per_mtok: r.get(4),
            set_at: r.get(5),
            set_by: r.get(6),
        })
        .collect())
}

/// Tokens of one org and model under one price (or none).
#[derive(Debug, Clone)]
pub struct CostRow {
    /// Organisation.
    pub org_id: String,
    /// `metadata->>'model'`; `None` when the event names none.
    pub model: Option<String>,
    /// The price's valid_from; `None` when no price covers these tokens.
    pub price_from: Option<DateTime<Utc>>,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// USD per million input tokens (exact), when priced.
    pub input_per_mtok: Option<String>,
    /// USD per million output tokens, when priced.
    pub output_per_mtok: Option<String>,
    /// tokens x price / 1e6, exact, when priced.
    pub cost: Option<String>,
}

/// THE cost rule: each token event (`ai_tokens_input`, `ai_tokens_output`) of `[from, to)`
/// priced with its model's price in force at the event's time, summed per org, model and
/// price, in exact numeric arithmetic; tokens without a model or a price come back unpriced.
pub fn costs(
    db: &mut impl GenericClient,
    org: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CostRow>> {
    Ok(db
        .rows(
            "WITH th AS (
                 -- every instant a price changes, any model's: within two of them every
                 -- model's price is constant, so the tokens are read per interval
                 SELECT coalesce(array_agg(DISTINCT valid_from ORDER BY valid_from),
                                 ARRAY['-infinity'::timestamptz]) AS a
                   FROM usagectl_model_prices),
             iv AS (
                 -- interval b is [a[b], a[b+1]) (b = 0: before the first), cut to [from, to)
                 SELECT b, greatest(lo, $1) AS s, least(hi, $2) AS e
                   FROM (SELECT b, CASE WHEN b = 0 THEN '-infinity'::timestamptz ELSE th.a[b] END AS lo,
                                coalesce(th.a[b + 1], 'infinity'::timestamptz) AS hi
                           FROM th, generate_series(0, cardinality(th.a)) b) x
                  WHERE lo < $2 AND hi > $1),
             agg AS (
                 -- THE read path, per model (rollup for whole days, raw rows for the rest)
                 SELECT u.org_id, nullif(u.model, '') AS model, iv.b,
                        coalesce(sum(u.quantity) FILTER (WHERE u.event_type = 'ai_tokens_input'), 0)::bigint AS input,
                        coalesce(sum(u.quantity) FILTER (WHERE u.event_type = 'ai_tokens_output'), 0)::bigint AS output
                   FROM iv CROSS JOIN LATERAL usagectl_usage_by_model(
                            CASE WHEN $3::text IS NULL THEN NULL ELSE ARRAY[$3::text] END,
                            ARRAY['ai_tokens_input', 'ai_tokens_output'], iv.s, iv.e) u
                  GROUP BY 1, 2, 3),
             p AS (
                 SELECT model, valid_from,
                        coalesce(lead(valid_from) OVER (PARTITION BY model ORDER BY valid_from), 'infinity') AS valid_to,
                        input_per_mtok, output_per_mtok
                   FROM usagectl_model_prices),
             t AS (
                 -- interval b starts at th.a[b]; the price in force there is in force through it
                 SELECT agg.org_id, agg.model, p.valid_from, p.input_per_mtok, p.output_per_mtok,
                        sum(agg.input)::bigint AS input, sum(agg.output)::bigint AS output
                   FROM agg CROSS JOIN th
                   LEFT JOIN p ON p.model = agg.model AND agg.b > 0
                              AND p.valid_from <= th.a[agg.b] AND th.a[agg.b] < p.valid_to
                  GROUP BY 1, 2, 3, 4, 5)
             SELECT org_id, model, valid_from, input, output, input_per_mtok::text, output_per_mtok::text,
                    ((input * input_per_mtok + output * output_per_mtok) * 0.000001)::text
               FROM t ORDER BY org_id, model NULLS LAST, valid_from NULLS LAST",
            &[&from, &to, &org],
        )
        .context("pricing the month's tokens")?
        .iter()
        .map(|r| CostRow {
            org_id: r.get(0),
            model: r.get(1),
            price_from: r.get(2),
            input_tokens: r.get(3),
            output_tokens: r.get(4),
            input_per_mtok: r.get(5),
            output_per_mtok: r.get(6),
            cost: r.get(7),
        })
        .collect())
}

/// One raw event, for `usagectl events`.
#[derive(Debug, Clone, Serialize)]
pub struct RawEvent {
    /// Event id.
    pub id: Uuid,
    /// Event type.
    pub event_type: String,
    /// Quantity.
    pub quantity: i32,
    /// When.
    #[serde(serialize_with = "crate::time::ser")]
    pub created_at: DateTime<Utc>,
    /// Idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// Metadata, whole.
    pub metadata: Option<Value>,
    /// The event's number (NULL for rows from before adoption).
    #[serde(skip)]
    pub seq: Option<i64>,
}

/// What `events` selects.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only these types (empty: all).
    pub types: Vec<String>,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// To (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Top-level metadata keys and values, matched by containment (`metadata @> ...`).
    pub contains: Option<Value>,
}

const EVENT_COLUMNS: &str =
    "e.id, e.event_type, e.quantity, e.created_at, e.idempotency_key, e.metadata, e.usagectl_seq";

/// What [`EventFilter`] keeps, over `$1` org, `$2` types, `$3`/`$4` window, `$5`
/// containment (what each caller passes first).
const EVENT_FILTER: &str = "e.org_id = $1 AND ($2::text[] IS NULL OR e.event_type = ANY ($2))
    AND ($3::timestamptz IS NULL OR e.created_at >= $3)
    AND ($4::timestamptz IS NULL OR e.created_at < $4)
    AND ($5::jsonb IS NULL OR e.metadata @> $5)";

fn raw_event(r: &postgres::Row) -> RawEvent {
    RawEvent {
        id: r.get(0),
        event_type: r.get(1),
        quantity: r.get(2),
        created_at: r.get(3),
        idempotency_key: r.get(4),
        metadata: r.get(5),
        seq: r.get(6),
    }
}

/// The org's newest `limit` events matching `f`, newest first (numbered at most
/// `settled`, or from before adoption, when given).
pub fn recent_events(
    db: &mut impl GenericClient,
    org: &str,
    f: &EventFilter,
    limit: i64,
    settled: Option<i64>,
) -> Result<Vec<RawEvent>> {
    let types: Option<Vec<String>> = (!f.types.is_empty()).then(|| f.types.clone());
    Ok(db
        .rows(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM usage_events e
                  WHERE {EVENT_FILTER}
                    AND ($6::bigint IS NULL OR e.usagectl_seq IS NULL OR e.usagectl_seq <= $6)
                  ORDER BY e.created_at DESC, e.id DESC
                  LIMIT $7"
            ),
            &[&org, &types, &f.from, &f.to, &f.contains, &settled, &limit],
        )
        .with_context(|| format!("reading org {org}'s events"))?
        .iter()
        .map(raw_event)
        .collect())
}

/// The org's events numbered in `(after, through]` matching `f`, in numbering order.
pub fn events_numbered(
    db: &mut impl GenericClient,
    org: &str,
    f: &EventFilter,
    after: i64,
    through: i64,
) -> Result<Vec<RawEvent>> {
    let types: Option<Vec<String>> = (!f.types.is_empty()).then(|| f.types.clone());
    Ok(db
        .rows(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM usage_events e
                  WHERE e.usagectl_seq > $6 AND e.usagectl_seq <= $7 AND {EVENT_FILTER}
                  ORDER BY e.usagectl_seq"
            ),
            &[&org, &types, &f.from, &f.to, &f.contains, &after, &through],
        )
        .with_context(|| format!("reading org {org}'s new events"))?
        .iter()
        .map(raw_event)
        .collect())
}

/// The numbering below which every row has committed or rolled back, after waiting at most
/// `max_wait` for the writers in progress (`usagectl_settled_seq()`).
pub fn settled_seq(db: &mut impl GenericClient, max_wait: std::time::Duration) -> Result<i64> {
    Ok(db
        .row(
            "SELECT usagectl_settled_seq(make_interval(secs => $1))",
            &[&max_wait.as_secs_f64()],
        )
        .context("waiting for the transactions writing usage_events to settle")?
        .get(0))
}
