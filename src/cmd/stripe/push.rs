//! `stripe push`: decide each stream's revisions under its lock, then send them.
use super::*;

/// How long a push's claim on a stream's pending revisions lasts when its backend cannot
/// be seen to have gone (behind a pooler): every try of every revision at its timeout.
pub(super) fn lease(opts: &ApiOpts, revisions: usize) -> Duration {
    (opts.timeout + Duration::from_secs(30)) * 3 * (revisions.max(1) as u32)
        + Duration::from_secs(60)
}

/// A stream's work: its org and source, and its claimed revisions in order.
pub(super) struct Work {
    org: String,
    source: String,
    revisions: Vec<PendingRevision>,
}

/// Decide one stream's revisions under its lock and claim its pending ones; `None` when
/// another push holds it.
#[allow(clippy::too_many_arguments)]
pub(super) fn decide_stream(
    client: &mut Client,
    mode: Mode,
    org: &str,
    customer: &str,
    meter: &StripeMeter,
    now: DateTime<Utc>,
    through: DateTime<Utc>,
    opts: &ApiOpts,
    manual: &mut Vec<PushRow>,
) -> Result<Option<Work>> {
    let live = mode == Mode::Live;
    let mut tx = crate::db::begin(client)?;
    if !queries::lock_stripe_stream(&mut tx, live, org, &meter.source)?
        || queries::stripe_stream_in_flight(&mut tx, live, org, &meter.source)?
    {
        return Ok(None);
    }
    for r in plan_stream(&mut tx, mode, org, customer, meter, now, through)? {
        queries::insert_stripe_revision(&mut tx, &r)?;
        if r.status == RevisionStatus::ManualCredit {
            manual.push(PushRow {
                org_id: r.org_id.clone(),
                source: r.source.clone(),
                day: r.day,
                revision: r.revision,
                identifier: r.identifier.clone(),
                value: r.value,
                status: RevisionStatus::ManualCredit,
                error: None,
            });
        }
    }
    let n = queries::count_stripe_pending(&mut tx, live, org, &meter.source)?;
    let mut revisions =
        queries::claim_stripe_pending(&mut tx, live, org, &meter.source, lease(opts, n))?;
    tx.commit().context("committing the stream's revisions")?;
    revisions.sort_by_key(|r| (r.day, r.revision));
    Ok(Some(Work {
        org: org.to_string(),
        source: meter.source.clone(),
        revisions,
    }))
}

/// The revisions a stream needs now: per day from the meter's first day through
/// `through`, usage minus the ledger's sum (pending and manual credits included).
pub(super) fn plan_stream(
    db: &mut impl postgres::GenericClient,
    mode: Mode,
    org: &str,
    customer: &str,
    meter: &StripeMeter,
    now: DateTime<Utc>,
    through: DateTime<Utc>,
) -> Result<Vec<Revision>> {
    let live = mode == Mode::Live;
    let from = meter
        .from_day
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    if from >= through {
        return Ok(Vec::new());
    }
    let ledger = queries::stripe_ledger_days(db, live, org, &meter.source)?;
    let usage = queries::usage_per_day(db, org, &meter.event_types, from, through)?;
    Ok(
        stripe::plan_revisions(&usage, &ledger, meter.from_day, through, now)
            .into_iter()
            .map(|p| Revision {
                livemode: live,
                org_id: org.to_string(),
                source: meter.source.clone(),
                day: p.day,
                revision: p.revision,
                identifier: stripe::identifier(mode, org, &meter.source, p.day, p.revision),
                customer_id: customer.to_string(),
                event_name: meter.event_name.clone(),
                value: p.value,
                usage_after: p.usage_after,
                status: p.status,
            })
            .collect(),
    )
}

/// Send one stream's revisions in order, one request at a time, recording each.
pub(super) fn send_stream(db: &mut Client, api: &Api, w: &Work) -> Result<Vec<PushRow>> {
    let live = api.mode() == Mode::Live;
    let mut rows = Vec::new();
    for r in &w.revisions {
        let result = api.send(&meter_event(r));
        let error = result.as_ref().err().map(ToString::to_string);
        queries::finish_stripe_revision(db, live, &r.identifier, error.as_deref())?;
        rows.push(PushRow {
            org_id: w.org.clone(),
            source: w.source.clone(),
            day: r.day,
            revision: r.revision,
            identifier: r.identifier.clone(),
            value: r.value,
            status: if error.is_none() {
                RevisionStatus::Sent
            } else {
                RevisionStatus::Failed
            },
            error,
        });
    }
    Ok(rows)
}

/// One event `push --dry-run` would send.
#[derive(Debug, Serialize)]
pub(super) struct DryEvent {
    mode: Mode,
    org_id: String,
    source: String,
    day: NaiveDate,
    revision: i32,
    event: MeterEvent,
}

/// `push --dry-run`: JSON Lines, an event a line.
#[derive(Debug, Serialize)]
pub(super) struct DryRun {
    events: Vec<DryEvent>,
}

impl Render for DryRun {
    fn csv_header(&self) -> Vec<&'static str> {
        Vec::new()
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        Vec::new()
    }
    fn jsonl_items(&self) -> Vec<serde_json::Value> {
        crate::output::json_items(&self.events)
    }
    fn human(&self, _: &Style) -> String {
        String::new()
    }
}

/// The meter event of a revision: its day's first second as the timestamp.
pub(super) fn meter_event(r: &PendingRevision) -> MeterEvent {
    MeterEvent {
        event_name: r.event_name.clone(),
        identifier: r.identifier.clone(),
        customer: r.customer_id.clone(),
        value: r.value,
        timestamp: stripe::day_timestamp(r.day),
    }
}

/// `stripe push`.
#[allow(clippy::too_many_arguments)]
pub(super) fn push(
    client: &mut Client,
    connect: &dyn Fn() -> Result<Client>,
    through: Option<DateTime<Utc>>,
    org: Option<&str>,
    dry_run: bool,
    jobs: u16,
    opts: &ApiOpts,
    out: &mut Output,
) -> Result<u8> {
    let api = api(opts)?;
    let mode = api.mode();
    // usage read from nothing would be sent as corrections down to zero
    sees_every_org(client, "stripe push")?;
    let (customers, meters) = streams(client, org)?;
    let now = queries::server_now(client)?;
    let through = through.map_or(now, |t| t.min(now));
    if dry_run {
        // what would be sent: the pending revisions a push would retry and the new ones
        let mut tx = queries::read_snapshot(client)?;
        let mut events = Vec::new();
        for (o, customer) in &customers {
            for m in &meters {
                let mut revisions =
                    queries::stripe_pending(&mut tx, mode == Mode::Live, o, &m.source)?;
                revisions.extend(
                    plan_stream(&mut tx, mode, o, customer, m, now, through)?
                        .into_iter()
                        .filter(|r| r.status == RevisionStatus::Pending)
                        .map(|r| PendingRevision {
                            org_id: r.org_id,
                            source: r.source,
                            day: r.day,
                            revision: r.revision,
                            identifier: r.identifier,
                            customer_id: r.customer_id,
                            event_name: r.event_name,
                            value: r.value,
                            attempts: 0,
                        }),
                );
                events.extend(revisions.iter().map(|r| DryEvent {
                    mode,
                    org_id: r.org_id.clone(),
                    source: r.source.clone(),
                    day: r.day,
                    revision: r.revision,
                    event: meter_event(r),
                }));
            }
        }
        tx.commit()?;
        // JSON Lines whatever -o says: one event per line, for a script to read
        Output::new(
            crate::output::Format::Jsonl,
            Style::detect(
                crate::output::ColorChoice::Never,
                crate::output::Format::Jsonl,
            ),
            out.raw(),
        )
        .render(&DryRun { events })?;
        return Ok(error::EXIT_OK);
    }
    let mut manual = Vec::new();
    let mut busy = Vec::new();
    let mut work = Vec::new();
    for (o, customer) in &customers {
        for m in &meters {
            match decide_stream(
                client,
                mode,
                o,
                customer,
                m,
                now,
                through,
                opts,
                &mut manual,
            )? {
                Some(w) if !w.revisions.is_empty() => work.push(w),
                Some(_) => {}
                None => busy.push(format!("org {o}, {}", m.source)),
            }
        }
    }
    // send: up to --jobs streams at once, each on its own connection, one request at a time
    let jobs = usize::from(jobs).min(work.len()).max(1);
    let mut conns = Vec::with_capacity(jobs);
    for _ in 1..jobs {
        conns.push(connect()?);
    }
    let mut revisions = Vec::new();
    let results: Vec<Result<Vec<PushRow>>> = std::thread::scope(|s| {
        let api = &api;
        let work = &work;
        let mut handles = Vec::new();
        let mut own = Some(&mut *client);
        let mut extra = conns.iter_mut();
        for j in 0..jobs {
            let db: &mut Client = if j == 0 {
                own.take().expect("one client for the first job")
            } else {
                extra.next().expect("a connection per job")
            };
            handles.push(s.spawn(move || -> Result<Vec<PushRow>> {
                let mut rows = Vec::new();
                for w in work.iter().skip(j).step_by(jobs) {
                    rows.extend(send_stream(db, api, w)?);
                }
                Ok(rows)
            }));
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a push worker panicked")))
            })
            .collect()
    });
    for r in results {
        revisions.extend(r?);
    }
    revisions.extend(manual);
    revisions.sort_by(|a, b| {
        (&a.org_id, &a.source, a.day, a.revision).cmp(&(&b.org_id, &b.source, b.day, b.revision))
    });
    for r in revisions
        .iter()
        .filter(|r| r.status != RevisionStatus::Sent)
    {
        crate::printer::note(&match r.status {
            RevisionStatus::ManualCredit => format!(
                "usagectl: org {}, {}, {}: usage changed by {} on a day Stripe no longer accepts; credit it by hand ({} mode)",
                r.org_id,
                r.source,
                r.day,
                r.value,
                mode.name()
            ),
            _ => format!(
                "usagectl: org {}, {}, {} revision {} ({}) not sent: {}; the next push tries again",
                r.org_id,
                r.source,
                r.day,
                r.revision,
                r.value,
                r.error.as_deref().unwrap_or("?")
            ),
        });
    }
    let stale = queries::stripe_stale_pending(client, mode == Mode::Live)?;
    if stale > 0 {
        crate::printer::note(&format!(
            "usagectl: {stale} pending revision(s) were tried more than 23 hours ago and are not sent again (Stripe no longer deduplicates them): stripe reconcile shows whether Stripe holds them"
        ));
    }
    let failed = stale > 0 || revisions.iter().any(|r| r.status == RevisionStatus::Failed);
    let credits = revisions
        .iter()
        .any(|r| r.status == RevisionStatus::ManualCredit);
    out.render(&PushReport {
        mode,
        through,
        streams: customers.len() * meters.len(),
        busy,
        revisions,
    })?;
    Ok(if failed {
        error::EXIT_FAILURE
    } else if credits {
        error::EXIT_FOUND
    } else {
        error::EXIT_OK
    })
}
