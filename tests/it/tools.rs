//! Support and cost tools (issue 17): `events`, `top`, `price` and `costs`, against a real
//! PostgreSQL, each compared with what psql computes.
use std::io::BufRead;
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};

use crate::support::*;

fn insert(
    db: &TestDb,
    org: &str,
    event_type: &str,
    quantity: i32,
    meta: serde_json::Value,
    at: DateTime<Utc>,
) {
    db.client()
        .execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&org, &event_type, &quantity, &meta, &at],
        )
        .unwrap();
}

fn ago(secs: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::seconds(secs)
}

#[test]
fn events_finds_a_custom_type_and_says_when_an_unknown_type_matched_nothing() {
    let db = TestDb::migrated();
    insert(
        &db,
        "acme",
        "pdf_page_rendered",
        3,
        serde_json::json!({"n": 1}),
        ago(60),
    );
    let out = db.run(&[
        "events",
        "--org",
        "acme",
        "--type",
        "pdf_page_rendered",
        "-o",
        "json",
    ]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["events"][0]["event_type"], "pdf_page_rendered", "{v}");
    assert_eq!(v["events"][0]["quantity"], 3);
    assert_eq!(out.stderr, "");
    // a typo of a built-in type finds nothing and says why, on stderr, with exit 0
    let out = db.run(&[
        "events",
        "--org",
        "acme",
        "--type",
        "chat_mesage",
        "-o",
        "json",
    ]);
    out.assert_ok();
    assert_eq!(out.json()["events"], serde_json::json!([]));
    assert_eq!(
        out.stderr,
        "usagectl: 'chat_mesage' is not one of the 11 built-in event types (did you mean 'chat_message'?); no event of it matched\n"
    );
    // a type no event could have is misuse
    db.run(&["events", "--org", "acme", "--type", " chat_message"])
        .assert_fails(2);
}

#[test]
fn events_are_newest_first_with_every_filter_and_as_usage_reader() {
    let db = TestDb::migrated();
    for i in 0..60 {
        let t = if i % 2 == 0 {
            "chat_message"
        } else {
            "analysis_run"
        };
        insert(
            &db,
            "acme",
            t,
            1,
            serde_json::json!({"message_id": format!("m-{i}"), "n": i}),
            ago(600 - i * 5),
        );
        insert(
            &db,
            "globex",
            "chat_message",
            1,
            serde_json::json!({"message_id": format!("m-{i}")}),
            ago(600 - i * 5),
        );
    }
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["metadata"]["n"].as_i64().unwrap())
            .collect()
    };
    let v = db.run(&["events", "--org", "acme", "-o", "json"]).json();
    assert_eq!(
        ids(&v),
        (10..60).rev().collect::<Vec<_>>(),
        "the newest 50, newest first"
    );
    let v = db
        .run(&[
            "events",
            "--org",
            "acme",
            "--type",
            "analysis_run",
            "--limit",
            "3",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(ids(&v), vec![59, 57, 55]);
    let v = db
        .run(&[
            "events",
            "--org",
            "acme",
            "--where",
            "message_id=m-17",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(ids(&v), vec![17]);
    assert_eq!(
        v["events"][0]["metadata"],
        serde_json::json!({"message_id": "m-17", "n": 17})
    );
    let v = db
        .run(&[
            "events",
            "--org",
            "acme",
            "--where",
            "message_id=m-17",
            "--where",
            "n=17",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(
        ids(&v),
        Vec::<i64>::new(),
        "n is a number, --where matches strings"
    );
    insert(
        &db,
        "initech",
        "chat_message",
        1,
        serde_json::json!({"n": 1}),
        ago(7200),
    );
    insert(
        &db,
        "initech",
        "chat_message",
        1,
        serde_json::json!({"n": 2}),
        ago(10),
    );
    let v = db
        .run(&["events", "--org", "initech", "--since", "1h", "-o", "json"])
        .json();
    assert_eq!(ids(&v), vec![2]);
    let at = |n: i32| -> String {
        db.scalar(&format!(
            "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
               FROM usage_events WHERE org_id = 'acme' AND (metadata->>'n')::int = {n}"
        ))
    };
    let (from, to) = (at(10), at(13));
    let v = db
        .run(&[
            "events", "--org", "acme", "--from", &from, "--to", &to, "-o", "json",
        ])
        .json();
    assert_eq!(ids(&v), vec![12, 11, 10], "half-open [from, to)");
    // psql agrees on the newest first
    let p = psql(
        &db.url,
        "SELECT string_agg(metadata->>'n', ',' ORDER BY created_at DESC) FROM
           (SELECT * FROM usage_events WHERE org_id = 'acme' ORDER BY created_at DESC LIMIT 5) e",
    );
    let v = db
        .run(&["events", "--org", "acme", "--limit", "5", "-o", "json"])
        .json();
    let mine: Vec<String> = ids(&v).iter().map(i64::to_string).collect();
    assert_eq!(p.trim(), mine.join(","));
    // the table shortens metadata; CSV keeps it whole
    let csv = db.run(&["events", "--org", "acme", "--limit", "1", "-o", "csv"]);
    assert!(
        csv.stdout
            .contains(r#""{""message_id"":""m-59"",""n"":59}""#),
        "{}",
        csv.stdout
    );
    // as usage_reader under the seed's RLS: the same events, never another org's
    db.run(&["migrate", "--roles"]).assert_ok();
    let role = format!("support_{}", db.name);
    db.client()
        .batch_execute(&format!("CREATE ROLE {role} LOGIN IN ROLE usage_reader"))
        .unwrap();
    let out = run(usagectl()
        .env("DATABASE_URL", format!("{} user={role}", db.url))
        .args([
            "events",
            "--org",
            "acme",
            "--where",
            "message_id=m-17",
            "-o",
            "json",
        ]));
    out.assert_ok();
    assert_eq!(ids(&out.json()), vec![17]);
    // bad input: one line, exit 2
    for args in [
        vec!["events", "--org", "acme", "--type", ""],
        vec!["events", "--org", "acme", "--since", "yesterday"],
        vec!["events", "--org", "acme", "--where", "novalue"],
        vec!["events", "--org", "acme", "--to", "2026-01-01T00:00:00Z"],
        vec!["events", "--org", "acme", "--limit", "0"],
    ] {
        db.run(&args).assert_fails(2);
    }
}

#[test]
fn follow_prints_each_event_once_even_when_a_transaction_commits_late() {
    let db = TestDb::migrated();
    insert(
        &db,
        "acme",
        "chat_message",
        1,
        serde_json::json!({"k": "old"}),
        ago(60),
    );
    let mut child = usagectl()
        .env("DATABASE_URL", &db.url)
        .args([
            "events",
            "--org",
            "acme",
            "--follow",
            "--interval",
            "100ms",
            "-o",
            "jsonl",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let next = |rx: &std::sync::mpsc::Receiver<String>| -> serde_json::Value {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a line from --follow");
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next(&rx)["metadata"]["k"], "old");
    // a transaction takes its number first and commits after later ones
    let mut late = db.client();
    let mut late_tx = late.transaction().unwrap();
    late_tx
        .execute(
            "INSERT INTO usage_events (org_id, event_type, metadata) VALUES ('acme', 'chat_message', '{\"k\": \"late\"}')",
            &[],
        )
        .unwrap();
    for k in ["b", "c"] {
        insert(
            &db,
            "acme",
            "chat_message",
            1,
            serde_json::json!({"k": k}),
            Utc::now(),
        );
    }
    insert(
        &db,
        "globex",
        "chat_message",
        1,
        serde_json::json!({"k": "other org"}),
        Utc::now(),
    );
    // while it is open, nothing after it is printed either (its number comes first)
    std::thread::sleep(Duration::from_millis(500));
    late_tx.commit().unwrap();
    insert(
        &db,
        "acme",
        "chat_message",
        1,
        serde_json::json!({"k": "d"}),
        Utc::now(),
    );
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(next(&rx)["metadata"]["k"].as_str().unwrap().to_string());
    }
    assert_eq!(
        got,
        vec!["late", "b", "c", "d"],
        "oldest number first, each once"
    );
    // nothing more comes (no repeats)
    assert!(rx.recv_timeout(Duration::from_millis(700)).is_err());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn top_ranks_as_psql_does() {
    let db = TestDb::migrated();
    let month_start = chrono::Utc::now()
        .date_naive()
        .with_day(1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let last_month = month_start - chrono::Duration::days(3);
    for (org, n) in [("a", 30), ("b", 70), ("c", 70), ("d", 5), ("e", 45)] {
        for _ in 0..n {
            insert(
                &db,
                org,
                "chat_message",
                1,
                serde_json::json!({}),
                month_start + chrono::Duration::hours(1),
            );
        }
    }
    insert(
        &db,
        "b",
        "chat_message",
        12,
        serde_json::json!({}),
        last_month,
    );
    db.run(&["tier", "assign", "e", "pilot"]).assert_ok();
    let v = db
        .run(&["top", "--metric", "chat_messages", "-o", "json"])
        .json();
    let orgs: Vec<&str> = v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["org_id"].as_str().unwrap())
        .collect();
    let p = psql(
        &db.url,
        &format!(
            "SELECT string_agg(org_id, ',' ORDER BY s DESC, org_id) FROM (
               SELECT org_id, sum(quantity) s FROM usage_events WHERE event_type = 'chat_message'
                  AND created_at >= '{}' GROUP BY 1) x",
            month_start.to_rfc3339()
        ),
    );
    assert_eq!(orgs.join(","), p.trim());
    let b = &v["orgs"][0];
    assert_eq!(b["org_id"], "b");
    // numbers, as limit is
    assert_eq!(b["current"], 70);
    assert_eq!(b["limit"], 50);
    assert_eq!(b["over_limit"], 20);
    assert_eq!(b["percent_of_limit"], 140.0);
    assert_eq!(b["previous"], 12);
    assert_eq!(b["change"], 58);
    let v = db
        .run(&[
            "top",
            "--metric",
            "chat_messages",
            "--tier",
            "pilot",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(v["orgs"].as_array().unwrap().len(), 1);
    assert_eq!(v["orgs"][0]["org_id"], "e");
    assert_eq!(v["orgs"][0]["over_limit"], 0);
    let v = db
        .run(&[
            "top",
            "--metric",
            "chat_messages",
            "--limit",
            "2",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(v["orgs"].as_array().unwrap().len(), 2);
    db.run(&["top", "--metric", "chats"]).assert_fails(2);
}

#[test]
fn costs_equal_psql_across_a_mid_month_price_change_with_unpriced_tokens_listed() {
    let db = TestDb::migrated();
    let d = |s: &str| -> DateTime<Utc> { s.parse().unwrap() };
    let m1 = serde_json::json!({"model": "m1"});
    insert(
        &db,
        "acme",
        "ai_tokens_input",
        1_000_000,
        m1.clone(),
        d("2026-11-03T10:00:00Z"),
    );
    insert(
        &db,
        "acme",
        "ai_tokens_output",
        333_333,
        m1.clone(),
        d("2026-11-14T23:59:59.999999Z"),
    );
    insert(
        &db,
        "acme",
        "ai_tokens_input",
        500_001,
        m1.clone(),
        d("2026-11-15T00:00:00Z"),
    );
    insert(
        &db,
        "acme",
        "ai_tokens_output",
        7,
        m1.clone(),
        d("2026-11-20T00:00:00Z"),
    );
    insert(
        &db,
        "globex",
        "ai_tokens_input",
        123_457,
        m1.clone(),
        d("2026-11-21T00:00:00Z"),
    );
    insert(
        &db,
        "globex",
        "ai_tokens_input",
        999,
        serde_json::json!({"model": "m2"}),
        d("2026-11-21T00:00:00Z"),
    );
    insert(
        &db,
        "globex",
        "ai_tokens_output",
        55,
        serde_json::json!({}),
        d("2026-11-22T00:00:00Z"),
    );
    insert(
        &db,
        "globex",
        "ai_tokens_input",
        10,
        m1.clone(),
        d("2026-12-01T00:00:00Z"),
    ); // next month
    db.run(&[
        "price",
        "set",
        "m1",
        "--input-per-mtok",
        "3",
        "--output-per-mtok",
        "15",
    ])
    .assert_ok();
    db.run(&[
        "price",
        "set",
        "m1",
        "--input-per-mtok",
        "2.5",
        "--output-per-mtok",
        "12.5",
    ])
    .assert_fails(2);
    db.run(&[
        "price",
        "set",
        "m1",
        "--input-per-mtok",
        "2.5",
        "--output-per-mtok",
        "12.5",
        "--from",
        "2026-11-15",
    ])
    .assert_ok();
    let out = db.run(&["costs", "--month", "2026-11", "-o", "json"]);
    out.assert_ok();
    let v = out.json();
    // psql, with the same price table, in numeric
    let p = psql(
        &db.url,
        "WITH p AS (SELECT model, valid_from, coalesce(lead(valid_from) OVER (PARTITION BY model ORDER BY valid_from), 'infinity') vt,
                           input_per_mtok i, output_per_mtok o FROM usagectl_model_prices)
         SELECT sum(CASE e.event_type WHEN 'ai_tokens_input' THEN e.quantity * p.i ELSE e.quantity * p.o END) * 0.000001
           FROM usage_events e JOIN p ON p.model = e.metadata->>'model' AND e.created_at >= p.valid_from AND e.created_at < p.vt
          WHERE e.created_at >= '2026-11-01' AND e.created_at < '2026-12-01'",
    );
    let want: rust_decimal::Decimal = p.trim().parse().unwrap();
    let got: rust_decimal::Decimal = v["total_usd"].as_str().unwrap().parse().unwrap();
    assert_eq!(got, want);
    // by hand: acme 1,000,000 x 3 + 333,333 x 15 before the 15th, 500,001 x 2.5 + 7 x 12.5
    // after (9.250085), globex 123,457 x 2.5 (0.3086425), per million
    assert_eq!(got, "9.5587275".parse::<rust_decimal::Decimal>().unwrap());
    let orgs = v["orgs"].as_array().unwrap();
    assert_eq!(orgs[0]["org_id"], "acme");
    assert_eq!(orgs[0]["cost_usd"], "9.250085");
    assert_eq!(orgs[1]["cost_usd"], "0.3086425");
    assert_eq!(orgs[1]["unpriced_tokens"], 1054);
    let unpriced: Vec<&str> = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["unpriced"].as_str())
        .collect();
    assert_eq!(unpriced, vec!["no price for m2", "no model"]);
    assert_eq!(v["unpriced_tokens"], 1054);
    // the table shows cents
    let t = db.run(&["costs", "--month", "2026-11"]);
    assert!(
        t.stdout.contains("$9.56 in total, 1054 tokens unpriced"),
        "{}",
        t.stdout
    );
    // CSV for finance with a manifest
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("costs.csv");
    let f = file.display().to_string();
    db.run(&["costs", "--month", "2026-11", "-o", "csv", "--output", &f])
        .assert_ok();
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("costs.csv.manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["kind"], "costs");
    assert_eq!(m["total_usd"], "9.5587275");
    assert_eq!(
        m["sha256"],
        usagectl::sink::sha256_hex(&std::fs::read(&file).unwrap())
    );
    db.run(&["costs", "--month", "2026-11", "-o", "csv", "--output", &f])
        .assert_fails(1);
    for args in [
        vec![
            "price",
            "set",
            "m3",
            "--input-per-mtok",
            "-1",
            "--output-per-mtok",
            "1",
        ],
        vec![
            "price",
            "set",
            "m3",
            "--input-per-mtok",
            "1.00000000001",
            "--output-per-mtok",
            "1",
        ],
        vec!["costs", "--month", "2026-13"],
    ] {
        db.run(&args).assert_fails(2);
    }
    // price list shows the history; top --by cost ranks as the costs do
    let prices = db.run(&["price", "list", "-o", "json"]).json();
    let p = &prices["prices"];
    assert_eq!(p.as_array().unwrap().len(), 2);
    assert_eq!(p[0]["input_per_mtok"], "3.0000000000");
    assert_eq!(p[0]["valid_to"], "2026-11-15T00:00:00Z");
    assert_eq!(p[1]["valid_from"], "2026-11-15T00:00:00Z");
    let top = db
        .run(&["top", "--by", "cost", "--month", "2026-11", "-o", "json"])
        .json();
    // JSON numbers, written with every digit
    let ranked: Vec<(&str, String)> = top["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["org_id"].as_str().unwrap(), r["current"].to_string()))
        .collect();
    assert_eq!(
        ranked,
        vec![("acme", "9.250085".into()), ("globex", "0.3086425".into())]
    );
    assert_eq!(top["orgs"][0]["previous"], 0);
}

/// `price set MODEL --input-per-mtok I --output-per-mtok O --from FROM`, which must succeed.
fn set_price(db: &TestDb, model: &str, from: &str, input: &str, output: &str) {
    db.run(&[
        "price",
        "set",
        model,
        "--input-per-mtok",
        input,
        "--output-per-mtok",
        output,
        "--from",
        from,
    ])
    .assert_ok();
}

/// psql's costs per org over November 2026 (the query a DBA would write: each token event
/// joined to its model's price in force at its time): (org, USD, unpriced tokens).
fn psql_costs(db: &TestDb) -> Vec<(String, rust_decimal::Decimal, i64)> {
    psql(
        &db.url,
        "WITH p AS (SELECT model, valid_from,
                           coalesce(lead(valid_from) OVER (PARTITION BY model ORDER BY valid_from), 'infinity') vt,
                           input_per_mtok i, output_per_mtok o FROM usagectl_model_prices)
         SELECT e.org_id,
                coalesce(sum(CASE e.event_type WHEN 'ai_tokens_input' THEN e.quantity * p.i
                                               ELSE e.quantity * p.o END) * 0.000001, 0),
                coalesce(sum(e.quantity) FILTER (WHERE p.model IS NULL), 0)
           FROM usage_events e
           LEFT JOIN p ON p.model = e.metadata->>'model' AND e.created_at >= p.valid_from AND e.created_at < p.vt
          WHERE e.event_type IN ('ai_tokens_input', 'ai_tokens_output')
            AND e.created_at >= '2026-11-01T00:00:00Z' AND e.created_at < '2026-12-01T00:00:00Z'
          GROUP BY 1 ORDER BY 1",
    )
    .lines()
    .map(|l| {
        let f: Vec<&str> = l.split('|').collect();
        (f[0].to_string(), f[1].parse().unwrap(), f[2].parse().unwrap())
    })
    .collect()
}

fn usagectl_costs(db: &TestDb) -> Vec<(String, rust_decimal::Decimal, i64)> {
    let out = db.run(&["costs", "--month", "2026-11", "-o", "json"]);
    out.assert_ok();
    out.json()["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["org_id"].as_str().unwrap().to_string(),
                o["cost_usd"].as_str().unwrap().parse().unwrap(),
                o["unpriced_tokens"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Token events of November 2026 for three orgs and five kinds of model (two priced, one
/// unpriced, none, a 250-character name), spread over the month and packed one microsecond
/// either side of a price change in the middle of a UTC day and of the month's bounds.
fn insert_token_month(db: &TestDb, tag: &str) {
    db.client()
        .batch_execute(&format!(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
             SELECT 'org-' || (g % 3),
                    CASE WHEN g % 2 = 0 THEN 'ai_tokens_input' ELSE 'ai_tokens_output' END,
                    1 + (g * 7919) % 100000,
                    CASE g % 5 WHEN 0 THEN jsonb_build_object('model', 'm1', 'tag', '{tag}')
                               WHEN 1 THEN jsonb_build_object('model', 'm2')
                               WHEN 2 THEN jsonb_build_object('model', 'm9')
                               WHEN 3 THEN jsonb_build_object('model', repeat('x', 250))
                               ELSE jsonb_build_object('chat', g) END,
                    CASE g % 4 WHEN 0 THEN '2026-11-10T12:00:00Z'::timestamptz - interval '1 microsecond'
                               WHEN 1 THEN '2026-11-10T12:00:00Z'::timestamptz
                               ELSE '2026-10-31T23:00:00Z'::timestamptz + (g % 31) * interval '1 day'
                                        + (g % 97) * interval '1 minute' END
               FROM generate_series(1, 600) g;
             INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at) VALUES
               ('org-0', 'ai_tokens_input', 1000, '{{\"model\": \"m1\"}}', '2026-10-31T23:59:59.999999Z'),
               ('org-0', 'ai_tokens_input', 1001, '{{\"model\": \"m1\"}}', '2026-11-01T00:00:00Z'),
               ('org-1', 'ai_tokens_output', 1002, '{{\"model\": \"m2\"}}', '2026-11-30T23:59:59.999999Z'),
               ('org-1', 'ai_tokens_output', 1003, '{{\"model\": \"m2\"}}', '2026-12-01T00:00:00Z'),
               ('org-2', 'chat_message', 1004, '{{\"model\": \"m1\"}}', '2026-11-12T00:00:00Z')"
        ))
        .unwrap();
}

/// `costs` reads THE read path per model (migration 20: the rollup counts tokens per model),
/// so on every read path, with a price change in the middle of a UTC day, and after
/// corrections of folded rows that move tokens between models, days, orgs and prices, it
/// equals psql's computation over the raw rows; the rollup stays exact (`doctor`).
#[test]
fn costs_equal_psql_on_every_read_path_through_corrections_and_a_mid_day_price_change() {
    let db = TestDb::migrated();
    set_price(&db, "m1", "2026-10-01", "3", "15");
    set_price(&db, "m1", "2026-11-10T12:00:00Z", "2.5", "12.5");
    set_price(&db, "m2", "2026-11-01", "0.8", "4.0000001");
    insert_token_month(&db, "first");
    let corrections = [
        // another model, for folded rows of both prices
        "UPDATE usage_events SET metadata = jsonb_build_object('model', 'm2')
          WHERE metadata->>'model' = 'm1' AND quantity % 7 = 0",
        // across the price change, and into the month from outside it
        "UPDATE usage_events SET created_at = created_at + interval '2 microseconds'
          WHERE created_at = '2026-11-10T12:00:00Z'::timestamptz - interval '1 microsecond' AND quantity % 3 = 0",
        "UPDATE usage_events SET created_at = '2026-11-01T00:00:00Z' WHERE quantity = 1000",
        // another org and quantity, a model taken away, rows deleted
        "UPDATE usage_events SET org_id = 'org-9', quantity = quantity + 1 WHERE quantity % 11 = 0",
        "UPDATE usage_events SET metadata = metadata - 'model' WHERE metadata->>'model' = 'm2' AND quantity % 13 = 0",
        "DELETE FROM usage_events WHERE quantity % 17 = 0",
    ];
    let mut applied = 0;
    for path in READ_PATHS {
        db.read_path(path);
        assert_eq!(usagectl_costs(&db), psql_costs(&db), "{path:?}");
        // corrections of folded rows (read_path folded them), then rows the fold has not seen
        for sql in corrections.iter().skip(applied).take(2) {
            db.client().batch_execute(sql).unwrap();
            applied += 1;
        }
        insert_token_month(&db, &format!("{path:?}"));
        let got = usagectl_costs(&db);
        assert_eq!(got, psql_costs(&db), "{path:?}");
        assert!(got.iter().any(|(_, usd, _)| !usd.is_zero()), "{got:?}");
    }
    assert_eq!(applied, corrections.len());
    // back to the rollup (the raw path's pending 1900-01-01 day gone), every row folded
    db.read_path(ReadPath::Unfolded);
    // every priced model and the unpriced ones are rows of their own in the rollup
    let models: i64 = db.scalar(
        "SELECT count(DISTINCT model) FROM usagectl_rollup WHERE event_type LIKE 'ai_tokens%'",
    );
    assert_eq!(models, 5);
    let chat_models: i64 = db.scalar(
        "SELECT count(*) FROM usagectl_rollup WHERE event_type = 'chat_message' AND model <> ''",
    );
    assert_eq!(chat_models, 0);
    db.run(&["doctor", "--month", "2026-11"]).assert_ok();
    assert_eq!(usagectl_costs(&db), psql_costs(&db));

    // a model's rollup row that drifts is named with its model, and --repair rewrites that
    // row from the raw rows of that model only
    // (a day without a price change: costs read a day with one from the raw rows)
    let want = psql_costs(&db);
    let day: String = db.scalar(
        "UPDATE usagectl_rollup SET quantity = quantity + 5
          WHERE (org_id, day, event_type, model) =
                (SELECT org_id, day, event_type, model FROM usagectl_rollup
                  WHERE model = 'm2' AND day BETWEEN '2026-11-11' AND '2026-11-30'
                  ORDER BY day, org_id, event_type LIMIT 1)
          RETURNING day::text",
    );
    assert_ne!(
        usagectl_costs(&db),
        want,
        "costs read the drifted rollup row"
    );
    let out = db.run(&["doctor", "--month", "2026-11", "-o", "json"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    let drift = out.json()["drift"].clone();
    assert_eq!(drift.as_array().unwrap().len(), 1, "{drift}");
    assert_eq!(drift[0]["model"], "m2");
    assert_eq!(drift[0]["day"], day);
    assert_eq!(
        drift[0]["rollup_quantity"].as_i64().unwrap(),
        drift[0]["raw_quantity"].as_i64().unwrap() + 5
    );
    let table = db.run(&["doctor", "--month", "2026-11"]);
    assert!(table.stdout.contains("(model m2)"), "{}", table.stdout);
    let fix = db.run(&["doctor", "--repair", "--month", "2026-11"]);
    assert_eq!(fix.code, 3, "it found something: {}", fix.stdout);
    assert!(fix.stdout.contains("repaired"), "{}", fix.stdout);
    db.run(&["doctor", "--month", "2026-11"]).assert_ok();
    assert_eq!(usagectl_costs(&db), want);
}

/// A database at schema 19 whose rollup already counts token events (without a model)
/// moves to the per-model rollup with `migrate`: every figure stays exact and costs equal
/// psql's, for folded rows, rows from before the numbering and rows not yet folded.
#[test]
fn migrating_a_folded_rollup_to_the_per_model_rollup_stays_exact() {
    let db = TestDb::new();
    db.create_seed_table();
    // rows from before usagectl (no sequence number: the backfill counts them)
    insert_token_month(&db, "seed");
    // (this build backfills only at the latest schema: the seed rows wait for it)
    db.run(&["migrate", "--target-version", "19"]).assert_ok();
    insert_token_month(&db, "folded");
    db.fold();
    insert_token_month(&db, "unfolded");
    let before: i64 =
        db.scalar("SELECT count(*) FROM usagectl_daily_usage WHERE event_type LIKE 'ai_tokens%'");
    assert!(before > 0);
    set_price(&db, "m1", "2026-10-01", "3", "15");
    db.run(&["migrate"]).assert_ok();
    assert_eq!(usagectl_costs(&db), psql_costs(&db));
    db.run(&["doctor", "--month", "2026-11"]).assert_ok();
    db.fold();
    db.run(&["doctor", "--month", "2026-11"]).assert_ok();
    db.run(&["doctor", "--month", "2026-10"]).assert_ok();
    assert_eq!(usagectl_costs(&db), psql_costs(&db));
    let models: i64 = db.scalar(
        "SELECT count(DISTINCT model) FROM usagectl_rollup WHERE event_type LIKE 'ai_tokens%'",
    );
    assert_eq!(models, 5);
}

/// `top --by cost`: JSON numbers with every digit, money to the cent in the table, no empty
/// limit columns, and unpriced tokens said as such instead of a silent $0.
#[test]
fn top_by_cost_shows_money_and_says_when_tokens_are_unpriced() {
    let db = TestDb::migrated();
    let d = |s: &str| -> DateTime<Utc> { s.parse().unwrap() };
    let m1 = serde_json::json!({"model": "m1"});
    insert(
        &db,
        "acme",
        "ai_tokens_input",
        1_234_567,
        m1.clone(),
        d("2026-11-03T10:00:00Z"),
    );
    insert(
        &db,
        "acme",
        "ai_tokens_input",
        1_000_000,
        m1.clone(),
        d("2026-10-03T10:00:00Z"),
    );
    insert(
        &db,
        "globex",
        "ai_tokens_output",
        1000,
        m1.clone(),
        d("2026-11-04T10:00:00Z"),
    );
    let args = ["top", "--by", "cost", "--month", "2026-11"];

    // no prices: nobody costs anything, and the table says why
    let t = db.run(&args);
    t.assert_ok();
    assert!(t.stdout.contains("unpriced tokens"), "{}", t.stdout);
    assert!(
        t.stdout
            .contains("1235567 tokens no price covers are not in the costs"),
        "{}",
        t.stdout
    );
    assert!(t.stdout.contains("$0.00"), "{}", t.stdout);

    db.run(&[
        "price",
        "set",
        "m1",
        "--input-per-mtok",
        "3",
        "--output-per-mtok",
        "15",
    ])
    .assert_ok();
    let v = db.run(&[&args[..], &["-o", "json"]].concat()).json();
    let acme = &v["orgs"][0];
    assert_eq!(acme["org_id"], "acme");
    // 1,234,567 x 3 / 1e6 = 3.703701, a number with every digit
    assert!(acme["current"].is_number(), "{v}");
    assert_eq!(acme["current"].to_string(), "3.703701");
    assert_eq!(acme["previous"].to_string(), "3");
    assert_eq!(acme["change"].to_string(), "0.703701");
    assert_eq!(acme["unpriced_tokens"], 0);
    let t = db.run(&args);
    t.assert_ok();
    let header = t.stdout.lines().nth(2).unwrap_or_default();
    assert!(
        !header.contains("limit"),
        "no limit columns for cost: {}",
        t.stdout
    );
    let acme_line = t.stdout.lines().find(|l| l.contains("acme")).unwrap();
    for cell in ["$3.70", "$3.00", "$0.70"] {
        assert!(acme_line.contains(cell), "{cell} in {}", t.stdout);
    }
    assert!(!t.stdout.contains("3.703701"), "{}", t.stdout);
    assert!(!t.stdout.contains("not in the costs"), "{}", t.stdout);
}

/// A price set by mistake is removed, not overwritten: costs fall back to the price in
/// force before it, and the removal is kept with who, when and why.
#[test]
fn price_remove_takes_a_mistaken_price_out_of_costs_and_keeps_it_on_record() {
    let db = TestDb::migrated();
    let d = |s: &str| -> DateTime<Utc> { s.parse().unwrap() };
    let m1 = serde_json::json!({"model": "m1"});
    insert(
        &db,
        "acme",
        "ai_tokens_input",
        1_000_000,
        m1.clone(),
        d("2026-11-03T10:00:00Z"),
    );
    insert(
        &db,
        "acme",
        "ai_tokens_input",
        2_000_000,
        m1,
        d("2026-11-20T10:00:00Z"),
    );
    let set = |input: &str, from: Option<&str>| {
        let mut args = vec![
            "price",
            "set",
            "m1",
            "--input-per-mtok",
            input,
            "--output-per-mtok",
            "15",
        ];
        args.extend(from.map(|f| ["--from", f]).into_iter().flatten());
        db.run(&args).assert_ok();
    };
    set("3", None);
    set("300", Some("2026-11-15")); // a typo: 300 for 3.00
    let cost = || {
        db.run(&["costs", "--month", "2026-11", "-o", "json"])
            .json()["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["cost_usd"].as_str().unwrap().parse::<f64>().unwrap())
            .sum::<f64>()
    };
    assert_eq!(cost(), 603.0);
    // with two prices, which one must be said; a reason is required; nothing changes
    db.run(&["price", "remove", "m1", "--reason", "typo"])
        .assert_fails(2);
    db.run(&[
        "price",
        "remove",
        "m1",
        "--from",
        "2026-11-15",
        "--reason",
        "",
    ])
    .assert_fails(2);
    db.run(&["price", "remove", "m9", "--reason", "typo"])
        .assert_fails(2);
    db.run(&[
        "price",
        "remove",
        "m1",
        "--from",
        "2026-11-16",
        "--reason",
        "typo",
    ])
    .assert_fails(2);
    assert_eq!(cost(), 603.0);
    let out = db.run(&[
        "price",
        "remove",
        "m1",
        "--from",
        "2026-11-15",
        "--reason",
        "typo: 300 for 3",
    ]);
    out.assert_ok();
    assert!(out.stdout.starts_with("m1: the price from 2026-11-15T00:00:00Z ($300 / $15 per million input / output tokens) is removed;"), "{}", out.stdout);
    assert_eq!(cost(), 9.0, "every token at the first price again");
    // the table lists the removed price too, also once no price is left
    let remove_all = db.run(&["price", "remove", "m1", "--reason", "no price for m1"]);
    assert!(
        remove_all
            .stdout
            .starts_with("m1: its price for all time ($3 / $15"),
        "{}",
        remove_all.stdout
    );
    let table = db.run(&["price", "list", "--removed"]);
    table.assert_ok();
    assert!(
        table.stdout.starts_with("no prices")
            && table.stdout.contains("removed:")
            && table.stdout.contains("typo: 300 for 3")
            && table.stdout.contains("no price for m1"),
        "{}",
        table.stdout
    );
    set("3", None);
    let v = db.run(&["price", "list", "-o", "json"]).json();
    assert_eq!(v["prices"].as_array().unwrap().len(), 1);
    assert!(v.get("removed").is_none(), "{v}");
    let v = db.run(&["price", "list", "--removed", "-o", "json"]).json();
    let removed = v["removed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason"] == "typo: 300 for 3")
        .expect("the removed typo");
    assert_eq!(removed["model"], "m1");
    assert_eq!(removed["valid_from"], "2026-11-15T00:00:00Z");
    assert_eq!(removed["input_per_mtok"], "300.0000000000");
    assert_eq!(removed["reason"], "typo: 300 for 3");
    assert_eq!(
        removed["removed_by_os"].as_str(),
        usagectl::db::conninfo::os_user_name().as_deref()
    );
    // a negative price is refused in words, not with clap's `-- -1` advice
    let out = db.run(&[
        "price",
        "set",
        "m2",
        "--input-per-mtok",
        "-1",
        "--output-per-mtok",
        "2",
    ]);
    out.assert_fails(2);
    assert!(
        out.stderr
            .contains("'-1' is negative: a price is 0 USD or more")
            && !out.stderr.contains("-- -1"),
        "{}",
        out.stderr
    );
}
