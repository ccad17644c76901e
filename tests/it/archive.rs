//! `usagectl archive`: months written to verified files and removed while the web app
//! inserts, every read of them as before, raw reads refused, a kill at each step leaving
//! each month whole in one place, and a restore that puts the very rows back.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::support::*;

/// `rows` rows from 2026-03-01 on, one every 7 min 13.123457 s (18,000 reach late May),
/// for eleven orgs, token events with models among them, metadata with commas, quotes and
/// newlines, some NULL, and idempotency keys on a quarter; folded.
fn load_months(db: &TestDb, rows: i32) {
    db.client()
        .execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at, idempotency_key)
             SELECT 'o' || (g % 11),
                    (ARRAY['chat_message', 'ai_tokens_input', 'ai_tokens_output', 'csv_upload', 'analysis_run'])[1 + g % 5],
                    1 + g % 97,
                    CASE WHEN g % 5 IN (1, 2) THEN jsonb_build_object('model', 'm' || (g % 3))
                         WHEN g % 7 = 0 THEN NULL
                         ELSE jsonb_build_object('n', g, 'note', 'a,b \"q\"' || chr(10) || 'line') END,
                    '2026-03-01T00:00:00Z'::timestamptz + g * interval '7 minutes 13.123457 seconds',
                    CASE WHEN g % 4 = 0 THEN 'key-' || g END
               FROM generate_series(0, $1 - 1) g",
            &[&rows],
        )
        .unwrap();
    db.fold();
}

/// psql's figures for a month: per org and event type, events and quantity.
fn month_figures(db: &TestDb, month: &str) -> String {
    psql(
        &db.url,
        &format!(
            "SELECT org_id, event_type, count(*), sum(quantity) FROM usage_events
              WHERE created_at >= '{month}-01T00:00:00Z' AND created_at < ('{month}-01T00:00:00Z'::timestamptz + interval '1 month')
              GROUP BY 1, 2 ORDER BY 1, 2"
        ),
    )
}

/// A digest of a month's rows as the web app wrote them (every column but usagectl's
/// numbering), for byte-for-byte comparison.
fn month_digest(db: &TestDb, month: &str) -> String {
    psql(
        &db.url,
        &format!(
            "SELECT count(*) || ' ' || md5(string_agg(ROW(id, org_id, event_type, quantity, metadata, created_at, idempotency_key)::text, '|' ORDER BY id))
               FROM usage_events
              WHERE created_at >= '{month}-01T00:00:00Z' AND created_at < ('{month}-01T00:00:00Z'::timestamptz + interval '1 month')"
        ),
    )
}

fn rows_in(db: &TestDb, month: &str) -> i64 {
    db.scalar(&format!(
        "SELECT count(*) FROM usage_events
          WHERE created_at >= '{month}-01T00:00:00Z' AND created_at < ('{month}-01T00:00:00Z'::timestamptz + interval '1 month')"
    ))
}

/// `archive --restore MONTH --file FILE`, which must succeed.
fn restore(db: &TestDb, month: &str, file: &std::path::Path) {
    db.run(&[
        "archive",
        "--restore",
        month,
        "--file",
        file.to_str().unwrap(),
    ])
    .assert_ok();
}

/// doctor's rollup drift status for `month`.
fn drift_status(db: &TestDb, month: &str) -> String {
    doctor_check(
        &db.run(&["doctor", "--month", month, "-o", "json"]).json(),
        "rollup drift",
    )
    .0
}

/// JSON without the keys whose values are instants of the run itself.
fn steady(mut v: serde_json::Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for k in ["generated_at", "snapshot_time", "period_start"] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// The reads of the archived months that must not change: limits and status of an org in
/// each, every org's status, export totals, costs, top, and a year's summary.
fn reads(db: &TestDb) -> Vec<(String, Run)> {
    let mut runs = Vec::new();
    for month in ["2026-03", "2026-04"] {
        for args in [
            vec!["limits", "--org", "o1", "--month", month],
            vec!["status", "--all", "--month", month],
            vec!["export", "--month", month],
            vec!["costs", "--month", month],
            vec!["top", "--month", month],
        ] {
            let mut args = args;
            args.extend(["-o", "json"]);
            runs.push((args.join(" "), db.run(&args)));
        }
    }
    let args = ["summary", "--org", "o2", "--days", "365", "-o", "json"];
    runs.push((args.join(" "), db.run(&args)));
    runs
}

/// Every read of [`reads`] prints what it printed `before`, on every read path that can
/// answer; with no rollup to read (the raw path) a read of an `archived` month (or the
/// year's summary, which spans them) exits 5 and says why.
fn assert_reads_as_before(db: &TestDb, before: &[(String, Run)], archived: &[&str]) {
    for path in READ_PATHS {
        db.read_path(path);
        for ((what, before), (_, after)) in before.iter().zip(reads(db)) {
            let needs_archived =
                what.starts_with("summary") || archived.iter().any(|m| what.contains(m));
            if path == ReadPath::Raw && needs_archived {
                assert_eq!(after.code, 5, "{what} {path:?}: {}", after.stderr);
                assert!(after.stderr.contains("is archived"), "{}", after.stderr);
                continue;
            }
            assert_eq!(
                after.code, before.code,
                "{what} on {path:?}: {}",
                after.stderr
            );
            assert_eq!(
                steady(after.json()),
                steady(before.json()),
                "{what} on {path:?}"
            );
        }
    }
}

/// Two months archived while the app inserts: files verified, rows gone, every read of
/// them as psql and the commands gave before (raw reads refused with exit 5), doctor
/// content, a second run a no-op; then a restore brings back the very rows, twice a no-op.
#[test]
fn archiving_two_months_while_the_app_inserts_keeps_every_read() {
    let db = TestDb::migrated();
    // the file is ISO and UTC whatever the database's own settings
    let dbname: String = db.scalar("SELECT current_database()");
    db.client()
        .batch_execute(&format!(
            "ALTER DATABASE {dbname} SET DateStyle = 'SQL, DMY'; ALTER DATABASE {dbname} SET TimeZone = 'Asia/Kolkata'"
        ))
        .unwrap();
    load_months(&db, 18_000);
    let before_figures: Vec<String> = ["2026-03", "2026-04"]
        .iter()
        .map(|m| month_figures(&db, m))
        .collect();
    let before_digest = month_digest(&db, "2026-03");
    let before_reads = reads(&db);
    for (what, run) in &before_reads {
        // status exits with the state: 3 or 4 when some org is near or over a limit
        assert!([0, 3, 4].contains(&run.code), "{what}: {}", run.stderr);
        run.json();
    }
    let may = rows_in(&db, "2026-05");
    assert!(may > 0);

    // the web app inserts all along, into this month
    let stop = Arc::new(AtomicBool::new(false));
    let inserted = Arc::new(AtomicU64::new(0));
    let writer = {
        let (url, stop, inserted) = (db.url.clone(), stop.clone(), inserted.clone());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute("SET statement_timeout = '5s'").unwrap();
            while !stop.load(Ordering::SeqCst) || inserted.load(Ordering::SeqCst) < 20 {
                c.execute(
                    "INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('app', 'chat_message', 1)",
                    &[],
                )
                .expect("the web app's insert");
                inserted.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap();
    let out = db.run(&[
        "archive", "--force", "--before", "2026-05", "--dir", dir_s, "--batch", "1000", "-o",
        "json",
    ]);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    out.assert_ok();
    let report = out.json();
    let months = report["months"].as_array().unwrap();
    assert_eq!(months.len(), 2, "{report}");
    for (m, figures) in months.iter().zip(&before_figures) {
        assert_eq!(m["action"], "archived");
        assert_eq!(m["rows_kept"], 0);
        let label = m["month"].as_str().unwrap();
        assert_eq!(rows_in(&db, label), 0, "{label}'s rows are gone");
        let rows: i64 = figures
            .lines()
            .map(|l| l.split('|').nth(2).unwrap().parse::<i64>().unwrap())
            .sum();
        assert_eq!(m["rows"], rows, "{label}");
        // the manifest says what the file holds, and the file holds it
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                dir.path()
                    .join(format!("usage_events-{label}.manifest.json")),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["events"], rows);
        assert_eq!(manifest["sha256"], m["sha256"]);
        let file = dir.path().join(format!("usage_events-{label}.csv.gz"));
        let (_, totals) = usagectl::archive::read_totals(flate2::read::MultiGzDecoder::new(
            std::fs::File::open(&file).unwrap(),
        ))
        .unwrap();
        assert_eq!(usagectl::archive::sum(&totals).0, rows);
    }
    assert_eq!(rows_in(&db, "2026-05"), may, "May was not archived");

    // every read as before, on every read path that can answer; the raw one says why not
    assert_reads_as_before(&db, &before_reads, &["2026-03", "2026-04"]);
    db.read_path(ReadPath::Folded);
    // raw reads of an archived month say so, naming the file: exit 5, one line
    let events = db.run(&[
        "events",
        "--org",
        "o1",
        "--from",
        "2026-03-10T00:00:00Z",
        "--to",
        "2026-03-11T00:00:00Z",
    ]);
    events.assert_fails(5);
    assert!(
        events.stderr.contains("usage_events-2026-03.csv.gz"),
        "{}",
        events.stderr
    );
    db.run(&["export", "--month", "2026-04", "--raw"])
        .assert_fails(5);
    let err = db
        .client()
        .query("SELECT * FROM usagectl_usage(NULL, NULL, '2026-03-10T12:00:00Z', '2026-04-01T00:00:00Z')", &[])
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "UA001");
    // doctor compares the rollup with what the archive removed
    let doctor = db.run(&["doctor", "--month", "2026-03", "-o", "json"]);
    let (status, detail) = doctor_check(&doctor.json(), "rollup drift");
    assert_eq!(status, "ok", "{detail}");
    assert!(detail.contains("archived in"), "{detail}");
    // a second run: nothing to do
    let again = db.run(&[
        "archive", "--force", "--before", "2026-05", "--dir", dir_s, "-o", "json",
    ]);
    again.assert_ok();
    let months = again.json()["months"].as_array().unwrap().clone();
    assert_eq!(months.len(), 2, "{}", again.stdout);
    for m in months {
        assert_eq!(m["action"], "already archived");
    }
    // a summary whose window starts inside an archived day: one line for people
    let days = (chrono::Utc::now()
        - "2026-03-20T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap())
    .num_days()
    .to_string();
    let summary = db.run(&["summary", "--org", "o2", "--days", &days]);
    summary.assert_fails(5);
    assert!(
        summary
            .stderr
            .contains("2026-03 is archived (its rows are in ")
            && summary
                .stderr
                .contains("; usagectl archive --restore 2026-03 --file ")
            && !summary.stderr.contains("db error"),
        "{}",
        summary.stderr
    );
    let list = db.run(&["archive", "--list", "-o", "json"]);
    list.assert_ok();
    assert_eq!(list.json()["archives"][0]["state"], "archived");

    // restore: the very rows, and every read as before; twice does nothing
    let file = dir.path().join("usage_events-2026-03.csv.gz");
    let file_s = file.to_str().unwrap();
    let restored = db.run(&[
        "archive",
        "--restore",
        "2026-03",
        "--file",
        file_s,
        "-o",
        "json",
    ]);
    restored.assert_ok();
    assert_eq!(month_digest(&db, "2026-03"), before_digest);
    assert_eq!(month_figures(&db, "2026-03"), before_figures[0]);
    let twice = db.run(&[
        "archive",
        "--restore",
        "2026-03",
        "--file",
        file_s,
        "-o",
        "json",
    ]);
    twice.assert_ok();
    assert_eq!(twice.json()["months"][0]["action"], "not archived");
    assert_eq!(month_digest(&db, "2026-03"), before_digest);
    let doctor = db.run(&["doctor", "--month", "2026-03", "-o", "json"]);
    let (status, detail) = doctor_check(&doctor.json(), "rollup drift");
    assert_eq!(
        (status.as_str(), detail.contains("raw rows")),
        ("ok", true),
        "{detail}"
    );
    assert_reads_as_before(&db, &before_reads, &["2026-04"]);
    // a wrong file is refused before anything is read into the table
    db.read_path(ReadPath::Folded);
    let wrong = db.run(&["archive", "--restore", "2026-04", "--file", file_s]);
    wrong.assert_fails(2);
    assert!(
        wrong.stderr.contains("is not the archive of 2026-04"),
        "{}",
        wrong.stderr
    );
}

/// `archive` killed (SIGKILL) at each step: the month is whole in the table or whole in a
/// verified file, every read exact meanwhile; the same command run again finishes.
#[test]
fn a_killed_archive_leaves_the_month_whole_in_one_place() {
    for step in ["written", "verified", "deleting", "batch", "emptied"] {
        let db = TestDb::migrated();
        load_months(&db, 4_000);
        let figures = month_figures(&db, "2026-03");
        let digest = month_digest(&db, "2026-03");
        let limits = db.run(&["limits", "--org", "o3", "--month", "2026-03", "-o", "json"]);
        limits.assert_ok();
        let rows = rows_in(&db, "2026-03");
        let dir = tempfile::tempdir().unwrap();
        let dir_s = dir.path().to_str().unwrap();
        let args = [
            "archive", "--force", "--before", "2026-04", "--dir", dir_s, "--batch", "500",
        ];
        let killed = run(usagectl()
            .env("DATABASE_URL", &db.url)
            .env("USAGECTL_FAILPOINT", format!("archive-{step}"))
            .args(args));
        assert_eq!(
            killed.code, -1,
            "{step}: killed by the signal: {}",
            killed.stderr
        );
        let state: String =
            db.scalar("SELECT state FROM usagectl_archives WHERE month = '2026-03-01'");
        let left = rows_in(&db, "2026-03");
        match step {
            // before the file is verified: every row in the table
            "written" | "verified" => {
                assert_eq!(state, "writing", "{step}");
                assert_eq!(left, rows, "{step}");
                assert_eq!(month_digest(&db, "2026-03"), digest, "{step}");
            }
            // after: the verified file is whole, whatever the table still has
            _ => {
                assert_eq!(state, "deleting", "{step}");
                match step {
                    "batch" => assert_eq!(left, rows - 500, "{step}: one batch went"),
                    "emptied" => assert_eq!(left, 0, "{step}: every batch went"),
                    _ => assert_eq!(left, rows, "{step}: no batch yet"),
                }
                let file = dir.path().join("usage_events-2026-03.csv.gz");
                let sha: String =
                    db.scalar("SELECT sha256 FROM usagectl_archives WHERE month = '2026-03-01'");
                assert_eq!(usagectl::archive::sha256_of(&file).unwrap(), sha, "{step}");
                let (_, totals) = usagectl::archive::read_totals(
                    flate2::read::MultiGzDecoder::new(std::fs::File::open(&file).unwrap()),
                )
                .unwrap();
                assert_eq!(usagectl::archive::sum(&totals).0, rows, "{step}");
            }
        }
        // reads stay exact meanwhile
        let now = db.run(&["limits", "--org", "o3", "--month", "2026-03", "-o", "json"]);
        assert_eq!(steady(now.json()), steady(limits.json()), "{step}");
        // run again: done
        let done = db.run(&args);
        done.assert_ok();
        assert_eq!(rows_in(&db, "2026-03"), 0, "{step}");
        let again = db.run(&["limits", "--org", "o3", "--month", "2026-03", "-o", "json"]);
        assert_eq!(steady(again.json()), steady(limits.json()), "{step}");
        let doctor = db.run(&["doctor", "--month", "2026-03", "-o", "json"]);
        assert_eq!(
            doctor_check(&doctor.json(), "rollup drift").0,
            "ok",
            "{step}"
        );
        let file = dir.path().join("usage_events-2026-03.csv.gz");
        restore(&db, "2026-03", &file);
        assert_eq!(month_figures(&db, "2026-03"), figures, "{step}");
        assert_eq!(month_digest(&db, "2026-03"), digest, "{step}");
    }
}

/// A row corrected after the file was written, and one that arrives for the month later,
/// stay in the table; the figures are the table's at every step, and a restore keeps the
/// corrected row as corrected.
#[test]
fn rows_that_change_after_the_file_was_written_stay() {
    let db = TestDb::migrated();
    load_months(&db, 4_000);
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap();
    let args = [
        "archive", "--force", "--before", "2026-04", "--dir", dir_s, "--batch", "300",
    ];
    // stopped once the file is verified, before any row goes
    let killed = run(usagectl()
        .env("DATABASE_URL", &db.url)
        .env("USAGECTL_FAILPOINT", "archive-deleting")
        .args(args));
    assert_eq!(killed.code, -1);
    db.client()
        .batch_execute(
            "UPDATE usage_events SET quantity = quantity + 1000
              WHERE id = (SELECT id FROM usage_events WHERE org_id = 'o4'
                             AND created_at < '2026-04-01T00:00:00Z' ORDER BY created_at LIMIT 1);
             INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             VALUES ('o4', 'chat_message', 5, '2026-03-20T10:00:00Z');
             DELETE FROM usage_events
              WHERE id = (SELECT id FROM usage_events WHERE org_id = 'o5'
                             AND created_at < '2026-04-01T00:00:00Z' ORDER BY created_at LIMIT 1);",
        )
        .unwrap();
    db.fold();
    let figures = month_figures(&db, "2026-03");
    let export = db.run(&["export", "--month", "2026-03", "-o", "json"]);
    export.assert_ok();
    let done = db.run(&[&args[..], &["-o", "json"]].concat());
    done.assert_ok();
    assert_eq!(done.json()["months"][0]["rows_kept"], 2, "{}", done.stdout);
    assert_eq!(rows_in(&db, "2026-03"), 2);
    let after = db.run(&["export", "--month", "2026-03", "-o", "json"]);
    assert_eq!(steady(after.json()), steady(export.json()));
    assert_eq!(drift_status(&db, "2026-03"), "ok");
    let file = dir.path().join("usage_events-2026-03.csv.gz");
    restore(&db, "2026-03", &file);
    // the deleted row stays deleted, the corrected one corrected
    assert_eq!(month_figures(&db, "2026-03"), figures);
    assert_eq!(
        doctor_check(
            &db.run(&["doctor", "--month", "2026-03", "-o", "json"])
                .json(),
            "rollup drift"
        )
        .0,
        "ok"
    );
}

/// Writes that land while a batch waits (held at the `deleting` step by the failpoint's
/// lock): a row renumbered above the watermark (not folded: the rollup does not hold it)
/// and a second archive or a restore of the month, which are refused while the first
/// runs. The row stays; every figure is the table's.
#[test]
fn writes_and_runs_while_an_archive_waits_are_ordered() {
    let db = TestDb::migrated();
    load_months(&db, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap().to_string();
    let mut gate = db.client();
    gate.batch_execute("SELECT pg_advisory_lock(hashtext('usagectl failpoint'))")
        .unwrap();
    let runner = {
        let (url, dir_s) = (db.url.clone(), dir_s.clone());
        std::thread::spawn(move || {
            run(usagectl()
                .env("DATABASE_URL", &url)
                .env("USAGECTL_FAILPOINT", "archive-deleting:wait")
                .args([
                    "archive", "--force", "--before", "2026-04", "--dir", &dir_s, "-o", "json",
                ]))
        })
    };
    wait_until("the archive waits at its deleting step", || {
        session_waits(&db, "pg_advisory_lock", "Lock")
    });
    // a row the fold has not reached (renumbered: its correction took it out of the rollup)
    db.client()
        .batch_execute(
            "UPDATE usage_events SET usagectl_seq = nextval('usagectl_event_seq')
              WHERE id = (SELECT id FROM usage_events WHERE org_id = 'o6'
                             AND created_at < '2026-04-01T00:00:00Z' ORDER BY created_at LIMIT 1)",
        )
        .unwrap();
    let figures = month_figures(&db, "2026-03");
    let export = db.run(&["export", "--month", "2026-03", "-o", "json"]);
    export.assert_ok();
    let second = db.run(&["archive", "--force", "--before", "2026-04", "--dir", &dir_s]);
    second.assert_fails(1);
    assert!(
        second
            .stderr
            .contains("another usagectl archive of 2026-03 is running"),
        "{}",
        second.stderr
    );
    let file = dir.path().join("usage_events-2026-03.csv.gz");
    let refused = db.run(&[
        "archive",
        "--restore",
        "2026-03",
        "--file",
        file.to_str().unwrap(),
    ]);
    refused.assert_fails(1);
    assert!(refused.stderr.contains("is running"), "{}", refused.stderr);
    gate.batch_execute("SELECT pg_advisory_unlock(hashtext('usagectl failpoint'))")
        .unwrap();
    let done = runner.join().unwrap();
    done.assert_ok();
    assert_eq!(done.json()["months"][0]["rows_kept"], 1, "{}", done.stdout);
    let after = db.run(&["export", "--month", "2026-03", "-o", "json"]);
    assert_eq!(steady(after.json()), steady(export.json()));
    restore(&db, "2026-03", &file);
    assert_eq!(month_figures(&db, "2026-03"), figures);
}

/// A month whose rollup disagrees with its rows is not archived (it could not be counted
/// afresh afterwards); one whose table gained a column after its file was verified is not
/// finished; months that ended less than 366 days ago need --force.
#[test]
fn archive_refuses_what_it_could_not_keep_exact() {
    let db = TestDb::migrated();
    load_months(&db, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap();
    let args = ["archive", "--force", "--before", "2026-04", "--dir", dir_s];
    db.client()
        .batch_execute(
            "UPDATE usagectl_rollup SET quantity = quantity + 1
              WHERE (org_id, bucket, event_type, model) IN
                    (SELECT org_id, bucket, event_type, model FROM usagectl_rollup
                      WHERE day < '2026-04-01' ORDER BY 1, 2, 3, 4 LIMIT 1)",
        )
        .unwrap();
    let rows = rows_in(&db, "2026-03");
    let drifted = db.run(&args);
    drifted.assert_fails(1);
    assert!(
        drifted.stderr.contains("disagrees with its rows"),
        "{}",
        drifted.stderr
    );
    assert_eq!(rows_in(&db, "2026-03"), rows, "nothing removed");
    db.run(&["doctor", "--month", "2026-03", "--repair"]);
    // a column added between the verified file and the rest of the run
    let killed = run(usagectl()
        .env("DATABASE_URL", &db.url)
        .env("USAGECTL_FAILPOINT", "archive-deleting")
        .args(args));
    assert_eq!(killed.code, -1, "{}", killed.stderr);
    db.client()
        .batch_execute("ALTER TABLE usage_events ADD COLUMN note text")
        .unwrap();
    let changed = db.run(&args);
    changed.assert_fails(1);
    assert!(
        changed.stderr.contains("columns changed"),
        "{}",
        changed.stderr
    );
    assert_eq!(rows_in(&db, "2026-03"), rows, "nothing removed");
    db.client()
        .batch_execute("ALTER TABLE usage_events DROP COLUMN note")
        .unwrap();
    db.run(&args).assert_ok();
    // the default keeps a year and a day of raw rows
    let recent = chrono::Utc::now() - chrono::Duration::days(40);
    db.client()
        .execute(
            "INSERT INTO usage_events (org_id, event_type, created_at) VALUES ('o1', 'csv_upload', $1)",
            &[&(recent - chrono::Duration::days(31))],
        )
        .unwrap();
    let out = db.run(&[
        "archive",
        "--before",
        &recent.format("%Y-%m").to_string(),
        "--dir",
        dir_s,
    ]);
    out.assert_fails(2);
    assert!(
        out.stderr.contains("ended less than 366 days ago"),
        "{}",
        out.stderr
    );
}

/// `--before` a month that has not ended is misuse: exit 2, one line, nothing written.
#[test]
fn a_month_still_running_cannot_be_archived() {
    let db = TestDb::migrated();
    let next = chrono::Utc::now() + chrono::Duration::days(40);
    let out = db.run(&[
        "archive",
        "--force",
        "--before",
        &next.format("%Y-%m").to_string(),
        "--dir",
        "/nonexistent/x",
    ]);
    out.assert_fails(2);
    assert!(out.stderr.contains("has not ended"), "{}", out.stderr);
    let n: i64 = db.scalar("SELECT count(*) FROM usagectl_archives");
    assert_eq!(n, 0);
}
