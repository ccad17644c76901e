use crate::support::*;

/// `migrate --roles` on the seed's table: a usage_reader member reads one org's summary and
/// limits under RLS and is refused when it records; a usage_writer member records.
#[test]
fn reader_and_writer_roles_do_what_they_should_and_no_more() {
    let db = TestDb::new();
    db.create_seed_table();
    let out = db.run(&["migrate", "--roles"]);
    out.assert_ok();
    assert!(out.stdout.contains("usage_reader"), "{}", out.stdout);
    assert!(out.stdout.contains("usage_writer"), "{}", out.stdout);
    // a hardened database where PUBLIC may not run functions: --roles grants the writer
    // what record --enforce calls
    db.client()
        .batch_execute(
            "REVOKE EXECUTE ON FUNCTION usagectl_record FROM PUBLIC;
             REVOKE EXECUTE ON FUNCTION usagectl_allowance FROM PUBLIC;
             REVOKE EXECUTE ON FUNCTION usagectl_period FROM PUBLIC;",
        )
        .unwrap();
    // idempotent
    let again = db.run(&["migrate", "--roles", "-o", "json"]);
    again.assert_ok();
    assert!(again.json()["roles"].as_array().unwrap().len() >= 3);

    let reader = format!("support_{}", db.name);
    let writer = format!("cron_{}", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {reader} LOGIN IN ROLE usage_reader;
             CREATE ROLE {writer} LOGIN IN ROLE usage_writer;
             INSERT INTO usage_events (org_id, event_type, quantity) VALUES
               ('acme', 'chat_message', 4), ('acme', 'csv_upload', 1), ('globex', 'chat_message', 99);"
        ))
        .unwrap();
    let as_role = |role: &str, args: &[&str]| {
        run(usagectl()
            .env("DATABASE_URL", format!("{} user={role}", db.url))
            .args(args))
    };

    let s = as_role(&reader, &["summary", "--org", "acme", "-o", "json"]);
    s.assert_ok();
    assert_eq!(s.json()["total_events"], 2);
    assert_eq!(
        s.json()["summary_by_type"]["chat_message"]["total_quantity"],
        4
    );
    let l = as_role(&reader, &["limits", "--org", "acme", "-o", "json"]);
    l.assert_ok();
    assert_eq!(l.json()["limits"]["chat_messages"]["current"], 4);
    // billing settings and grants: the owner sets them, the reader sees them
    db.run(&[
        "org",
        "set",
        "newco",
        "--new-org",
        "--anchor-day",
        "15",
        "--time-zone",
        "Asia/Kathmandu",
    ])
    .assert_ok();
    db.run(&[
        "grant",
        "add",
        "acme",
        "chat_messages",
        "5",
        "--reason",
        "support",
    ])
    .assert_ok();
    let show = as_role(&reader, &["org", "show", "newco", "-o", "json"]);
    show.assert_ok();
    assert_eq!(show.json()["time_zone"], "Asia/Kathmandu");
    let grants = as_role(&reader, &["grant", "list", "acme", "-o", "json"]);
    grants.assert_ok();
    assert_eq!(grants.json()["grants"][0]["amount"], 5);
    let l = as_role(&reader, &["limits", "--org", "acme", "-o", "json"]);
    assert_eq!(l.json()["limits"]["chat_messages"]["limit"], 55);
    for args in [
        &["org", "set", "acme", "--anchor-day", "2"][..],
        &[
            "grant",
            "add",
            "acme",
            "chat_messages",
            "5",
            "--reason",
            "x",
        ],
    ] {
        let out = as_role(&reader, args);
        out.assert_fails(1);
        assert!(out.stderr.contains("permission denied"), "{}", out.stderr);
    }
    let refused = as_role(
        &reader,
        &["record", "--org", "acme", "--event", "chat_message"],
    );
    refused.assert_fails(1);
    assert!(
        refused
            .stderr
            .contains("permission denied for table usage_events"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("lacks a privilege"),
        "{}",
        refused.stderr
    );

    // the writer records, retries idempotently, enforces quotas, loads files
    as_role(
        &writer,
        &[
            "record",
            "--org",
            "acme",
            "--event",
            "chat_message",
            "--idempotency-key",
            "w1",
        ],
    )
    .assert_ok();
    // the writer's cron folds; the reader then reads acme from the rollup, still alone
    let m = as_role(&writer, &["maintain", "-o", "json"]);
    m.assert_ok();
    assert_eq!(m.json()["folded_events"], 4);
    let l = as_role(&reader, &["limits", "--org", "acme", "-o", "json"]);
    l.assert_ok();
    assert_eq!(l.json()["limits"]["chat_messages"]["current"], 5);
    let dup = as_role(
        &writer,
        &[
            "record",
            "--org",
            "acme",
            "--event",
            "chat_message",
            "--idempotency-key",
            "w1",
            "-o",
            "json",
        ],
    );
    dup.assert_ok();
    assert_eq!(dup.json()["duplicate"], true);
    as_role(
        &writer,
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
    let full = as_role(
        &writer,
        &[
            "record",
            "--org",
            "globex",
            "--event",
            "chat_message",
            "--enforce",
        ],
    );
    full.assert_fails(4);
    assert!(
        full.stderr.contains("(99/50 this month)"),
        "the writer sees the org's usage: {}",
        full.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.csv");
    std::fs::write(
        &file,
        "org_id,event_type,idempotency_key\nacme,csv_upload,f1\nacme,csv_upload,w1\n",
    )
    .unwrap();
    let bulk = as_role(
        &writer,
        &[
            "record",
            "--file",
            file.to_str().unwrap(),
            "--enforce",
            "-o",
            "json",
        ],
    );
    bulk.assert_ok();
    assert_eq!(bulk.json()["inserted"], 1, "w1 was recorded above");
    // but it cannot change tiers
    as_role(&writer, &["tier", "assign", "acme", "pilot"]).assert_fails(1);

    let total: i64 = db.scalar("SELECT count(*) FROM usage_events WHERE org_id = 'acme'");
    assert_eq!(total, 2 + 2 + 1);

    // a billing period off UTC: the owner sets it (registering its boundaries), the
    // writer's cron folds rows on both sides of its start into the boundary rollup, and
    // the reader reads that period through it, one org at a time
    db.run(&[
        "org",
        "set",
        "ktmco",
        "--new-org",
        "--anchor-day",
        "1",
        "--time-zone",
        "Asia/Kathmandu",
    ])
    .assert_ok();
    let registered: i64 =
        db.scalar("SELECT count(*) FROM usagectl_boundaries WHERE org_id = 'ktmco'");
    assert!(
        registered >= 4,
        "org set registers the periods around now: {registered}"
    );
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT 'ktmco', 'chat_message', q, p.period_start + d
               FROM usagectl_period('ktmco', now()) p,
                    (VALUES (3, interval '1 minute'), (40, interval '-1 minute')) v(q, d)",
        )
        .unwrap();
    as_role(&writer, &["maintain"]).assert_ok();
    let sides: i64 = db.scalar(
        "SELECT count(*) FROM usagectl_rollup r JOIN usagectl_period('ktmco', now()) p
             ON r.bucket IN (p.period_start, date_trunc('day', p.period_start, 'UTC'))
          WHERE r.org_id = 'ktmco'",
    );
    assert_eq!(
        sides, 2,
        "the bucket before the period's start and the one from it"
    );
    let l = as_role(&reader, &["limits", "--org", "ktmco", "-o", "json"]);
    l.assert_ok();
    assert_eq!(l.json()["limits"]["chat_messages"]["current"], 3);
    let unscoped = psql(
        &format!("{} user={reader}", db.url),
        "SELECT count(*) FROM usagectl_rollup",
    );
    assert_eq!(unscoped.trim(), "0", "RLS: no org, no rows");
    let other = psql(
        &format!("{} user={reader}", db.url),
        "SET app.current_org_id = 'acme'; SELECT count(*) FROM usagectl_rollup WHERE org_id = 'ktmco'",
    );
    assert_eq!(
        other.lines().last(),
        Some("0"),
        "RLS: acme's scope sees no ktmco sides"
    );
    // the reader's figure is the rollup's: the bucket from the boundary, changed by the
    // owner, shows
    db.client()
        .batch_execute(
            "UPDATE usagectl_rollup SET quantity = quantity + 100
              WHERE org_id = 'ktmco' AND bucket = (SELECT period_start FROM usagectl_period('ktmco', now()))",
        )
        .unwrap();
    let l = as_role(&reader, &["limits", "--org", "ktmco", "-o", "json"]);
    assert_eq!(l.json()["limits"]["chat_messages"]["current"], 103);
    // a cron role that may fold but not register: maintain folds, warns in one line
    // and exits 0; nothing is registered
    db.client()
        .batch_execute(
            "REVOKE EXECUTE ON FUNCTION usagectl_register_boundaries FROM usage_writer;
             INSERT INTO usagectl_org_settings (org_id, effective_from, anchor_day, time_zone)
             VALUES ('late', '-infinity', 10, 'Asia/Kathmandu');",
        )
        .unwrap();
    let m = as_role(&writer, &["maintain", "-o", "json"]);
    m.assert_ok();
    assert_eq!(m.json()["registered_boundaries"], 0);
    assert!(
        m.stderr
            .contains("permission denied for function usagectl_register_boundaries")
            && m.stderr.contains("the next run tries again"),
        "{}",
        m.stderr
    );
    assert_eq!(m.stderr.trim().lines().count(), 1, "{}", m.stderr);
    assert!(
        !m.stderr.contains("host="),
        "no connection string: {}",
        m.stderr
    );
    let late: i64 = db.scalar("SELECT count(*) FROM usagectl_boundaries WHERE org_id = 'late'");
    assert_eq!(late, 0);
    db.client()
        .batch_execute(&format!(
            "DROP OWNED BY {reader}, {writer}; DROP ROLE {reader}; DROP ROLE {writer};"
        ))
        .unwrap();
}

/// The seed's table under `migrate --roles`, with acme at 4 of its 50 chat messages and
/// beta at 60 (over), and a log-in member of usage_reader named after the database: the
/// database and that role's name.
fn rls_fixture() -> (TestDb, String) {
    let db = TestDb::new();
    db.create_seed_table();
    db.run(&["migrate", "--roles"]).assert_ok();
    let reader = format!("support_{}", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {reader} LOGIN IN ROLE usage_reader;
             INSERT INTO usage_events (org_id, event_type, quantity, metadata) VALUES
               ('acme', 'chat_message', 4, NULL), ('beta', 'chat_message', 60, NULL),
               ('beta', 'ai_tokens_input', 1000, '{{\"model\": \"m1\"}}');"
        ))
        .unwrap();
    (db, reader)
}

fn as_role(db: &TestDb, role: &str, args: &[&str]) -> Run {
    run(usagectl()
        .env("DATABASE_URL", format!("{} user={role}", db.url))
        .args(args))
}

fn drop_roles(db: &TestDb, roles: &[&str]) {
    for r in roles {
        db.client()
            .batch_execute(&format!("DROP OWNED BY {r}; DROP ROLE {r};"))
            .unwrap();
    }
}

/// A usage_reader login with no org scope sees no row of usage_events: every command that
/// reads every org refuses in one line naming the role (exit 1, nothing on stdout) instead
/// of answering from nothing, as they did (`status --all` said "no orgs to show", exit 0).
#[test]
fn all_org_commands_refuse_a_role_that_row_level_security_blinds() {
    let (db, reader) = rls_fixture();
    let month: String = db.scalar("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.csv");
    let file = file.to_str().unwrap();
    // the owner's export of every org, for export --check
    db.run(&["export", "--month", &month, "-o", "csv", "--output", file])
        .assert_ok();
    let manifest = format!("{file}.manifest.json");
    // an alert cron role: the alert tables, but usage_events under the seed's policy
    db.client()
        .batch_execute(&format!(
            "GRANT SELECT ON usagectl_alert_rules, usagectl_alert_states TO {reader}"
        ))
        .unwrap();
    for args in [
        &["status", "--all"][..],
        &["status", "--all", "--problems-only", "-o", "json"],
        &["top"],
        &["top", "--by", "cost"],
        &["costs"],
        &["export", "--month", &month],
        &["export", "--check", &manifest],
        &["doctor"],
        &["alert", "run", "--dry-run"],
    ] {
        let out = as_role(&db, &reader, args);
        out.assert_fails(1);
        assert!(
            out.stderr.starts_with(&format!(
                "usagectl: error: role \"{reader}\" cannot see every org's rows: row-level security"
            )) && out.stderr.contains("BYPASSRLS"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Stripe's commands compare every mapped org's usage: refused before any request
    for args in [["stripe", "push"], ["stripe", "reconcile"]] {
        let out = run(usagectl()
            .env("DATABASE_URL", format!("{} user={reader}", db.url))
            .env("STRIPE_API_KEY", "sk_test_51RlsTestKeyForRefusals0000")
            .env("STRIPE_API_BASE", "http://127.0.0.1:9")
            .args(args));
        out.assert_fails(1);
        assert!(
            out.stderr.starts_with(&format!(
                "usagectl: error: role \"{reader}\" cannot see every org's rows"
            )),
            "{args:?}: {}",
            out.stderr
        );
    }
    // one org at a time it reads: beta is over, costs and doctor --org read beta's rows
    // (they read none before), and doctor finds beta's rollup drifted
    assert_eq!(as_role(&db, &reader, &["status", "--org", "beta"]).code, 4);
    let c = as_role(&db, &reader, &["costs", "--org", "beta", "-o", "json"]);
    c.assert_ok();
    assert_eq!(c.json()["unpriced_tokens"], 1000, "{}", c.stdout);
    db.fold();
    db.client()
        .batch_execute(
            "UPDATE usagectl_rollup SET quantity = quantity + 5
              WHERE org_id = 'beta' AND event_type = 'chat_message'",
        )
        .unwrap();
    let d = as_role(&db, &reader, &["doctor", "--org", "beta", "-o", "json"]);
    assert_eq!(d.code, 3, "{}", d.stdout);
    assert_eq!(doctor_check(&d.json(), "rollup drift").0, "problem");
    drop_roles(&db, &[&reader]);
}

/// A role whose sessions are scoped to one org (`ALTER ROLE ... SET app.current_org_id`)
/// gets that org's figures from the all-org commands, and a note on stderr naming it; the
/// orgs it cannot see (acme has a tier assignment) are not shown as unused.
#[test]
fn all_org_commands_name_the_one_org_a_role_is_scoped_to() {
    let (db, reader) = rls_fixture();
    db.run(&["tier", "assign", "acme", "pilot"]).assert_ok();
    db.client()
        .batch_execute(&format!(
            "ALTER ROLE {reader} SET app.current_org_id = 'beta'"
        ))
        .unwrap();
    let note = format!("usagectl: note: role \"{reader}\" sees only org 'beta'");
    let s = as_role(&db, &reader, &["status", "--all", "-o", "json"]);
    assert_eq!(s.code, 4, "{}", s.stderr);
    assert!(s.stderr.starts_with(&note), "{}", s.stderr);
    assert_eq!(s.stderr.lines().count(), 1, "{}", s.stderr);
    let v = s.json();
    let orgs: Vec<&str> = v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["org_id"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["beta"]);
    let t = as_role(
        &db,
        &reader,
        &["top", "--metric", "chat_messages", "-o", "json"],
    );
    t.assert_ok();
    assert!(t.stderr.starts_with(&note), "{}", t.stderr);
    assert_eq!(t.json()["orgs"].as_array().unwrap().len(), 1);
    assert_eq!(t.json()["orgs"][0]["current"], 60);
    let c = as_role(&db, &reader, &["costs", "-o", "json"]);
    c.assert_ok();
    assert!(c.stderr.starts_with(&note), "{}", c.stderr);
    assert_eq!(c.json()["orgs"][0]["org_id"], "beta");
    let d = as_role(&db, &reader, &["doctor", "-o", "json"]);
    assert!(d.stderr.starts_with(&note), "{}", d.stderr);
    assert_eq!(doctor_check(&d.json(), "rollup drift").0, "ok");
    // an export's manifest says which org it holds; a manifest of every org is not checked
    // by a role that would find every other org's rows gone
    let dir = tempfile::tempdir().unwrap();
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let mine = dir.path().join("beta.csv").display().to_string();
    as_role(
        &db,
        &reader,
        &["export", "--month", &month, "--output", &mine],
    )
    .assert_ok();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{mine}.manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["org"], "beta", "{manifest}");
    as_role(
        &db,
        &reader,
        &["export", "--check", &format!("{mine}.manifest.json")],
    )
    .assert_ok();
    let all = dir.path().join("all.csv").display().to_string();
    db.run(&["export", "--month", &month, "--output", &all])
        .assert_ok();
    let out = as_role(
        &db,
        &reader,
        &["export", "--check", &format!("{all}.manifest.json")],
    );
    out.assert_fails(1);
    assert!(
        out.stderr
            .contains("covers every org, but this role sees only org 'beta'"),
        "{}",
        out.stderr
    );
    drop_roles(&db, &[&reader]);
}

/// The table's owner, a role with BYPASSRLS, a superuser and a role a policy of the DBA's
/// lets read every row see every org: no refusal, no note, both orgs.
#[test]
fn the_owner_and_bypassrls_roles_still_see_every_org() {
    let (db, reader) = rls_fixture();
    let owner = format!("owner_{}", db.name);
    let bypass = format!("bypass_{}", db.name);
    let open = format!("open_{}", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {owner} LOGIN IN ROLE usage_reader;
             ALTER TABLE usage_events OWNER TO {owner};"
        ))
        .unwrap();
    // the raw rows' owner alone still reads the rollups under their policies
    as_role(&db, &owner, &["status", "--all"]).assert_fails(1);
    let mut setup = format!(
        "ALTER TABLE usagectl_rollup OWNER TO {owner};
         CREATE ROLE {bypass} LOGIN BYPASSRLS IN ROLE usage_reader;
         CREATE ROLE {open} LOGIN IN ROLE usage_reader;"
    );
    for t in ["usage_events", "usagectl_rollup"] {
        setup += &format!("CREATE POLICY every_org ON {t} FOR SELECT TO {open} USING (true);");
    }
    db.client().batch_execute(&setup).unwrap();
    let superuser: String = db.scalar("SELECT current_user::text");
    for role in [&owner, &bypass, &superuser, &open] {
        let s = as_role(&db, role, &["status", "--all", "-o", "json"]);
        assert_eq!(s.code, 4, "{role}: {}", s.stderr);
        assert_eq!(s.stderr, "", "{role}");
        assert_eq!(s.json()["orgs"].as_array().unwrap().len(), 2, "{role}");
        let c = as_role(&db, role, &["costs", "-o", "json"]);
        c.assert_ok();
        assert_eq!(c.stderr, "", "{role}");
    }
    db.client()
        .batch_execute(&format!(
            "ALTER TABLE usage_events OWNER TO {superuser};
             ALTER TABLE usagectl_rollup OWNER TO {superuser};"
        ))
        .unwrap();
    drop_roles(&db, &[&reader, &owner, &bypass, &open]);
}

/// `migrate --roles` on an up-to-date schema prints the roles table in table form too, as
/// JSON lists them.
#[test]
fn roles_on_an_up_to_date_schema_print_which_command_needs_which_role() {
    let db = TestDb::migrated();
    let out = db.run(&["migrate", "--roles"]);
    out.assert_ok();
    assert!(out.stdout.contains("nothing to do"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("roles usage_reader and usage_writer are in place")
            && out.stdout.contains("usage_writer")
            && out.stdout.contains("the owner of the tables"),
        "{}",
        out.stdout
    );
}
