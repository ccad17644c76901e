use std::collections::BTreeMap;

use crate::support::*;

fn insert(db: &TestDb, org: &str, event_type: &str, quantity: i32, at: &str) {
    db.client()
        .execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES ($1, $2, $3, $4::text::timestamptz)",
            &[&org, &event_type, &quantity, &at],
        )
        .unwrap();
}

#[test]
fn tier_commands_manage_tiers_assignments_and_overrides() {
    let db = TestDb::migrated();
    let list = db.run(&["tier", "list", "-o", "json"]);
    list.assert_ok();
    let v = list.json();
    let tiers: BTreeMap<String, serde_json::Value> = v["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["limits"].clone()))
        .collect();
    assert_eq!(
        tiers["trial"],
        serde_json::json!({"csv_uploads": 5, "csv_rows": 1000, "analyses": 10, "chat_messages": 50, "ai_tokens": 100000, "mapping_profiles": 3})
    );
    assert_eq!(
        tiers["pilot"],
        serde_json::json!({"csv_uploads": 50, "csv_rows": 50000, "analyses": 100, "chat_messages": 500, "ai_tokens": 1000000, "mapping_profiles": 20})
    );
    assert!(
        tiers["subscription"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v == -1)
    );

    db.run(&["tier", "create", "enterprise", "--from", "pilot"])
        .assert_ok();
    let out = db.run(&[
        "tier",
        "set-limit",
        "enterprise",
        "ai_tokens",
        "5000000",
        "-o",
        "json",
    ]);
    out.assert_ok();
    assert_eq!(out.json()["tiers"][0]["limits"]["ai_tokens"], 5000000);
    assert_eq!(out.json()["tiers"][0]["limits"]["chat_messages"], 500);
    db.run(&["tier", "create", "enterprise"]).assert_fails(1);

    // an org without an assignment falls back to trial, and says so
    let show = db.run(&["tier", "show", "acme", "-o", "json"]).json();
    assert_eq!(show["tier"], "trial");
    assert_eq!(show["tier_source"], "default");
    assert_eq!(
        show["limits"]["chat_messages"],
        serde_json::json!({"limit": 50, "source": "default_tier"})
    );
    let table = db.run(&["tier", "show", "acme"]);
    assert!(
        table.stdout.contains("default tier: no tier assigned"),
        "{}",
        table.stdout
    );

    db.run(&["tier", "assign", "acme", "enterprise", "--new-org"])
        .assert_ok();
    let ov = db.run(&[
        "tier",
        "override",
        "acme",
        "chat_messages",
        "-1",
        "-o",
        "json",
    ]);
    ov.assert_ok();
    let v = ov.json();
    assert_eq!(v["tier"], "enterprise");
    assert_eq!(v["tier_source"], "assigned");
    assert_eq!(
        v["limits"]["chat_messages"],
        serde_json::json!({"limit": -1, "source": "override"})
    );
    assert_eq!(
        v["limits"]["ai_tokens"],
        serde_json::json!({"limit": 5000000, "source": "tier"})
    );
    let cleared = db
        .run(&[
            "tier",
            "override",
            "acme",
            "chat_messages",
            "--clear",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(
        cleared["limits"]["chat_messages"],
        serde_json::json!({"limit": 500, "source": "tier"})
    );

    // unknown names are refused with the valid ones, and nothing changes
    let out = db.run(&["tier", "assign", "acme", "gold"]);
    out.assert_fails(2);
    assert!(
        out.stderr
            .contains("unknown tier 'gold' (valid: enterprise, pilot, subscription, trial)"),
        "{}",
        out.stderr
    );
    let out = db.run(&["tier", "set-limit", "pilot", "chat_msgs", "5"]);
    out.assert_fails(2);
    assert!(out.stderr.contains("chat_messages"), "{}", out.stderr);
    let out = db.run(&["tier", "override", "acme", "ai_tokens", "-2"]);
    out.assert_fails(2);
    db.run(&["tier", "override", "acme", "ai_tokens"])
        .assert_fails(2);
    db.run(&["tier", "override", "acme", "ai_tokens", "5", "--clear"])
        .assert_fails(2);
    db.run(&["tier", "create", "bad name"]).assert_fails(2);
    db.run(&["tier", "create", "x", "--from", "gold"])
        .assert_fails(2);
    let tier: String = db.scalar("SELECT tier FROM usagectl_org_tiers WHERE org_id = 'acme'");
    assert_eq!(tier, "enterprise");
}

/// Events on the first and last microsecond of November and just outside it, on both
/// read paths.
#[test]
fn limits_and_status_agree_with_psql_at_the_month_edges() {
    for path in READ_PATHS {
        limits_and_status_agree_with_psql_at_the_month_edges_on(path);
    }
}

fn limits_and_status_agree_with_psql_at_the_month_edges_on(path: ReadPath) {
    let db = TestDb::migrated();
    db.read_path(path);
    let org = "edge-org";
    for (ty, q, at) in [
        ("chat_message", 1, "2025-11-01T00:00:00Z"),
        ("chat_message", 2, "2025-11-30T23:59:59.999999Z"),
        ("chat_message", 100, "2025-10-31T23:59:59.999999Z"),
        ("chat_message", 100, "2025-12-01T00:00:00Z"),
        ("ai_tokens_input", 12500, "2025-11-01T00:00:00Z"),
        ("ai_tokens_output", 10950, "2025-11-30T23:59:59.999999Z"),
        ("ai_tokens_output", 99999, "2025-12-01T00:00:00Z"),
        ("csv_upload", 1, "2025-11-15T12:00:00Z"),
        ("csv_row_processed", 700, "2025-11-15T12:00:00Z"),
        ("analysis_run", 9, "2025-11-20T00:00:00Z"),
        ("mapping_profile_created", 1, "2024-01-01T00:00:00Z"),
        ("mapping_profile_created", 1, "2025-11-30T23:59:59.999999Z"),
        ("mapping_profile_created", 1, "2025-12-01T00:00:00Z"),
        ("export_pdf", 1, "2025-11-10T00:00:00Z"),
    ] {
        insert(&db, org, ty, q, at);
    }
    insert(
        &db,
        "someone-else",
        "chat_message",
        1000,
        "2025-11-10T00:00:00Z",
    );

    let out = db.run(&["limits", "--org", org, "--month", "2025-11", "-o", "json"]);
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["org_id"], org);
    assert_eq!(v["tier"], "trial");
    assert_eq!(v["tier_source"], "default");
    assert_eq!(v["period"], "2025-11-01");
    assert_eq!(v["period_start"], "2025-11-01T00:00:00Z");
    assert_eq!(v["period_end"], "2025-12-01T00:00:00Z");

    let psql_sum = |types: &str, lower: bool| -> i64 {
        let lower = if lower {
            "AND created_at >= '2025-11-01T00:00:00Z'"
        } else {
            ""
        };
        psql(
            &db.url,
            &format!(
                "SELECT coalesce(sum(quantity), 0) FROM usage_events
                 WHERE org_id = '{org}' AND event_type IN ({types}) {lower} AND created_at < '2025-12-01T00:00:00Z'"
            ),
        )
        .trim()
        .parse()
        .unwrap()
    };
    let expect = [
        ("csv_uploads", psql_sum("'csv_upload'", true), 5, "uploads"),
        (
            "csv_rows",
            psql_sum("'csv_row_processed'", true),
            1000,
            "rows",
        ),
        ("analyses", psql_sum("'analysis_run'", true), 10, "analyses"),
        (
            "chat_messages",
            psql_sum("'chat_message'", true),
            50,
            "messages",
        ),
        (
            "ai_tokens",
            psql_sum("'ai_tokens_input', 'ai_tokens_output'", true),
            100000,
            "tokens",
        ),
        (
            "mapping_profiles",
            psql_sum("'mapping_profile_created'", false),
            3,
            "profiles",
        ),
    ];
    assert_eq!(expect.map(|e| e.1), [1, 700, 9, 3, 23450, 2]);
    for (metric, current, limit, unit) in expect {
        let m = &v["limits"][metric];
        assert_eq!(m["current"], current, "{metric}");
        assert_eq!(m["limit"], limit, "{metric}");
        assert_eq!(m["unit"], unit, "{metric}");
        assert_eq!(m["within_limit"], current < limit, "{metric}");
    }
    assert_eq!(
        v["limits"]["ai_tokens"]["breakdown"],
        serde_json::json!({"input_tokens": 12500, "output_tokens": 10950})
    );

    // analyses 9/10 is 90%: approaching at 80%, ok at 95%
    let st = db.run(&["status", "--org", org, "--month", "2025-11", "-o", "json"]);
    assert_eq!(st.code, 3, "{}", st.stderr);
    let s = st.json();
    assert_eq!(s["status"], "approaching_limit");
    assert_eq!(s["tier"], "trial");
    assert_eq!(
        s["message"],
        "Approaching limit (80% or more used): analyses 9/10"
    );
    assert_eq!(s["worst_metric"], "analyses");
    let st = db.run(&[
        "status",
        "--org",
        org,
        "--month",
        "2025-11",
        "--warn-at",
        "95",
        "-o",
        "json",
    ]);
    assert_eq!(st.code, 0);
    assert_eq!(st.json()["status"], "ok");
    assert_eq!(st.json()["message"], "Usage is within limits");

    // one more upload makes csv_uploads... still 2/5; 4 more reach 5/5 = over
    for _ in 0..4 {
        insert(&db, org, "csv_upload", 1, "2025-11-30T10:00:00Z");
    }
    let st = db.run(&["status", "--org", org, "--month", "2025-11"]);
    assert_eq!(st.code, 4);
    assert!(st.stdout.contains("over_limit"));
    assert!(st.stdout.contains("csv_uploads 5/5"), "{}", st.stdout);

    // the table view: bars, percentages, the window
    let table = db.run(&["limits", "--org", org, "--month", "2025-11"]);
    table.assert_ok();
    assert!(
        table
            .stdout
            .contains("[2025-11-01T00:00:00Z, 2025-12-01T00:00:00Z)"),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("23450 (in 12500 / out 10950)"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("90%"), "{}", table.stdout);
    assert!(table.stdout.contains("default tier: no tier assigned"));

    for bad in ["2025-13", "2025-1", "nov"] {
        let out = db.run(&["limits", "--org", org, "--month", bad]);
        out.assert_fails(2);
    }
}

#[test]
fn status_all_lists_every_org_worst_first() {
    for path in READ_PATHS {
        status_all_lists_every_org_worst_first_on(path);
    }
}

fn status_all_lists_every_org_worst_first_on(path: ReadPath) {
    let db = TestDb::migrated();
    db.read_path(path);
    let now = chrono::Utc::now().to_rfc3339();
    insert(&db, "over-org", "chat_message", 60, &now); // 60/50 trial
    insert(&db, "near-org", "chat_message", 45, &now); // 90%
    insert(&db, "nearer-org", "csv_upload", 5, &now); // 100% of 5 = over (not < limit)
    insert(&db, "fine-org", "chat_message", 1, &now);
    db.run(&["tier", "assign", "quiet-org", "pilot", "--new-org"])
        .assert_ok(); // no events, but assigned
    db.run(&["tier", "assign", "near-org", "trial"]).assert_ok();
    // mapping profiles count all time: three months ago (folded on every path but raw),
    // and now (not folded on the unfolded path)
    db.run(&["tier", "assign", "maps-org", "subscription", "--new-org"])
        .assert_ok();
    db.run(&["tier", "override", "maps-org", "mapping_profiles", "10"])
        .assert_ok();
    let months_ago = (chrono::Utc::now() - chrono::Duration::days(95)).to_rfc3339();
    insert(&db, "maps-org", "mapping_profile_created", 3, &months_ago);
    db.fold();
    insert(&db, "maps-org", "mapping_profile_created", 4, &now);
    let all_time: i64 = db.scalar(
        "SELECT sum(quantity)::bigint FROM usage_events WHERE org_id = 'maps-org' AND event_type = 'mapping_profile_created'",
    );
    assert_eq!(all_time, 7);
    let maps = db.run(&["status", "--all", "-o", "json"]).json();
    let maps = maps["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["org_id"] == "maps-org")
        .unwrap()
        .clone();
    assert_eq!(maps["worst_metric"], "mapping_profiles", "{path:?} {maps}");
    assert_eq!(maps["worst_current"], all_time, "{path:?} {maps}");
    assert_eq!(maps["status"], "ok", "{path:?} {maps}"); // 7 of 10: below the warning
    db.client()
        .batch_execute("DELETE FROM usage_events WHERE org_id = 'maps-org'; DELETE FROM usagectl_org_tiers WHERE org_id = 'maps-org'; DELETE FROM usagectl_org_limit_overrides WHERE org_id = 'maps-org';")
        .unwrap();

    let out = db.run(&["status", "--all", "-o", "json"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let v = out.json();
    let rows: Vec<(String, String)> = v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["org_id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "over-org",
            "nearer-org",
            "near-org",
            "fine-org",
            "quiet-org"
        ]
    );
    assert_eq!(rows[0].1, "over_limit");
    assert_eq!(rows[1].1, "over_limit");
    assert_eq!(rows[2].1, "approaching_limit");
    assert_eq!(rows[3].1, "ok");
    assert_eq!(v["orgs"][4]["tier"], "pilot");
    assert_eq!(v["orgs"][4]["tier_source"], "assigned");
    assert_eq!(v["orgs"][0]["tier_source"], "default");

    let problems = db.run(&["status", "--all", "--problems-only", "-o", "csv"]);
    assert_eq!(problems.code, 4);
    let lines: Vec<&str> = problems.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "org_id,tier,tier_source,status,worst_metric,worst_current,worst_limit,message,period_start,period_end,time_zone"
    );
    assert_eq!(lines.len(), 4, "{}", problems.stdout);

    // only approaching left -> 3; only ok -> 0
    db.run(&["tier", "assign", "over-org", "subscription"])
        .assert_ok();
    db.run(&["tier", "override", "nearer-org", "csv_uploads", "100"])
        .assert_ok();
    assert_eq!(db.run(&["status", "--all"]).code, 3);
    db.run(&["tier", "assign", "near-org", "pilot"]).assert_ok();
    let ok = db.run(&["status", "--all", "--problems-only"]);
    assert_eq!(ok.code, 0);
    assert!(ok.stdout.contains("no orgs to show"), "{}", ok.stdout);

    db.run(&["status", "--all", "--org", "x"]).assert_fails(2);
    db.run(&["status"]).assert_fails(2);
    db.run(&["status", "--org", "x", "--problems-only"])
        .assert_fails(2);
    db.run(&["status", "--org", "x", "--warn-at", "0"])
        .assert_fails(2);
}

#[test]
fn enforce_records_up_to_the_limit_and_refuses_past_it() {
    let db = TestDb::migrated();
    // trial: 50 chat messages; the web app wrote 48 straight into the table
    let now = chrono::Utc::now().to_rfc3339();
    insert(&db, "acme", "chat_message", 48, &now);
    let rec = |q: &str| {
        db.run(&[
            "record",
            "--org",
            "acme",
            "--event",
            "chat_message",
            "--quantity",
            q,
            "--enforce",
        ])
    };
    let out = rec("3");
    out.assert_fails(4);
    assert_eq!(
        out.stderr.trim(),
        "usagectl: error: Chat message limit exceeded (48/50 this month; 3 more would make 51). Please upgrade your plan."
    );
    rec("2").assert_ok();
    let out = rec("1");
    out.assert_fails(4);
    assert!(
        out.stderr
            .contains("Chat message limit exceeded (50/50 this month). Please upgrade your plan.")
    );
    let total: i64 = db.scalar("SELECT sum(quantity) FROM usage_events WHERE org_id = 'acme'");
    assert_eq!(total, 50);

    // a retry of an event already recorded is not a new event: exit 0 even at the limit
    db.run(&["tier", "override", "acme", "chat_messages", "51"])
        .assert_ok();
    db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--enforce",
        "--idempotency-key",
        "k1",
    ])
    .assert_ok();
    let again = db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--enforce",
        "--idempotency-key",
        "k1",
        "-o",
        "json",
    ]);
    again.assert_ok();
    assert_eq!(again.json()["duplicate"], true);

    // input and output tokens share one metric; types without a metric are never refused
    insert(&db, "tok", "ai_tokens_input", 60000, &now);
    let out = db.run(&[
        "record",
        "--org",
        "tok",
        "--event",
        "ai_tokens_output",
        "--quantity",
        "40001",
        "--enforce",
    ]);
    out.assert_fails(4);
    assert!(
        out.stderr.contains(
            "AI token limit exceeded (60000/100000 this month; 40001 more would make 100001)"
        ),
        "{}",
        out.stderr
    );
    db.run(&[
        "record",
        "--org",
        "tok",
        "--event",
        "ai_tokens_output",
        "--quantity",
        "40000",
        "--enforce",
    ])
    .assert_ok();
    db.run(&[
        "record",
        "--org",
        "tok",
        "--event",
        "export_pdf",
        "--quantity",
        "1000",
        "--enforce",
    ])
    .assert_ok();

    // a backdated event counts against its own month
    db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--at",
        "2025-01-15T00:00:00Z",
        "--enforce",
    ])
    .assert_ok();

    // mapping profiles count all time: three made last year fill this month's trial limit
    insert(
        &db,
        "maps",
        "mapping_profile_created",
        3,
        "2025-01-10T00:00:00Z",
    );
    let out = db.run(&[
        "record",
        "--org",
        "maps",
        "--event",
        "mapping_profile_created",
        "--enforce",
    ]);
    out.assert_fails(4);
    assert!(
        out.stderr
            .contains("Mapping profile limit exceeded (3/3 in total)"),
        "{}",
        out.stderr
    );

    // the same answers from the raw rows while a backfill day is pending
    db.read_path(ReadPath::Raw);
    rec("1").assert_fails(4);
    db.run(&["tier", "override", "acme", "chat_messages", "52"])
        .assert_ok();
    rec("2").assert_fails(4);
    rec("1").assert_ok();
    rec("1").assert_fails(4);
    db.read_path(ReadPath::Folded);
    let month: i64 = db.scalar(
        "SELECT sum(quantity) FROM usage_events WHERE org_id = 'acme'
         AND created_at >= date_trunc('month', now()) AND event_type = 'chat_message'",
    );
    assert_eq!(month, 52);

    // nothing to check, nothing locked: an unlimited tier and a type no metric counts
    db.run(&["tier", "assign", "big", "subscription", "--new-org"])
        .assert_ok();
    for (org, event) in [("big", "chat_message"), ("tok", "export_pdf")] {
        db.run(&["record", "--org", org, "--event", event, "--enforce"])
            .assert_ok();
    }
    let locked: Vec<String> = db
        .client()
        .query("SELECT org_id FROM usagectl_org_locks ORDER BY org_id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // (a refusal rolls back, lock row included: "maps" has none either)
    assert_eq!(locked, ["acme", "tok"]);
}

/// Start `n` usagectl processes with `args` at once; how many ended with each exit code.
fn concurrent_exit_codes(db: &TestDb, n: usize, args: &[&str]) -> BTreeMap<i32, usize> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            usagectl()
                .env("DATABASE_URL", &db.url)
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut codes = BTreeMap::new();
    for mut c in children {
        *codes
            .entry(c.wait().unwrap().code().unwrap_or(-1))
            .or_default() += 1;
    }
    codes
}

/// 32 concurrent `record --enforce` processes against an org 10 units below its limit:
/// exactly 10 succeed, 22 are refused, and the month ends exactly at the limit. Twenty
/// rounds, each on a fresh org: the first ten with the fold lagging (nothing folded, every
/// racer reads raw rows above the watermark), the last ten with a fold running every 20 ms
/// meanwhile (the rollup and the watermark move under the racers).
#[test]
fn enforce_holds_under_32_concurrent_processes() {
    let db = TestDb::migrated();
    let now = chrono::Utc::now().to_rfc3339();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut folder = None;
    for round in 0..20 {
        if round == 10 {
            let (url, stop) = (db.url.clone(), stop.clone());
            folder = Some(std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                let mut folded = 0i64;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    folded += c
                        .query_one("SELECT r_events FROM usagectl_fold()", &[])
                        .unwrap()
                        .get::<_, i64>(0);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                folded
            }));
        }
        let org = format!("race-{round}");
        insert(&db, &org, "chat_message", 40, &now); // trial limit 50
        let codes = concurrent_exit_codes(
            &db,
            32,
            &[
                "record",
                "--org",
                &org,
                "--event",
                "chat_message",
                "--enforce",
            ],
        );
        assert_eq!(codes, BTreeMap::from([(0, 10), (4, 22)]), "round {round}");
        let total: i64 = db
            .client()
            .query_one(
                "SELECT sum(quantity) FROM usage_events WHERE org_id = $1",
                &[&org],
            )
            .unwrap()
            .get(0);
        assert_eq!(total, 50, "round {round}");
        if round == 9 {
            let folded: i64 = db.scalar("SELECT watermark FROM usagectl_fold_state");
            assert_eq!(folded, 0, "nothing folded in the first ten rounds");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let folded = folder.unwrap().join().unwrap();
    assert!(folded > 0, "the fold ran while the racers raced");
}

/// 16 concurrent retries of one event (same idempotency key) for an org one unit below
/// its limit: one stores it, the others wait for the lock and get that event back (exit 0),
/// not a refusal.
#[test]
fn concurrent_retries_at_the_limit_get_the_stored_event() {
    let db = TestDb::migrated();
    let now = chrono::Utc::now().to_rfc3339();
    insert(&db, "retry", "chat_message", 49, &now); // trial limit 50
    let codes = concurrent_exit_codes(
        &db,
        16,
        &[
            "record",
            "--org",
            "retry",
            "--event",
            "chat_message",
            "--enforce",
            "--idempotency-key",
            "send-1",
        ],
    );
    assert_eq!(codes, BTreeMap::from([(0, 16)]));
    let stored: i64 = db.scalar(
        "SELECT count(*) FROM usage_events WHERE org_id = 'retry' AND idempotency_key = 'send-1'",
    );
    assert_eq!(stored, 1);
    let total: i64 = db.scalar("SELECT sum(quantity) FROM usage_events WHERE org_id = 'retry'");
    assert_eq!(total, 50);
}

#[test]
fn a_read_only_role_can_check_one_orgs_limits_and_status() {
    for path in READ_PATHS {
        a_read_only_role_can_check_one_orgs_limits_and_status_on(path);
    }
}

fn a_read_only_role_can_check_one_orgs_limits_and_status_on(path: ReadPath) {
    let db = TestDb::new();
    db.create_seed_table();
    db.run(&["migrate"]).assert_ok();
    db.read_path(path);
    let role = format!("ro_{}", db.name);
    let now = chrono::Utc::now().to_rfc3339();
    insert(&db, "acme", "chat_message", 45, &now);
    insert(&db, "globex", "chat_message", 500, &now);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN NOBYPASSRLS;
             GRANT SELECT ON usage_events, usagectl_tiers, usagectl_tier_limits, usagectl_org_tiers,
                             usagectl_org_limit_overrides TO {role};"
        ))
        .unwrap();
    let url = format!("{} user={role}", db.url);
    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .args(["limits", "--org", "acme", "-o", "json"]));
    out.assert_ok();
    assert_eq!(out.json()["limits"]["chat_messages"]["current"], 45);
    let st = run(usagectl()
        .env("DATABASE_URL", &url)
        .args(["status", "--org", "acme"]));
    assert_eq!(st.code, 3, "{}", st.stderr);
    // allowed to read the rollup, as `migrate --roles` allows usage_reader
    db.client()
        .batch_execute(&format!(
            "GRANT SELECT ON usagectl_rollup, usagectl_rollup_backfill, usagectl_boundaries TO {role}"
        ))
        .unwrap();
    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .args(["limits", "--org", "acme", "-o", "json"]));
    out.assert_ok();
    assert_eq!(out.json()["limits"]["chat_messages"]["current"], 45);
    let st = run(usagectl()
        .env("DATABASE_URL", &url)
        .args(["status", "--org", "acme"]));
    assert_eq!(st.code, 3, "{}", st.stderr);
    db.client()
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .unwrap();
}

const NOTE_GLOBX: &str = "usagectl: note: org \"globx-trial\" has never been seen (no events, settings, tier, override, grant, alert rule or Stripe mapping); did you mean \"globex-trial\"?\n";

/// An org with no events, no assignment and no override is reported healthy, as the
/// documented exit codes say, but every per-org command says so on stderr with similar
/// known ids, and its JSON has known_org: false.
#[test]
fn an_unknown_org_is_noted_with_similar_known_ids() {
    let db = TestDb::migrated();
    let now = chrono::Utc::now().to_rfc3339();
    insert(&db, "globex-trial", "chat_message", 3, &now);
    insert(
        &db,
        "last-year-only",
        "chat_message",
        3,
        "2020-03-01T00:00:00Z",
    );
    db.run(&["tier", "assign", "assigned-only", "pilot", "--new-org"])
        .assert_ok();
    db.run(&[
        "tier",
        "override",
        "override-only",
        "ai_tokens",
        "7",
        "--new-org",
    ])
    .assert_ok();
    for args in [
        vec!["status", "--org", "globx-trial"],
        vec!["limits", "--org", "globx-trial"],
        vec!["tier", "show", "globx-trial"],
    ] {
        let out = db.run(&args);
        out.assert_ok();
        assert_eq!(out.stderr, NOTE_GLOBX, "{args:?}");
        let mut json = args.clone();
        json.extend(["-o", "json"]);
        let out = db.run(&json);
        assert_eq!(out.json()["known_org"], false, "{args:?}");
        assert_eq!(out.stderr, NOTE_GLOBX, "{args:?}");
        // CSV keeps its columns; the note is on stderr
        let mut csv = args.clone();
        csv.extend(["-o", "csv"]);
        let out = db.run(&csv);
        assert!(!out.stdout.contains("known_org"), "{}", out.stdout);
        assert_eq!(out.stderr, NOTE_GLOBX, "{args:?}");
    }
    let st = db.run(&["status", "--org", "globx-trial", "-o", "json"]);
    assert_eq!((st.code, st.json()["status"].as_str()), (0, Some("ok")));
    // no similar id: the note alone
    let out = db.run(&["limits", "--org", "zzzz-unrelated"]);
    assert_eq!(
        out.stderr,
        "usagectl: note: org \"zzzz-unrelated\" has never been seen (no events, settings, tier, override, grant, alert rule or Stripe mapping)\n"
    );
    // events in another month, only an assignment, only an override: known, no note
    for org in [
        "globex-trial",
        "last-year-only",
        "assigned-only",
        "override-only",
    ] {
        for cmd in [
            vec!["status", "--org", org, "-o", "json"],
            vec!["limits", "--org", org, "-o", "json"],
            vec!["tier", "show", org, "-o", "json"],
        ] {
            let out = db.run(&cmd);
            assert_eq!(out.json()["known_org"], true, "{cmd:?}");
            assert!(out.stderr.is_empty(), "{cmd:?}: {}", out.stderr);
        }
    }
    // the exit code still follows the state: an unknown org is ok (0)
    let over = db.run(&["status", "--org", "globx-trial", "--warn-at", "1"]);
    assert_eq!(over.code, 0, "{}", over.stderr);
}

/// Under the seed's RLS policy a usage_reader member sees only the org it asks about, so
/// suggestions come from the tier tables alone; its own org is known.
#[test]
fn unknown_orgs_under_rls_suggest_only_what_the_reader_may_see() {
    let db = TestDb::new();
    db.create_seed_table();
    db.run(&["migrate", "--roles"]).assert_ok();
    let now = chrono::Utc::now().to_rfc3339();
    insert(&db, "globex-trial", "chat_message", 3, &now);
    db.run(&["tier", "assign", "initech", "subscription", "--new-org"])
        .assert_ok();
    let reader = format!("support_{}", db.name);
    db.client()
        .batch_execute(&format!("CREATE ROLE {reader} LOGIN IN ROLE usage_reader"))
        .unwrap();
    let as_reader = |args: &[&str]| {
        run(usagectl()
            .env("DATABASE_URL", format!("{} user={reader}", db.url))
            .args(args))
    };
    let own = as_reader(&["limits", "--org", "globex-trial", "-o", "json"]);
    own.assert_ok();
    assert_eq!(own.json()["known_org"], true);
    assert_eq!(own.json()["limits"]["chat_messages"]["current"], 3);
    assert!(own.stderr.is_empty(), "{}", own.stderr);
    // the rollup's other orgs are hidden by RLS: no suggestion from events
    let typo = as_reader(&["status", "--org", "globx-trial", "-o", "json"]);
    assert_eq!(typo.code, 0, "{}", typo.stderr);
    assert_eq!(typo.json()["known_org"], false);
    assert_eq!(
        typo.stderr,
        "usagectl: note: org \"globx-trial\" has never been seen (no events, settings, tier, override, grant, alert rule or Stripe mapping)\n"
    );
    // assignments are readable by the reader
    let typo = as_reader(&["tier", "show", "initec"]);
    typo.assert_ok();
    assert_eq!(
        typo.stderr,
        "usagectl: note: org \"initec\" has never been seen (no events, settings, tier, override, grant, alert rule or Stripe mapping); did you mean \"initech\"?\n"
    );
    // an owner sees every org's rollup rows
    let owner = db.run(&["status", "--org", "globx-trial"]);
    assert_eq!(owner.stderr, NOTE_GLOBX);
    db.client()
        .batch_execute(&format!("DROP OWNED BY {reader}; DROP ROLE {reader}"))
        .unwrap();
}

/// Each enum is written by its one name in every format.
#[test]
fn limit_and_tier_sources_have_one_name_in_csv_json_and_tier_show() {
    let db = TestDb::migrated();
    db.run(&["tier", "override", "acme", "ai_tokens", "7", "--new-org"])
        .assert_ok();
    let csv = db.run(&["limits", "--org", "acme", "-o", "csv"]);
    csv.assert_ok();
    let mut rdr = csv::Reader::from_reader(csv.stdout.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let json = db.run(&["limits", "--org", "acme", "-o", "json"]).json();
    let show = db.run(&["tier", "show", "acme", "-o", "json"]).json();
    for r in &rows {
        let metric = &r[col("metric")];
        assert_eq!(
            r[col("limit_source")],
            *json["limits"][metric]["limit_source"].as_str().unwrap(),
            "{metric}"
        );
        assert_eq!(
            r[col("limit_source")],
            *show["limits"][metric]["source"].as_str().unwrap(),
            "{metric}"
        );
        assert_eq!(&r[col("tier_source")], "default");
    }
    let sources: Vec<&str> = rows.iter().map(|r| &r[col("limit_source")]).collect();
    assert_eq!(
        sources,
        [
            "override",
            "default_tier",
            "default_tier",
            "default_tier",
            "default_tier",
            "default_tier"
        ],
        "rows by metric name: ai_tokens (overridden) first"
    );
}

/// Months outside 1970-01..9998-12 are misuse; the last one is answered, with its
/// instants unguarded in CSV and a note that it has not begun.
#[test]
fn months_are_1970_01_to_9998_12_and_a_future_month_gets_a_note() {
    let db = TestDb::migrated();
    db.run(&["tier", "assign", "acme", "pilot", "--new-org"])
        .assert_ok();
    for month in ["0000-01", "1969-12", "9999-01", "9999-12", "+999-01"] {
        for cmd in [
            vec!["limits", "--org", "acme", "--month", month],
            vec!["status", "--org", "acme", "--month", month],
            vec!["status", "--all", "--month", month],
            vec!["export", "--month", month],
        ] {
            let out = db.run(&cmd);
            out.assert_fails(2);
            assert!(out.stderr.contains(month), "{cmd:?}: {}", out.stderr);
        }
    }
    let out = db.run(&["limits", "--org", "acme", "--month", "9998-12", "-o", "csv"]);
    out.assert_ok();
    let mut rdr = csv::Reader::from_reader(out.stdout.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let rec = rdr.records().next().unwrap().unwrap();
    let at = |name: &str| rec[header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(at("period_start"), "9998-12-01T00:00:00Z");
    assert_eq!(at("period_end"), "9999-01-01T00:00:00Z");
    assert!(
        out.stderr
            .starts_with("usagectl: note: 9998-12 has not begun yet (the server's time is "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.ends_with("): nothing is counted in it\n"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    for cmd in [
        vec!["status", "--all", "--month", "9998-12"],
        vec!["export", "--month", "9998-12"],
        vec!["export", "--from", "2020-01", "--to", "9998-12"],
    ] {
        let out = db.run(&cmd);
        out.assert_ok();
        assert!(
            out.stderr.contains("has not begun yet"),
            "{cmd:?}: {}",
            out.stderr
        );
    }
    // the current month and past ones: no note
    for cmd in [
        vec!["limits", "--org", "acme"],
        vec!["limits", "--org", "acme", "--month", "1970-01"],
        vec!["status", "--all"],
    ] {
        let out = db.run(&cmd);
        assert!(
            !out.stderr.contains("has not begun"),
            "{cmd:?}: {}",
            out.stderr
        );
    }
}

/// `record --enforce` counts the half-open month `[start, end)`: an event at exactly the
/// month's end (the next month's first instant) and one a microsecond before its start
/// do not count, one at its first instant does; on both read paths of the server-side
/// function.
#[test]
fn enforce_counts_the_half_open_month() {
    for path in READ_PATHS {
        enforce_counts_the_half_open_month_on(path);
    }
}

fn enforce_counts_the_half_open_month_on(path: ReadPath) {
    let db = TestDb::migrated();
    db.read_path(path);
    // trial: 50 chat messages
    insert(&db, "edge", "chat_message", 48, "2025-11-01T00:00:00Z");
    insert(&db, "edge", "chat_message", 100, "2025-12-01T00:00:00Z");
    insert(
        &db,
        "edge",
        "chat_message",
        100,
        "2025-10-31T23:59:59.999999Z",
    );
    let rec = |q: &str| {
        db.run(&[
            "record",
            "--org",
            "edge",
            "--event",
            "chat_message",
            "--quantity",
            q,
            "--at",
            "2025-11-20T00:00:00Z",
            "--enforce",
        ])
    };
    let out = rec("3");
    out.assert_fails(4);
    assert!(out.stderr.contains("(48/50 "), "{}", out.stderr);
    rec("2").assert_ok();
    rec("1").assert_fails(4);
    let nov: i64 = db.scalar(
        "SELECT sum(quantity)::bigint FROM usage_events WHERE org_id = 'edge'
         AND created_at >= '2025-11-01T00:00:00Z' AND created_at < '2025-12-01T00:00:00Z'",
    );
    assert_eq!(nov, 50);
}

/// Bulk `record --file --enforce` counts only the rows it would insert: a row repeating
/// an idempotency key seen earlier in the file, or one already stored, is not a new event
/// and does not count toward the limit; on both read paths.
#[test]
fn bulk_enforce_does_not_count_duplicate_keys() {
    for path in READ_PATHS {
        bulk_enforce_does_not_count_duplicate_keys_on(path);
    }
}

fn bulk_enforce_does_not_count_duplicate_keys_on(path: ReadPath) {
    let db = TestDb::migrated();
    db.read_path(path);
    let now = chrono::Utc::now().to_rfc3339();
    // trial: 50 chat messages; 45 used, one of them under key z
    insert(&db, "edge", "chat_message", 44, &now);
    db.run(&[
        "record",
        "--org",
        "edge",
        "--event",
        "chat_message",
        "--idempotency-key",
        "z",
    ])
    .assert_ok();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("batch.csv");
    // new: a (3) and b (2) = 5, exactly what is left; the repeats of a and z are not new
    std::fs::write(
        &file,
        "org_id,event_type,quantity,idempotency_key\n\
         edge,chat_message,3,a\n\
         edge,chat_message,2,b\n\
         edge,chat_message,3,a\n\
         edge,chat_message,1,z\n\
         edge,chat_message,3,a\n",
    )
    .unwrap();
    let out = db.run(&[
        "record",
        "--file",
        file.to_str().unwrap(),
        "--enforce",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let v = out.json();
    assert_eq!(v["inserted"], 2, "{v}");
    let total: i64 =
        db.scalar("SELECT sum(quantity)::bigint FROM usage_events WHERE org_id = 'edge'");
    assert_eq!(total, 50);
}

/// Item 6: at the limit the state is over_limit with exit 4 (no room for one more), but the
/// words say the limit is reached; only past it do they say "Over limit". The alert at
/// 100% says "reached" too.
#[test]
fn at_the_limit_status_says_reached_and_only_past_it_over() {
    let db = TestDb::migrated();
    let org = "acme";
    let enforced = || {
        db.run(&[
            "record",
            "--org",
            org,
            "--event",
            "analysis_run",
            "--enforce",
        ])
    };
    for _ in 0..10 {
        enforced().assert_ok();
    }
    enforced().assert_fails(4);
    let st = db.run(&["status", "--org", org, "-o", "json"]);
    assert_eq!(st.code, 4, "{}", st.stderr);
    assert_eq!(st.json()["status"], "over_limit");
    assert_eq!(st.json()["message"], "Limit reached: analyses 10/10");
    let table = db.run(&["status", "--org", org]);
    assert_eq!(table.code, 4);
    assert!(
        table.stdout.contains("Limit reached: analyses 10/10"),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains("Over limit"), "{}", table.stdout);

    // the alert at 100% fires at 10/10 and says "reached"
    db.run(&[
        "alert",
        "add",
        "ops",
        "--webhook",
        "http://127.0.0.1:9/hook",
        "--metric",
        "analyses",
        "--at",
        "100",
    ])
    .assert_ok();
    let run = db.run(&["alert", "run", "--dry-run"]);
    run.assert_ok();
    assert!(run.stdout.contains("reached"), "{}", run.stdout);
    assert!(!run.stdout.contains("crossed"), "{}", run.stdout);

    // one past the limit (written by the web app, unchecked): now it is over
    insert(
        &db,
        org,
        "analysis_run",
        1,
        &chrono::Utc::now().to_rfc3339(),
    );
    let st = db.run(&["status", "--org", org, "-o", "json"]);
    assert_eq!(st.code, 4);
    assert_eq!(st.json()["message"], "Over limit: analyses 11/10");
}

/// Item 7: `status --org -o json` names each key once (serde_json::Value would keep the last
/// of a duplicate silently, so the raw text is read).
#[test]
fn status_org_json_names_each_key_once() {
    let db = TestDb::migrated();
    insert(
        &db,
        "acme",
        "analysis_run",
        1,
        &chrono::Utc::now().to_rfc3339(),
    );
    let st = db.run(&["status", "--org", "acme", "-o", "json"]);
    st.assert_ok();
    let keys: Vec<&str> = st
        .stdout
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix('"')?
                .split_once("\":")
                .map(|(k, _)| k)
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let dups: Vec<&str> = keys.iter().copied().filter(|k| !seen.insert(*k)).collect();
    assert!(dups.is_empty(), "duplicate keys {dups:?} in {}", st.stdout);
    for k in [
        "period_start",
        "period_end",
        "time_zone",
        "status",
        "known_org",
    ] {
        assert!(keys.contains(&k), "{k} missing from {}", st.stdout);
    }
}

/// The database's metric table (what enforcement counts) is the Rust one (what every read
/// shows), and its limit composition gives what `limits` shows: assigned tier, default
/// tier, an override, a tier missing a metric, and a grant.
#[test]
fn the_sql_rule_and_limits_agree_on_metrics_limits_and_grants() {
    use usagectl::quota::Metric;
    let db = TestDb::migrated();
    let mut c = db.client();
    let rows = c
        .query(
            "SELECT metric, event_types, monthly, unit FROM usagectl_metrics()",
            &[],
        )
        .unwrap();
    let sql: Vec<(String, Vec<String>, bool, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let rust: Vec<(String, Vec<String>, bool, String)> = Metric::ALL
        .iter()
        .map(|m| {
            (
                m.name().to_string(),
                m.event_types().iter().map(|t| t.to_string()).collect(),
                m.monthly(),
                m.unit().to_string(),
            )
        })
        .collect();
    assert_eq!(sql, rust);
    // the status rule the API answers with is the one `status` shows
    for (current, limit) in [
        (0_i64, 50_i64),
        (39, 50),
        (40, 50),
        (49, 50),
        (50, 50),
        (51, 50),
        (0, 0),
        (5, -1),
    ] {
        let sql: String = c
            .query_one("SELECT usagectl_status($1, $2, 80)", &[&current, &limit])
            .unwrap()
            .get(0);
        let (state, _, _) = usagectl::quota::evaluate(
            &[usagectl::quota::MetricUse {
                metric: Metric::ChatMessages,
                current,
                limit,
            }],
            80,
        );
        assert_eq!(sql, state.name(), "{current}/{limit}");
    }
    // the refusal message: the seed's words for every metric, and what a larger quantity
    // would make of the usage
    for (metric, current, limit, adding, want) in [
        (
            "csv_uploads",
            5_i64,
            5_i64,
            1_i64,
            "CSV upload limit exceeded (5/5 this month). Please upgrade your plan.",
        ),
        (
            "csv_rows",
            900,
            1000,
            200,
            "CSV row limit exceeded (900/1000 this month; 200 more would make 1100). Please upgrade your plan.",
        ),
        (
            "analyses",
            10,
            10,
            1,
            "Analysis limit exceeded (10/10 this month). Please upgrade your plan.",
        ),
        (
            "chat_messages",
            45,
            50,
            10,
            "Chat message limit exceeded (45/50 this month; 10 more would make 55). Please upgrade your plan.",
        ),
        (
            "chat_messages",
            50,
            50,
            1,
            "Chat message limit exceeded (50/50 this month). Please upgrade your plan.",
        ),
        (
            "ai_tokens",
            99000,
            100000,
            2000,
            "AI token limit exceeded (99000/100000 this month; 2000 more would make 101000). Please upgrade your plan.",
        ),
        (
            "mapping_profiles",
            3,
            3,
            1,
            "Mapping profile limit exceeded (3/3 in total). Please upgrade your plan.",
        ),
    ] {
        let got: String = c
            .query_one(
                "SELECT usagectl_refusal($1, $2, $3, $4)",
                &[&metric, &current, &limit, &adding],
            )
            .unwrap()
            .get(0);
        assert_eq!(got, want);
    }
    for args in [
        &["tier", "assign", "acme", "pilot", "--new-org"][..],
        &[
            "tier",
            "override",
            "acme",
            "chat_messages",
            "7",
            "--new-org",
        ],
        &[
            "grant",
            "add",
            "acme",
            "csv_uploads",
            "5",
            "--reason",
            "pilot extension",
            "--new-org",
        ],
    ] {
        db.run(args).assert_ok();
    }
    c.batch_execute(
        "DELETE FROM usagectl_tier_limits WHERE tier = 'pilot' AND metric = 'analyses'",
    )
    .unwrap();
    for org in ["acme", "newcomer"] {
        let shown = db.run(&["limits", "--org", org, "-o", "json"]);
        let shown = shown.json();
        for m in Metric::ALL {
            let allowance = c
                .query_one(
                    "SELECT limit_value FROM usagectl_allowance($1, $2, now(), 1)",
                    &[&org, &m.name()],
                )
                .unwrap()
                .get::<_, i64>(0);
            assert_eq!(
                serde_json::json!(allowance),
                shown["limits"][m.name()]["limit"],
                "{org} {}: {shown}",
                m.name()
            );
        }
    }
}
