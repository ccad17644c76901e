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
        vec!["events", "--org", "acme", "--type", "chats"],
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
    assert_eq!(b["current"], "70");
    assert_eq!(b["limit"], 50);
    assert_eq!(b["over_limit"], 20);
    assert_eq!(b["percent_of_limit"], 140.0);
    assert_eq!(b["previous"], "12");
    assert_eq!(b["change"], "58");
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
    let ranked: Vec<(&str, &str)> = top["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["org_id"].as_str().unwrap(),
                r["current"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ranked, vec![("acme", "9.250085"), ("globex", "0.3086425")]);
    assert_eq!(top["orgs"][0]["previous"], "0");
}
