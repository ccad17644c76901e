use chrono::{DateTime, Duration, Utc};

use crate::support::*;

fn t(v: &serde_json::Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Over 1,000 events across 40 days, plus events two minutes inside and outside the
/// 30-day edge, then compare every figure with psql's aggregate of the same window, on
/// both read paths.
#[test]
fn json_equals_psql_over_the_same_window() {
    for path in READ_PATHS {
        json_equals_psql_over_the_same_window_on(path);
    }
}

fn json_equals_psql_over_the_same_window_on(path: ReadPath) {
    let db = TestDb::migrated();
    db.read_path(path);
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
    for path in READ_PATHS {
        days_window_csv_and_table_views_on(path);
    }
}

fn days_window_csv_and_table_views_on(path: ReadPath) {
    let db = TestDb::migrated();
    db.read_path(path);
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
    assert!(table.stdout.contains("events per UTC day"));
    assert!(table.stdout.contains("\nbars: one per UTC day, "));
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
/// the org, so the support role sees exactly that org's figures: from the raw rows when it
/// may not read the rollup, and on both read paths when it may.
#[test]
fn a_read_only_role_under_the_seed_rls_policy_gets_the_right_answer() {
    for path in READ_PATHS {
        a_read_only_role_under_the_seed_rls_policy_gets_the_right_answer_on(path);
    }
}

fn a_read_only_role_under_the_seed_rls_policy_gets_the_right_answer_on(path: ReadPath) {
    let db = TestDb::new();
    db.create_seed_table();
    db.run(&["migrate"]).assert_ok();
    db.read_path(path);
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
    // allowed to read the rollup, as `migrate --roles` allows usage_reader
    db.client()
        .batch_execute(&format!(
            "GRANT SELECT ON usagectl_rollup, usagectl_rollup_backfill, usagectl_boundaries TO {role}"
        ))
        .unwrap();
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

/// The window of `summary` as its table's title states it: (start, now).
fn window_of(table: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    let inner = table
        .lines()
        .next()
        .and_then(|l| l.split_once(" ("))
        .and_then(|(_, r)| r.strip_suffix(", UTC)"))
        .unwrap_or_else(|| panic!("no window in the title: {table}"));
    let (start, now) = inner.split_once(" to ").unwrap();
    (start.parse().unwrap(), now.parse().unwrap())
}

/// The sparkline counts only events inside the window, one bar per UTC calendar day it
/// touches, on both read paths: events a minute before the window's start on the same
/// UTC day do not count (the rollup counted its whole first day), and an event early on
/// the next day is that day's (the raw rows were cut in 24-hour slices from the start).
#[test]
fn the_sparkline_counts_only_the_window_by_utc_calendar_day() {
    for path in READ_PATHS {
        the_sparkline_counts_only_the_window_by_utc_calendar_day_on(path);
    }
}

fn the_sparkline_counts_only_the_window_by_utc_calendar_day_on(path: ReadPath) {
    let db = TestDb::migrated();
    db.read_path(path);
    // s = the window's start as it stands now; the summary's start is a little later
    db.client()
        .batch_execute(
            "CREATE TEMP TABLE w AS SELECT now() - interval '2 days' AS s,
                    date_trunc('day', (now() - interval '2 days') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS d;
             INSERT INTO usage_events (org_id, event_type, created_at)
             SELECT 'acme', 'chat_message', t FROM w, LATERAL (VALUES
                 (greatest(s - interval '1 minute', d)),
                 (greatest(s - interval '1 minute', d)),
                 (greatest(s - interval '1 minute', d)),
                 (least(s + interval '1 minute', d + interval '1 day' - interval '1 millisecond')),
                 (least(s + interval '1 minute', d + interval '1 day' - interval '1 millisecond')),
                 (d + interval '1 day 1 second'),
                 (now() - interval '1 second'), (now() - interval '1 second'),
                 (now() - interval '1 second'), (now() - interval '1 second')) v(t);",
        )
        .unwrap();
    let table = db.run(&["summary", "--org", "acme", "--days", "2"]);
    table.assert_ok();
    let (start, now) = window_of(&table.stdout);
    let (first, last) = (start.date_naive(), now.date_naive());
    // what psql counts per UTC day inside that window
    let per_day: Vec<i64> = psql(
        &db.url,
        &format!(
            "SELECT count(e.created_at) FROM generate_series('{first}'::date, '{last}'::date, interval '1 day') g(day)
             LEFT JOIN usage_events e ON e.org_id = 'acme' AND e.created_at >= '{start}'
                  AND (e.created_at AT TIME ZONE 'UTC')::date = g.day::date
             GROUP BY g.day ORDER BY g.day"
        ),
    )
    .lines()
    .map(|l| l.parse().unwrap())
    .collect();
    let before: i64 = db.scalar(&format!(
        "SELECT count(*) FROM usage_events WHERE created_at < '{start}'
         AND (created_at AT TIME ZONE 'UTC')::date = '{first}'"
    ));
    eprintln!("window {start} to {now}: {per_day:?}, {before} before the start on its day");
    if now.time() > chrono::NaiveTime::from_hms_opt(0, 0, 5).unwrap()
        && start.time() < chrono::NaiveTime::from_hms_opt(23, 58, 0).unwrap()
    {
        // the usual case, away from midnight: the days the data was made for
        assert_eq!(per_day, [2, 1, 4]);
        assert_eq!(before, 3);
    }
    assert_eq!(per_day.iter().sum::<i64>(), 7);
    let bars = usagectl::output::sparkline(&per_day);
    let row = table
        .stdout
        .lines()
        .find(|l| l.contains("chat_message"))
        .unwrap_or_else(|| panic!("{}", table.stdout));
    let cells: Vec<&str> = row
        .split('┆')
        .map(|c| c.trim_matches(|c: char| c == '│' || c == ' '))
        .collect();
    assert_eq!(cells[1], "7", "{row}");
    assert_eq!(cells[5], bars.trim_matches(' '), "{}", table.stdout);
    assert!(
        table.stdout.contains(&format!(
            "\nbars: one per UTC day, {first} (from the window's start) to {last}\n"
        )),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("7 events in all"), "{}", table.stdout);
    let v = db
        .run(&["summary", "--org", "acme", "--days", "2", "-o", "json"])
        .json();
    assert_eq!(v["total_events"], 7);
}

#[test]
fn summary_of_an_unknown_org_says_so_and_suggests_a_known_one() {
    let db = TestDb::migrated();
    db.run(&["record", "--org", "globex-trial", "--event", "chat_message"])
        .assert_ok();
    let out = db.run(&["summary", "--org", "globx-trial", "-o", "json"]);
    out.assert_ok();
    assert_eq!(out.json()["known_org"], false);
    assert!(
        out.stderr
            .contains("org \"globx-trial\" has never been seen (no events, settings, tier, override, grant, alert rule or Stripe mapping)")
            && out.stderr.contains("\"globex-trial\""),
        "{}",
        out.stderr
    );
    let out = db.run(&["summary", "--org", "globex-trial", "-o", "json"]);
    out.assert_ok();
    assert_eq!(out.json()["known_org"], true);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

/// Tables fit the width they are given (COLUMNS, or 100 in a pipe) without splitting a
/// timestamp, a name or a bar; JSON and CSV are not touched.
#[test]
fn tables_fit_80_and_piped_columns_without_splitting_a_token() {
    let db = TestDb::migrated();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
             SELECT 'acme-foods', (ARRAY['ai_tokens_input','ai_tokens_output','chat_message'])[1 + g % 3],
                    1 + g, jsonb_build_object('model', 'claude-3-5-sonnet-20241022', 'request', g),
                    now() - g * interval '9 hours'
             FROM generate_series(1, 60) g",
        )
        .unwrap();
    // the tables' lines (the title above a table is a sentence, not fitted)
    let widest = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with(['┌', '│', '╞', '└']) || !l.contains(' '))
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    };
    for (columns, max) in [(Some("80"), 80), (None, 100)] {
        for args in [
            &["events", "--org", "acme-foods", "--limit", "5"][..],
            &["summary", "--org", "acme-foods"][..],
        ] {
            let mut cmd = usagectl();
            cmd.env("DATABASE_URL", &db.url).args(args);
            match columns {
                Some(c) => cmd.env("COLUMNS", c),
                None => cmd.env_remove("COLUMNS"),
            };
            let out = run(&mut cmd);
            out.assert_ok();
            assert!(
                widest(&out.stdout) <= max,
                "{args:?} wider than {max}:\n{}",
                out.stdout
            );
            for token in ["ai_tokens_input", "ai_tokens_output"] {
                assert!(
                    out.stdout.contains(token),
                    "{args:?}: {token} split:\n{}",
                    out.stdout
                );
            }
            // every instant shown is whole
            let instants = out
                .stdout
                .lines()
                .filter(|l| l.starts_with('│'))
                .flat_map(|l| l.split(|c: char| c.is_whitespace() || c == '│' || c == '┆'))
                .filter(|w| w.starts_with("20") && w.contains('T'))
                .collect::<Vec<_>>();
            if args[0] == "events" {
                assert!(!instants.is_empty(), "{}", out.stdout);
            }
            for i in instants {
                assert!(
                    i.parse::<DateTime<Utc>>().is_ok(),
                    "split instant {i:?}:\n{}",
                    out.stdout
                );
            }
            if args[0] == "summary" {
                // the sparkline column stays: one bar a line per type
                assert!(out.stdout.contains('█'), "{}", out.stdout);
            }
        }
    }
    // JSON and CSV are not fitted
    let mut cmd = usagectl();
    cmd.env("DATABASE_URL", &db.url).env("COLUMNS", "40");
    let csv = run(cmd.args(["events", "--org", "acme-foods", "--limit", "5", "-o", "csv"]));
    csv.assert_ok();
    assert!(widest(&csv.stdout) > 40, "{}", csv.stdout);
}
