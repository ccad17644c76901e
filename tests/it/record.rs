use crate::support::*;

fn count(db: &TestDb) -> i64 {
    db.scalar("SELECT count(*) FROM usage_events")
}

#[test]
fn records_one_event_and_prints_it() {
    let db = TestDb::migrated();
    let out = db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "ai_tokens_input",
        "--quantity",
        "1234",
        "--metadata",
        r#"{"model":"claude-3-5-sonnet-20241022","message_id":"m-1"}"#,
        "-o",
        "json",
    ]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["org_id"], "acme");
    assert_eq!(v["event_type"], "ai_tokens_input");
    assert_eq!(v["quantity"], 1234);
    assert_eq!(v["metadata"]["message_id"], "m-1");
    assert_eq!(v["duplicate"], false);
    let row = db
        .client()
        .query_one(
            "SELECT id::text, org_id, event_type, quantity, metadata->>'model', created_at > now() - interval '1 minute'
             FROM usage_events",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), v["id"].as_str().unwrap());
    assert_eq!(row.get::<_, String>(1), "acme");
    assert_eq!(row.get::<_, i32>(3), 1234);
    assert_eq!(row.get::<_, String>(4), "claude-3-5-sonnet-20241022");
    assert!(row.get::<_, bool>(5));

    // the table and the CSV show the same fields
    let args = [
        "record",
        "--org",
        "acme",
        "--event",
        "csv_upload",
        "--idempotency-key",
        "k9",
    ];
    let table = db.run(&args);
    table.assert_ok();
    assert!(table.stdout.starts_with("recorded\n"), "{}", table.stdout);
    let fields: Vec<String> = table
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("│ "))
        .filter_map(|l| l.split('┆').next())
        .map(|f| f.trim().to_string())
        .collect();
    assert_eq!(
        fields,
        [
            "field",
            "id",
            "org_id",
            "event_type",
            "quantity",
            "metadata",
            "created_at",
            "idempotency_key"
        ]
    );
    assert!(table.stdout.contains("┆ k9"), "{}", table.stdout);
    let csv = db.run(&[&args[..], &["-o", "csv"]].concat());
    csv.assert_ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "id,org_id,event_type,quantity,metadata,created_at,idempotency_key,duplicate"
    );
    assert!(lines[1].contains(",acme,csv_upload,1,,"), "{}", lines[1]);
    assert!(lines[1].ends_with(",k9,true"), "{}", lines[1]);
}

#[test]
fn defaults_backdating_and_custom_types() {
    let db = TestDb::migrated();
    db.run(&["record", "--org", "a", "--event", "chat_message"])
        .assert_ok();
    db.run(&[
        "record",
        "--org",
        "a",
        "--event",
        "csv_upload",
        "--at",
        "2025-12-01T10:30:00.123456+01:00",
    ])
    .assert_ok();
    db.run(&[
        "record",
        "--org",
        "a",
        "--event",
        "webhook_call",
        "--custom-event",
    ])
    .assert_ok();
    let q: i32 = db.scalar("SELECT quantity FROM usage_events WHERE event_type = 'chat_message'");
    assert_eq!(q, 1);
    let at: String = db.scalar(
        "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') FROM usage_events WHERE event_type = 'csv_upload'",
    );
    assert_eq!(at, "2025-12-01T09:30:00.123456");
    assert_eq!(count(&db), 3);
}

/// A key the web app stored on an event with its own INSERT (which claims no key): a
/// retry through usagectl is that event's duplicate, from the CLI and from the SQL API,
/// not a unique-violation error.
#[test]
fn a_key_the_web_app_stored_itself_is_a_duplicate_not_an_error() {
    let db = TestDb::migrated();
    let id: String = db.scalar(
        "INSERT INTO usage_events (org_id, event_type, idempotency_key)
         VALUES ('acme', 'csv_upload', 'web-k2') RETURNING id::text",
    );
    let out = db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "csv_upload",
        "--idempotency-key",
        "web-k2",
        "-o",
        "json",
    ]);
    out.assert_ok();
    assert_eq!(out.json()["duplicate"], true, "{}", out.stdout);
    assert_eq!(out.json()["id"], id.as_str());
    let api: (String, String) = {
        let row = db
            .client()
            .query_one(
                "SELECT outcome, event_id::text FROM usagectl.record('acme', 'csv_upload',
                     idempotency_key => 'web-k2', enforce => false)",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(api, ("duplicate".to_string(), id));
    assert_eq!(count(&db), 1);
}

#[test]
fn an_idempotency_key_is_stored_once_per_org() {
    let db = TestDb::migrated();
    let args = [
        "record",
        "--org",
        "acme",
        "--event",
        "csv_upload",
        "--idempotency-key",
        "upload-8812",
        "-o",
        "json",
    ];
    let first = db.run(&args);
    first.assert_ok();
    let second = db.run(&args);
    second.assert_ok();
    assert_eq!(second.json()["duplicate"], true);
    assert_eq!(second.json()["id"], first.json()["id"]);
    assert!(second.stderr.is_empty(), "{}", second.stderr);
    assert_eq!(count(&db), 1);

    // a different payload under the same key: still nothing new, and a warning
    let third = db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "csv_upload",
        "--quantity",
        "9",
        "--idempotency-key",
        "upload-8812",
    ]);
    third.assert_ok();
    assert!(
        third.stdout.contains("already recorded"),
        "{}",
        third.stdout
    );
    assert!(
        third.stderr.contains("first used for a different event"),
        "{}",
        third.stderr
    );
    assert_eq!(count(&db), 1);

    // the same key for another org is another event
    db.run(&[
        "record",
        "--org",
        "globex",
        "--event",
        "csv_upload",
        "--idempotency-key",
        "upload-8812",
    ])
    .assert_ok();
    assert_eq!(count(&db), 2);
}

#[test]
fn concurrent_retries_with_one_key_store_one_event() {
    let db = TestDb::migrated();
    let children: Vec<_> = (0..8)
        .map(|_| {
            usagectl()
                .env("DATABASE_URL", &db.url)
                .args([
                    "record",
                    "--org",
                    "acme",
                    "--event",
                    "chat_message",
                    "--idempotency-key",
                    "retry-1",
                    "-o",
                    "json",
                ])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        ids.insert(v["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(count(&db), 1);
}

#[test]
fn bad_input_exits_2_with_one_line_and_writes_nothing() {
    let db = TestDb::migrated();
    let cases: &[(&[&str], &str)] = &[
        (&["--event", "chat_mesage"], "did you mean 'chat_message'?"),
        (
            &["--event", "chat_message", "--quantity", "0"],
            "--quantity",
        ),
        (
            &["--event", "chat_message", "--quantity", "-5"],
            "--quantity",
        ),
        (
            &["--event", "chat_message", "--quantity", "2147483648"],
            "--quantity",
        ),
        (
            &["--event", "chat_message", "--quantity", "1.5"],
            "--quantity",
        ),
        (
            &["--event", "chat_message", "--metadata", "[1,2]"],
            "must be a JSON object",
        ),
        (
            &["--event", "chat_message", "--metadata", "{oops"],
            "not valid JSON",
        ),
        (
            &["--event", "chat_message", "--at", "2999-01-01T00:00:00Z"],
            "more than 5 minutes in the future",
        ),
        (
            &["--event", "chat_message", "--at", "yesterday"],
            "RFC 3339",
        ),
        (
            &["--event", "chat_message", "--at", "2026-02-30T00:00:00Z"],
            "usagectl: error: --at 2026-02-30 is not a date: 2026-02 has 28 days\n",
        ),
        (
            &["--event", "chat_message", "--idempotency-key", ""],
            "must not be empty",
        ),
        (
            &["--event", "chat_message", "--bogus"],
            "unexpected argument",
        ),
    ];
    for (extra, expect) in cases {
        let mut args = vec!["record", "--org", "acme"];
        args.extend_from_slice(extra);
        let out = db.run(&args);
        out.assert_fails(2);
        assert!(out.stderr.contains(expect), "{args:?}: {}", out.stderr);
    }
    let out = db.run(&["record", "--org", "", "--event", "chat_message"]);
    out.assert_fails(2);
    let out = db.run(&["record", "--event", "chat_message"]);
    out.assert_fails(2);
    assert!(out.stderr.contains("--org <ORG>"));
    assert_eq!(count(&db), 0);
}

#[test]
fn org_ids_are_data_never_sql() {
    let db = TestDb::migrated();
    let nasty = "x'); drop table usage_events; --";
    let unicode = "Ørsted-工場";
    for org in [nasty, unicode, "=HYPERLINK(\"evil\")"] {
        db.run(&[
            "record",
            "--org",
            org,
            "--event",
            "analysis_run",
            "--quantity",
            "3",
        ])
        .assert_ok();
        let out = db.run(&["summary", "--org", org, "-o", "json"]);
        out.assert_ok();
        let v = out.json();
        assert_eq!(v["org_id"], org);
        assert_eq!(v["summary_by_type"]["analysis_run"]["total_quantity"], 3);
    }
    let stored: Vec<String> = db
        .client()
        .query("SELECT org_id FROM usage_events ORDER BY org_id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stored, vec!["=HYPERLINK(\"evil\")", nasty, unicode]);
    // CSV neutralises the formula, JSON keeps it as written
    let csv = db.run(&["summary", "--org", "=HYPERLINK(\"evil\")", "-o", "csv"]);
    assert!(
        csv.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("\"'=HYPERLINK(\"\"evil\"\")\",analysis_run,1,3,"),
        "{}",
        csv.stdout
    );
}

#[test]
fn before_migrate_the_error_says_to_migrate() {
    let db = TestDb::new();
    let out = db.run(&["record", "--org", "a", "--event", "chat_message"]);
    out.assert_fails(1);
    assert!(
        out.stderr.contains("run `usagectl migrate` first"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("usagectl_insert_events(uuid[], text[], text[], integer[], jsonb[], timestamp with time zone[], text[]) does not exist"),
        "{}",
        out.stderr
    );
}

/// `n` bytes of text that does not compress, so the btree index really holds all of it.
pub(crate) fn incompressible(n: usize, seed: u64) -> String {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    [(x >> 33) as usize % 62],
            )
        })
        .collect()
}

#[test]
fn at_before_1970_or_after_9999_is_misuse() {
    let db = TestDb::migrated();
    for (at, shown) in [
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
        ("9999-12-31T23:00:00-05:00", "9999-12-31T23:00:00-05:00"),
    ] {
        let out = db.run(&[
            "record",
            "--org",
            "a",
            "--event",
            "chat_message",
            "--at",
            at,
        ]);
        out.assert_fails(2);
        assert_eq!(
            out.stderr,
            format!(
                "usagectl: error: --at '{shown}' is outside 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the event times accepted\n"
            )
        );
    }
    // a date alone is not a time
    db.run(&[
        "record",
        "--org",
        "a",
        "--event",
        "chat_message",
        "--at",
        "0000-01-01",
    ])
    .assert_fails(2);
    assert_eq!(count(&db), 0);
    db.run(&[
        "record",
        "--org",
        "a",
        "--event",
        "chat_message",
        "--at",
        "1970-01-01T00:00:00Z",
    ])
    .assert_ok();
    let stored: String =
        db.scalar("SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') FROM usage_events");
    assert_eq!(stored, "1970-01-01 00:00:00");
}

#[test]
fn nul_and_oversized_keys_are_refused_before_the_server_sees_them() {
    let db = TestDb::migrated();
    let long_org = incompressible(1001, 1);
    let long_key = incompressible(1001, 2);
    let cut = |s: &str| {
        format!(
            "'{}…' (1001 characters) is 1001 bytes long; at most 1000 bytes fit an index entry",
            &s[..100]
        )
    };
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--org", "a", "--metadata", r#"{"m":{"n":"x\u0000"}}"#],
            "--metadata 'x\\u{0}' contains a NUL character (\\u{0}), which PostgreSQL cannot store (jsonb refuses \\u0000)".to_string(),
        ),
        (vec!["--org", &long_org], format!("--org {}", cut(&long_org))),
        (
            vec!["--org", "a", "--idempotency-key", &long_key],
            format!("--idempotency-key {}", cut(&long_key)),
        ),
    ];
    for (args, want) in &cases {
        let mut all = vec!["record", "--event", "chat_message"];
        all.extend(args);
        let out = db.run(&all);
        out.assert_fails(2);
        assert_eq!(out.stderr, format!("usagectl: error: {want}\n"));
    }
    let out = db.run(&[
        "record",
        "--org",
        "a",
        "--event",
        &incompressible(1001, 3),
        "--custom-event",
    ]);
    out.assert_fails(2);
    assert!(out.stderr.contains("event type '"), "{}", out.stderr);
    assert_eq!(count(&db), 0);

    // the bound is safe: an org id, a key and a custom type of 1,000 bytes each are stored
    let org = &long_org[..1000];
    let key = &long_key[..1000];
    let event = incompressible(1000, 4);
    db.run(&[
        "record",
        "--org",
        org,
        "--event",
        &event,
        "--custom-event",
        "--idempotency-key",
        key,
    ])
    .assert_ok();
    let stored: (String, String) = {
        let row = db
            .client()
            .query_one("SELECT org_id, idempotency_key FROM usage_events", &[])
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(stored, (org.to_string(), key.to_string()));
}

#[test]
fn control_characters_show_escaped_in_tables_and_errors_and_exact_in_json_and_csv() {
    let db = TestDb::migrated();
    let org = "ev\u{1b}[2Jil\u{202e}gnp.exe\u{85}";
    let shown = "ev\\u{1b}[2Jil\\u{202e}gnp.exe\\u{85}";
    let json = db.run(&[
        "record",
        "--org",
        org,
        "--event",
        "chat_message",
        "-o",
        "json",
    ]);
    json.assert_ok();
    assert_eq!(json.json()["org_id"], org);
    let stored: String = db.scalar("SELECT org_id FROM usage_events");
    assert_eq!(stored, org);

    let table = db.run(&["record", "--org", org, "--event", "chat_message"]);
    table.assert_ok();
    assert!(
        table
            .stdout
            .contains(&format!("│ org_id          ┆ {shown}")),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains('\u{1b}') && !table.stdout.contains('\u{202e}'));
    let summary = db.run(&["summary", "--org", org]);
    summary.assert_ok();
    assert!(summary.stdout.contains(shown), "{}", summary.stdout);
    assert!(!summary.stdout.contains('\u{1b}'), "{}", summary.stdout);
    let csv = db.run(&["summary", "--org", org, "-o", "csv"]);
    assert!(
        csv.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("{org},")),
        "{}",
        csv.stdout
    );

    // an error echoes the value escaped and cut, with its length
    let long = format!("{}\u{1b}", "a".repeat(10239));
    let out = db.run(&["summary", "--org", &long]);
    out.assert_fails(2);
    assert_eq!(
        out.stderr,
        format!(
            "usagectl: error: --org '{}…' (10240 characters) is 10240 bytes long; at most 1000 bytes fit an index entry\n",
            "a".repeat(100)
        )
    );
    let out = db.run(&["record", "--org", "a", "--event", "chat\u{1b}]0;x\u{7}"]);
    out.assert_fails(2);
    assert!(
        out.stderr
            .contains("invalid event type 'chat\\u{1b}]0;x\\u{7}'"),
        "{}",
        out.stderr
    );
    assert_eq!(count(&db), 2);
}

/// A retry under a stored key that differs in event type, quantity, metadata (absent
/// versus present included) or time warns, naming each field with both values; a true
/// retry says nothing.
#[test]
fn a_retry_that_differs_names_each_field_with_both_values() {
    let db = TestDb::migrated();
    let base = [
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--idempotency-key",
        "k1",
        "--at",
        "2025-11-03T10:00:00Z",
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        db.run(&args)
    };
    with(&["--metadata", r#"{"model":"a"}"#]).assert_ok();
    let warning = "usagectl: warning: idempotency key 'k1' was first used for a different event; the stored event is kept: ";

    let same = with(&["--metadata", r#"{"model": "a"}"#]);
    same.assert_ok();
    assert!(same.stderr.is_empty(), "{}", same.stderr);

    let no_metadata = with(&[]);
    no_metadata.assert_ok();
    assert_eq!(
        no_metadata.stderr,
        format!("{warning}metadata: stored '{{\"model\":\"a\"}}', given none\n")
    );

    let other_metadata = with(&["--metadata", r#"{"model":"b"}"#]);
    assert_eq!(
        other_metadata.stderr,
        format!("{warning}metadata: stored '{{\"model\":\"a\"}}', given '{{\"model\":\"b\"}}'\n")
    );

    let mut args: Vec<&str> = base.to_vec();
    args[4] = "analysis_run";
    args[8] = "2025-11-03T10:00:00.5Z";
    args.extend(["--quantity", "3", "--metadata", r#"{"model":"a"}"#]);
    let all = db.run(&args);
    all.assert_ok();
    assert_eq!(
        all.stderr,
        format!(
            "{warning}event type: stored 'chat_message', given 'analysis_run'; quantity: stored 1, given 3; time: stored 2025-11-03T10:00:00Z, given 2025-11-03T10:00:00.500Z\n"
        )
    );
    assert_eq!(count(&db), 1, "nothing new is stored");
}

#[test]
fn dry_run_and_input_format_without_a_file_record_nothing() {
    let db = TestDb::migrated();
    for flag in [&["--dry-run"][..], &["--input-format", "csv"][..]] {
        let mut args = vec!["record", "--org", "acme", "--event", "chat_message"];
        args.extend_from_slice(flag);
        let out = db.run(&args);
        out.assert_fails(2);
        assert!(
            out.stderr.contains("apply to --file only"),
            "{}",
            out.stderr
        );
    }
    let n: i64 = db.scalar("SELECT count(*) FROM usage_events");
    assert_eq!(n, 0);
}

#[test]
fn a_key_follows_its_event_when_the_event_is_deleted_or_its_key_changed() {
    let db = TestDb::migrated();
    let rec = |key: &str| {
        let out = db.run(&[
            "record",
            "--org",
            "acme",
            "--event",
            "csv_upload",
            "--idempotency-key",
            key,
            "-o",
            "json",
        ]);
        out.assert_ok();
        out.json()["duplicate"].as_bool().unwrap()
    };
    assert!(!rec("k1"));
    assert!(rec("k1"));
    // deleted: the key is free again
    db.client()
        .batch_execute("DELETE FROM usage_events WHERE idempotency_key = 'k1'")
        .unwrap();
    assert!(!rec("k1"));
    // its key changed: the old one is free, the new one is taken
    db.client()
        .batch_execute(
            "UPDATE usage_events SET idempotency_key = 'k2' WHERE idempotency_key = 'k1'",
        )
        .unwrap();
    assert!(!rec("k1"));
    assert!(rec("k2"));
    let keys: i64 = db.scalar("SELECT count(*) FROM usagectl_event_keys WHERE org_id = 'acme'");
    assert_eq!(keys, 2);
    // TRUNCATE: every key is free
    db.client().batch_execute("TRUNCATE usage_events").unwrap();
    assert!(!rec("k2"));
}
