//! Bounded waits: behind a lock, every command gives up within its --lock-timeout and names
//! who holds the lock; migrate runs under a role's short statement_timeout and cleans up
//! after an interrupted index build.
use std::time::{Duration, Instant};

use crate::support::*;

fn load_some_events(db: &TestDb) {
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT 'org-' || (i % 3), 'chat_message', 1, now() - make_interval(mins => i)
             FROM generate_series(1, 200) i",
        )
        .unwrap();
}

/// A session named `dba-alter` holding `mode` on usage_events until dropped; its pid.
fn hold_lock(db: &TestDb, mode: &str) -> (postgres::Client, i32) {
    hold_table_lock(db, "usage_events", mode)
}

/// A session named `dba-alter` holding `mode` on `table` until dropped; its pid.
fn hold_table_lock(db: &TestDb, table: &str, mode: &str) -> (postgres::Client, i32) {
    let mut c = db.client();
    c.batch_execute(&format!(
        "SET application_name = 'dba-alter'; BEGIN; LOCK TABLE {table} IN {mode} MODE"
    ))
    .unwrap();
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    (c, pid)
}

/// Run each command with --lock-timeout 1s while `table` is locked ACCESS EXCLUSIVE:
/// exit 1 within 3 s, one line naming the holder.
fn each_gives_up_behind(db: &TestDb, table: &str, commands: &[Vec<String>]) {
    let (_holder, pid) = hold_table_lock(db, table, "ACCESS EXCLUSIVE");
    for args in commands {
        let mut full = vec!["--lock-timeout", "1s"];
        full.extend(args.iter().map(String::as_str));
        let started = Instant::now();
        let out = run_bounded(db, &full);
        let took = started.elapsed();
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "held by pid {pid} (dba-alter, AccessExclusiveLock on {table}"
            )),
            "{args:?} must name the holder: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("after --lock-timeout 1 s"),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(
            took < Duration::from_secs(3),
            "{args:?} took {took:?} behind the lock"
        );
    }
}

#[test]
fn every_command_behind_an_access_exclusive_lock_gives_up_and_names_the_holder() {
    let db = TestDb::migrated();
    load_some_events(&db);
    let month = db.scalar::<String>("SELECT to_char(now(), 'YYYY-MM')");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "org_id,event_type\norg-0,chat_message\n").unwrap();
    let export = dir.path().join("raw.csv");
    // what reads or writes the raw rows
    each_gives_up_behind(
        &db,
        "usage_events",
        &[
            strings(&["record", "--org", "org-0", "--event", "chat_message"]),
            strings(&[
                "record",
                "--org",
                "org-0",
                "--event",
                "chat_message",
                "--enforce",
            ]),
            strings(&["record", "--file", input.to_str().unwrap()]),
            strings(&["summary", "--org", "org-0"]),
            strings(&[
                "export",
                "--raw",
                "--month",
                &month,
                "--output",
                export.to_str().unwrap(),
            ]),
            strings(&["doctor"]),
        ],
    );
    // what reads the rollup
    each_gives_up_behind(
        &db,
        "usagectl_rollup",
        &[
            strings(&["limits", "--org", "org-0"]),
            strings(&["status", "--org", "org-0"]),
            strings(&["status", "--all"]),
            strings(&["export", "--month", &month]),
        ],
    );
    assert!(!export.exists());
    let n: i64 = db.scalar("SELECT count(*) FROM usage_events");
    assert_eq!(n, 200, "nothing was written while the lock was held");
    // once the lock is gone, the same commands work
    db.run(&["record", "--org", "org-0", "--event", "chat_message"])
        .assert_ok();
    db.run(&["limits", "--org", "org-0"]).assert_ok();
}

#[test]
fn migrate_behind_a_lock_retries_saying_who_holds_it_then_gives_up() {
    let db = TestDb::new();
    db.create_seed_table();
    let (holder, pid) = hold_lock(&db, "ACCESS SHARE"); // a long reader
    let started = Instant::now();
    let out = run_bounded(&db, &["--lock-timeout", "2s", "migrate"]);
    let took = started.elapsed();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let retries: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("migration 4: waiting for a lock held by"))
        .collect();
    assert!(!retries.is_empty(), "{}", out.stderr);
    assert!(
        retries[0].contains(&format!(
            "pid {pid} (dba-alter, AccessShareLock on usage_events"
        )),
        "{}",
        out.stderr
    );
    assert!(retries[0].contains("attempt 1"), "{}", out.stderr);
    assert!(
        out.stderr.contains("migration 4: gave up after"),
        "{}",
        out.stderr
    );
    // it stops short of the budget only when the next try would end past it, and says so
    assert!(
        out.stderr
            .contains("later, would end past --lock-timeout 2 s"),
        "{}",
        out.stderr
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    drop(holder);
    // the next run completes
    db.run(&["migrate"]).assert_ok();
    let version: i32 = db.scalar("SELECT max(version) FROM usagectl_schema_migrations");
    assert_eq!(version, usagectl::db::schema::latest_version());
}

/// A table large enough that building the unique index takes well over 50 ms.
fn big_seed_table(db: &TestDb) {
    db.create_seed_table();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
             SELECT 'org-' || (i % 500), 'chat_message', 1, jsonb_build_object('i', i),
                    timestamptz '2026-01-01' + make_interval(secs => i)
             FROM generate_series(1, 300000) i",
        )
        .unwrap();
}

#[test]
fn migrate_completes_under_a_short_role_statement_timeout() {
    let db = TestDb::new();
    big_seed_table(&db);
    let role = format!("{}_short", db.name);
    let mut c = db.client();
    c.batch_execute(&format!(
        "CREATE ROLE {role} LOGIN; ALTER DATABASE {} OWNER TO {role};
         ALTER TABLE usage_events OWNER TO {role}; GRANT CREATE ON SCHEMA public TO {role};
         ALTER ROLE {role} SET statement_timeout = '50ms'",
        db.name
    ))
    .unwrap();
    // the index build alone runs past 50 ms here
    let role_url = db.url_as(&role);
    let mut as_role = db.client_as(&role);
    let err = as_role
        .batch_execute(
            "CREATE UNIQUE INDEX CONCURRENTLY probe ON usage_events (org_id, created_at, id)",
        )
        .unwrap_err();
    assert_eq!(err.code(), Some(&postgres::error::SqlState::QUERY_CANCELED));
    as_role.batch_execute("DROP INDEX IF EXISTS probe").unwrap();
    let out = run(usagectl().env("DATABASE_URL", &role_url).args(["migrate"]));
    out.assert_ok();
    assert!(
        out.stderr
            .contains("migrate runs without this role's statement_timeout (50ms)"),
        "{}",
        out.stderr
    );
    let version: i32 = db.scalar("SELECT max(version) FROM usagectl_schema_migrations");
    assert_eq!(version, usagectl::db::schema::latest_version());
    let invalid: i64 = db.scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid");
    assert_eq!(invalid, 0);
    // reads under the role's timeout still obey it: usagectl sets none of its own
    let out = run(usagectl()
        .env("DATABASE_URL", &role_url)
        .args(["export", "--raw", "--month", "2026-01"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("canceling statement due to statement timeout")
            && out.stderr.contains("the server's statement_timeout"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_index_build_killed_midway_leaves_nothing_invalid_after_the_next_run() {
    let db = TestDb::new();
    big_seed_table(&db);
    // apply everything up to the unique index (migration 5), then build it slowly and kill
    // the build: what a killed migrate leaves behind
    let mut c = db.client();
    c.batch_execute(
        "ALTER TABLE usage_events ADD COLUMN idempotency_key text;
         CREATE TABLE usagectl_schema_migrations (version integer PRIMARY KEY, description text NOT NULL,
                                                  applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO usagectl_schema_migrations (version, description)
         VALUES (1, 'seed'), (2, 'org index'), (3, 'created_at index'), (4, 'idempotency_key');",
    )
    .unwrap();
    let url = db.url.clone();
    let builder = std::thread::spawn(move || {
        let mut b = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        b.batch_execute("SET application_name = 'killed-build'; SET maintenance_work_mem = '1MB'")
            .unwrap();
        b.batch_execute(
            "CREATE UNIQUE INDEX CONCURRENTLY usage_events_org_id_idempotency_key_key
             ON usage_events (org_id, idempotency_key)",
        )
    });
    // wait (bounded) until the index exists in the catalog, then kill the build
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen: bool =
            db.scalar("SELECT to_regclass('usage_events_org_id_idempotency_key_key') IS NOT NULL");
        if seen {
            break;
        }
        assert!(Instant::now() < deadline, "the index build never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _: bool = db.scalar(
        "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'killed-build'",
    );
    assert!(builder.join().unwrap().is_err(), "the build was killed");
    let invalid: i64 = db.scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid");
    assert_eq!(invalid, 1, "a killed build leaves an invalid index");
    let out = db.run(&["doctor"]);
    assert!(
        out.stdout
            .contains("invalid usage_events_org_id_idempotency_key_key"),
        "{}",
        out.stdout
    );
    db.run(&["migrate", "--target-version", "5"]).assert_ok();
    let invalid: i64 = db.scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid");
    assert_eq!(invalid, 0);
    let valid: bool = db.scalar(
        "SELECT indisvalid AND indisunique FROM pg_index WHERE indexrelid = 'usage_events_org_id_idempotency_key_key'::regclass",
    );
    assert!(valid);
    // the rest of the way: version 12's partial index replaces it
    db.run(&["migrate"]).assert_ok();
    let replaced: bool = db.scalar(
        "SELECT to_regclass('usage_events_org_id_idempotency_key_key') IS NULL
            AND (SELECT indisvalid AND indisunique FROM pg_index WHERE indexrelid = 'usagectl_events_org_key'::regclass)",
    );
    assert!(replaced);
}

#[test]
fn migrate_roles_waits_briefly_behind_a_reader_and_needs_no_lock_once_done() {
    let db = TestDb::migrated();
    let (holder, pid) = hold_lock(&db, "ACCESS SHARE"); // a long reader
    let out = run_bounded(&db, &["--lock-timeout", "2s", "migrate", "--roles"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "migrate --roles: waiting for a lock held by pid {pid} (dba-alter, AccessShareLock on usage_events"
        )),
        "{}",
        out.stderr
    );
    drop(holder);
    db.run(&["migrate", "--roles"]).assert_ok();
    let rls: bool =
        db.scalar("SELECT relrowsecurity FROM pg_class WHERE oid = 'usage_events'::regclass");
    assert!(rls);
    // once RLS and the policies are in place, a rerun takes no lock the reader holds up
    let (holder, _) = hold_lock(&db, "ACCESS SHARE");
    run_bounded(&db, &["--lock-timeout", "2s", "migrate", "--roles"]).assert_ok();
    drop(holder);
}

#[test]
fn every_transaction_sets_its_bounds_and_the_connection_check_for_itself_only() {
    use usagectl::db::waits::{CONNECTION_CHECK_INTERVAL_MS, Waits, begin_with};
    const NAMES: [&str; 4] = [
        "lock_timeout",
        "statement_timeout",
        "TimeZone",
        "client_connection_check_interval",
    ];
    // each setting's value in milliseconds (or its name), None where the server lacks it
    fn settings(c: &mut impl postgres::GenericClient) -> Vec<Option<String>> {
        NAMES
            .iter()
            .map(|n| {
                c.query_one(
                    "SELECT coalesce((SELECT setting FROM pg_settings WHERE name = $1),
                                     current_setting($1, true))",
                    &[n],
                )
                .unwrap()
                .get(0)
            })
            .collect()
    }
    let db = TestDb::migrated();
    let mut c = db.client();
    // session values unlike the transaction's, so a setting left unset shows
    c.batch_execute(
        "SET lock_timeout = '9s'; SET statement_timeout = '11s'; SET TimeZone = 'America/New_York'",
    )
    .unwrap();
    let has_check = settings(&mut c)[3].is_some();
    if has_check {
        c.batch_execute("SET client_connection_check_interval = '7s'")
            .unwrap();
    }
    let before = settings(&mut c);
    assert_eq!(
        before[..3],
        [
            Some("9000".into()),
            Some("11000".into()),
            Some("America/New_York".into())
        ]
    );
    let w = Waits {
        lock_timeout: Duration::from_millis(1234),
        statement_timeout: Some(Duration::from_millis(5678)),
    };
    {
        let mut tx = begin_with(&mut c, w, "").unwrap();
        let check = has_check.then(|| CONNECTION_CHECK_INTERVAL_MS.to_string());
        assert_eq!(
            settings(&mut tx),
            [
                Some("1234".into()),
                Some("5678".into()),
                Some("UTC".into()),
                check
            ]
        );
        tx.rollback().unwrap();
    }
    assert_eq!(
        settings(&mut c),
        before,
        "SET LOCAL: nothing outlives the transaction"
    );
}
