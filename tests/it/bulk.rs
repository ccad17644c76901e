use std::io::Write;

use crate::support::*;

fn count(db: &TestDb) -> i64 {
    db.scalar("SELECT count(*) FROM usage_events")
}

fn note(i: usize) -> String {
    format!("quote \" comma , newline \n row {i}")
}

/// 100,000 rows whose metadata holds quotes, commas and newlines.
fn big_csv(dir: &std::path::Path, bad_line: Option<usize>) -> std::path::PathBuf {
    let path = dir.join("events.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record([
        "idempotency_key",
        "org_id",
        "event_type",
        "quantity",
        "metadata",
        "created_at",
    ])
    .unwrap();
    for i in 0..100_000usize {
        let line = i + 2;
        let quantity = if Some(line) == bad_line {
            "-3".to_string()
        } else {
            (1 + i % 7).to_string()
        };
        let meta = serde_json::json!({"note": note(i), "i": i}).to_string();
        w.write_record([
            format!("k{i}").as_str(),
            format!("org-{}", i % 10).as_str(),
            "csv_row_processed",
            quantity.as_str(),
            meta.as_str(),
            "2025-11-15T10:00:00.123456Z",
        ])
        .unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn a_large_csv_lands_exactly_and_twice_adds_nothing() {
    let db = TestDb::migrated();
    let dir = tempfile::tempdir().unwrap();
    let path = big_csv(dir.path(), None);
    let p = path.to_str().unwrap();
    let out = db.run(&["record", "--file", p, "-o", "json"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(
        (
            v["rows_read"].as_i64(),
            v["inserted"].as_i64(),
            v["skipped_duplicates"].as_i64()
        ),
        (Some(100_000), Some(100_000), Some(0))
    );
    let expect_sum: i64 = (0..100_000i64).map(|i| 1 + i % 7).sum();
    let sum: i64 = db.scalar("SELECT sum(quantity)::bigint FROM usage_events");
    assert_eq!(sum, expect_sum);
    let exact: i64 = db.scalar(
        "SELECT count(*) FROM usage_events
         WHERE metadata->>'note' = 'quote \" comma , newline ' || chr(10) || ' row ' || (metadata->>'i')
           AND idempotency_key = 'k' || (metadata->>'i')
           AND org_id = 'org-' || ((metadata->>'i')::int % 10)
           AND created_at = '2025-11-15T10:00:00.123456Z'",
    );
    assert_eq!(exact, 100_000);

    let again = db.run(&["record", "--file", p, "-o", "json"]);
    again.assert_ok();
    let v = again.json();
    assert_eq!(
        (v["inserted"].as_i64(), v["skipped_duplicates"].as_i64()),
        (Some(0), Some(100_000))
    );
    assert_eq!(count(&db), 100_000);
}

#[test]
fn one_bad_row_commits_nothing_and_is_named_by_its_line() {
    let db = TestDb::migrated();
    let dir = tempfile::tempdir().unwrap();
    let path = big_csv(dir.path(), Some(5001));
    let out = db.run(&["record", "--file", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "usagectl: error: 1 bad row in {}; nothing was recorded",
            path.display()
        )
    );
    assert_eq!(
        lines[1],
        "  5001: quantity: -3 is negative: only a correction (--adjust) may be"
    );
    assert_eq!(count(&db), 0);
    // dry run: the same report, no database needed
    let dry = run(usagectl().args(["record", "--file", path.to_str().unwrap(), "--dry-run"]));
    assert_eq!(dry.code, 1);
    assert!(dry.stderr.contains("5001: quantity"));
}

#[test]
fn errors_are_listed_up_to_twenty_and_the_header_is_checked() {
    let db = TestDb::migrated();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "org_id,event_type,quantity").unwrap();
    for i in 0..30 {
        writeln!(f, "acme,chat_mesage,{i}").unwrap();
    }
    drop(f);
    let out = db.run(&["record", "--file", path.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("usagectl: error: 30 bad rows in"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(
        "  2: event_type: unknown event type 'chat_mesage' (did you mean 'chat_message'?)"
    ));
    assert!(
        out.stderr
            .contains("(only the first 20 problems are shown)")
    );
    assert_eq!(out.stderr.lines().count(), 22, "{}", out.stderr);

    std::fs::write(&path, "org,event_type\nacme,chat_message\n").unwrap();
    let out = db.run(&["record", "--file", path.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("1: header: unknown column 'org'"),
        "{}",
        out.stderr
    );
    assert_eq!(count(&db), 0);
}

#[test]
fn json_lines_from_stdin_with_duplicate_keys_in_the_input() {
    let db = TestDb::migrated();
    let input = "{\"org_id\":\"acme\",\"event_type\":\"chat_message\",\"idempotency_key\":\"m1\",\"quantity\":1}\n\
                 {\"org_id\":\"acme\",\"event_type\":\"ai_tokens_input\",\"quantity\":1500,\"metadata\":{\"model\":\"x\"}}\n\
                 {\"org_id\":\"acme\",\"event_type\":\"chat_message\",\"idempotency_key\":\"m1\",\"quantity\":9}\n\
                 {\"org_id\":\"globex\",\"event_type\":\"chat_message\",\"idempotency_key\":\"m1\"}\n\
                 {\"org_id\":\"acme\",\"event_type\":\"ai_tokens_input\",\"quantity\":1500,\"metadata\":{\"model\":\"x\"}}\n";
    let mut child = usagectl()
        .env("DATABASE_URL", &db.url)
        .args([
            "record",
            "--file",
            "-",
            "--input-format",
            "jsonl",
            "-o",
            "json",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["rows_read"].as_i64(),
            v["inserted"].as_i64(),
            v["skipped_duplicates"].as_i64()
        ),
        (Some(5), Some(4), Some(1))
    );
    let q: i32 = db.scalar(
        "SELECT quantity FROM usage_events WHERE org_id = 'acme' AND idempotency_key = 'm1'",
    );
    assert_eq!(q, 1, "the first row with a key wins");
    let keyless: i64 = db.scalar("SELECT count(*) FROM usage_events WHERE idempotency_key IS NULL");
    assert_eq!(keyless, 2, "rows without a key are always inserted");

    // stdin needs its format said
    let out = run(usagectl()
        .env("DATABASE_URL", &db.url)
        .args(["record", "--file", "-"]));
    out.assert_fails(2);
    assert!(out.stderr.contains("--input-format"));
}

#[test]
fn corrections_net_into_summary_limits_and_export() {
    let db = TestDb::migrated();
    for _ in 0..10 {
        db.run(&["record", "--org", "acme", "--event", "chat_message"])
            .assert_ok();
    }
    let adj = db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--quantity",
        "-3",
        "--adjust",
        "--reason",
        "incident 42: duplicated calls",
        "-o",
        "json",
    ]);
    adj.assert_ok();
    let v = adj.json();
    assert_eq!(v["quantity"], -3);
    assert_eq!(v["metadata"]["adjustment"], true);
    assert_eq!(v["metadata"]["reason"], "incident 42: duplicated calls");
    assert_eq!(v["metadata"]["adjusted_by_db_user"], "postgres");
    assert!(v["metadata"]["adjusted_by_os_user"].is_string());

    let s = db.run(&["summary", "--org", "acme", "-o", "json"]).json();
    assert_eq!(s["summary_by_type"]["chat_message"]["total_quantity"], 7);
    assert_eq!(
        s["summary_by_type"]["chat_message"]["count"], 11,
        "a correction is still an event"
    );
    let l = db.run(&["limits", "--org", "acme", "-o", "json"]).json();
    assert_eq!(l["limits"]["chat_messages"]["current"], 7);
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let e = db.run(&["export", "--month", &month, "-o", "json"]).json();
    assert_eq!(e[0]["quantity"], 7);
    assert_eq!(e[0]["events"], 11);

    // misuse
    let out = db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--quantity",
        "-5",
    ]);
    out.assert_fails(2);
    assert!(out.stderr.contains("--adjust"), "{}", out.stderr);
    db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--quantity",
        "-5",
        "--adjust",
    ])
    .assert_fails(2);
    db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--reason",
        "x",
    ])
    .assert_fails(2);
    db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--quantity",
        "0",
        "--adjust",
        "--reason",
        "x",
    ])
    .assert_fails(2);
    db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--quantity",
        "-1",
        "--adjust",
        "--reason",
        " ",
    ])
    .assert_fails(2);
    assert_eq!(count(&db), 11);
}

#[test]
fn enforce_applies_to_each_orgs_rows_as_a_whole() {
    let db = TestDb::migrated();
    let now = chrono::Utc::now().to_rfc3339();
    db.client()
        .execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES ('full', 'chat_message', 45, $1::text::timestamptz)",
            &[&now],
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.csv");
    // trial: 50 chat messages. 'fits' adds 50 (exactly the limit); 'full' adds 3 + 3 = 6 > 5 left
    let mut text = String::from("org_id,event_type,quantity,idempotency_key\n");
    for i in 0..5 {
        text.push_str(&format!("fits,chat_message,10,f{i}\n"));
    }
    text.push_str("full,chat_message,3,a\nfull,chat_message,3,b\nfull,chat_message,3,a\n");
    std::fs::write(&path, text).unwrap();
    let out = db.run(&[
        "record",
        "--file",
        path.to_str().unwrap(),
        "--enforce",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["inserted"], 5);
    assert_eq!(v["refused"][0]["org_id"], "full");
    assert_eq!(v["refused"][0]["rows"], 3);
    assert_eq!(
        v["refused"][0]["message"],
        "Chat message limit exceeded (45/50 this month; 6 more would make 51). Please upgrade your plan."
    );
    let fits: i64 =
        db.scalar("SELECT sum(quantity)::bigint FROM usage_events WHERE org_id = 'fits'");
    assert_eq!(fits, 50);
    let full: i64 =
        db.scalar("SELECT sum(quantity)::bigint FROM usage_events WHERE org_id = 'full'");
    assert_eq!(full, 45);

    // a duplicate-only rerun adds nothing and counts nothing against the limit
    let again = db.run(&[
        "record",
        "--file",
        path.to_str().unwrap(),
        "--enforce",
        "-o",
        "json",
    ]);
    assert_eq!(again.code, 4);
    assert_eq!(again.json()["inserted"], 0);
}

#[test]
fn crlf_and_lone_cr_files_name_the_bad_row_by_its_editor_line() {
    let db = TestDb::migrated();
    let dir = tempfile::tempdir().unwrap();
    for (name, eol) in [("crlf.csv", "\r\n"), ("cr.csv", "\r")] {
        // line 3 holds a metadata value over two lines; line 5 is blank; the bad row is line 6
        let text = [
            "org_id,event_type,quantity,metadata",
            "acme,chat_message,1,",
            "acme,chat_message,2,\"{\"\"a\"\": 1,",
            "\"\"b\"\": 2}\"",
            "",
            "acme,chat_message,-3,",
            "acme,chat_message,4,",
            "",
        ]
        .join(eol);
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let want = format!(
            "usagectl: error: 1 bad row in {p}; nothing was recorded\n  6: quantity: -3 is negative: only a correction (--adjust) may be\n"
        );
        let out = db.run(&["record", "--file", p]);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (1, want.as_str()),
            "{name}"
        );
        let dry = run(usagectl().args(["record", "--file", p, "--dry-run"]));
        assert_eq!(
            (dry.code, dry.stderr.as_str()),
            (1, want.as_str()),
            "{name}"
        );
        assert_eq!(count(&db), 0);
    }
    let path = dir.path().join("crlf.jsonl");
    std::fs::write(
        &path,
        "{\"org_id\":\"a\",\"event_type\":\"chat_message\"}\r\n\r\n{\"org_id\":\"a\",\"event_type\":\"chat_message\",\"quantity\":0}\r\n",
    )
    .unwrap();
    let out = db.run(&["record", "--file", path.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("\n  3: quantity: must not be 0\n"),
        "{}",
        out.stderr
    );
    assert_eq!(count(&db), 0);
}

#[test]
fn dry_run_refuses_what_the_server_would_and_the_real_run_agrees() {
    let db = TestDb::migrated();
    let dir = tempfile::tempdir().unwrap();
    let long = crate::record::incompressible(1001, 7);
    let nul = "contains a NUL character (\\u{0}), which PostgreSQL cannot store";
    let csv = dir.path().join("nul.csv");
    std::fs::write(
        &csv,
        format!(
            "org_id,event_type,idempotency_key,metadata\n\
             ok,chat_message,k1,\n\
             a\0b,chat_message,k2,\n\
             ok,chat_message,k3,\"{{\"\"m\"\": \"\"\\u0000\"\"}}\"\n\
             ok,chat_message,{long},\n\
             {long},chat_message,,\n"
        ),
    )
    .unwrap();
    let jsonl = dir.path().join("nul.jsonl");
    std::fs::write(
        &jsonl,
        "{\"org_id\":\"ok\",\"event_type\":\"chat_message\"}\n\
         {\"org_id\":\"a\\u0000\",\"event_type\":\"chat_message\"}\n\
         {\"org_id\":\"ok\",\"event_type\":\"chat_message\",\"metadata\":{\"a\":{\"b\\u0000\":1}}}\n\
         {\"org_id\":\"ok\",\"event_type\":\"chat_message\",\"idempotency_key\":\"k\\u0000\"}\n",
    )
    .unwrap();
    let too_long = format!(
        "'{}…' (1001 characters) is 1001 bytes long; at most 1000 bytes fit an index entry",
        &long[..100]
    );
    let cases = [
        (
            &csv,
            vec![
                format!("3: org_id: 'a\\u{{0}}b' {nul}"),
                format!("4: metadata: '\\u{{0}}' {nul} (jsonb refuses \\u0000)"),
                format!("5: idempotency_key: {too_long}"),
                format!("6: org_id: {too_long}"),
            ],
        ),
        (
            &jsonl,
            vec![
                format!("2: org_id: 'a\\u{{0}}' {nul}"),
                format!("3: metadata: 'b\\u{{0}}' {nul} (jsonb refuses \\u0000)"),
                format!("4: idempotency_key: 'k\\u{{0}}' {nul}"),
            ],
        ),
    ];
    for (path, problems) in cases {
        let p = path.to_str().unwrap();
        let mut want = format!(
            "usagectl: error: {} bad rows in {p}; nothing was recorded\n",
            problems.len()
        );
        for line in &problems {
            want.push_str(&format!("  {line}\n"));
        }
        let dry = run(usagectl().args(["record", "--file", p, "--dry-run"]));
        assert_eq!((dry.code, dry.stderr.as_str()), (1, want.as_str()));
        let real = db.run(&["record", "--file", p]);
        assert_eq!((real.code, real.stderr.as_str()), (1, want.as_str()));
        assert_eq!(count(&db), 0);
    }

    // at the bound the server stores the rows, through COPY and the unique index
    let org = &long[..1000];
    let key = crate::record::incompressible(1000, 8);
    let fits = dir.path().join("fits.csv");
    std::fs::write(
        &fits,
        format!("org_id,event_type,idempotency_key\n{org},chat_message,{key}\n{org},chat_message,{key}\n"),
    )
    .unwrap();
    let p = fits.to_str().unwrap();
    run(usagectl().args(["record", "--file", p, "--dry-run"])).assert_ok();
    let out = db.run(&["record", "--file", p, "-o", "json"]);
    out.assert_ok();
    assert_eq!(
        (
            out.json()["inserted"].as_i64(),
            out.json()["skipped_duplicates"].as_i64()
        ),
        (Some(1), Some(1))
    );
}

#[test]
fn a_refused_orgs_table_shows_its_control_characters_escaped() {
    let db = TestDb::migrated();
    let org = "full\u{1b}[8m\u{2066}";
    db.client()
        .execute(
            "INSERT INTO usage_events (org_id, event_type, quantity) VALUES ($1, 'chat_message', 50)",
            &[&org],
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.jsonl");
    let row = serde_json::json!({"org_id": org, "event_type": "chat_message"});
    std::fs::write(&path, format!("{row}\n")).unwrap();
    let p = path.to_str().unwrap();
    let out = db.run(&["record", "--file", p, "--enforce"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stdout.contains("│ full\\u{1b}[8m\\u{2066} ┆ 1 "),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains('\u{1b}'), "{}", out.stdout);
    let json = db.run(&["record", "--file", p, "--enforce", "-o", "json"]);
    assert_eq!(json.json()["refused"][0]["org_id"], org);
}

/// JSON Lines keys have their documented JSON types: a quantity written as a string is
/// refused with its line, as CSV refuses `abc`, and nothing is recorded.
#[test]
fn a_json_lines_quantity_given_as_a_string_is_refused_with_its_line() {
    let db = TestDb::migrated();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typed.jsonl");
    std::fs::write(
        &path,
        "{\"org_id\":\"acme\",\"event_type\":\"chat_message\",\"quantity\":2}\n\
         {\"org_id\":\"acme\",\"event_type\":\"chat_message\",\"quantity\":\"2\"}\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    for args in [
        vec!["record", "--file", p],
        vec!["record", "--file", p, "--dry-run"],
    ] {
        let out = db.run(&args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
        assert_eq!(
            out.stderr,
            format!(
                "usagectl: error: 1 bad row in {p}; nothing was recorded\n  2: quantity: '\"2\"' is a string: in JSON Lines it must be a whole number\n"
            ),
            "{args:?}"
        );
    }
    assert_eq!(count(&db), 0);
}

/// Counts are singular for one: "1 row read".
#[test]
fn one_row_is_one_row() {
    let db = TestDb::migrated();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.csv");
    std::fs::write(&path, "org_id,event_type\nacme,chat_message\n").unwrap();
    let p = path.to_str().unwrap();
    let dry = db.run(&["record", "--file", p, "--dry-run"]);
    dry.assert_ok();
    assert_eq!(
        dry.stdout,
        format!("{p}: 1 row read, all valid (dry run: nothing recorded)\n")
    );
    let out = db.run(&["record", "--file", p]);
    out.assert_ok();
    assert_eq!(
        out.stdout,
        format!("{p}: 1 row read, 1 inserted, 0 skipped as duplicates\n")
    );
    std::fs::write(
        &path,
        "org_id,event_type\nacme,chat_message\nacme,chat_message\n",
    )
    .unwrap();
    let two = db.run(&["record", "--file", p]);
    assert!(two.stdout.contains(": 2 rows read,"), "{}", two.stdout);
}

/// Whitespace around a value is refused in every field, with its line, in the dry run and
/// the real run alike: ` initech ` was once stored as an org nobody could find.
#[test]
fn whitespace_around_any_field_is_refused_with_its_line_in_both_runs() {
    let db = TestDb::migrated();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("padded.csv");
    std::fs::write(
        &csv,
        "org_id,event_type,quantity,idempotency_key\n\
         initech,chat_message,2,k1\n \
         initech ,chat_message, 2 ,k2\n\
         initech,chat_message\t,2,k3 \n",
    )
    .unwrap();
    let jsonl = dir.path().join("padded.jsonl");
    std::fs::write(
        &jsonl,
        "{\"org_id\":\"initech\",\"event_type\":\"chat_message\"}\n\
         {\"org_id\":\" initech\",\"event_type\":\"chat_message\"}\n",
    )
    .unwrap();
    let c = csv.to_str().unwrap();
    let j = jsonl.to_str().unwrap();
    let csv_errors = format!(
        "usagectl: error: 2 bad rows in {c}; nothing was recorded\n  \
         3: org_id: ' initech ' has whitespace at its start or end: remove it (values are stored exactly as written)\n  \
         3: quantity: ' 2 ' has whitespace at its start or end: remove it (values are stored exactly as written)\n  \
         4: event_type: 'chat_message\\u{{9}}' has whitespace at its start or end: remove it (values are stored exactly as written)\n  \
         4: idempotency_key: 'k3 ' has whitespace at its start or end: remove it (values are stored exactly as written)\n"
    );
    let jsonl_errors = format!(
        "usagectl: error: 1 bad row in {j}; nothing was recorded\n  \
         2: org_id: ' initech' has whitespace at its start or end: remove it (values are stored exactly as written)\n"
    );
    for (p, want) in [(c, &csv_errors), (j, &jsonl_errors)] {
        for args in [
            vec!["record", "--file", p],
            vec!["record", "--file", p, "--dry-run"],
        ] {
            let out = db.run(&args);
            assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
            assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
            assert_eq!(&out.stderr, want, "{args:?}");
        }
    }
    assert_eq!(count(&db), 0);
}
