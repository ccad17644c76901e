//! `usagectl partition`: adopting monthly partitions online, and what the partitioned
//! table keeps (reads, idempotency, corrections, grants and row-level security).
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};

use crate::support::*;

/// Rows over several months (some keyed, some with models), folded in part.
fn spread(db: &TestDb) {
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at, idempotency_key)
             SELECT 'org-' || (i % 7), (ARRAY['chat_message', 'ai_tokens_input', 'csv_upload'])[1 + i % 3],
                    1 + i % 50, CASE WHEN i % 3 = 1 THEN jsonb_build_object('model', 'm' || (i % 2)) END,
                    now() - make_interval(hours => i * 7),
                    CASE WHEN i % 4 = 0 THEN 'k' || i END
               FROM generate_series(1, 3000) i;",
        )
        .unwrap();
    db.fold();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT 'org-' || (i % 7), 'chat_message', 2, now() - make_interval(mins => i)
               FROM generate_series(1, 200) i;",
        )
        .unwrap();
}

/// What psql sums per org, type and UTC month.
fn monthly(db: &TestDb) -> Vec<(String, String, String, i64, i64)> {
    db.client()
        .query(
            "SELECT org_id, event_type, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM'),
                    count(*), sum(quantity)::bigint
               FROM usage_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

fn relkind(db: &TestDb) -> String {
    db.scalar("SELECT relkind::text FROM pg_class WHERE oid = 'usage_events'::regclass")
}

fn read_path_disagreements(db: &TestDb) -> i64 {
    db.scalar(
        "WITH via AS (SELECT * FROM usagectl_usage_by_model(NULL, NULL, NULL, '2100-01-01')),
              raw AS (SELECT org_id, event_type, (created_at AT TIME ZONE 'UTC')::date AS day,
                             CASE WHEN event_type LIKE 'ai_tokens_%' THEN coalesce(metadata ->> 'model', '') ELSE '' END AS model,
                             count(*) AS events, sum(quantity)::bigint AS quantity
                        FROM usage_events GROUP BY 1, 2, 3, 4)
         SELECT count(*) FROM via FULL JOIN raw USING (org_id, event_type, day, model)
          WHERE via.events IS DISTINCT FROM raw.events OR via.quantity IS DISTINCT FROM raw.quantity",
    )
}

#[test]
fn adopt_partitions_by_month_keeping_every_row_read_key_and_correction() {
    let db = TestDb::migrated();
    spread(&db);
    let before = monthly(&db);
    let limits_before = db.run(&["limits", "--org", "org-1", "-o", "json"]).json();
    assert_eq!(relkind(&db), "r");

    let oids = "SELECT array_agg(oid ORDER BY oid)::text FROM pg_proc
                 WHERE proname LIKE 'usagectl\\_%' OR pronamespace = 'usagectl'::regnamespace";
    let functions_before: String = db.scalar(oids);
    let out = db.run(&["partition", "adopt", "-o", "json"]);
    out.assert_ok();
    let report = out.json();
    // every function is the same object: a session of the web app that had one planned
    // goes on calling it
    assert_eq!(db.scalar::<String>(oids), functions_before);
    assert_eq!(report["action"], "adopted", "{report}");
    assert_eq!(relkind(&db), "p");
    // the heap holds everything up to the month after next; that month and the next are new
    let heap = report["heap"].as_str().unwrap().to_string();
    let parts = report["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3, "{report}");
    assert_eq!(parts[0]["partition"], heap.as_str());
    assert!(parts[0]["from"].is_null());
    assert_eq!(parts[0]["to"], parts[1]["from"]);
    assert_eq!(parts[1]["to"], parts[2]["from"]);
    // no row moved, none lost; the bound's CHECK is gone from both tables
    assert_eq!(monthly(&db), before);
    let heap_rows: i64 = db.scalar(&format!("SELECT count(*) FROM {heap}"));
    assert_eq!(heap_rows, 3200);
    let checks: i64 =
        db.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'usagectl_partition_bound'");
    assert_eq!(checks, 0);
    // reads: the same answer, and equal to psql's
    assert_eq!(read_path_disagreements(&db), 0);
    assert_eq!(
        db.run(&["limits", "--org", "org-1", "-o", "json"]).json()["metrics"],
        limits_before["metrics"]
    );
    // the triggers live on the parent: a correction of a folded row reaches the rollup
    db.client()
        .batch_execute(
            "UPDATE usage_events SET quantity = quantity + 1000 WHERE org_id = 'org-2' AND usagectl_seq % 5 = 0;
             DELETE FROM usage_events WHERE org_id = 'org-3' AND usagectl_seq % 3 = 0;",
        )
        .unwrap();
    assert_eq!(db.scalar::<i64>(ROLLUP_DISAGREEMENTS), 0);
    assert_eq!(read_path_disagreements(&db), 0);
    // a key stored before the adoption is still a retry; a new one is stored once, even
    // dated in another month (another partition)
    let retry = db.run(&[
        "record",
        "--org",
        "org-0",
        "--event",
        "chat_message",
        "--quantity",
        "35",
        "--idempotency-key",
        "k84",
        "-o",
        "json",
    ]);
    retry.assert_ok();
    assert_eq!(retry.json()["duplicate"], true, "{}", retry.stdout);
    let next_month = parts[1]["from"].as_str().unwrap().to_string();
    db.run(&[
        "record",
        "--org",
        "org-9",
        "--event",
        "csv_upload",
        "--idempotency-key",
        "across",
        "--at",
        "2026-01-15T00:00:00Z",
    ])
    .assert_ok();
    // the same key dated in the newest partition (usagectl's one insert, which every
    // command and the API call): nothing stored
    let inserted: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM usagectl_insert_events(ARRAY[NULL::uuid], ARRAY['org-9'], ARRAY['csv_upload'],
                     ARRAY[1], ARRAY[NULL::jsonb], ARRAY[$1::text::timestamptz], ARRAY['across'])",
            &[&next_month],
        )
        .unwrap()
        .get(0);
    assert_eq!(inserted, 0);
    // and through the web app's API, in a partition of its own month
    let api: String = db.scalar(
        "SELECT outcome FROM usagectl.record('org-9', 'csv_upload', 1, NULL, 'across', false)",
    );
    assert_eq!(api, "duplicate");
    let stored: i64 = db.scalar(
        "SELECT count(*) FROM usage_events WHERE org_id = 'org-9' AND idempotency_key = 'across'",
    );
    assert_eq!(stored, 1, "a key is stored once across partitions");
    // doctor is clean, and says how the table is laid out; a second adopt changes nothing
    db.run(&["maintain"]).assert_ok();
    let doctor = db.run(&["doctor", "-o", "json"]);
    doctor.assert_ok();
    let (status, detail) = doctor_check(&doctor.json(), "partitions");
    assert_eq!(status, "ok");
    assert!(
        detail.starts_with("3 partitions by month, ready through"),
        "{detail}"
    );
    let again = db.run(&["partition", "adopt", "-o", "json"]);
    again.assert_ok();
    assert_eq!(again.json()["action"], "already partitioned");
    // maintain keeps the months ahead; a row past them is refused, not kept silently
    let list = db.run(&["partition", "list", "-o", "json"]).json();
    assert_eq!(list["layout"], "partitioned");
    let far = db.client().execute(
        "INSERT INTO usage_events (org_id, event_type, created_at) VALUES ('x', 'csv_upload', now() + interval '2 years')",
        &[],
    );
    let far = far.unwrap_err();
    let far = far.as_db_error().unwrap().message();
    assert!(
        far.contains("no partition of relation \"usage_events\" found for row"),
        "{far}"
    );
}

#[test]
fn the_web_app_never_fails_nor_stops_while_the_table_is_adopted() {
    let db = TestDb::migrated();
    spread(&db);
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(5));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (stop, failures, start, url) = (
            stop.clone(),
            failures.clone(),
            start.clone(),
            db.url.clone(),
        );
        writers.push(std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            // the web app's statement, prepared once as a driver would
            let insert = c
                .prepare("INSERT INTO usage_events (org_id, event_type, quantity, metadata) VALUES ($1, 'chat_message', 1, $2)")
                .unwrap();
            let keyed = c
                .prepare("SELECT outcome FROM usagectl.record($1, 'csv_upload', 1, NULL, $2, false)")
                .unwrap();
            start.wait();
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let org = format!("web-{w}");
                let meta = serde_json::json!({"n": n});
                if let Err(e) = c.execute(&insert, &[&org, &meta]) {
                    eprintln!("insert failed: {e:?}");
                    failures.fetch_add(1, Ordering::SeqCst);
                }
                // every key twice: the second must be a duplicate
                let key = format!("w{w}-{}", n / 2);
                if let Err(e) = c.query_one(&keyed, &[&org, &key]) {
                    eprintln!("usagectl.record failed: {e:?}");
                    failures.fetch_add(1, Ordering::SeqCst);
                }
            }
            n
        }));
    }
    start.wait();
    // the web app is writing before the adoption starts
    wait_until("the writers' first rows", || {
        db.scalar::<i64>("SELECT count(*) FROM usage_events WHERE org_id LIKE 'web-%'") > 100
    });
    let began: chrono::DateTime<chrono::Utc> = db.scalar("SELECT clock_timestamp()");
    let out = db.run(&["partition", "adopt", "-o", "json"]);
    let ended: chrono::DateTime<chrono::Utc> = db.scalar("SELECT clock_timestamp()");
    // and goes on after it
    let after: i64 = db.scalar("SELECT count(*) FROM usage_events WHERE org_id LIKE 'web-%'");
    wait_until("the writers' rows after the adoption", || {
        db.scalar::<i64>("SELECT count(*) FROM usage_events WHERE org_id LIKE 'web-%'")
            > after + 100
    });
    stop.store(true, Ordering::SeqCst);
    let written: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    out.assert_ok();
    assert_eq!(relkind(&db), "p");
    assert_eq!(failures.load(Ordering::SeqCst), 0, "failed inserts");
    // every row the writers committed is there, each key once
    let plain: i64 = db.scalar(
        "SELECT count(*) FROM usage_events WHERE org_id LIKE 'web-%' AND event_type = 'chat_message'",
    );
    assert_eq!(plain as u64, written);
    let keyed_twice: i64 = db.scalar(
        "SELECT count(*) FROM (SELECT org_id, idempotency_key FROM usage_events
                                WHERE idempotency_key LIKE 'w%' GROUP BY 1, 2 HAVING count(*) > 1) d",
    );
    assert_eq!(keyed_twice, 0);
    // no whole second without an insert while the adoption ran
    let empty_seconds: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM generate_series(date_trunc('second', $1::timestamptz),
                                                  date_trunc('second', $2::timestamptz) - interval '1 second',
                                                  interval '1 second') s
              WHERE NOT EXISTS (SELECT 1 FROM usage_events e
                                 WHERE e.org_id LIKE 'web-%' AND e.created_at >= s AND e.created_at < s + interval '1 second')",
            &[&began, &ended],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        empty_seconds, 0,
        "seconds with no insert during the adoption"
    );
    db.fold();
    assert_eq!(db.scalar::<i64>(ROLLUP_DISAGREEMENTS), 0);
    assert_eq!(read_path_disagreements(&db), 0);
}

#[test]
fn an_adoption_killed_after_its_check_is_named_by_doctor_and_finished_by_a_rerun() {
    let db = TestDb::migrated();
    spread(&db);
    let before = monthly(&db);
    // what adopt leaves when killed between adding its CHECK and the switch
    db.client()
        .batch_execute(
            "ALTER TABLE usage_events ADD CONSTRAINT usagectl_partition_bound
                 CHECK (created_at IS NOT NULL AND created_at < now() + interval '40 days') NOT VALID",
        )
        .unwrap();
    let doctor = db.run(&["doctor", "-o", "json"]);
    let (status, detail) = doctor_check(&doctor.json(), "partitions");
    assert_eq!(status, "problem");
    assert!(
        detail.contains("run `usagectl partition adopt` again"),
        "{detail}"
    );
    db.run(&["partition", "adopt"]).assert_ok();
    assert_eq!(relkind(&db), "p");
    assert_eq!(monthly(&db), before);
    let doctor = db.run(&["doctor", "-o", "json"]);
    assert_eq!(doctor_check(&doctor.json(), "partitions").0, "ok");
}

#[test]
fn what_would_break_is_named_and_nothing_changes() {
    let db = TestDb::migrated();
    spread(&db);
    db.client()
        .batch_execute(
            "CREATE VIEW recent_usage AS SELECT * FROM usage_events WHERE created_at > now() - interval '1 day';
             CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
             CREATE TRIGGER audit_usage BEFORE INSERT ON usage_events FOR EACH ROW EXECUTE FUNCTION audit();",
        )
        .unwrap();
    let out = db.run(&["partition", "adopt"]);
    out.assert_fails(2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("recent_usage"), "{}", out.stderr);
    assert!(
        out.stderr.contains("audit_usage on usage_events"),
        "{}",
        out.stderr
    );
    assert_eq!(relkind(&db), "r");
    let checks: i64 =
        db.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'usagectl_partition_bound'");
    assert_eq!(checks, 0);
    // a row no partition could hold: named, and the table is left as it was
    db.client()
        .batch_execute(
            "DROP VIEW recent_usage; DROP TRIGGER audit_usage ON usage_events;
             ALTER TABLE usage_events ALTER COLUMN created_at DROP NOT NULL;
             INSERT INTO usage_events (org_id, event_type, created_at) VALUES ('x', 'csv_upload', NULL);",
        )
        .unwrap();
    let out = db.run(&["partition", "adopt"]);
    out.assert_fails(1);
    assert!(out.stderr.contains("no created_at"), "{}", out.stderr);
    assert_eq!(relkind(&db), "r");
    let checks: i64 =
        db.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'usagectl_partition_bound'");
    assert_eq!(checks, 0);
}

#[test]
fn maintain_run_by_the_writer_role_creates_the_months_ahead_and_readers_see_no_keys() {
    let db = TestDb::migrated();
    db.run(&["migrate", "--roles"]).assert_ok();
    spread(&db);
    db.run(&["partition", "adopt"]).assert_ok();
    // the last month ahead goes missing: doctor says so
    let last: String = db.scalar(
        "SELECT partition::text FROM usagectl_partitions() ORDER BY range_from DESC NULLS LAST LIMIT 1",
    );
    db.client()
        .batch_execute(&format!(
            "ALTER TABLE usage_events DETACH PARTITION {last}; DROP TABLE {last};"
        ))
        .unwrap();
    let (status, detail) = doctor_check(&db.run(&["doctor", "-o", "json"]).json(), "partitions");
    assert_eq!(status, "problem");
    assert!(detail.starts_with("no partition for "), "{detail}");
    let writer = format!("cron_{}", db.name);
    let reader = format!("support_{}", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {writer} LOGIN IN ROLE usage_writer;
             CREATE ROLE {reader} LOGIN IN ROLE usage_reader;"
        ))
        .unwrap();
    // cron's role creates it, and the table's owner owns it
    let out = db.run_as(&writer, &["maintain", "-o", "json"]);
    out.assert_ok();
    assert_eq!(
        out.json()["partitions_created"].as_array().unwrap().len(),
        1,
        "{}",
        out.stdout
    );
    let owner: String = db.scalar(&format!(
        "SELECT relowner::regrole::text FROM pg_class WHERE oid = '{last}'::regclass"
    ));
    let table_owner: String = db.scalar(
        "SELECT relowner::regrole::text FROM pg_class WHERE oid = 'usage_events'::regclass",
    );
    assert_eq!(owner, table_owner);
    assert_eq!(
        doctor_check(&db.run(&["doctor", "-o", "json"]).json(), "partitions").0,
        "ok"
    );
    // the writer records keyed events; no reader sees another org's keys
    db.run_as(
        &writer,
        &[
            "record",
            "--org",
            "org-1",
            "--event",
            "csv_upload",
            "--idempotency-key",
            "w-1",
        ],
    )
    .assert_ok();
    let denied = db
        .client_as(&reader)
        .query("SELECT * FROM usagectl_event_keys", &[])
        .unwrap_err();
    assert_eq!(
        denied.code(),
        Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    );
}

#[test]
fn grants_row_level_security_and_policies_follow_the_table() {
    let db = TestDb::migrated();
    spread(&db);
    // a role whose name needs quotes, with a grant and a policy of its own
    let role = format!("Web App {}", db.name);
    db.client()
        .batch_execute(&format!(
            r#"CREATE ROLE "{role}";
               GRANT SELECT, INSERT ON usage_events TO "{role}";
               ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
               CREATE POLICY "one org" ON usage_events TO "{role}"
                   USING (org_id = current_setting('app.current_org_id', true));"#
        ))
        .unwrap();
    db.run(&["partition", "adopt"]).assert_ok();
    assert_eq!(relkind(&db), "p");
    let privileges: String = db.scalar(&format!(
        r#"SELECT has_table_privilege('{role}', 'usage_events', 'SELECT')::text || ' '
               || has_table_privilege('{role}', 'usage_events', 'INSERT')::text || ' '
               || has_table_privilege('{role}', 'usage_events', 'DELETE')::text"#
    ));
    assert_eq!(privileges, "true true false");
    let policy: String = db.scalar(
        "SELECT c.relrowsecurity::text || ' ' || p.polname || ' ' || pg_get_expr(p.polqual, p.polrelid)
           FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid WHERE c.oid = 'usage_events'::regclass",
    );
    assert_eq!(
        policy,
        "true one org (org_id = current_setting('app.current_org_id'::text, true))"
    );
    // the role sees its org only, through the parent
    let mut c = db.client();
    let seen: i64 = {
        let mut tx = c.transaction().unwrap();
        tx.batch_execute(&format!(
            r#"SET LOCAL ROLE "{role}"; SET LOCAL app.current_org_id = 'org-3';"#
        ))
        .unwrap();
        tx.query_one("SELECT count(DISTINCT org_id) FROM usage_events", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(seen, 1);
    db.client()
        .batch_execute(&format!(r#"DROP OWNED BY "{role}"; DROP ROLE "{role}";"#))
        .unwrap();
}

/// pg_partman, installed for real: once its `part_config` lists usage_events, usagectl
/// creates no partition (not from `maintain`, not from `partition ahead`), `partition
/// list` and doctor say who does, doctor names a month pg_partman has not created yet,
/// and a default partition (pg_partman's `create_parent` makes one) is named, and its
/// rows are strays.
#[test]
fn a_table_pg_partman_manages_is_left_to_pg_partman() {
    let db = TestDb::migrated();
    spread(&db);
    db.run(&["partition", "adopt"]).assert_ok();
    let (last, month, from, to): (String, String, String, String) = {
        let row = db
            .client()
            .query_one(
                "SELECT partition::text, to_char(range_from AT TIME ZONE 'UTC', 'YYYY-MM'),
                        range_from::text, range_to::text
                   FROM usagectl_partitions() ORDER BY range_from DESC NULLS LAST LIMIT 1",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2), row.get(3))
    };
    let drop_last = format!("ALTER TABLE usage_events DETACH PARTITION {last}; DROP TABLE {last};");
    let partitions = "SELECT count(*) FROM usagectl_partitions()";
    db.client().batch_execute(&drop_last).unwrap();
    let count: i64 = db.scalar(partitions);
    // without pg_partman, maintain puts the month back
    let out = db.run(&["maintain", "-o", "json"]);
    out.assert_ok();
    assert_eq!(
        out.json()["partitions_created"],
        serde_json::json!([month]),
        "{}",
        out.stdout
    );
    assert_eq!(db.scalar::<i64>(partitions), count + 1);
    // never analyzed: no estimate rather than PostgreSQL's -1
    let listed = db.run(&["partition", "list", "-o", "json"]).json();
    let made = listed["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["partition"] == last.as_str())
        .unwrap()
        .clone();
    assert_eq!(made["rows_estimate"], serde_json::Value::Null, "{made}");
    assert!(listed.get("created").is_none(), "{listed}");
    let out = db.run(&["partition", "ahead"]);
    out.assert_ok();
    assert!(
        out.stdout.starts_with("nothing to create:"),
        "{}",
        out.stdout
    );
    db.client().batch_execute(&drop_last).unwrap();

    // registered as pg_partman registers a table (4.x names range partitioning "native")
    db.client()
        .batch_execute(
            "CREATE SCHEMA partman;
             CREATE EXTENSION pg_partman SCHEMA partman;
             INSERT INTO partman.part_config (parent_table, control, partition_type, partition_interval,
                                              datetime_string)
             SELECT 'public.usage_events', 'created_at',
                    CASE WHEN split_part(extversion, '.', 1)::int >= 5 THEN 'range' ELSE 'native' END,
                    '1 mon', 'YYYY_MM'
               FROM pg_extension WHERE extname = 'pg_partman';",
        )
        .expect("pg_partman is installed (postgresql-15-partman; .ci/run installs it)");
    let out = db.run(&["maintain", "-o", "json"]);
    out.assert_ok();
    assert_eq!(
        out.json()["partitions_created"],
        serde_json::json!([]),
        "{}",
        out.stdout
    );
    let out = db.run(&["partition", "ahead"]);
    out.assert_ok();
    assert!(
        out.stdout.contains("pg_partman manages the partitions"),
        "{}",
        out.stdout
    );
    assert_eq!(
        db.scalar::<i64>(partitions),
        count,
        "usagectl created a partition"
    );
    let out = db.run(&["partition", "list"]);
    out.assert_ok();
    assert!(out.stdout.contains("pg_partman"), "{}", out.stdout);
    // the month dropped above is pg_partman's to create, and doctor names it
    let doctor = || doctor_check(&db.run(&["doctor", "-o", "json"]).json(), "partitions");
    let (status, detail) = doctor();
    assert_eq!(status, "problem", "{detail}");
    assert!(
        detail.starts_with(&format!(
            "no partition for {month}: inserts dated then are refused"
        )) && detail.contains("run_maintenance()"),
        "{detail}"
    );
    // with a default partition, that month's inserts would go there
    db.client()
        .batch_execute("CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT")
        .unwrap();
    let (status, detail) = doctor();
    assert_eq!(status, "problem", "{detail}");
    assert!(
        detail.contains("inserts dated then go to the default partition usage_events_default"),
        "{detail}"
    );
    let out = db.run(&["partition", "list"]);
    assert!(out.stdout.contains("(default: any row"), "{}", out.stdout);
    // and one that does is a stray, which doctor names even once the month has a partition
    db.client()
        .batch_execute(&format!(
            "INSERT INTO usage_events (org_id, event_type, created_at)
             VALUES ('org-1', 'csv_upload', '{from}'::timestamptz + interval '1 day')"
        ))
        .unwrap();
    let (status, detail) = doctor();
    assert_eq!(status, "problem", "{detail}");
    assert!(
        detail.starts_with("the default partition usage_events_default holds rows"),
        "{detail}"
    );
    db.client()
        .batch_execute(&format!(
            "DELETE FROM usage_events_default;
             CREATE TABLE {last} PARTITION OF usage_events FOR VALUES FROM ('{from}') TO ('{to}')"
        ))
        .unwrap();
    let (status, detail) = doctor();
    assert_eq!(status, "ok", "{detail}");
    assert!(
        detail.ends_with(
            "pg_partman creates them, and an empty default partition usage_events_default"
        ),
        "{detail}"
    );
}

/// A database without usage_events: `partition list` and `ahead` say to migrate, in one
/// line, and change nothing.
#[test]
fn partition_commands_on_a_database_without_the_table_say_to_migrate() {
    let db = TestDb::new();
    for command in ["list", "ahead"] {
        let out = db.run(&["partition", command]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("no usage_events table: run `usagectl migrate` first"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stdout, "");
    }
    let tables: String = db.scalar(
        "SELECT coalesce(string_agg(relname, ', '), '') FROM pg_class WHERE relname LIKE 'usage%' AND relnamespace = 'public'::regnamespace",
    );
    assert_eq!(tables, "");
}
