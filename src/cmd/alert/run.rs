//! `alert run`: decide every rule against every org's quota, then deliver the outbox.
use super::*;

/// Try one claimed delivery: up to [`TRIES_PER_RUN`] attempts with pauses, each recorded.
pub(super) fn deliver(client: &mut Client, sender: &Sender, c: &Claimed) -> Result<DeliveryRow> {
    let body = c.payload.body(c.delivery.format);
    let mut pause = alerts::FIRST_PAUSE;
    let mut tries = 0;
    loop {
        tries += 1;
        let (outcome, took) = sender.post(&c.delivery.endpoint, &c.delivery.secret, &c.id, &body);
        let end = match &outcome {
            Outcome::Delivered { .. } => AttemptEnd::Delivered,
            Outcome::Fail { .. } => AttemptEnd::Failed,
            Outcome::Retry { after, .. } => alerts::after_retryable(
                tries,
                pause,
                *after,
                c.decided_at,
                Utc::now(),
                c.failed_runs,
            ),
        };
        let recorded = queries::record_alert_attempt(
            client,
            &c.id,
            outcome.status(),
            outcome.error(),
            took,
            &end,
        )?;
        if let AttemptEnd::Again(wait) = end {
            std::thread::sleep(wait);
            pause *= 2;
            continue;
        }
        return Ok(DeliveryRow {
            id: c.id.clone(),
            rule: c.rule.clone(),
            org_id: c.org_id.clone(),
            kind: c.payload.kind.clone(),
            status: end.status(),
            attempts: tries,
            http_status: outcome.status(),
            error: outcome.error().map(str::to_string),
            next_attempt_at: recorded.next_attempt_at,
        });
    }
}

pub(super) fn org_uses(all: &status::AllQuotas) -> Vec<OrgUse> {
    all.quotas
        .iter()
        .map(|q| OrgUse {
            org_id: q.org_id.clone(),
            tier: q.effective.tier.clone(),
            period_start: q.period.start,
            period_end: q.period.end,
            uses: q.uses(),
        })
        .collect()
}

pub(super) fn decision_rows(decisions: &[(Decision, Payload)]) -> Vec<DecisionRow> {
    decisions
        .iter()
        .map(|(d, p)| DecisionRow {
            rule: d.rule.clone(),
            payload: p.clone(),
        })
        .collect()
}

pub(super) fn with_payloads(
    decisions: Vec<Decision>,
    now: DateTime<Utc>,
) -> Result<Vec<(Decision, Payload)>> {
    decisions
        .into_iter()
        .map(|d| {
            let p = Payload::of(&d, alerts::new_message_id()?, now);
            Ok((d, p))
        })
        .collect()
}

/// `alert run`: decide under the evaluation lock, commit, then deliver what is due.
pub(super) fn run_alerts(
    client: &mut Client,
    dry_run: bool,
    quiet: bool,
    http: &HttpOpts,
    out: &mut Output,
) -> Result<u8> {
    if dry_run {
        let mut tx = queries::read_snapshot(client)?;
        let rules = queries::alert_rules(&mut tx)?;
        let states = queries::alert_states(&mut tx)?;
        let only = every_org::check(&mut tx, None)?;
        let all = status::read_all_quotas(&mut tx, PeriodChoice::Current, only.as_deref())?;
        tx.commit()?;
        let decisions = with_payloads(alerts::decide(&rules, &org_uses(&all), &states), all.now)?;
        out.render(&RunReport {
            dry_run: true,
            rules: rules.len(),
            orgs: all.quotas.len(),
            decisions: decision_rows(&decisions),
            deliveries: Vec::new(),
            expired: 0,
        })?;
        return Ok(error::EXIT_OK);
    }
    let timeouts = http.timeouts();
    let sender = Sender::new(timeouts, &http.root_cert)?;
    // decide: one run at a time, so each reads the states the one before it wrote
    let mut tx = crate::db::begin(client)?;
    queries::lock_alert_evaluation(&mut tx)?;
    let rules = queries::alert_rules(&mut tx)?;
    let (decisions, orgs) = if rules.is_empty() {
        (Vec::new(), 0)
    } else {
        let states = queries::alert_states(&mut tx)?;
        let only = every_org::check(&mut tx, None)?;
        let all = status::read_all_quotas(&mut tx, PeriodChoice::Current, only.as_deref())?;
        let decisions = with_payloads(alerts::decide(&rules, &org_uses(&all), &states), all.now)?;
        queries::write_alert_decisions(&mut tx, &decisions)?;
        (decisions, all.quotas.len())
    };
    tx.commit().context("committing the alert decisions")?;
    // deliver: this run's decisions and earlier ones that are due, oldest first
    let expired = queries::expire_alert_deliveries(client, alerts::RETRY_FOR)?;
    let mut deliveries = Vec::new();
    let mut tried = Vec::new();
    while let Some(c) =
        queries::claim_alert_delivery(client, alerts::claim_lease(timeouts.total), &tried)?
    {
        tried.push(c.id.clone());
        deliveries.push(deliver(client, &sender, &c)?);
    }
    let mut failed = 0;
    for d in deliveries
        .iter()
        .filter(|d| d.status != DeliveryStatus::Delivered)
    {
        failed += 1;
        let then = match d.next_attempt_at {
            Some(at) => format!("tried again from {}", fmt_utc(&at)),
            None => "failed for good".to_string(),
        };
        crate::printer::note(&format!(
            "usagectl: alert delivery {} (rule {}, org {}, {}) not delivered after {}: {}; {then}",
            d.id,
            d.rule,
            d.org_id,
            d.kind,
            output::count(d.attempts, "attempt", "attempts"),
            d.error.as_deref().unwrap_or("no answer")
        ));
    }
    if !(quiet && decisions.is_empty() && deliveries.is_empty() && expired == 0) {
        out.render(&RunReport {
            dry_run: false,
            rules: rules.len(),
            orgs,
            decisions: decision_rows(&decisions),
            deliveries,
            expired,
        })?;
    }
    Ok(if failed == 0 {
        error::EXIT_OK
    } else {
        error::EXIT_FAILURE
    })
}
