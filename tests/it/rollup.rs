use std::io::Write;

use crate::support::*;

/// Groups where the rollup disagrees with a fresh aggregate of the rows it counts (those
/// from before the sequence and those the fold has reached), over all time, in one
/// snapshot. After a full fold, that is every row.
fn disagreements(db: &TestDb) -> i64 {
    db.scalar(ROLLUP_DISAGREEMENTS)
}

/// Windows the read path is compared on: all time, a month, and one with partial days at
/// both ends.
const WINDOWS: [(Option<&str>, &str); 3] = [
    (None, "infinity"),
    (Some("2025-11-01T00:00:00Z"), "2025-12-01T00:00:00Z"),
    (Some("2025-11-09T12:34:56.5Z"), "2025-11-11T00:00:01Z"),
];

/// Groups (org, type, UTC day, model) where `usagectl_usage_by_model()` over a window
/// disagrees with a fresh aggregate of the raw rows in it, in one statement (one snapshot):
/// a wrong per-model attribution fails it too.
fn read_path_disagreements(c: &mut postgres::Client, from: Option<&str>, to: &str) -> i64 {
    c.query_one(
        "WITH via AS (SELECT * FROM usagectl_usage_by_model(NULL, NULL, $1::text::timestamptz, $2::text::timestamptz)),
              raw AS (
             SELECT org_id, event_type, (created_at AT TIME ZONE 'UTC')::date AS day,
                    CASE WHEN event_type LIKE 'ai_tokens_%' THEN coalesce(left(metadata ->> 'model', 200), '')
                         ELSE '' END AS model,
                    count(*) AS events, sum(quantity)::bigint AS quantity,
                    min(created_at) AS first_event, max(created_at) AS last_event
             FROM usage_events
             WHERE ($1::text IS NULL OR created_at >= $1::text::timestamptz) AND created_at < $2::text::timestamptz
             GROUP BY 1, 2, 3, 4)
         SELECT count(*) FROM via FULL JOIN raw USING (org_id, event_type, day, model)
         WHERE via.events IS DISTINCT FROM raw.events OR via.quantity IS DISTINCT FROM raw.quantity
            OR via.first_event IS DISTINCT FROM raw.first_event OR via.last_event IS DISTINCT FROM raw.last_event",
        &[&from, &to],
    )
    .unwrap()
    .get(0)
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
fn reads_stay_exact_through_concurrent_writes_with_folds_running() {
    exact_through_concurrent_writes(true);
}

#[test]
fn reads_stay_exact_through_concurrent_writes_with_no_fold_at_all() {
    exact_through_concurrent_writes(false);
}

/// Single-row inserts (some backdated by weeks), multi-row inserts, COPY, UPDATEs of
/// quantity and moving rows across days and orgs, DELETEs and, last, a TRUNCATE, all at
/// once, with a fold every 200 ms or none: a checker compares the read path with a fresh
/// aggregate all along, and at the end the rollup, the reads and doctor agree with the rows.
fn exact_through_concurrent_writes(folding: bool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let db = TestDb::migrated();
    // rows already folded in the groups the writers insert into, correct and delete, so a
    // correction of an unfolded row that touched the rollup would show
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT 'o' || (g % 5), (ARRAY['chat_message', 'ai_tokens_input', 'csv_row_processed', 'analysis_run'])[1 + g % 4],
                    1 + g % 3, '2025-11-09T00:00:00Z'::timestamptz + g * interval '7 minutes'
             FROM generate_series(1, 400) g",
        )
        .unwrap();
    assert_eq!(db.fold(), 400);
    let url = db.url.clone();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    // single-row inserts, like the web app, across a day boundary, every fifth backdated
    for w in 0..3 {
        let url = url.clone();
        workers.push(std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            for i in 0..150 {
                let backdated = if i % 5 == 0 { "- interval '20 days'" } else { "" };
                c.execute(
                    &format!("INSERT INTO usage_events (org_id, event_type, quantity, created_at)
                     VALUES ($1, $2, $3, '2025-11-10T23:59:59Z'::timestamptz + ($4 || ' seconds')::interval {backdated})"),
                    &[&format!("o{}", (i + w) % 5), &["chat_message", "ai_tokens_input"][i % 2], &(1 + i as i32 % 9), &((i as i64 * 7) % 5 - 2).to_string()],
                )
                .unwrap();
            }
        }));
    }
    // multi-row statements and COPY, and one transaction that stays open a while
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
            let mut tx = c.transaction().unwrap();
            tx.batch_execute(
                "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
                 VALUES ('late', 'export_pdf', 7, '2025-11-10T08:00:00Z')",
            )
            .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(700));
            tx.commit().unwrap();
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
                    "UPDATE usage_events SET org_id = 'o1-moved' WHERE org_id = 'o1' AND event_type = 'chat_message' AND quantity = 3",
                );
                with_retry(
                    &mut c,
                    "DELETE FROM usage_events WHERE org_id = 'o1'
                     AND created_at >= '2025-11-11T00:00:00Z' AND created_at < '2025-11-12T00:00:00Z'",
                );
                // a day that holds folded rows and, soon, unfolded ones
                with_retry(
                    &mut c,
                    "DELETE FROM usage_events WHERE org_id = 'o0' AND event_type = 'chat_message' AND quantity = 1
                     AND created_at >= '2025-11-10T00:00:00Z' AND created_at < '2025-11-11T00:00:00Z'",
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }));
    }
    let folder = folding.then(|| {
        let (url, stop) = (url.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut folds = 0;
            while !stop.load(Ordering::SeqCst) {
                c.batch_execute("SELECT usagectl_fold()").unwrap();
                folds += 1;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            folds
        })
    });
    let checker = {
        let (url, stop) = (url.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut checks = 0;
            while !stop.load(Ordering::SeqCst) {
                for (from, to) in WINDOWS {
                    assert_eq!(
                        read_path_disagreements(&mut c, from, to),
                        0,
                        "[{from:?}, {to}) mid-run"
                    );
                    checks += 1;
                }
            }
            checks
        })
    };
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let checks = checker.join().unwrap();
    assert!(checks >= 3, "{checks} checks while the writers wrote");
    let watermark: i64 = db.scalar("SELECT watermark FROM usagectl_fold_state");
    if let Some(folder) = folder {
        let folds = folder.join().unwrap();
        assert!(
            folds >= 2 && watermark > 0,
            "{folds} folds, watermark {watermark}"
        );
    } else {
        assert_eq!(watermark, 400, "nothing folded after the first 400 rows");
    }
    let total: i64 = db.scalar("SELECT count(*) FROM usage_events");
    assert!(total > 5000, "{total}");
    let mut c = db.client();
    for (from, to) in WINDOWS {
        assert_eq!(
            read_path_disagreements(&mut c, from, to),
            0,
            "[{from:?}, {to})"
        );
    }
    assert_eq!(
        disagreements(&db),
        0,
        "the rollup counts exactly the folded rows"
    );
    let doctor = db.run(&["doctor", "--month", "2025-11"]);
    assert_eq!(doctor.code, 0, "{}", doctor.stdout);
    let unfolded: i64 = db.scalar("SELECT count(*) FROM usage_events WHERE usagectl_seq > (SELECT watermark FROM usagectl_fold_state)");
    assert!(
        unfolded > 0 || folding,
        "without a fold every new row is read raw"
    );
    db.fold();
    let everything: i64 = db.scalar(
        "SELECT (SELECT count(*) FROM usage_events) - (SELECT coalesce(sum(events), 0)::bigint FROM usagectl_rollup)",
    );
    assert_eq!(
        everything, 0,
        "after a full fold the rollup counts every row"
    );
    assert_eq!(disagreements(&db), 0);

    // deletes once the writers are done, so each finds its rows: a whole group (its rollup
    // row must go) and the rows on both sides of a day boundary (the groups stay, their
    // first and last events move)
    let group =
        "org_id = 'o4' AND event_type = 'analysis_run' AND created_at = '2025-11-12T12:00:00Z'";
    let rolled: i64 = db.scalar(
        "SELECT coalesce(sum(events), 0)::bigint FROM usagectl_rollup
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
    let gone: i64 = db.scalar(
        "SELECT count(*) FROM usagectl_rollup
         WHERE org_id = 'o4' AND event_type = 'analysis_run' AND day = '2025-11-12'",
    );
    assert_eq!(gone, 0, "the emptied group's rollup row is removed");
    assert_eq!(disagreements(&db), 0, "after the deletes");
    for (from, to) in WINDOWS {
        assert_eq!(
            read_path_disagreements(&mut c, from, to),
            0,
            "[{from:?}, {to}) after the deletes"
        );
    }
    // TRUNCATE empties the rollup too; rows after it are read and folded as usual
    c.batch_execute(
        "TRUNCATE usage_events;
         INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES ('after', 'chat_message', 2, '2025-11-20T00:00:00Z')",
    )
    .unwrap();
    let left: i64 = db.scalar("SELECT count(*) FROM usagectl_rollup");
    assert_eq!(left, 0);
    for (from, to) in WINDOWS {
        assert_eq!(
            read_path_disagreements(&mut c, from, to),
            0,
            "[{from:?}, {to}) after the truncate"
        );
    }
    assert_eq!(db.fold(), 1);
    assert_eq!(disagreements(&db), 0);
    let doctor = db.run(&["doctor"]);
    assert_eq!(doctor.code, 0, "{}", doctor.stdout);
}

/// A correction of an unfolded row whose transaction is still open when the fold is about
/// to count it: the fold waits for it (the watermark row's lock) and counts the row as
/// corrected, never the old version.
#[test]
fn the_fold_counts_a_correction_that_commits_while_it_runs_once_and_as_corrected() {
    let db = TestDb::migrated();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES ('fix', 'csv_upload', 5, '2025-11-10T00:00:00Z')",
        )
        .unwrap();
    // an open writer makes the fold wait before it locks the watermark
    let mut writer = db.client();
    let mut open = writer.transaction().unwrap();
    open.batch_execute(
        "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES ('other', 'csv_upload', 1, '2025-11-10T00:00:00Z')",
    )
    .unwrap();
    let folder = {
        let url = db.url.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.query_one("SELECT r_events FROM usagectl_fold()", &[])
                .unwrap()
                .get::<_, i64>(0)
        })
    };
    let mut admin = db.client();
    let waiting = || -> bool {
        db.scalar("SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%usagectl_fold()%' AND wait_event = 'PgSleep'")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !waiting() {
        assert!(
            std::time::Instant::now() < deadline,
            "the fold never waited"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // the correction starts after the fold listed the writers, and stays open
    let mut fixer = admin.transaction().unwrap();
    fixer
        .batch_execute("UPDATE usage_events SET quantity = 50 WHERE org_id = 'fix'")
        .unwrap();
    open.commit().unwrap();
    // the fold, past the writers, now waits for the open correction (the watermark row)
    wait_until("the fold waits for the open correction", || {
        session_waits(&db, "usagectl_fold()", "Lock")
    });
    fixer.commit().unwrap();
    assert_eq!(folder.join().unwrap(), 2);
    let q: i64 = db.scalar("SELECT quantity FROM usagectl_rollup WHERE org_id = 'fix'");
    assert_eq!(q, 50, "the corrected row, once");
    assert_eq!(disagreements(&db), 0);
}

/// The read function's day boundaries are UTC midnights whatever the caller's session time
/// zone, across a DST change in it too (New York's 2025-11-02).
#[test]
fn the_read_path_cuts_days_at_utc_midnight_in_any_session_time_zone() {
    let db = TestDb::migrated();
    let mut c = db.client();
    c.batch_execute(
        "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES
            ('ny', 'chat_message', 1, '2025-11-02T13:00:00Z'),
            ('ny', 'chat_message', 10, '2025-11-03T00:30:00Z'),
            ('ny', 'chat_message', 100, '2025-11-04T10:00:00Z'),
            ('ny', 'chat_message', 1000, '2025-11-05T23:30:00Z')",
    )
    .unwrap();
    db.fold();
    for zone in ["America/New_York", "Asia/Kolkata", "UTC"] {
        c.batch_execute(&format!("SET TimeZone = '{zone}'"))
            .unwrap();
        for (from, to) in [
            ("2025-11-02T12:00:00Z", "2025-11-05T23:00:00Z"),
            ("2025-11-01T00:00:00Z", "2025-12-01T00:00:00Z"),
        ] {
            assert_eq!(
                read_path_disagreements(&mut c, Some(from), to),
                0,
                "{zone} [{from}, {to})"
            );
        }
        let sum: i64 = c
            .query_one(
                "SELECT sum(quantity)::bigint FROM usagectl_usage('ny', NULL, '2025-11-02T12:00:00Z', '2025-11-05T23:00:00Z')",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(sum, 111, "{zone}");
    }
}

/// The fold waits for a transaction that took its number before the fold read the
/// sequence and commits after, and counts it once; one still open past the fold's bound
/// is named in the error and nothing moves.
#[test]
fn the_fold_waits_for_writers_in_flight_and_says_who_it_waits_for() {
    let db = TestDb::migrated();
    let mut writer = db.client();
    let mut tx = writer.transaction().unwrap();
    tx.batch_execute(
        "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES ('slow', 'csv_upload', 1, '2025-11-10T00:00:00Z')",
    )
    .unwrap();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES ('fast', 'csv_upload', 1, '2025-11-10T00:00:00Z')",
        )
        .unwrap();
    let writer_pid: i32 = tx.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let err = db
        .client()
        .batch_execute("SELECT usagectl_fold(interval '300 milliseconds')")
        .unwrap_err();
    let msg = format!("{}", err.as_db_error().unwrap());
    assert!(
        msg.contains(&format!("(pids {writer_pid})")),
        "names the writer: {msg}"
    );
    assert!(
        msg.contains("waited 00:00:00.3 for transactions writing to usage_events to end (pids"),
        "{msg}"
    );
    assert_eq!(
        err.code(),
        Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE)
    );
    let watermark: i64 = db.scalar("SELECT watermark FROM usagectl_fold_state");
    assert_eq!(watermark, 0);
    // the fold started now waits for it and then counts both rows
    let folder = {
        let url = db.url.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.query_one(
                "SELECT r_events FROM usagectl_fold(interval '30 seconds')",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0)
        })
    };
    wait_until("the fold waits for the open writer", || {
        session_waits(&db, "usagectl_fold(interval", "Timeout")
    });
    assert!(!folder.is_finished(), "the fold waits for the open writer");
    tx.commit().unwrap();
    assert_eq!(folder.join().unwrap(), 2);
    let rolled: i64 = db.scalar("SELECT sum(events)::bigint FROM usagectl_rollup");
    assert_eq!(rolled, 2);
    assert_eq!(db.fold(), 0, "nothing twice");
    let out = db.run(&["maintain", "-o", "json"]);
    out.assert_ok();
    assert_eq!(out.json()["folded_events"], 0);
}

/// `maintain` finishes a backfill an interrupted migrate left and folds; doctor calls a fold
/// that has not run for an hour with events waiting, or a column that lost its default, a
/// problem.
#[test]
fn maintain_backfills_and_folds_and_doctor_reports_a_stale_fold() {
    let db = TestDb::migrated();
    let mut c = db.client();
    c.batch_execute(
        "INSERT INTO usage_events (org_id, event_type, quantity, created_at, usagectl_seq)
         VALUES ('old', 'csv_upload', 3, '2025-10-05T10:00:00Z', NULL);
         INSERT INTO usagectl_rollup_backfill (day) VALUES ('2025-10-05');
         INSERT INTO usage_events (org_id, event_type, quantity, created_at)
         VALUES ('new', 'csv_upload', 4, '2025-10-06T10:00:00Z');",
    )
    .unwrap();
    let out = db.run(&["maintain", "-o", "json"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["backfilled_days"], 1, "{v}");
    assert_eq!(v["folded_events"], 1, "{v}");
    assert_eq!(v["unfolded_events"], 0, "{v}");
    assert_eq!(disagreements(&db), 0);
    let rolled: i64 = db.scalar("SELECT sum(quantity)::bigint FROM usagectl_rollup");
    assert_eq!(rolled, 7);
    assert_eq!(db.run(&["doctor"]).code, 0);
    c.batch_execute(
        "INSERT INTO usage_events (org_id, event_type) VALUES ('new', 'csv_upload');
         UPDATE usagectl_fold_state SET folded_at = now() - interval '2 hours';",
    )
    .unwrap();
    let out = db.run(&["doctor"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(
        out.stdout.contains("the fold has not run for 2 h"),
        "{}",
        out.stdout
    );
    db.fold();
    c.batch_execute("ALTER TABLE usage_events ALTER COLUMN usagectl_seq DROP DEFAULT")
        .unwrap();
    let out = db.run(&["doctor"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(out.stdout.contains("lost its default"), "{}", out.stdout);
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
    db.fold();
    // a row restored from a backup with its number cleared: the rollup, which counts such
    // rows as from before the sequence, misses it; and a trigger switched off
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, usagectl_seq) VALUES ('acme', 'chat_message', 5, NULL);
             ALTER TABLE usage_events DISABLE TRIGGER usagectl_rollup_update;",
        )
        .unwrap();
    let out = db.run(&["doctor", "-o", "json"]);
    assert_eq!(out.code, 3);
    let v = out.json();
    let status = |name: &str| doctor_check(&v, name).0;
    assert_eq!(status("functions and triggers"), "problem");
    assert!(
        doctor_check(&v, "functions and triggers")
            .1
            .starts_with("trigger usagectl_rollup_update on usage_events disabled"),
        "{v}"
    );
    assert_eq!(status("rollup drift"), "problem");
    assert_eq!(v["drift"][0]["raw_events"], 4);
    assert_eq!(v["drift"][0]["rollup_events"], 3);
    assert_eq!(v["drift"][0]["raw_quantity"], 8);
    db.client()
        .batch_execute("ALTER TABLE usage_events ENABLE TRIGGER usagectl_rollup_update")
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
    doctor_finds(
        &db,
        "trigger usagectl_rollup_delete on usage_events missing",
    );
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
        .batch_execute("DROP FUNCTION usagectl_record")
        .unwrap();
    doctor_finds(
        &db,
        "function usagectl_record(text,text,integer,jsonb,timestamp with time zone,text) missing",
    );
    let out = db.run(&["doctor"]);
    assert!(!out.stdout.contains("schema_migrations"), "{}", out.stdout);
    let rec = enforced();
    rec.assert_fails(1);
    assert!(
        rec.stderr.contains("run `usagectl migrate`"),
        "{}",
        rec.stderr
    );
    // the advice, followed: doctor says what it repaired (exit 3), then all is well
    let repair = db.run(&["doctor", "--repair", "-o", "json"]);
    assert_eq!(repair.code, 3, "{}", repair.stderr);
    let (status, detail) = doctor_check(&repair.json(), "functions and triggers");
    assert_eq!(status, "repaired", "{detail}");
    assert!(
        detail.starts_with("installed again as this build defines them (function usagectl_record("),
        "{detail}"
    );
    assert_eq!(db.run(&["doctor"]).code, 0);
    enforced().assert_ok();
    // the rest of the schema is as migrate left it: the fold and the reads still work
    db.run(&["maintain"]).assert_ok();
    let s = db.run(&["summary", "--org", "o", "-o", "json"]);
    s.assert_ok();
    assert_eq!(s.json()["total_events"], 1);
    let version: i32 = db.scalar("SELECT max(version) FROM usagectl_schema_migrations");
    assert_eq!(version, usagectl::db::schema::latest_version());
}

/// A hand-edited function body and a dropped trigger: doctor names each, `--repair` installs
/// the definitions again (grants and REVOKEs with them), and the fold runs afterwards.
#[test]
fn doctor_names_an_edited_function_and_a_dropped_trigger_and_repair_restores_them() {
    let db = TestDb::migrated();
    db.run(&["record", "--org", "o", "--event", "chat_message"])
        .assert_ok();
    let mut c = db.client();
    // the fold with its body edited by hand: it moves the watermark and counts nothing
    let body: String =
        db.scalar("SELECT pg_get_functiondef('usagectl_fold(interval)'::regprocedure)");
    let edited = body.replace(
        "UPDATE usagectl_fold_state SET watermark",
        "v_events := 0; UPDATE usagectl_fold_state SET watermark",
    );
    assert_ne!(body, edited);
    c.batch_execute(&edited).unwrap();
    c.batch_execute(
        "DROP TRIGGER usagectl_rollup_update ON usage_events;
         GRANT EXECUTE ON FUNCTION usagectl_register_boundaries(text, timestamptz, timestamptz) TO PUBLIC",
    )
    .unwrap();
    let out = db.run(&["doctor", "-o", "json"]);
    assert_eq!(out.code, 3);
    let (status, detail) = doctor_check(&out.json(), "functions and triggers");
    assert_eq!(status, "problem");
    assert!(
        detail.contains("function usagectl_fold(interval) differs from this build's definition")
            && detail.contains("trigger usagectl_rollup_update on usage_events missing"),
        "{detail}"
    );
    assert_eq!(db.run(&["doctor", "--repair"]).code, 3);
    let ok = db.run(&["doctor"]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    let m = db.run(&["maintain", "-o", "json"]);
    m.assert_ok();
    assert_eq!(db.fold(), 0, "maintain folded the row: {}", m.stdout);
    assert_eq!(disagreements(&db), 0);
    // the fold counts again, and the trigger corrects again
    db.client()
        .batch_execute("UPDATE usage_events SET quantity = 5 WHERE org_id = 'o'")
        .unwrap();
    let q: i64 = db.scalar("SELECT quantity FROM usagectl_rollup WHERE org_id = 'o'");
    assert_eq!(q, 5);
    // the REVOKE from PUBLIC went back with the definitions
    let public: bool = db.scalar(
        "SELECT has_function_privilege('public', 'usagectl_register_boundaries(text, timestamptz, timestamptz)', 'EXECUTE')",
    );
    assert!(!public);
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
    let mut c = db.client();
    for (from, to) in WINDOWS {
        assert_eq!(
            read_path_disagreements(&mut c, from, to),
            0,
            "[{from:?}, {to})"
        );
    }
    db.fold();
    let webapp: i64 = db.scalar(
        "SELECT coalesce(sum(events), 0)::bigint FROM usagectl_rollup WHERE org_id = 'webapp'",
    );
    assert_eq!(webapp as u64, inserted);
    assert_eq!(disagreements(&db), 0);
}

/// A database at schema 8 (the insert trigger counting every row) upgrades to the fold
/// while the web app inserts and a cron job keeps calling the fold: no insert fails or
/// waits long, and afterwards every row is counted exactly once.
#[test]
fn upgrading_from_schema_8_while_the_web_app_inserts_ends_exact() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let db = TestDb::new();
    db.create_seed_table();
    db.run(&["migrate", "--target-version", "8"]).assert_ok();
    let version: i32 = db.scalar("SELECT max(version) FROM usagectl_schema_migrations");
    assert_eq!(version, 8);
    let has_trigger: bool = db
        .scalar("SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'usagectl_rollup_insert')");
    assert!(has_trigger);
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT 'o' || (g % 20), 'chat_message', 1 + g % 5, now() - (g % 30) * interval '1 day'
             FROM generate_series(1, 20000) g",
        )
        .unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, stop) = (db.url.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute("SET statement_timeout = '5s'").unwrap();
            let (mut n, mut slowest) = (0u64, std::time::Duration::ZERO);
            while !stop.load(Ordering::SeqCst) || n < 50 {
                let t = std::time::Instant::now();
                c.execute(
                    "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
                     VALUES ('webapp', 'chat_message', 2, now() - ($1::int % 3) * interval '1 day')",
                    &[&(n as i32)],
                )
                .expect("the web app's insert failed during the upgrade");
                slowest = slowest.max(t.elapsed());
                n += 1;
            }
            (n, slowest)
        })
    };
    let folder = {
        let (url, stop) = (db.url.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut folds = 0;
            while !stop.load(Ordering::SeqCst) {
                // missing until migration 11: cron's calls fail until then
                if c.batch_execute("SELECT usagectl_fold()").is_ok() {
                    folds += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            folds
        })
    };
    // the upgrade starts while the web app is writing, and it goes on writing afterwards
    // (its rows, not a sleep, order the steps)
    let webapp_rows =
        || -> i64 { db.scalar("SELECT count(*) FROM usage_events WHERE org_id = 'webapp'") };
    wait_until("the web app writes before the upgrade", || {
        webapp_rows() >= 20
    });
    let out = db.run(&["migrate", "-o", "json"]);
    let after = webapp_rows();
    wait_until("the web app writes after the upgrade", || {
        webapp_rows() >= after + 20
    });
    stop.store(true, Ordering::SeqCst);
    let (inserted, slowest) = writer.join().unwrap();
    let folds = folder.join().unwrap();
    out.assert_ok();
    assert_eq!(
        out.json()["version_after"],
        usagectl::db::schema::latest_version()
    );
    assert!(folds > 0, "the fold ran after the upgrade");
    assert!(
        slowest < std::time::Duration::from_secs(2),
        "an insert waited {slowest:?}"
    );
    let mut c = db.client();
    for (from, to) in WINDOWS {
        assert_eq!(
            read_path_disagreements(&mut c, from, to),
            0,
            "[{from:?}, {to})"
        );
    }
    let now_window =
        read_path_disagreements(&mut c, Some("2000-01-01T00:00:00Z"), "2100-01-01T00:00:00Z");
    assert_eq!(now_window, 0);
    assert_eq!(disagreements(&db), 0);
    db.fold();
    let webapp: i64 = db.scalar(
        "SELECT coalesce(sum(quantity), 0)::bigint FROM usagectl_rollup WHERE org_id = 'webapp'",
    );
    assert_eq!(webapp as u64, 2 * inserted);
    assert_eq!(disagreements(&db), 0);
    let before: i64 = db.scalar("SELECT count(*) FROM usage_events WHERE usagectl_seq IS NULL");
    assert!(
        before >= 20000,
        "rows from before the switch keep no number: {before}"
    );
    assert_eq!(db.run(&["doctor"]).code, 0);
}

/// A database at schema 21 (the daily and boundary rollups) upgrades to the one rollup
/// while the web app inserts and corrects rows and cron folds: every read agrees with psql
/// before, during and after (a Kathmandu period's edges included), the boundaries are
/// registered again under the new rule, doctor is clean, and a second migrate does nothing.
#[test]
fn upgrading_from_schema_21_while_the_web_app_writes_stays_exact() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let db = TestDb::new();
    db.create_seed_table();
    db.run(&["migrate", "--target-version", "21"]).assert_ok();
    let mut c = db.client();
    c.batch_execute(
        "INSERT INTO usagectl_org_settings (org_id, effective_from, anchor_day, time_zone)
         VALUES ('ktm', '-infinity', 10, 'Asia/Kathmandu');
         INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
         SELECT CASE WHEN g % 3 = 0 THEN 'ktm' ELSE 'o' || (g % 7) END,
                (ARRAY['chat_message','csv_upload','ai_tokens_input'])[1 + g % 3], 1 + g % 5,
                jsonb_build_object('model', 'm' || (g % 2)),
                now() - (g % 50) * interval '1 day' - (g % 1440) * interval '1 minute'
         FROM generate_series(1, 20000) g;
         SELECT usagectl_fold();
         SELECT usagectl_register_boundaries(NULL, now() - interval '70 days', now() + interval '70 days');",
    )
    .unwrap();
    let registered: i64 = db.scalar("SELECT count(*) FROM usagectl_boundaries");
    assert!(registered > 0, "schema 21 registered ktm's boundaries");
    let (start, end): (String, String) = {
        let r = c
            .query_one(
                "SELECT period_start::text, period_end::text FROM usagectl_period('ktm', now())",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    let windows: Vec<(Option<String>, String)> = vec![
        (None, "infinity".into()),
        (Some(start.clone()), end.clone()),
        (Some(start.clone()), "infinity".into()),
    ];
    let check = |c: &mut postgres::Client, what: &str| {
        for (from, to) in &windows {
            assert_eq!(
                read_path_disagreements(c, from.as_deref(), to),
                0,
                "{what}: [{from:?}, {to})"
            );
        }
    };
    check(&mut c, "at schema 21");
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    type Body = Box<dyn Fn(&mut postgres::Client, u64) + Send>;
    let spawn = |body: Body| {
        let (url, stop) = (db.url.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute("SET statement_timeout = '10s'").unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) || n < 20 {
                body(&mut c, n);
                n += 1;
            }
            n
        })
    };
    let writer = spawn(Box::new(|c, n| {
        c.execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             VALUES (CASE WHEN $1::int % 2 = 0 THEN 'ktm' ELSE 'webapp' END, 'chat_message', 2,
                     now() - ($1::int % 3) * interval '1 day')",
            &[&(n as i32)],
        )
        .expect("the web app's insert failed during the upgrade");
    }));
    let corrector = spawn(Box::new(|c, n| {
        // a correction of a folded row now and then, as support makes them (the pause paces
        // the workload; nothing waits on it)
        with_retry(
            c,
            &format!(
                "UPDATE usage_events SET quantity = quantity + 1
                  WHERE usagectl_seq = (SELECT min(usagectl_seq) + {} FROM usage_events WHERE org_id = 'ktm')
                     OR (usagectl_seq IS NULL AND quantity = 3 AND org_id = 'ktm'
                         AND created_at = (SELECT max(created_at) FROM usage_events WHERE usagectl_seq IS NULL))",
                n % 500
            ),
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }));
    let folds = Arc::new(AtomicU64::new(0));
    let folder = {
        let folds = folds.clone();
        spawn(Box::new(move |c, _| {
            // cron's fold: a run under way when migrate swaps the rollups fails (its table
            // is gone, so it moves nothing) and the next one folds
            if c.batch_execute("SELECT usagectl_fold()").is_ok() {
                folds.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
        }))
    };
    let reader = {
        let (url, stop, reads) = (db.url.clone(), stop.clone(), reads.clone());
        let windows = windows.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            while !stop.load(Ordering::SeqCst) {
                for (from, to) in &windows {
                    assert_eq!(
                        read_path_disagreements(&mut c, from.as_deref(), to),
                        0,
                        "during the upgrade: [{from:?}, {to})"
                    );
                }
                reads.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    };
    // the upgrade starts once each writer has written (data, not a sleep, orders them)
    while db.scalar::<i64>("SELECT count(*) FROM usage_events WHERE org_id = 'webapp'") < 5
        && !writer.is_finished()
    {
        std::thread::yield_now();
    }
    let reads_before = reads.load(Ordering::SeqCst);
    // (under this much contention a try often cannot get its brief lock: more tries)
    let out = db.run(&["migrate", "--lock-timeout", "60s", "-o", "json"]);
    let reads_at = reads.load(Ordering::SeqCst);
    // a few more reads after it (a reader that failed ends the wait: its panic is reported)
    while reads.load(Ordering::SeqCst) < reads_at + 3 && !reader.is_finished() {
        std::thread::yield_now();
    }
    stop.store(true, Ordering::SeqCst);
    let inserted = writer.join().unwrap();
    corrector.join().unwrap();
    folder.join().unwrap();
    reader.join().expect("a read disagreed with psql");
    out.assert_ok();
    assert!(folds.load(Ordering::SeqCst) > 0, "cron's folds ran");
    assert!(reads_at > reads_before, "reads ran while migrate did");
    assert!(inserted >= 20);
    assert_eq!(
        out.json()["version_after"],
        usagectl::db::schema::latest_version()
    );
    // the boundaries are registered again, under the bucket rule
    let again: i64 = db.scalar(
        "SELECT count(*) FROM usagectl_boundaries b JOIN usagectl_period('ktm', now()) p
             ON b.boundary IN (p.period_start, p.period_end) WHERE b.org_id = 'ktm'",
    );
    assert_eq!(again, 2);
    check(&mut c, "after the upgrade");
    db.fold();
    check(&mut c, "after a fold");
    assert_eq!(disagreements(&db), 0);
    let d = db.run(&["doctor", "-o", "json"]);
    assert_eq!(d.code, 0, "{}", d.stdout);
    let second = db.run(&["migrate"]);
    second.assert_ok();
    assert_eq!(
        second.stdout,
        format!(
            "schema is up to date (version {}); nothing to do\n",
            usagectl::db::schema::latest_version()
        )
    );
}

/// What enforcement reads, `usagectl_org_usage()` (one org's total over a window, from the
/// rollup when both edges start buckets of the org), equals psql's sum of the raw rows for
/// every window among: the org's registered period boundaries (inside UTC days in
/// Kathmandu), UTC midnights, instants inside a day that nothing registers, and no start;
/// with rows folded and not, on every read path.
#[test]
fn one_orgs_usage_equals_psql_over_any_window() {
    let db = TestDb::migrated();
    set_period(&db, "ktm", "Asia/Kathmandu", 15);
    // an org whose boundaries are not ktm's (Kolkata is 15 minutes off Kathmandu)
    set_period(&db, "kol", "Asia/Kolkata", 15);
    let insert = |shift: &str| {
        db.client()
            .batch_execute(&format!(
                "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
                 SELECT o, t, 1 + g % 5, now() + interval '{shift}' - g * interval '37 minutes'
                   FROM generate_series(0, 2400) g, unnest(ARRAY['ktm', 'other']) o,
                        unnest(ARRAY['chat_message', 'csv_upload']) t"
            ))
            .unwrap()
    };
    insert("2 days");
    let mut c = db.client();
    let edges: Vec<chrono::DateTime<chrono::Utc>> = c
        .query_one(
            "SELECT ARRAY[p.period_start, p.period_end, q.period_start,
                          date_trunc('day', now(), 'UTC'), date_trunc('day', now(), 'UTC') - interval '9 days',
                          date_trunc('day', now(), 'UTC') - interval '3 days 11 hours 25 minutes 3.25 seconds',
                          now() - interval '20 days 5 hours', k.period_start]
               FROM usagectl_period('ktm', now()) p,
                    usagectl_period('ktm', now() - interval '1 month') q,
                    usagectl_period('kol', now()) k",
            &[],
        )
        .unwrap()
        .get(0);
    let registered: i64 = db.scalar(
        "SELECT count(*) FROM usagectl_boundaries WHERE org_id = 'ktm'
           AND boundary <> date_trunc('day', boundary, 'UTC')",
    );
    assert!(registered > 0, "Kathmandu boundaries inside UTC days");
    let mut compared = 0;
    for path in READ_PATHS {
        db.read_path(path);
        // rows the fold has not reached, beside the folded ones, and one at each edge
        insert("1 day 3 minutes");
        c.execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT 'ktm', 'chat_message', 7, e FROM unnest($1::timestamptz[]) e",
            &[&edges],
        )
        .unwrap();
        let froms = std::iter::once(None).chain(edges.iter().copied().map(Some));
        for from in froms {
            for &to in edges.iter().filter(|&&to| from.is_none_or(|f| f < to)) {
                for types in [vec!["chat_message"], vec!["chat_message", "csv_upload"]] {
                    let row = c
                        .query_one(
                            "SELECT usagectl_org_usage('ktm', $1, $2, $3),
                                    (SELECT coalesce(sum(quantity), 0)::bigint FROM usage_events
                                      WHERE org_id = 'ktm' AND event_type = ANY ($1)
                                        AND created_at >= coalesce($2, '-infinity') AND created_at < $3)",
                            &[&types, &from, &to],
                        )
                        .unwrap();
                    let (read, psql): (i64, i64) = (row.get(0), row.get(1));
                    assert_eq!(read, psql, "{path:?} [{from:?}, {to}) {types:?}");
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 200, "{compared}");
}
