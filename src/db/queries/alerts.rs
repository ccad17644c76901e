//! Usage alerts (migration 16): rules, states, the outbox and its attempts. The decisions
//! are made in [`crate::alerts`]; these queries read and write what they need.
use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::alerts::{Decision, Format, Kind, OutboxStatus, Payload, Rule, State, StateKey};
use crate::webhook::{Endpoint, Secret};

/// The readable columns of a rule (no URL, no secret: `usage_reader` may select them).
const RULE_COLUMNS: &str = "name, webhook_shown, format, thresholds, metrics, org_id, tier,
    allow_insecure_http, created_at, created_by";

fn rule_of(r: &postgres::Row) -> Result<Rule> {
    let name: String = r.get(0);
    let format: String = r.get(2);
    let thresholds: Vec<i32> = r.get(3);
    let metrics: Option<Vec<String>> = r.get(4);
    let metrics = match metrics {
        None => None,
        Some(ms) => Some(
            ms.iter()
                .map(|m| {
                    Metric::from_name(m)
                        .with_context(|| format!("alert {name} names an unknown metric {m}"))
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    Ok(Rule {
        format: Format::from_name(&format)
            .with_context(|| format!("alert {name} has an unknown format {format}"))?,
        thresholds: thresholds.into_iter().map(|t| t as u16).collect(),
        metrics,
        webhook: r.get(1),
        org_id: r.get(5),
        tier: r.get(6),
        allow_insecure_http: r.get(7),
        created_at: r.get(8),
        created_by: r.get(9),
        name,
    })
}

/// A rule to add.
#[derive(Debug)]
pub struct NewRule<'a> {
    /// Its name.
    pub name: &'a str,
    /// Where to deliver.
    pub endpoint: &'a Endpoint,
    /// Signing secret.
    pub secret: &'a Secret,
    /// Body format.
    pub format: Format,
    /// Thresholds, ascending, distinct.
    pub thresholds: &'a [u16],
    /// Metrics; `None`: all.
    pub metrics: Option<&'a [Metric]>,
    /// Only this org.
    pub org_id: Option<&'a str>,
    /// Only this tier.
    pub tier: Option<&'a str>,
    /// Plain http to a host that is not loopback allowed.
    pub allow_insecure_http: bool,
}

/// Add a rule; `None` when one of that name exists.
pub fn add_alert_rule(db: &mut impl GenericClient, r: &NewRule<'_>) -> Result<Option<Rule>> {
    let thresholds: Vec<i32> = r.thresholds.iter().map(|&t| i32::from(t)).collect();
    let metrics: Option<Vec<&str>> = r.metrics.map(|ms| ms.iter().map(|m| m.name()).collect());
    let row = db
        .opt_row(
            &format!(
                "INSERT INTO usagectl_alert_rules (name, webhook_url, webhook_shown, secret, format,
                     thresholds, metrics, org_id, tier, allow_insecure_http)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (name) DO NOTHING
                 RETURNING {RULE_COLUMNS}"
            ),
            &[
                &r.name,
                &r.endpoint.expose(),
                &r.endpoint.shown(),
                &r.secret.expose(),
                &r.format.name(),
                &thresholds,
                &metrics,
                &r.org_id,
                &r.tier,
                &r.allow_insecure_http,
            ],
        )
        // the server's DETAIL of a refused row quotes the row, URL and secret included:
        // only its message goes further
        .map_err(|e| {
            anyhow::anyhow!(
                "adding the alert rule: {}",
                e.as_db_error()
                    .map_or("the server refused it", |d| d.message())
            )
        })?;
    row.as_ref().map(rule_of).transpose()
}

/// Every rule, by name.
pub fn alert_rules(db: &mut impl GenericClient) -> Result<Vec<Rule>> {
    db.rows(
        &format!("SELECT {RULE_COLUMNS} FROM usagectl_alert_rules ORDER BY name"),
        &[],
    )
    .context("reading the alert rules")?
    .iter()
    .map(rule_of)
    .collect()
}

/// Remove a rule with its states, outbox and attempts; how many deliveries were still
/// pending, or `None` when there is no such rule.
pub fn remove_alert_rule(db: &mut impl GenericClient, name: &str) -> Result<Option<i64>> {
    let pending: i64 = db
        .row(
            "SELECT count(*) FROM usagectl_alert_outbox WHERE rule = $1 AND status = 'pending'",
            &[&name],
        )
        .context("counting the rule's pending deliveries")?
        .get(0);
    let n = db
        .exec("DELETE FROM usagectl_alert_rules WHERE name = $1", &[&name])
        .context("removing the alert rule")?;
    Ok((n == 1).then_some(pending))
}

/// Where and how a rule delivers (owner only: the URL and the secret).
pub struct Delivery {
    /// The URL.
    pub endpoint: Endpoint,
    /// The secret.
    pub secret: Secret,
    /// Body format.
    pub format: Format,
}

fn delivery_of(
    name: &str,
    url: &str,
    secret: &str,
    format: &str,
    insecure: bool,
) -> Result<Delivery> {
    Ok(Delivery {
        endpoint: Endpoint::parse(url, insecure)
            .map_err(|e| anyhow::anyhow!("alert {name}'s stored webhook URL: {e}"))?,
        secret: Secret::parse(secret)
            .map_err(|e| anyhow::anyhow!("alert {name}'s stored secret: {e}"))?,
        format: Format::from_name(format)
            .with_context(|| format!("alert {name} has an unknown format"))?,
    })
}

/// A rule's delivery settings, `None` when there is no such rule.
pub fn alert_delivery(db: &mut impl GenericClient, name: &str) -> Result<Option<Delivery>> {
    let row = db
        .opt_row(
            "SELECT webhook_url, secret, format, allow_insecure_http FROM usagectl_alert_rules WHERE name = $1",
            &[&name],
        )
        .context("reading the alert rule's webhook")?;
    row.map(|r| delivery_of(name, r.get(0), r.get(1), r.get(2), r.get(3)))
        .transpose()
}

/// Take the evaluation lock (one row): runs decide one after another, each reading the
/// states the one before it wrote. Waits at most `--lock-timeout`.
pub fn lock_alert_evaluation(tx: &mut postgres::Transaction<'_>) -> Result<()> {
    tx.exec(
        "UPDATE usagectl_alert_evaluation SET last_run_at = now() WHERE id",
        &[],
    )
    .context("waiting for another `usagectl alert run` to finish deciding (the lock on usagectl_alert_evaluation)")?;
    Ok(())
}

/// Every stored state.
pub fn alert_states(db: &mut impl GenericClient) -> Result<BTreeMap<StateKey, State>> {
    let mut out = BTreeMap::new();
    for r in db
        .rows(
            "SELECT rule, org_id, metric, threshold_pct, period_start, crossed FROM usagectl_alert_states",
            &[],
        )
        .context("reading the alert states")?
    {
        let Some(metric) = Metric::from_name(r.get(2)) else {
            continue;
        };
        out.insert(
            (r.get(0), r.get(1), metric, r.get::<_, i32>(3) as u16),
            State {
                period_start: r.get(4),
                crossed: r.get(5),
            },
        );
    }
    Ok(out)
}

/// Write each decision: its state and its outbox row, in the caller's transaction.
pub fn write_alert_decisions(
    tx: &mut postgres::Transaction<'_>,
    decisions: &[(Decision, Payload)],
) -> Result<()> {
    for (d, p) in decisions {
        let pct = i32::from(d.threshold_pct);
        tx.exec(
            "INSERT INTO usagectl_alert_states AS s (rule, org_id, metric, threshold_pct, period_start,
                 crossed, current, \"limit\")
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (rule, org_id, metric, threshold_pct) DO UPDATE
                SET period_start = excluded.period_start, crossed = excluded.crossed,
                    current = excluded.current, \"limit\" = excluded.\"limit\", changed_at = now()",
            &[
                &d.rule,
                &d.org_id,
                &d.metric.name(),
                &pct,
                &d.period_start,
                &(d.kind == Kind::Crossed),
                &d.current,
                &d.limit,
            ],
        )
        .context("writing the alert state")?;
        let payload = serde_json::to_value(p).context("encoding the alert payload")?;
        tx.exec(
            "INSERT INTO usagectl_alert_outbox (id, rule, org_id, type, payload) VALUES ($1, $2, $3, $4, $5)",
            &[&p.id, &d.rule, &d.org_id, &d.kind.type_name(), &payload],
        )
        .context("writing the alert to the outbox")?;
    }
    Ok(())
}

/// Mark the deliveries that have been retried for `retry_for` without success as failed;
/// how many.
pub fn expire_alert_deliveries(db: &mut impl GenericClient, retry_for: Duration) -> Result<u64> {
    let secs = retry_for.as_secs_f64();
    db.exec(
        "UPDATE usagectl_alert_outbox
            SET status = 'failed', finished_at = now(),
                last_error = coalesce(last_error || '; ', '') || 'given up: not delivered within '
                             || ($1 / 3600)::text || ' h'
          WHERE status = 'pending' AND decided_at < now() - make_interval(secs => $1)
            AND (claimed_until IS NULL OR claimed_until < now())",
        &[&secs],
    )
    .context("marking expired alert deliveries as failed")
}

/// A delivery claimed for this run.
pub struct Claimed {
    /// Message id.
    pub id: String,
    /// The rule.
    pub rule: String,
    /// The org.
    pub org_id: String,
    /// What to send.
    pub payload: Payload,
    /// Attempts before this run.
    pub attempts: i32,
    /// Runs before this one that left it for a later run.
    pub failed_runs: i32,
    /// When it was decided (it is given up 24 hours later).
    pub decided_at: DateTime<Utc>,
    /// Where and how.
    pub delivery: Delivery,
}

/// Claim the oldest due delivery for `lease` (no other run takes it meanwhile: rows another
/// run is claiming are skipped, rows it claimed are leased), optionally only `rule`'s.
pub fn claim_alert_delivery(
    db: &mut impl GenericClient,
    lease: Duration,
    skip: &[String],
) -> Result<Option<Claimed>> {
    let secs = lease.as_secs_f64();
    let row = db
        .opt_row(
            "WITH c AS (
                 SELECT o.id FROM usagectl_alert_outbox o
                  WHERE o.status = 'pending' AND o.next_attempt_at <= now()
                    AND (o.claimed_until IS NULL OR o.claimed_until < now())
                    AND o.id <> ALL ($2)
                  ORDER BY o.decided_at, o.id
                  LIMIT 1
                    FOR UPDATE SKIP LOCKED)
             UPDATE usagectl_alert_outbox o SET claimed_until = now() + make_interval(secs => $1)
               FROM c, usagectl_alert_rules r
              WHERE o.id = c.id AND r.name = o.rule
             RETURNING o.id, o.rule, o.org_id, o.payload, o.attempts, r.webhook_url, r.secret, r.format,
                       r.allow_insecure_http, o.decided_at, o.failed_runs",
            &[&secs, &skip],
        )
        .context("claiming an alert delivery")?;
    let Some(r) = row else {
        return Ok(None);
    };
    let id: String = r.get(0);
    let rule: String = r.get(1);
    let payload: Value = r.get(3);
    Ok(Some(Claimed {
        payload: serde_json::from_value(payload)
            .with_context(|| format!("reading the payload of {id}"))?,
        org_id: r.get(2),
        attempts: r.get(4),
        decided_at: r.get(9),
        failed_runs: r.get(10),
        delivery: delivery_of(&rule, r.get(5), r.get(6), r.get(7), r.get(8))?,
        id,
        rule,
    }))
}

pub use crate::alerts::AttemptEnd;

/// One attempt as recorded.
pub struct RecordedAttempt {
    /// Its number among the delivery's attempts.
    pub attempt: i32,
    /// When a later run may try again, as stored (`AttemptEnd::Later` only).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Record one attempt and where the delivery stands after it.
pub fn record_alert_attempt(
    db: &mut impl GenericClient,
    id: &str,
    status: Option<u16>,
    error: Option<&str>,
    took: Duration,
    end: &AttemptEnd,
) -> Result<RecordedAttempt> {
    let mut tx = crate::db::begin(db)?;
    let status = status.map(i32::from);
    let ms = took.as_millis().min(i32::MAX as u128) as i32;
    let attempt: i32 = tx
        .row(
            "UPDATE usagectl_alert_outbox SET attempts = attempts + 1, last_status = $2, last_error = $3
              WHERE id = $1 RETURNING attempts",
            &[&id, &status, &error],
        )
        .context("recording the delivery attempt")?
        .get(0);
    tx.exec(
        "INSERT INTO usagectl_alert_attempts (outbox_id, attempt, http_status, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5)",
        &[&id, &attempt, &status, &error, &ms],
    )
    .context("recording the delivery attempt")?;
    let next_attempt_at = match end {
        AttemptEnd::Delivered | AttemptEnd::Failed => {
            let status = if matches!(end, AttemptEnd::Delivered) {
                OutboxStatus::Delivered
            } else {
                OutboxStatus::Failed
            }
            .as_str();
            tx.exec(
                "UPDATE usagectl_alert_outbox SET status = $2, finished_at = now(), claimed_until = NULL
                  WHERE id = $1",
                &[&id, &status],
            )
            .map(|_| None)
        }
        // the time said on stderr is the one stored: both come from this statement
        AttemptEnd::Later(d) => tx
            .row(
                "UPDATE usagectl_alert_outbox
                    SET next_attempt_at = now() + make_interval(secs => $2), claimed_until = NULL,
                        failed_runs = failed_runs + 1
                  WHERE id = $1
              RETURNING next_attempt_at",
                &[&id, &d.as_secs_f64()],
            )
            .map(|r| Some(r.get(0))),
        AttemptEnd::Again(_) => Ok(None),
    }
    .context("recording where the delivery stands")?;
    tx.commit().context("committing the delivery attempt")?;
    Ok(RecordedAttempt {
        attempt,
        next_attempt_at,
    })
}

/// One row of `alert history`.
#[derive(Debug, Serialize)]
pub struct AlertHistoryRow {
    /// Message id (the webhook-id).
    pub id: String,
    /// The rule.
    pub rule: String,
    /// Organisation.
    pub org_id: String,
    /// crossed or resolved.
    #[serde(rename = "type")]
    pub kind: String,
    /// Metric.
    pub metric: String,
    /// Threshold.
    pub threshold_pct: i64,
    /// Use when decided.
    pub current: i64,
    /// Limit when decided (null: unlimited).
    pub limit: Option<i64>,
    /// When decided.
    #[serde(serialize_with = "crate::time::ser")]
    pub decided_at: DateTime<Utc>,
    /// pending, delivered or failed.
    pub status: OutboxStatus,
    /// Attempts so far.
    pub attempts: i32,
    /// The last answer's HTTP status.
    pub last_status: Option<i32>,
    /// The last error.
    pub last_error: Option<String>,
    /// When a pending one is tried next.
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When delivered or given up.
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub finished_at: Option<DateTime<Utc>>,
}

/// Decisions and their deliveries, newest first.
pub fn alert_history(
    db: &mut impl GenericClient,
    org: Option<&str>,
    since: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<AlertHistoryRow>> {
    Ok(db
        .rows(
            "SELECT id, rule, org_id, type, payload->>'metric', (payload->>'threshold_pct')::bigint,
                    (payload->>'current')::bigint, (payload->>'limit')::bigint, decided_at, status,
                    attempts, last_status, last_error,
                    CASE WHEN status = 'pending' THEN next_attempt_at END, finished_at
               FROM usagectl_alert_outbox
              WHERE ($1::text IS NULL OR org_id = $1) AND ($2::timestamptz IS NULL OR decided_at >= $2)
              ORDER BY decided_at DESC, id DESC
              LIMIT $3",
            &[&org, &since, &limit],
        )
        .context("reading the alert history")?
        .iter()
        .map(|r| AlertHistoryRow {
            id: r.get(0),
            rule: r.get(1),
            org_id: r.get(2),
            kind: r.get(3),
            metric: r.get::<_, Option<String>>(4).unwrap_or_default(),
            threshold_pct: r.get::<_, Option<i64>>(5).unwrap_or_default(),
            current: r.get::<_, Option<i64>>(6).unwrap_or_default(),
            limit: r.get(7),
            decided_at: r.get(8),
            status: r.get(9),
            attempts: r.get(10),
            last_status: r.get(11),
            last_error: r.get(12),
            next_attempt_at: r.get(13),
            finished_at: r.get(14),
        })
        .collect())
}
