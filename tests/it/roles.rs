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
            "REVOKE EXECUTE ON FUNCTION usagectl_record_enforced FROM PUBLIC;
             REVOKE EXECUTE ON FUNCTION usagectl_record_in_period FROM PUBLIC;
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
    let sides: i64 =
        db.scalar("SELECT count(*) FROM usagectl_boundary_usage WHERE org_id = 'ktmco'");
    assert_eq!(
        sides, 2,
        "the row before the period's start and the one after it"
    );
    let l = as_role(&reader, &["limits", "--org", "ktmco", "-o", "json"]);
    l.assert_ok();
    assert_eq!(l.json()["limits"]["chat_messages"]["current"], 3);
    let unscoped = psql(
        &format!("{} user={reader}", db.url),
        "SELECT count(*) FROM usagectl_boundary_usage",
    );
    assert_eq!(unscoped.trim(), "0", "RLS: no org, no rows");
    let other = psql(
        &format!("{} user={reader}", db.url),
        "SET app.current_org_id = 'acme'; SELECT count(*) FROM usagectl_boundary_usage",
    );
    assert_eq!(
        other.lines().last(),
        Some("0"),
        "RLS: acme's scope sees no ktmco sides"
    );
    // the reader's figure is the boundary rollup's: a side changed by the owner shows
    db.client()
        .batch_execute("UPDATE usagectl_boundary_usage SET quantity = quantity + 100 WHERE org_id = 'ktmco' AND after_boundary")
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
