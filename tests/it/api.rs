//! The web app's SQL API (schema `usagectl`): the one enforcement rule, called inside the
//! app's own transaction. Racers are released together by a barrier; expiry is ordered by
//! transactions (a later transaction's `now()`), not by sleeping.
use std::sync::{Arc, Barrier};

use crate::support::*;

/// A database migrated by a superuser (so the API's schema exists), with `org` limited to
/// `limit` chat messages by an override.
fn with_chat_limit(db: &TestDb, org: &str, limit: i64) {
    db.client()
        .execute(
            "INSERT INTO usagectl_org_limit_overrides (org_id, metric, limit_value)
             VALUES ($1, 'chat_messages', $2)
             ON CONFLICT (org_id, metric) DO UPDATE SET limit_value = excluded.limit_value",
            &[&org, &limit],
        )
        .unwrap();
}

fn chat_count(db: &TestDb, org: &str) -> i64 {
    db.client()
        .query_one(
            "SELECT coalesce(sum(quantity), 0)::bigint FROM usage_events
              WHERE org_id = $1 AND event_type = 'chat_message'",
            &[&org],
        )
        .unwrap()
        .get(0)
}

#[test]
fn the_api_is_versioned_and_installed_by_migrate() {
    let db = TestDb::migrated();
    let v: String = db.scalar("SELECT usagectl.api_version()");
    assert_eq!(v, "1");
    // a second migrate does nothing
    let again = db.run(&["migrate", "-o", "json"]);
    again.assert_ok();
    assert!(
        again.json()["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] != "applied"),
        "{}",
        again.stdout
    );
}

/// 32 connections record at once for an org 10 below its limit: exactly 10 get through,
/// in each of 20 rounds.
#[test]
fn thirty_two_racers_ten_below_the_limit_record_exactly_ten() {
    let db = TestDb::migrated();
    let racers = 32;
    let mut clients: Vec<postgres::Client> = (0..racers).map(|_| db.client()).collect();
    for round in 0..20 {
        let org = format!("race{round}");
        with_chat_limit(&db, &org, 100);
        db.client()
            .execute(
                "INSERT INTO usage_events (org_id, event_type, quantity)
                 SELECT $1, 'chat_message', 1 FROM generate_series(1, 90)",
                &[&org],
            )
            .unwrap();
        if round % 2 == 1 {
            db.fold(); // half the rounds read the rollup, half the raw rows
        }
        let barrier = Arc::new(Barrier::new(racers));
        let outcomes: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = clients
                .iter_mut()
                .map(|c| {
                    let (barrier, org) = (barrier.clone(), org.clone());
                    s.spawn(move || {
                        barrier.wait();
                        c.query_one(
                            "SELECT outcome FROM usagectl.record($1, 'chat_message')",
                            &[&org],
                        )
                        .unwrap()
                        .get::<_, String>(0)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let recorded = outcomes.iter().filter(|o| *o == "recorded").count();
        let refused = outcomes.iter().filter(|o| *o == "refused").count();
        assert_eq!((recorded, refused), (10, 22), "round {round}: {outcomes:?}");
        assert_eq!(chat_count(&db, &org), 100, "round {round}");
    }
}

/// Reservations and records race for one limit: what is recorded plus what live
/// reservations hold never passes it, and both kinds get through.
#[test]
fn reservations_and_records_racing_never_pass_the_limit() {
    let db = TestDb::migrated();
    for round in 0..5 {
        let org = format!("mixed{round}");
        with_chat_limit(&db, &org, 40);
        let barrier = Arc::new(Barrier::new(24));
        let results: Vec<(bool, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..24)
                .map(|i| {
                    let (barrier, org) = (barrier.clone(), org.clone());
                    let mut c = db.client();
                    s.spawn(move || {
                        barrier.wait();
                        if i % 2 == 0 {
                            let ok: Option<uuid::Uuid> = c
                                .query_one(
                                    "SELECT reservation_id FROM usagectl.reserve($1, 'chat_messages', 5)",
                                    &[&org],
                                )
                                .unwrap()
                                .get(0);
                            (true, ok.is_some())
                        } else {
                            let o: String = c
                                .query_one(
                                    "SELECT outcome FROM usagectl.record($1, 'chat_message', 1)",
                                    &[&org],
                                )
                                .unwrap()
                                .get(0);
                            (false, o == "recorded")
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let reserved = results.iter().filter(|(r, ok)| *r && *ok).count() as i64 * 5;
        let recorded = results.iter().filter(|(r, ok)| !*r && *ok).count() as i64;
        assert!(
            reserved + recorded <= 40,
            "round {round}: {reserved} + {recorded}"
        );
        assert_eq!(chat_count(&db, &org), recorded);
        let held: i64 = db
            .client()
            .query_one(
                "SELECT coalesce(sum(quantity), 0)::bigint FROM usagectl_reservations
                  WHERE org_id = $1 AND ended_at IS NULL",
                &[&org],
            )
            .unwrap()
            .get(0);
        assert_eq!(held, reserved);
        // 12 records of 1 and 12 reservations of 5 ask for 72: the limit is reached
        assert!(
            reserved + recorded > 35,
            "round {round}: {reserved} + {recorded}"
        );
        let check = db
            .client()
            .query_one(
                "SELECT allowed, current, remaining FROM usagectl.check($1, 'chat_messages', 5)",
                &[&org],
            )
            .unwrap();
        assert_eq!(check.get::<_, i64>(1), reserved + recorded);
        assert_eq!(check.get::<_, i64>(2), 40 - reserved - recorded);
        assert!(!check.get::<_, bool>(0));
    }
}

/// A reservation holds its part until it expires, by itself; settle records the real use
/// (more than reserved: the work was done) once, a retry returns the stored result; a
/// release ends one without usage.
#[test]
fn reservations_expire_settle_once_and_release() {
    let db = TestDb::migrated();
    with_chat_limit(&db, "acme", 10);
    let mut c = db.client();
    let remaining = |c: &mut postgres::Client| -> i64 {
        c.query_one(
            "SELECT remaining FROM usagectl.check('acme', 'chat_messages')",
            &[],
        )
        .unwrap()
        .get(0)
    };
    // a reservation that lives a microsecond counts in its own transaction only
    let mut tx = c.transaction().unwrap();
    let id: Option<uuid::Uuid> = tx
        .query_one(
            "SELECT reservation_id FROM usagectl.reserve('acme', 'chat_messages', 10, '1 microsecond')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(id.is_some());
    let inside: i64 = tx
        .query_one(
            "SELECT remaining FROM usagectl.check('acme', 'chat_messages')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(inside, 0, "a live reservation holds its part");
    tx.commit().unwrap();
    assert_eq!(remaining(&mut c), 10, "expired with no job run");
    // a live one holds; a full one refuses the next reservation with the seed's words
    let id: uuid::Uuid = c
        .query_one(
            "SELECT reservation_id FROM usagectl.reserve('acme', 'chat_messages', 6)",
            &[],
        )
        .unwrap()
        .get::<_, Option<uuid::Uuid>>(0)
        .unwrap();
    assert_eq!(remaining(&mut c), 4);
    let refused = c
        .query_one(
            "SELECT reservation_id, allowed, message FROM usagectl.reserve('acme', 'chat_messages', 5)",
            &[],
        )
        .unwrap();
    assert_eq!(refused.get::<_, Option<uuid::Uuid>>(0), None);
    assert!(!refused.get::<_, bool>(1));
    assert_eq!(
        refused.get::<_, String>(2),
        "Chat message limit exceeded (6/10 this month; 5 more would make 11). Please upgrade your plan."
    );
    // settle: 7 messages used where 6 were reserved; a retry returns the same result
    let events = serde_json::json!([
        {"event_type": "chat_message", "quantity": 7, "idempotency_key": "req-1:chat"},
        {"event_type": "ai_tokens_input", "quantity": 1200, "metadata": {"model": "claude-3-5-sonnet-20241022"}}
    ]);
    let settle = |c: &mut postgres::Client| -> serde_json::Value {
        c.query_one("SELECT usagectl.settle($1, $2)", &[&id, &events])
            .unwrap()
            .get(0)
    };
    let first = settle(&mut c);
    assert_eq!(first["used"], 7);
    assert_eq!(first["reserved"], 6);
    assert_eq!(first["over_reservation"], true);
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    assert_eq!(
        settle(&mut c),
        first,
        "a retried settle returns the stored result"
    );
    assert_eq!(chat_count(&db, "acme"), 7, "and records nothing again");
    assert_eq!(
        remaining(&mut c),
        3,
        "the reservation ended; the usage counts"
    );
    // release
    let id2: uuid::Uuid = c
        .query_one(
            "SELECT reservation_id FROM usagectl.reserve('acme', 'chat_messages', 3)",
            &[],
        )
        .unwrap()
        .get::<_, Option<uuid::Uuid>>(0)
        .unwrap();
    assert_eq!(remaining(&mut c), 0);
    let released: bool = c
        .query_one("SELECT usagectl.release($1)", &[&id2])
        .unwrap()
        .get(0);
    assert!(released);
    let again: bool = c
        .query_one("SELECT usagectl.release($1)", &[&id2])
        .unwrap()
        .get(0);
    assert!(!again);
    assert_eq!(remaining(&mut c), 3);
    let err = c
        .query_one("SELECT usagectl.settle($1, '[]')", &[&id2])
        .unwrap_err();
    assert!(
        err.as_db_error()
            .unwrap()
            .message()
            .contains("was released"),
        "{err:?}"
    );
    // an id no reservation has: settle and release say so, and write nothing
    let unknown = uuid::Uuid::nil();
    for sql in [
        "SELECT usagectl.settle($1, '[]')",
        "SELECT usagectl.release($1)",
    ] {
        let err = c.query_one(sql, &[&unknown]).unwrap_err();
        let db_err = err.as_db_error().unwrap();
        assert_eq!(
            db_err.code(),
            &postgres::error::SqlState::NO_DATA_FOUND,
            "{sql}"
        );
        assert_eq!(
            db_err.message(),
            "usagectl: no reservation 00000000-0000-0000-0000-000000000000"
        );
    }
    assert_eq!(chat_count(&db, "acme"), 7);
}

/// A retried record with the same key returns the stored event, also when enforcing.
#[test]
fn a_retried_record_returns_the_stored_event() {
    let db = TestDb::migrated();
    with_chat_limit(&db, "acme", 1);
    let mut c = db.client();
    let call = |c: &mut postgres::Client, enforce: bool| -> (String, uuid::Uuid) {
        let r = c
            .query_one(
                "SELECT outcome, event_id FROM usagectl.record('acme', 'chat_message', 1, NULL, 'req-42', $1)",
                &[&enforce],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    let (o1, id1) = call(&mut c, true);
    let (o2, id2) = call(&mut c, true);
    let (o3, id3) = call(&mut c, false);
    assert_eq!(
        (o1.as_str(), o2.as_str(), o3.as_str()),
        ("recorded", "duplicate", "duplicate")
    );
    assert_eq!((id1, id1), (id2, id3));
    assert_eq!(chat_count(&db, "acme"), 1);
    // bad input is refused with one clear message and writes nothing
    for (sql, says) in [
        (
            "SELECT * FROM usagectl.check('acme', 'chats')",
            "unknown metric chats",
        ),
        (
            "SELECT * FROM usagectl.record('acme', 'Chat Message')",
            "is not a lowercase name",
        ),
        (
            "SELECT * FROM usagectl.record('acme', 'chat_message', 0)",
            "quantity must be 1 or more",
        ),
        (
            "SELECT * FROM usagectl.reserve('acme', 'chat_messages', 1, '2 days')",
            "ttl must be",
        ),
        (
            "SELECT * FROM usagectl.check('', 'chat_messages')",
            "an org id is required",
        ),
    ] {
        let err = c.query_one(sql, &[]).unwrap_err();
        let db_err = err.as_db_error().unwrap();
        assert!(
            db_err.message().contains(says),
            "{sql}: {}",
            db_err.message()
        );
        assert_eq!(
            db_err.code(),
            &postgres::error::SqlState::INVALID_PARAMETER_VALUE
        );
    }
    assert_eq!(chat_count(&db, "acme"), 1);
}

/// `ktm`: an Asia/Kathmandu billing period anchored on the 15th, a chat limit of 12 by an
/// override, and 4 more analyses granted.
fn ktm_with_an_override_and_a_grant(db: &TestDb) {
    set_period(db, "ktm", "Asia/Kathmandu", 15);
    db.run(&[
        "tier",
        "override",
        "ktm",
        "chat_messages",
        "12",
        "--new-org",
    ])
    .assert_ok();
    db.run(&[
        "grant",
        "add",
        "ktm",
        "analyses",
        "4",
        "--reason",
        "a pilot's extra runs",
        "--new-org",
    ])
    .assert_ok();
}

/// check and record agree with `limits` and `record --enforce` on every read path: an
/// override, a grant, an Asia/Kathmandu billing period, all-time mapping profiles.
#[test]
fn check_and_record_agree_with_limits_on_every_read_path() {
    let db = TestDb::migrated();
    ktm_with_an_override_and_a_grant(&db);
    // this period's events, the previous period's, and a profile from long ago
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT 'ktm', t, 1, now() - g * interval '7 hours'
               FROM generate_series(0, 30) g, unnest(ARRAY['chat_message', 'analysis_run']) t;
             INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             VALUES ('ktm', 'mapping_profile_created', 2, now() - interval '400 days');",
        )
        .unwrap();
    for path in READ_PATHS {
        db.read_path(path);
        let limits = db.run(&["limits", "--org", "ktm", "-o", "json"]);
        limits.assert_ok();
        let limits = limits.json();
        let mut c = db.client();
        for metric in ["chat_messages", "analyses", "mapping_profiles", "ai_tokens"] {
            let row = c
                .query_one(
                    "SELECT current, \"limit\", period_start, period_end FROM usagectl.check('ktm', $1)",
                    &[&metric],
                )
                .unwrap();
            let shown = &limits["limits"][metric];
            assert_eq!(
                serde_json::json!(row.get::<_, i64>(0)),
                shown["current"],
                "{path:?} {metric}"
            );
            let limit: Option<i64> = row.get(1);
            assert_eq!(
                serde_json::json!(limit.unwrap_or(-1)),
                shown["limit"],
                "{path:?} {metric}"
            );
            let start: chrono::DateTime<chrono::Utc> = row.get(2);
            let end: chrono::DateTime<chrono::Utc> = row.get(3);
            assert_eq!(
                (
                    usagectl::time::fmt_utc(&start),
                    usagectl::time::fmt_utc(&end)
                ),
                (
                    limits["period_start"].as_str().unwrap().to_string(),
                    limits["period_end"].as_str().unwrap().to_string()
                ),
                "{path:?} {metric}"
            );
        }
    }
    // record --enforce and usagectl.record refuse at the same point with the same words
    let used: i64 = db.scalar("SELECT current FROM usagectl.check('ktm', 'chat_messages')");
    let mut c = db.client();
    for _ in used..12 {
        let o: String = c
            .query_one(
                "SELECT outcome FROM usagectl.record('ktm', 'chat_message')",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(o, "recorded");
    }
    let refused = c
        .query_one(
            "SELECT outcome, message FROM usagectl.record('ktm', 'chat_message')",
            &[],
        )
        .unwrap();
    assert_eq!(refused.get::<_, String>(0), "refused");
    let cli = db.run(&[
        "record",
        "--org",
        "ktm",
        "--event",
        "chat_message",
        "--enforce",
    ]);
    cli.assert_fails(4);
    assert!(
        cli.stderr.contains(&refused.get::<_, String>(1)),
        "{} / {}",
        cli.stderr,
        refused.get::<_, String>(1)
    );
}

/// usage_reader, scoped to one org by app.current_org_id, checks that org and no other,
/// and may not record.
#[test]
fn a_reader_scoped_to_one_org_cannot_check_another_or_record() {
    let db = TestDb::migrated();
    db.run(&["migrate", "--roles"]).assert_ok();
    let reader = format!("app_reader_{}", db.name);
    db.client()
        .batch_execute(&format!("CREATE ROLE {reader} LOGIN IN ROLE usage_reader"))
        .unwrap();
    let mut c = db.client_as(&reader);
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("SET LOCAL app.current_org_id = 'acme'")
        .unwrap();
    let ok: bool = tx
        .query_one(
            "SELECT allowed FROM usagectl.check('acme', 'chat_messages')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ok);
    let err = tx
        .query_one(
            "SELECT allowed FROM usagectl.check('globex', 'chat_messages')",
            &[],
        )
        .unwrap_err();
    let db_err = err.as_db_error().unwrap();
    assert_eq!(
        db_err.code(),
        &postgres::error::SqlState::INSUFFICIENT_PRIVILEGE
    );
    assert!(
        db_err.message().contains("not globex"),
        "{}",
        db_err.message()
    );
    drop(tx);
    // the endpoint bodies: the org in scope, and no other
    for body in [
        "usagectl.limits_json",
        "usagectl.quota_status_json",
        "usagectl.summary_json",
    ] {
        let mut tx = c.transaction().unwrap();
        tx.batch_execute("SET LOCAL app.current_org_id = 'acme'")
            .unwrap();
        let v: serde_json::Value = tx
            .query_one(&format!("SELECT {body}('acme')"), &[])
            .unwrap()
            .get(0);
        assert_eq!(v["org_id"], "acme", "{body}");
        let err = tx
            .query_one(&format!("SELECT {body}('globex')"), &[])
            .unwrap_err();
        assert_eq!(
            err.as_db_error().unwrap().code(),
            &postgres::error::SqlState::INSUFFICIENT_PRIVILEGE,
            "{body}"
        );
    }
    let err = c
        .query_one("SELECT * FROM usagectl.record('acme', 'chat_message')", &[])
        .unwrap_err();
    assert_eq!(
        err.as_db_error().unwrap().code(),
        &postgres::error::SqlState::INSUFFICIENT_PRIVILEGE
    );
    db.client()
        .batch_execute(&format!("DROP OWNED BY {reader}; DROP ROLE {reader}"))
        .unwrap();
}

/// A Python 3 that has psycopg 3 (Debian's python3-psycopg goes with /usr/bin/python3).
fn python_with_psycopg() -> String {
    for python in ["python3", "/usr/bin/python3"] {
        let ok = std::process::Command::new(python)
            .args(["-c", "import psycopg"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return python.to_string();
        }
    }
    panic!("no python3 with psycopg 3: .ci/run installs Debian's python3-psycopg");
}

/// docs/web-app.md's Python example runs as it stands and prints what the page shows.
#[test]
fn the_python_example_in_the_web_app_guide_prints_what_it_shows() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/web-app.md")).unwrap();
    let block = |after: &str, fence: &str| -> String {
        let from = doc
            .find(after)
            .unwrap_or_else(|| panic!("{after:?} in the guide"));
        let start = doc[from..].find(fence).unwrap() + from + fence.len();
        let end = doc[start..].find("\n```").unwrap() + start;
        doc[start..end].trim_start_matches('\n').to_string()
    };
    let script = block("## The chat endpoint, in Python", "```python");
    let expected = block("It prints:", "```text");
    let db = TestDb::migrated();
    db.run(&[
        "tier",
        "override",
        "acme-foods",
        "chat_messages",
        "3",
        "--new-org",
    ])
    .assert_ok();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.py");
    std::fs::write(&path, script).unwrap();
    let out = std::process::Command::new(python_with_psycopg())
        .arg(&path)
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim_end(), expected.trim_end());
}

/// A writer scoped to one org (the seed's RLS policy applies to it) settles and releases
/// that org's reservations only.
#[test]
fn a_writer_scoped_to_one_org_cannot_end_anothers_reservation() {
    let db = TestDb::migrated();
    db.run(&["migrate", "--roles"]).assert_ok();
    let writer = format!("app_writer_{}", db.name);
    db.client()
        .batch_execute(&format!("CREATE ROLE {writer} LOGIN IN ROLE usage_writer"))
        .unwrap();
    let mut c = db.client_as(&writer);
    let scoped = |c: &mut postgres::Client, org: &str, sql: &str, id: Option<uuid::Uuid>| {
        let mut tx = c.transaction().unwrap();
        tx.execute("SELECT set_config('app.current_org_id', $1, true)", &[&org])
            .unwrap();
        let r = match id {
            Some(id) => tx.query_one(sql, &[&id]),
            None => tx.query_one(sql, &[]),
        };
        if r.is_ok() {
            tx.commit().unwrap();
        }
        r
    };
    let id: uuid::Uuid = scoped(
        &mut c,
        "acme",
        "SELECT reservation_id FROM usagectl.reserve('acme', 'chat_messages', 2)",
        None,
    )
    .unwrap()
    .get::<_, Option<uuid::Uuid>>(0)
    .unwrap();
    for sql in [
        "SELECT usagectl.settle($1, '[]')",
        "SELECT usagectl.release($1)",
    ] {
        let err = scoped(&mut c, "globex", sql, Some(id)).unwrap_err();
        let db_err = err.as_db_error().unwrap();
        assert_eq!(
            db_err.code(),
            &postgres::error::SqlState::INSUFFICIENT_PRIVILEGE,
            "{sql}"
        );
        assert!(
            db_err.message().contains("not acme"),
            "{}",
            db_err.message()
        );
    }
    let released: bool = scoped(&mut c, "acme", "SELECT usagectl.release($1)", Some(id))
        .unwrap()
        .get(0);
    assert!(released, "the org's own scope ends it");
    drop(c);
    db.client()
        .batch_execute(&format!("DROP OWNED BY {writer}; DROP ROLE {writer}"))
        .unwrap();
}

/// The seed's three endpoint bodies from the API equal what `summary`, `limits` and
/// `status --org ORG -o json` print, on every read path: a Kathmandu period with an
/// override and a grant, an assigned tier over one limit and at another, one approaching a
/// limit, an org with nothing but a tier, and an org usagectl has never seen. The summary
/// is compared whole at the instant the command read it; the limits without the
/// projection, which is compared with Rust's on its own below.
#[test]
fn the_endpoint_bodies_equal_what_the_commands_print() {
    let db = TestDb::migrated();
    ktm_with_an_override_and_a_grant(&db);
    for args in [
        ["tier", "assign", "acme", "pilot", "--new-org"],
        ["tier", "assign", "quiet", "subscription", "--new-org"],
    ] {
        db.run(&args).assert_ok();
    }
    let pilot_analyses: i64 = db.scalar(
        "SELECT limit_value FROM usagectl_tier_limits WHERE tier = 'pilot' AND metric = 'analyses'",
    );
    let pilot_uploads: i64 = db.scalar(
        "SELECT limit_value FROM usagectl_tier_limits WHERE tier = 'pilot' AND metric = 'csv_uploads'",
    );
    db.client()
        .batch_execute(&format!(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
             SELECT 'ktm', t, 1 + g % 3, jsonb_build_object('model', 'm' || g % 2),
                    now() - g * interval '7 hours'
               FROM generate_series(0, 40) g,
                    unnest(ARRAY['chat_message', 'analysis_run', 'ai_tokens_input', 'ai_tokens_output']) t;
             INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES
               ('ktm', 'mapping_profile_created', 2, now() - interval '400 days'),
               ('ktm', 'export_pdf', 1, now() + interval '2 days'),
               ('acme', 'analysis_run', {pilot_analyses}, now() - interval '1 minute'),
               ('acme', 'csv_upload', {pilot_uploads} + 1, now() - interval '2 minutes'),
               ('near', 'csv_row_processed', 850, now() - interval '3 minutes'),
               ('near', 'ai_tokens_input', 10, now() - interval '40 days'),
               -- an event type no metric counts, named like nothing usagectl says
               ('near', 'all time', 1, now() - interval '4 minutes');"
        ))
        .unwrap();
    let orgs = ["ktm", "acme", "near", "quiet", "ghost"];
    let without_projection = |mut v: serde_json::Value| {
        for m in v["limits"].as_object_mut().unwrap().values_mut() {
            m.as_object_mut()
                .unwrap()
                .remove("projected_limit_reached_at");
        }
        v
    };
    let mut statuses = std::collections::BTreeSet::new();
    for path in READ_PATHS {
        db.read_path(path);
        let mut c = db.client();
        // and an org whose only event the fold has not reached
        let fresh = format!("fresh-{path:?}");
        c.execute(
            "INSERT INTO usage_events (org_id, event_type) VALUES ($1, 'export_csv')",
            &[&fresh],
        )
        .unwrap();
        for org in orgs.iter().copied().chain([fresh.as_str()]) {
            let run = db.run(&["limits", "--org", org, "-o", "json"]);
            let sql: serde_json::Value = c
                .query_one("SELECT usagectl.limits_json($1)", &[&org])
                .unwrap()
                .get(0);
            assert_eq!(
                without_projection(sql),
                without_projection(run.json()),
                "limits {org} {path:?}"
            );
            let run = db.run(&["status", "--org", org, "-o", "json"]);
            let sql: serde_json::Value = c
                .query_one("SELECT usagectl.quota_status_json($1)", &[&org])
                .unwrap()
                .get(0);
            assert_eq!(sql, run.json(), "status {org} {path:?}");
            statuses.insert(sql["status"].as_str().unwrap().to_string());
            for days in [1, 30, 365] {
                let run = db.run(&[
                    "summary",
                    "--org",
                    org,
                    "--days",
                    &days.to_string(),
                    "-o",
                    "json",
                ]);
                let shown = run.json();
                let at: chrono::DateTime<chrono::Utc> =
                    shown["generated_at"].as_str().unwrap().parse().unwrap();
                let sql: serde_json::Value = c
                    .query_one(
                        "SELECT usagectl_summary_body($1, $2, $3)",
                        &[&org, &days, &at],
                    )
                    .unwrap()
                    .get(0);
                assert_eq!(sql, shown, "summary {org} {days} {path:?}");
            }
        }
    }
    // every state was shown, and the bodies' words were tested on each
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    let status: serde_json::Value = db.scalar("SELECT usagectl.quota_status_json('acme')");
    assert_eq!(
        status["message"],
        format!(
            "Over limit: csv_uploads {}/{pilot_uploads}; Limit reached: analyses {pilot_analyses}/{pilot_analyses}",
            pilot_uploads + 1
        )
    );
    let limits: serde_json::Value = db.scalar("SELECT usagectl.limits_json('ghost')");
    assert_eq!(limits["known_org"], false);
    // the API's own summary is the body at the transaction's instant
    let same: bool = db
        .scalar("SELECT usagectl.summary_json('ktm', 7) = usagectl_summary_body('ktm', 7, now())");
    assert!(same);
    let err = db
        .client()
        .query_one("SELECT usagectl.summary_json('ktm', 0)", &[])
        .unwrap_err();
    assert_eq!(
        err.as_db_error().unwrap().code(),
        &postgres::error::SqlState::INVALID_PARAMETER_VALUE
    );
}

/// The projection in SQL is Rust's `quota::projected_exhaustion`, to the microsecond, over
/// used amounts, limits and instants inside and outside the period.
#[test]
fn the_sql_projection_is_the_rust_one() {
    let db = TestDb::migrated();
    let mut c = db.client();
    let t = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let (start, end) = (t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z"));
    let mut some = 0;
    for now in [
        "2026-11-01T00:00:00Z",
        "2026-11-01T00:00:00.400Z",
        "2026-11-01T00:00:07.123456Z",
        "2026-11-03T17:45:12.000001Z",
        "2026-11-20T09:00:00Z",
        "2026-11-30T23:59:59.999999Z",
        "2026-12-01T00:00:00Z",
    ] {
        for (current, limit) in [
            (0, 50),
            (1, 50),
            (7, 50),
            (49, 50),
            (50, 50),
            (51, 50),
            (3, -1),
            (1, 1_000_000_007),
        ] {
            let now = t(now);
            let sql: Option<chrono::DateTime<chrono::Utc>> = c
                .query_one(
                    "SELECT usagectl_projection($1, $2, $3, $4, $5)",
                    &[&current, &limit, &start, &end, &now],
                )
                .unwrap()
                .get(0);
            let rust = usagectl::quota::projected_exhaustion(current, limit, (start, end), now);
            assert_eq!(sql, rust, "{current}/{limit} at {now}");
            some += usize::from(rust.is_some());
            let shown: Option<String> = c
                .query_one("SELECT usagectl_json_time($1)", &[&rust])
                .unwrap()
                .get(0);
            assert_eq!(shown, rust.map(|r| usagectl::time::fmt_utc(&r)));
        }
    }
    assert!(some >= 5, "{some} projections in the period");
}

/// doctor names the API's version, a dropped API function by name (and `--repair` brings it
/// back), and a database without the API's schema.
#[test]
fn doctor_checks_the_api() {
    let db = TestDb::migrated();
    let out = db.run(&["doctor", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let (status, detail) = doctor_check(&out.json(), "web app API");
    assert_eq!(
        (status.as_str(), detail.as_str()),
        ("ok", "version 1 in schema usagectl")
    );
    db.client()
        .batch_execute("DROP FUNCTION usagectl.limits_json(text)")
        .unwrap();
    let out = db.run(&["doctor", "-o", "json"]);
    assert_eq!(out.code, 3);
    let (status, detail) = doctor_check(&out.json(), "functions and triggers");
    assert_eq!(status, "problem");
    assert!(
        detail.contains("function usagectl.limits_json(text) missing"),
        "{detail}"
    );
    assert_eq!(db.run(&["doctor", "--repair"]).code, 3);
    assert_eq!(db.run(&["doctor"]).code, 0);
    let v: serde_json::Value = db.scalar("SELECT usagectl.limits_json('acme')");
    assert_eq!(v["org_id"], "acme");
    // without the schema (a role that may not create one migrated): said, not a problem
    db.client()
        .batch_execute("DROP SCHEMA usagectl CASCADE")
        .unwrap();
    assert_eq!(db.run(&["doctor", "--repair"]).code, 3);
    let out = db.run(&["doctor", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let (status, detail) = doctor_check(&out.json(), "web app API");
    assert_eq!(status, "info");
    assert!(detail.contains("no schema usagectl"), "{detail}");
}
