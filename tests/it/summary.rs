use chrono::{DateTime, Duration, Utc};

use crate::support::*;

fn t(v: &serde_json::Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Over 1,000 events across 40 days, plus events two minutes inside and outside the
/// 30-day edge, then compare every figure with psql's aggregate of the same window.
#[test]
fn json_equals_psql_over_the_same_window() {
    let db = TestDb::migrated();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT 'big', (ARRAY['chat_message','ai_tokens_input','ai_tokens_output','csv_upload'])[1 + g % 4],
                    1 + (g * 7919) % 500, now() - (g * interval '40 days') / 1600
             FROM generate_series(1, 1600) g;
             INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES
               ('big', 'export_pdf', 5, now() - interval '30 days' + interval '2 minutes'),
               ('big', 'export_csv', 7, now() - interval '30 days' - interval '2 minutes'),
               ('other', 'chat_message', 1, now());",
        )
        .unwrap();
    let out = db.run(&["summary", "--org", "big", "-o", "json"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["org_id"], "big");
    assert_eq!(v["period_days"], 30);
    let start = t(&v["period_start"]);
    assert_eq!(t(&v["generated_at"]) - start, Duration::days(30));

    let rows = psql(
        &db.url,
        &format!(
            "SELECT event_type, count(*), sum(quantity),
                    to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                    to_char(max(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
             FROM usage_events WHERE org_id = 'big' AND created_at >= '{}'
             GROUP BY event_type ORDER BY event_type",
            v["period_start"].as_str().unwrap()
        ),
    );
    let by_type = v["summary_by_type"].as_object().unwrap();
    let mut total = 0;
    let mut seen = 0;
    for line in rows.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let s = &by_type[f[0]];
        assert_eq!(
            s["count"].as_i64().unwrap(),
            f[1].parse::<i64>().unwrap(),
            "{}",
            f[0]
        );
        assert_eq!(
            s["total_quantity"].as_i64().unwrap(),
            f[2].parse::<i64>().unwrap(),
            "{}",
            f[0]
        );
        assert_eq!(
            t(&s["first_event"]),
            f[3].parse::<DateTime<Utc>>().unwrap(),
            "{}",
            f[0]
        );
        assert_eq!(
            t(&s["last_event"]),
            f[4].parse::<DateTime<Utc>>().unwrap(),
            "{}",
            f[0]
        );
        total += f[1].parse::<i64>().unwrap();
        seen += 1;
    }
    assert_eq!(seen, by_type.len());
    assert_eq!(v["total_events"].as_i64().unwrap(), total);
    assert!(total > 1000, "{total}");
    // the edge: two minutes inside counts, two minutes outside does not
    assert_eq!(by_type["export_pdf"]["count"], 1);
    assert_eq!(by_type["export_pdf"]["total_quantity"], 5);
    assert!(by_type.get("export_csv").is_none());
}

#[test]
fn days_window_csv_and_table_views() {
    let db = TestDb::migrated();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES
               ('acme', 'chat_message', 1, now() - interval '1 hour'),
               ('acme', 'chat_message', 1, now() - interval '3 days'),
               ('acme', 'csv_row_processed', 400, now() - interval '6 days 23 hours'),
               ('acme', 'csv_row_processed', 999, now() - interval '8 days');",
        )
        .unwrap();
    let v = db
        .run(&["summary", "--org", "acme", "--days", "7", "-o", "json"])
        .json();
    assert_eq!(v["total_events"], 3);
    assert_eq!(
        v["summary_by_type"]["csv_row_processed"]["total_quantity"],
        400
    );
    let v1 = db
        .run(&["summary", "--org", "acme", "--days", "1", "-o", "json"])
        .json();
    assert_eq!(v1["total_events"], 1);

    let csv = db.run(&["summary", "--org", "acme", "--days", "7", "-o", "csv"]);
    csv.assert_ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "org_id,event_type,count,total_quantity,first_event,last_event"
    );
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with("acme,chat_message,2,2,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("acme,csv_row_processed,1,400,"),
        "{}",
        lines[2]
    );

    let table = db.run(&["summary", "--org", "acme", "--days", "7"]);
    table.assert_ok();
    assert!(
        table
            .stdout
            .starts_with("Usage for org acme over the last 7 days ("),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("csv_row_processed"));
    assert!(table.stdout.contains("events per day"));
    assert!(table.stdout.contains("3 events in all"));
    assert!(
        !table.stdout.contains('\x1b'),
        "NO_COLOR and a pipe mean no colour"
    );
    // --color always wins over NO_COLOR and the pipe, for tables only
    let coloured = db.run(&[
        "--color", "always", "summary", "--org", "acme", "--days", "7",
    ]);
    coloured.assert_ok();
    assert!(coloured.stdout.contains('\x1b'), "{}", coloured.stdout);
    let json = db.run(&[
        "--color", "always", "summary", "--org", "acme", "-o", "json",
    ]);
    json.assert_ok();
    assert!(!json.stdout.contains('\x1b'), "{}", json.stdout);

    let none = db.run(&["summary", "--org", "nobody"]);
    none.assert_ok();
    assert!(none.stdout.contains("no events in this window"));
    let none = db.run(&["summary", "--org", "nobody", "-o", "json"]).json();
    assert_eq!(none["total_events"], 0);
    assert_eq!(none["summary_by_type"], serde_json::json!({}));
}

#[test]
fn days_out_of_range_is_misuse() {
    let db = TestDb::migrated();
    for d in ["0", "366", "-1", "thirty"] {
        let out = db.run(&["summary", "--org", "a", "--days", d]);
        out.assert_fails(2);
        assert!(out.stderr.contains("--days"), "{}", out.stderr);
    }
}

/// The seed's RLS policy with a SELECT-only role: the command scopes its transaction to
/// the org, so the support role sees exactly that org's figures.
#[test]
fn a_read_only_role_under_the_seed_rls_policy_gets_the_right_answer() {
    let db = TestDb::new();
    db.create_seed_table();
    db.run(&["migrate"]).assert_ok();
    let role = format!("support_{}", db.name);
    db.client()
        .batch_execute(&format!(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at)
             SELECT CASE WHEN g % 3 = 0 THEN 'acme' ELSE 'globex' END, 'chat_message', g, now() - g * interval '1 minute'
             FROM generate_series(1, 300) g;
             CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS;
             GRANT SELECT ON usage_events TO {role};"
        ))
        .unwrap();
    let owner = db.run(&["summary", "--org", "acme", "-o", "json"]).json();
    let ro_url = format!("{} user={role}", db.url);
    let ro = run(usagectl()
        .env("DATABASE_URL", &ro_url)
        .args(["summary", "--org", "acme", "-o", "json"]));
    ro.assert_ok();
    let ro = ro.json();
    assert_eq!(ro["summary_by_type"], owner["summary_by_type"]);
    assert_eq!(ro["total_events"], 100);

    // the policy is really in force for that role: unscoped, it sees nothing
    let mut c = postgres::Client::connect(&ro_url, postgres::NoTls).unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM usage_events", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0);

    // and it cannot write
    let w = run(usagectl().env("DATABASE_URL", &ro_url).args([
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
    ]));
    w.assert_fails(1);
    assert!(w.stderr.contains("permission denied"), "{}", w.stderr);
    assert!(w.stderr.contains("lacks a privilege"), "{}", w.stderr);
    db.client()
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .unwrap();
}
