use std::io::Write;

use crate::support::*;

/// Groups where the rollup and a fresh aggregate of the raw rows disagree, over all time.
fn disagreements(db: &TestDb) -> i64 {
    db.scalar(
        "WITH raw AS (
             SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day, event_type,
                    count(*) AS events, sum(quantity)::bigint AS quantity,
                    min(created_at) AS f, max(created_at) AS l
             FROM usage_events GROUP BY 1, 2, 3)
         SELECT count(*) FROM raw FULL JOIN usagectl_daily_usage r USING (org_id, day, event_type)
         WHERE raw.events IS DISTINCT FROM r.events OR raw.quantity IS DISTINCT FROM r.quantity
            OR raw.f IS DISTINCT FROM r.first_event OR raw.l IS DISTINCT FROM r.last_event",
    )
}

fn with_retry(c: &mut postgres::Client, sql: &str) {
    for _ in 0..20 {
        match c.batch_execute(sql) {
            Ok(()) => return,
            Err(e) if e.code() == Some(&postgres::error::SqlState::T_R_DEADLOCK_DETECTED) => {
                continue;
            }
            Err(e) => panic!("{sql}: {e}"),
        }
    }
    panic!("{sql}: deadlocked 20 times");
}

#[test]
fn the_rollup_stays_exact_through_concurrent_inserts_copy_updates_and_deletes() {
    let db = TestDb::migrated();
    let url = db.url.clone();
    let mut workers = Vec::new();
    // single-row inserts, like the web app, across a day boundary
    for w in 0..3 {
        let url = url.clone();
        workers.push(std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            for i in 0..150 {
                c.execute(
                    "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
                     VALUES ($1, $2, $3, '2025-11-10T23:59:59Z'::timestamptz + ($4 || ' seconds')::interval)",
                    &[&format!("o{}", (i + w) % 5), &["chat_message", "ai_tokens_input"][i % 2], &(1 + i as i32 % 9), &((i as i64 * 7) % 5 - 2).to_string()],
                )
                .unwrap();
            }
        }));
    }
    // multi-row statements and COPY
    {
        let url = url.clone();
        workers.push(std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            for k in 0..5 {
                with_retry(
                    &mut c,
                    &format!(
                        "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
                         SELECT 'o' || (g % 5), 'csv_row_processed', g % 100 + 1,
                                '2025-11-09T00:00:00Z'::timestamptz + g * interval '3 minutes' + {k} * interval '1 second'
                         FROM generate_series(1, 1000) g"
                    ),
                );
            }
            let mut w = c
                .copy_in("COPY usage_events (org_id, event_type, quantity, created_at) FROM STDIN")
                .unwrap();
            for i in 0..5000 {
                writeln!(w, "o{}\tanalysis_run\t{}\t2025-11-1{}T12:00:00Z", i % 5, 1 + i % 3, i % 3).unwrap();
            }
            w.finish().unwrap();
        }));
    }
    // corrections and retention by a DBA, meanwhile
    {
        let url = url.clone();
        workers.push(std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            for _ in 0..5 {
                with_retry(&mut c, "UPDATE usage_events SET quantity = quantity + 1 WHERE org_id = 'o3'");
                with_retry(
                    &mut c,
                    "UPDATE usage_events SET created_at = created_at + interval '1 day'
                     WHERE org_id = 'o2' AND event_type = 'analysis_run' AND quantity = 2",
                );
                with_retry(
                    &mut c,
                    "DELETE FROM usage_events WHERE org_id = 'o1'
                     AND created_at >= '2025-11-11T00:00:00Z' AND created_at < '2025-11-12T00:00:00Z'",
                );
            }
        }));
    }
    for w in workers {
        w.join().unwrap();
    }
    let total: i64 = db.scalar("SELECT count(*) FROM usage_events");
    assert!(total > 5000, "{total}");
    assert_eq!(disagreements(&db), 0);

    // deletes once the writers are done, so each finds its rows: a whole group (its rollup
    // row must go) and the rows on both sides of a day boundary (the groups stay, their
    // first and last events move)
    let mut c = db.client();
    let group =
        "org_id = 'o4' AND event_type = 'analysis_run' AND created_at = '2025-11-12T12:00:00Z'";
    let rolled: i64 = db.scalar(
        "SELECT coalesce(sum(events), 0)::bigint FROM usagectl_daily_usage
         WHERE org_id = 'o4' AND event_type = 'analysis_run' AND day = '2025-11-12'",
    );
    let deleted = c
        .execute(&format!("DELETE FROM usage_events WHERE {group}"), &[])
        .unwrap();
    assert!(deleted > 0, "the group had rows");
    assert_eq!(deleted as i64, rolled, "the whole group");
    // the last row of o3's Nov 10 and the first of o4's Nov 11 (single-row inserts at
    // 23:59:58 and :59, and at 00:00:00 and :01)
    let boundary = c
        .execute(
            "DELETE FROM usage_events WHERE event_type = 'chat_message'
             AND ((org_id = 'o3' AND created_at = '2025-11-10T23:59:59Z')
               OR (org_id = 'o4' AND created_at = '2025-11-11T00:00:00Z'))",
            &[],
        )
        .unwrap();
    assert!(boundary > 0, "rows at the day boundary");
    let kept: (i64, i64) = {
        let r = c
            .query_one(
                "SELECT count(*) FILTER (WHERE org_id = 'o3' AND created_at < '2025-11-11T00:00:00Z'),
                        count(*) FILTER (WHERE org_id = 'o4' AND created_at >= '2025-11-11T00:00:00Z')
                 FROM usage_events WHERE event_type = 'chat_message'
                  AND created_at >= '2025-11-10T23:59:00Z' AND created_at < '2025-11-11T00:01:00Z'",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert!(kept.0 > 0 && kept.1 > 0, "both groups keep rows: {kept:?}");
    let gone: i64 = db.scalar(
        "SELECT count(*) FROM usagectl_daily_usage
         WHERE org_id = 'o4' AND event_type = 'analysis_run' AND day = '2025-11-12'",
    );
    assert_eq!(gone, 0, "the emptied group's rollup row is removed");
    assert_eq!(disagreements(&db), 0, "after the deletes");
    let doctor = db.run(&["doctor", "--month", "2025-11"]);
    assert_eq!(doctor.code, 0, "{}", doctor.stdout);
    // TRUNCATE empties the rollup too
    c.batch_execute("TRUNCATE usage_events").unwrap();
    let left: i64 = db.scalar("SELECT count(*) FROM usagectl_daily_usage");
    assert_eq!(left, 0);
}

#[test]
fn doctor_reports_drift_and_repair_removes_it() {
    let db = TestDb::migrated();
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    for _ in 0..3 {
        db.run(&["record", "--org", "acme", "--event", "chat_message"])
            .assert_ok();
    }
    assert_eq!(db.run(&["doctor"]).code, 0);
    // rows written while a trigger was off: the rollup misses them
    db.client()
        .batch_execute(
            "ALTER TABLE usage_events DISABLE TRIGGER usagectl_rollup_insert;
             INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('acme', 'chat_message', 5);",
        )
        .unwrap();
    let out = db.run(&["doctor", "-o", "json"]);
    assert_eq!(out.code, 3);
    let v = out.json();
    let status = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("rollup triggers"), "problem");
    assert_eq!(status("rollup drift"), "problem");
    assert_eq!(v["drift"][0]["raw_events"], 4);
    assert_eq!(v["drift"][0]["rollup_events"], 3);
    assert_eq!(v["drift"][0]["raw_quantity"], 8);
    db.client()
        .batch_execute("ALTER TABLE usage_events ENABLE TRIGGER usagectl_rollup_insert")
        .unwrap();

    // the limits read the rollup: they show the drift until it is repaired
    let before = db.run(&["limits", "--org", "acme", "-o", "json"]).json();
    assert_eq!(before["limits"]["chat_messages"]["current"], 3);
    let fix = db.run(&["doctor", "--repair", "--month", &month, "--org", "acme"]);
    assert_eq!(fix.code, 3, "it found something");
    assert!(fix.stdout.contains("repaired"), "{}", fix.stdout);
    let after = db.run(&["doctor", "-o", "json"]);
    assert_eq!(after.code, 0, "{}", after.stdout);
    assert_eq!(
        db.run(&["limits", "--org", "acme", "-o", "json"]).json()["limits"]["chat_messages"]["current"],
        8
    );
    assert_eq!(disagreements(&db), 0);

    // a missing trigger is a problem
    db.client()
        .batch_execute("DROP TRIGGER usagectl_rollup_delete ON usage_events")
        .unwrap();
    doctor_finds(&db, "missing usagectl_rollup_delete");
}

/// `doctor` exits 3 and says `problem`.
fn doctor_finds(db: &TestDb, problem: &str) {
    let out = db.run(&["doctor"]);
    assert_eq!(out.code, 3);
    assert!(out.stdout.contains(problem), "{}", out.stdout);
}

/// A DBA drops the function `record --enforce` calls: doctor names it and the way back,
/// which works.
#[test]
fn doctor_reports_a_missing_enforce_function() {
    let db = TestDb::migrated();
    let enforced = || {
        db.run(&[
            "record",
            "--org",
            "o",
            "--event",
            "analysis_run",
            "--enforce",
        ])
    };
    db.client()
        .batch_execute("DROP FUNCTION usagectl_record_enforced")
        .unwrap();
    doctor_finds(&db, "usagectl_record_enforced() is missing");
    let rec = enforced();
    rec.assert_fails(1);
    assert!(
        rec.stderr.contains("run `usagectl migrate`"),
        "{}",
        rec.stderr
    );
    db.client()
        .batch_execute("DELETE FROM usagectl_schema_migrations WHERE version = 8")
        .unwrap();
    db.run(&["migrate"]).assert_ok();
    assert_eq!(db.run(&["doctor"]).code, 0);
    enforced().assert_ok();
}

#[test]
fn adopting_a_populated_table_backfills_the_rollup_while_inserts_go_on() {
    let db = TestDb::new();
    db.create_seed_table();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT 'o' || (g % 20), (ARRAY['chat_message','csv_upload','ai_tokens_output'])[1 + g % 3], 1 + g % 50,
                    now() - (g % 40) * interval '1 day' - (g % 1440) * interval '1 minute'
             FROM generate_series(1, 60000) g",
        )
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let url = db.url.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute("SET statement_timeout = '5s'").unwrap();
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || n < 50 {
                // into past days too, some of them still waiting for their backfill
                c.execute(
                    "INSERT INTO usage_events (org_id, event_type, created_at)
                     VALUES ('webapp', 'chat_message', now() - ($1::int % 40) * interval '1 day')",
                    &[&(n as i32)],
                )
                .expect("the web app's insert failed or was blocked during migrate");
                n += 1;
            }
            n
        })
    };
    let out = db.run(&["migrate", "-o", "json"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let inserted = writer.join().unwrap();
    out.assert_ok();
    let v = out.json();
    assert!(v["rollup_backfill"]["days"].as_i64().unwrap() >= 40, "{v}");
    assert_eq!(disagreements(&db), 0, "{inserted} concurrent inserts");
    let pending: i64 = db.scalar("SELECT count(*) FROM usagectl_rollup_backfill");
    assert_eq!(pending, 0);
    let webapp: i64 = db.scalar(
        "SELECT coalesce(sum(events), 0)::bigint FROM usagectl_daily_usage WHERE org_id = 'webapp'",
    );
    assert_eq!(webapp as u64, inserted);
}
