//! `stripe reconcile`: compare usage, the ledger and Stripe's day summaries.
use super::*;

/// `stripe reconcile`.
pub(super) fn reconcile(
    client: &mut Client,
    month: Option<Month>,
    org: Option<&str>,
    opts: &ApiOpts,
    out: &mut Output,
) -> Result<u8> {
    let api = api(opts)?;
    let mode = api.mode();
    sees_every_org(client, "stripe reconcile")?;
    let (customers, meters) = streams(client, org)?;
    let now = queries::server_now(client)?;
    let month = month.unwrap_or_else(|| Month::containing(now));
    let from = month.start.date_naive();
    // whole days up to tomorrow at most (summaries take day-aligned bounds)
    let to = month
        .end
        .min(now)
        .date_naive()
        .succ_opt()
        .unwrap_or(from)
        .min(month.end.date_naive());
    let ledger = queries::stripe_ledger_month(client, mode == Mode::Live, from, to)?;
    let mut rows = Vec::new();
    let mut without = Vec::new();
    let mut streams_n = 0;
    let mut days_n = 0;
    for m in &meters {
        let Some(meter_id) = &m.meter_id else {
            without.push(m.source.clone());
            continue;
        };
        for (o, customer) in &customers {
            streams_n += 1;
            let usage = queries::usage_per_day(
                client,
                o,
                &m.event_types,
                month.start,
                to.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            )?;
            let theirs: BTreeMap<NaiveDate, f64> = api
                .day_summaries(meter_id, customer, from, to)?
                .into_iter()
                .map(|s| (s.day, s.value))
                .collect();
            let mut day = from.max(m.from_day);
            while day < to {
                days_n += 1;
                let u = usage.get(&day).copied().unwrap_or(0);
                let (sent, pending, credit) = ledger
                    .get(&(o.clone(), m.source.clone(), day))
                    .copied()
                    .unwrap_or((0, 0, 0));
                let s = theirs.get(&day).copied().unwrap_or(0.0);
                if let Some(note) = stripe::disagreement(&stripe::DayFigures {
                    usage: u,
                    sent,
                    pending,
                    credit,
                    stripe: s,
                }) {
                    rows.push(ReconcileRow {
                        org_id: o.clone(),
                        customer_id: customer.clone(),
                        source: m.source.clone(),
                        day,
                        usage: u,
                        ledger_sent: sent,
                        ledger_pending: pending,
                        manual_credit: credit,
                        stripe: s,
                        note,
                    });
                }
                day = day.succ_opt().unwrap_or(to);
            }
        }
    }
    let disagree = !rows.is_empty();
    out.render(&ReconcileReport {
        mode,
        month: month.label(),
        streams: streams_n,
        days: days_n,
        without_meter_id: without,
        disagreements: rows,
    })?;
    Ok(if disagree {
        error::EXIT_FOUND
    } else {
        error::EXIT_OK
    })
}
