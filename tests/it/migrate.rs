use crate::support::*;

/// Everything about usage_events a migration must not change, as one comparable text.
fn schema_snapshot(db: &TestDb) -> Vec<String> {
    let mut c = db.client();
    let mut out = Vec::new();
    for r in c
        .query(
            "SELECT column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-')
             FROM information_schema.columns WHERE table_name = 'usage_events' ORDER BY ordinal_position",
            &[],
        )
        .unwrap()
    {
        out.push(r.get(0));
    }
    for r in c
        .query(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'usage_events' ORDER BY indexname",
            &[],
        )
        .unwrap()
    {
        out.push(r.get(0));
    }
    for r in c
        .query(
            "SELECT policyname || ' ' || cmd || ' ' || qual FROM pg_policies WHERE tablename = 'usage_events'",
            &[],
        )
        .unwrap()
    {
        out.push(r.get(0));
    }
    let rls: bool = c
        .query_one(
            "SELECT relrowsecurity FROM pg_class WHERE relname = 'usage_events'",
            &[],
        )
        .unwrap()
        .get(0);
    out.push(format!("rls={rls}"));
    out
}

fn rows_digest(db: &TestDb) -> String {
    db.scalar(
        "SELECT count(*)::text || ':' || coalesce(md5(string_agg(
             id::text || org_id || event_type || quantity || coalesce(metadata::text, '') || created_at::text,
             ',' ORDER BY id)), '')
         FROM usage_events",
    )
}

#[test]
fn creates_the_seed_table_on_an_empty_database_and_is_idempotent() {
    let db = TestDb::new();
    let first = db.run(&["migrate"]);
    first.assert_ok();
    assert!(
        first.stdout.contains("created usage_events"),
        "{}",
        first.stdout
    );
    let snap = schema_snapshot(&db);
    assert_eq!(
        &snap[..7],
        &[
            "id uuid NO gen_random_uuid()",
            "org_id text NO -",
            "event_type text NO -",
            "quantity integer NO 1",
            "metadata jsonb YES -",
            "created_at timestamp with time zone NO now()",
            "idempotency_key text YES -",
        ]
    );
    let indexes = snap.join("\n");
    assert!(indexes.contains(
        "CREATE INDEX idx_usage_events_org_id ON public.usage_events USING btree (org_id)"
    ));
    assert!(indexes.contains("CREATE INDEX idx_usage_events_created_at ON public.usage_events USING btree (created_at DESC)"));
    assert!(indexes.contains(
        "CREATE UNIQUE INDEX usagectl_events_org_key ON public.usage_events USING btree (org_id, idempotency_key) WHERE (idempotency_key IS NOT NULL)"
    ));
    assert!(!indexes.contains("usage_events_org_id_idempotency_key_key"));
    let invalid: i64 = db.scalar("SELECT count(*) FROM pg_index WHERE NOT indisvalid");
    assert_eq!(invalid, 0);
    let versions: i64 = db.scalar("SELECT count(*) FROM usagectl_schema_migrations");
    assert_eq!(versions, 29);

    let second = db.run(&["migrate"]);
    second.assert_ok();
    assert_eq!(
        second.stdout,
        "schema is up to date (version 29); nothing to do\n"
    );
    assert_eq!(schema_snapshot(&db), snap);
    let dry = db.run(&["migrate", "--dry-run"]);
    dry.assert_ok();
    assert_eq!(
        dry.stdout,
        "-- schema is up to date (version 29); nothing to run\n"
    );
}

#[test]
fn adopts_the_seed_ddl_keeping_rows_types_and_policy() {
    let db = TestDb::new();
    db.create_seed_table();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
             SELECT 'org_' || (g % 7), 'chat_message', g % 50 + 1, jsonb_build_object('n', g),
                    '2025-11-01T00:00:00Z'::timestamptz + g * interval '37 seconds'
             FROM generate_series(1, 1500) g",
        )
        .unwrap();
    let before_rows = rows_digest(&db);
    let before_schema = schema_snapshot(&db);

    let out = db.run(&["migrate"]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("adopted the existing usage_events table"),
        "{}",
        out.stdout
    );

    assert_eq!(rows_digest(&db), before_rows);
    let after = schema_snapshot(&db);
    // every original column, index, policy and the RLS flag are still there, unchanged
    for line in &before_schema {
        assert!(
            after.contains(line),
            "lost or changed: {line}\nafter: {after:#?}"
        );
    }
    assert!(after.contains(&"id uuid NO uuid_generate_v4()".to_string()));
    assert!(after.contains(&"rls=true".to_string()));
    // and only additions beyond that
    let added: Vec<&String> = after
        .iter()
        .filter(|l| !before_schema.contains(l))
        .collect();
    assert_eq!(added.len(), 5, "{added:#?}");
    assert!(added[0].starts_with("idempotency_key text YES"));
    assert_eq!(
        added[1],
        "usagectl_seq bigint YES nextval('usagectl_event_seq'::regclass)"
    );
    assert!(added[2].contains("usagectl_events_org_key"));
    assert!(added[3].contains("usagectl_events_org_seq"));
    assert!(added[4].contains("usagectl_events_seq"));
    // the new column has statistics (all NULL on an adopted table), so the planner knows
    // that few rows lie above the fold's watermark
    let null_frac: f32 = db.scalar(
        "SELECT null_frac FROM pg_stats WHERE tablename = 'usage_events' AND attname = 'usagectl_seq'",
    );
    assert_eq!(null_frac, 1.0);

    // twice changes nothing
    db.run(&["migrate"]).assert_ok();
    assert_eq!(schema_snapshot(&db), after);
    assert_eq!(rows_digest(&db), before_rows);
}

#[test]
fn dry_run_prints_the_sql_and_runs_nothing() {
    let db = TestDb::new();
    db.create_seed_table();
    let out = db.run(&["migrate", "--dry-run"]);
    out.assert_ok();
    let sql = &out.stdout;
    assert!(
        sql.contains("CREATE TABLE IF NOT EXISTS usagectl_schema_migrations"),
        "{sql}"
    );
    assert!(
        sql.contains("ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS idempotency_key TEXT;"),
        "{sql}"
    );
    assert!(sql.contains("SET LOCAL lock_timeout = 200;"), "{sql}");
    assert!(sql.contains("SET LOCAL statement_timeout = 0;"), "{sql}");
    assert!(sql.contains(
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS usage_events_org_id_idempotency_key_key ON usage_events (org_id, idempotency_key);"
    ));
    let has_versions: bool =
        db.scalar("SELECT to_regclass('usagectl_schema_migrations') IS NOT NULL");
    assert!(!has_versions);
    let has_key: bool = db.scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'usage_events' AND column_name = 'idempotency_key')",
    );
    assert!(!has_key);
    let json = db.run(&["migrate", "--dry-run", "-o", "json"]);
    let v = json.json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["adopted_existing_table"], true);
    assert_eq!(v["steps"].as_array().unwrap().len(), 30);
}

#[test]
fn web_app_inserts_keep_flowing_while_migrate_runs() {
    let db = TestDb::new();
    db.create_seed_table();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, created_at)
             SELECT 'o' || (g % 100), 'csv_upload', now() - g * interval '1 second'
             FROM generate_series(1, 200000) g",
        )
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let url = db.url.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            // an insert stuck behind a lock for more than 3 s counts as blocked
            c.batch_execute("SET statement_timeout = '3s'").unwrap();
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || n < 20 {
                c.execute(
                    "INSERT INTO usage_events (org_id, event_type) VALUES ('webapp', 'chat_message')",
                    &[],
                )
                .expect("the web app's insert failed or was blocked during migrate");
                n += 1;
            }
            n
        })
    };
    let out = db.run(&["migrate"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let inserted = writer.join().unwrap();
    out.assert_ok();
    let stored: i64 = db.scalar("SELECT count(*) FROM usage_events WHERE org_id = 'webapp'");
    assert_eq!(stored as u64, inserted);
    let total: i64 = db.scalar("SELECT count(*) FROM usage_events");
    assert_eq!(total as u64, 200000 + inserted);
}

#[test]
fn an_invalid_index_left_by_an_interrupted_build_is_rebuilt() {
    let db = TestDb::migrated();
    db.client()
        .batch_execute(
            "UPDATE pg_index SET indisvalid = false
               WHERE indexrelid = 'usagectl_events_org_key'::regclass;
             DELETE FROM usagectl_schema_migrations WHERE version = 12;",
        )
        .unwrap();
    db.run(&["migrate"]).assert_ok();
    let valid: bool = db.scalar(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'usagectl_events_org_key'::regclass",
    );
    assert!(valid);
}

#[test]
fn checksums_are_recorded_checked_and_listed() {
    let db = TestDb::new();
    // nothing applied: every step pending, exit 3
    let out = db.run(&["migrate", "--status", "-o", "json"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let states: Vec<String> = out.json()["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states.len() as i32, usagectl::db::schema::latest_version());
    assert!(states.iter().all(|s| s == "pending"), "{states:?}");
    db.run(&["migrate"]).assert_ok();
    let unrecorded: i64 =
        db.scalar("SELECT count(*) FROM usagectl_schema_migrations WHERE checksum IS NULL OR length(checksum) <> 64");
    assert_eq!(unrecorded, 0);
    let out = db.run(&["migrate", "--status", "-o", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.matches(",applied,").count() as i32,
        usagectl::db::schema::latest_version(),
        "{}",
        out.stdout
    );

    // a database migrated before checksums were kept: the column is missing
    db.client()
        .batch_execute("ALTER TABLE usagectl_schema_migrations DROP COLUMN checksum")
        .unwrap();
    let out = db.run(&["migrate", "--status", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("\"applied_unchecked\""),
        "{}",
        out.stdout
    );
    db.run(&["migrate"]).assert_ok();
    let unrecorded: i64 =
        db.scalar("SELECT count(*) FROM usagectl_schema_migrations WHERE checksum IS NULL");
    assert_eq!(unrecorded, 0, "migrate records this build's checksums");

    // a step's SQL that differs from what was applied is refused, not silently skipped
    db.client()
        .batch_execute(
            "UPDATE usagectl_schema_migrations SET checksum = repeat('0', 64) WHERE version = 7",
        )
        .unwrap();
    let out = db.run(&["migrate"]);
    out.assert_fails(1);
    assert!(
        out.stderr
            .contains("migration 7 was changed after it was applied"),
        "{}",
        out.stderr
    );
    let out = db.run(&["migrate", "--status"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stdout.contains("changed after it was applied"),
        "{}",
        out.stdout
    );
    let out = db.run(&["doctor", "-o", "csv"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("migration checksums,problem,migration 7 changed after it was applied"),
        "{}",
        out.stdout
    );
    // a version from a newer usagectl is listed, not refused
    db.client()
        .batch_execute(
            "UPDATE usagectl_schema_migrations SET checksum = NULL WHERE version = 7;
             INSERT INTO usagectl_schema_migrations (version, description, checksum) VALUES (99, 'future', 'x')",
        )
        .unwrap();
    db.run(&["migrate"]).assert_ok();
    let out = db.run(&["migrate", "--status", "-o", "csv"]);
    assert!(
        out.stdout.contains("99,applied by a newer usagectl"),
        "{}",
        out.stdout
    );
}

#[test]
fn every_plpgsql_function_passes_plpgsql_check() {
    let db = TestDb::migrated();
    let mut c = db.client();
    c.batch_execute("CREATE EXTENSION plpgsql_check").expect(
        "plpgsql_check is not installed: .ci/run installs postgresql-<major>-plpgsql-check",
    );
    let functions = c
        .query(
            "SELECT p.oid::regprocedure::text, t.tgrelid::regclass::text, t.tgoldtable::text, t.tgnewtable::text
             FROM pg_proc p
             JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
             LEFT JOIN pg_trigger t ON t.tgfoid = p.oid AND NOT t.tgisinternal
             WHERE p.proname LIKE 'usagectl%' OR p.pronamespace = 'usagectl'::regnamespace
             ORDER BY 1",
            &[],
        )
        .unwrap();
    // the definitions' PL/pgSQL: the append-only guard (once per trigger of the grant
    // tables), the period, the periods and the grants; the recount, a correction and its
    // trigger function (once per trigger), the settled number, the fold, the registration
    // and the readiness check; the archived months and the refusal of raw reads of them;
    // the read path and one org's usage; the org lock, the
    // enforce function, the base limit, the allowance, the API's three argument checks and
    // its reservation lookup; and the web app's API (check, record, reserve, settle,
    // release and the three endpoint bodies) and the rule for an org usagectl has seen;
    // the one insert; a partition's creation and the switch to partitions; every org's
    // all-time totals
    let names: Vec<String> = functions.iter().map(|f| f.get(0)).collect();
    assert_eq!(functions.len(), 41, "{names:#?}");
    for f in &functions {
        let (name, rel, old, new): (String, Option<String>, Option<String>, Option<String>) =
            (f.get(0), f.get(1), f.get(2), f.get(3));
        let problems: Vec<String> = c
            .query(
                "SELECT level || ': ' || message || coalesce(' (' || detail || ')', '') || ' at line ' || coalesce(lineno::text, '?')
                 FROM plpgsql_check_function_tb($1::text::regprocedure, coalesce($2::text::regclass, 0),
                                                oldtable => $3::text, newtable => $4::text,
                                                -- anyarray (usagectl_rollup_apply): usage_events[]
                                                anyelememttype => 'usage_events'::regtype,
                                                fatal_errors => false, other_warnings => true,
                                                extra_warnings => true)",
                &[&name, &rel, &old, &new],
            )
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            // the web app's API names its column "limit", as the seed's JSON bodies do: a
            // contract, quoted wherever it is used
            .filter(|p| {
                !(name.starts_with("usagectl.")
                    && p.starts_with("warning: name of parameter \"limit\" is reserved keyword"))
            })
            .collect();
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
    // the check bites: a function that names a missing column is reported
    c.batch_execute(
        "CREATE FUNCTION usagectl_probe() RETURNS bigint LANGUAGE plpgsql AS $$
         BEGIN RETURN (SELECT sum(no_such_column) FROM usage_events); END $$",
    )
    .unwrap();
    let found: i64 = c
        .query_one(
            "SELECT count(*) FROM plpgsql_check_function_tb('usagectl_probe()', fatal_errors => false)",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(found > 0);
}

/// The seed's table with rows, owned by a new role `app_<db>` (the web app's role, as on a
/// managed database where a DBA migrates); the role's name.
fn table_owned_by_an_app_role(db: &TestDb) -> String {
    db.create_seed_table();
    hand_the_table_to_an_app_role(db)
}

/// Make a new role `app_<db>` the owner of usage_events, and insert a row; its name.
fn hand_the_table_to_an_app_role(db: &TestDb) -> String {
    let app = format!("app_{}", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {app} LOGIN; GRANT CREATE ON SCHEMA public TO {app};
             ALTER TABLE usage_events OWNER TO {app};
             INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('acme', 'chat_message', 3);"
        ))
        .unwrap();
    app
}

/// usagectl's tables, sequences and functions (and usage_events) whose owner is not `owner`.
fn not_owned_by(db: &TestDb, owner: &str) -> Vec<String> {
    db.client()
        .query(
            "SELECT c.oid::regclass::text || ' owned by ' || pg_get_userbyid(c.relowner)
             FROM pg_class c
             WHERE c.relnamespace = current_schema()::regnamespace
               AND (c.relname LIKE 'usagectl%' OR c.relname = 'usage_events')
               AND pg_get_userbyid(c.relowner) <> $1
             UNION ALL
             SELECT p.oid::regprocedure::text || ' owned by ' || pg_get_userbyid(p.proowner)
             FROM pg_proc p
             WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'usagectl%'
               AND pg_get_userbyid(p.proowner) <> $1
             ORDER BY 1",
            &[&owner],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The schema is at the latest version, every object usagectl made is the table owner's,
/// and the owner's role records, folds and passes doctor.
fn owned_and_working(db: &TestDb, app: &str) {
    let version: i32 = db.scalar("SELECT max(version) FROM usagectl_schema_migrations");
    assert_eq!(version, usagectl::db::schema::latest_version());
    assert_eq!(not_owned_by(db, app), Vec::<String>::new());
    db.run_as(
        app,
        &[
            "record",
            "--org",
            "acme",
            "--event",
            "chat_message",
            "--enforce",
        ],
    )
    .assert_ok();
    db.run_as(app, &["maintain"]).assert_ok();
    let doctor = db.run_as(app, &["doctor"]);
    assert_eq!(doctor.code, 0, "{}", doctor.stdout);
    let l = db.run_as(app, &["limits", "--org", "acme", "-o", "json"]);
    l.assert_ok();
    assert_eq!(l.json()["limits"]["chat_messages"]["current"], 4);
}

/// A superuser migrates a table an app role owns: every object is created as that role
/// (a sequence linked to usage_events must have its owner), and the roles are created by
/// the superuser, who may.
#[test]
fn a_superuser_migrates_a_table_an_app_role_owns_as_that_role() {
    let db = TestDb::new();
    let app = table_owned_by_an_app_role(&db);
    let out = db.run(&["migrate", "--roles"]);
    out.assert_ok();
    assert!(out.stdout.contains("usage_writer"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("ran as {app} (SET ROLE)")),
        "{}",
        out.stdout
    );
    owned_and_working(&db, &app);
    let granted: bool = db.scalar(
        "SELECT has_function_privilege('usage_writer', 'usagectl_fold(interval)', 'EXECUTE')",
    );
    assert!(granted);
}

/// A member of the owner's role (not a superuser) migrates: objects are the owner's.
#[test]
fn a_member_of_the_owners_role_migrates_as_the_owner() {
    let db = TestDb::new();
    let app = table_owned_by_an_app_role(&db);
    let dba = format!("dba_{}", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {dba} LOGIN CREATEROLE NOINHERIT; GRANT {app} TO {dba}"
        ))
        .unwrap();
    db.run_as(&dba, &["migrate", "--roles"]).assert_ok();
    owned_and_working(&db, &app);
    // run again: nothing to do, nothing changes hands
    db.run_as(&dba, &["migrate"]).assert_ok();
    assert_eq!(not_owned_by(&db, &app), Vec::<String>::new());
}

/// What a run before this fix left: versions up to 8 applied by a superuser whose objects
/// it owns, on a table the app role owns now. The next run hands them to the owner and
/// completes.
#[test]
fn a_run_stopped_at_version_8_by_another_owner_completes() {
    let db = TestDb::new();
    db.create_seed_table();
    db.run(&["migrate", "--target-version", "8"]).assert_ok();
    let app = hand_the_table_to_an_app_role(&db);
    assert_ne!(not_owned_by(&db, &app), Vec::<String>::new());
    let out = db.run(&["migrate", "-o", "json"]);
    out.assert_ok();
    let handed = out.json()["handed_over"].as_array().unwrap().clone();
    assert!(
        handed.iter().any(|h| h == "usagectl_daily_usage")
            && handed
                .iter()
                .any(|h| h.as_str().unwrap().starts_with("usagectl_record_enforced(")),
        "{handed:?}"
    );
    owned_and_working(&db, &app);
}

/// A role that is neither the owner, a member of its role, nor a superuser is refused in
/// one line naming the owner, before anything is created.
#[test]
fn a_role_that_cannot_become_the_owner_is_refused_before_anything_runs() {
    let db = TestDb::new();
    let app = table_owned_by_an_app_role(&db);
    let outsider = format!("outsider_{}", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {outsider} LOGIN; GRANT CREATE ON SCHEMA public TO {outsider}"
        ))
        .unwrap();
    let out = db.run_as(&outsider, &["migrate"]);
    out.assert_fails(1);
    assert!(
        out.stderr.contains(&format!("owned by {app}"))
            && out.stderr.contains(&format!("a member of {app}")),
        "{}",
        out.stderr
    );
    let made: bool = db.scalar("SELECT to_regclass('usagectl_schema_migrations') IS NOT NULL");
    assert!(!made, "nothing is created");
}
