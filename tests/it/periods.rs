//! Billing periods per org (anchor day, IANA zone) and grants (issue 14), against a real
//! PostgreSQL: every `current` is compared with a psql aggregate over the same
//! `[period_start, period_end)`, and the bounds with ones worked out by hand.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::support::*;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn insert(db: &TestDb, org: &str, event_type: &str, quantity: i32, at: DateTime<Utc>) {
    db.client()
        .execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES ($1, $2, $3, $4)",
            &[&org, &event_type, &quantity, &at],
        )
        .unwrap();
}

/// Chat messages one microsecond on each side of `boundary`, 1 before and 10 at it.
fn around(db: &TestDb, org: &str, boundary: DateTime<Utc>) {
    insert(
        db,
        org,
        "chat_message",
        1,
        boundary - Duration::microseconds(1),
    );
    insert(db, org, "chat_message", 10, boundary);
}

/// psql's own sum of chat messages of `org` over `[start, end)`.
fn psql_chat(db: &TestDb, org: &str, start: &str, end: &str) -> i64 {
    let out = psql(
        &db.url,
        &format!(
            "SELECT coalesce(sum(quantity), 0) FROM usage_events WHERE org_id = '{org}'
             AND event_type = 'chat_message'
             AND created_at >= '{start}'::timestamptz AND created_at < '{end}'::timestamptz"
        ),
    );
    out.trim().parse().unwrap()
}

/// `limits` for one period: (period_start, period_end, chat_messages current), checked
/// against psql over the bounds it reports.
fn limits_at(db: &TestDb, org: &str, how: &[&str]) -> (String, String, i64) {
    let mut args = vec!["limits", "--org", org, "-o", "json"];
    args.extend_from_slice(how);
    let out = db.run(&args);
    out.assert_ok();
    let v = out.json();
    let start = v["period_start"].as_str().unwrap().to_string();
    let end = v["period_end"].as_str().unwrap().to_string();
    let current = v["limits"]["chat_messages"]["current"].as_i64().unwrap();
    assert_eq!(
        current,
        psql_chat(db, org, &start, &end),
        "{org} {how:?}: usagectl and psql over [{start}, {end})"
    );
    (start, end, current)
}

fn set(db: &TestDb, org: &str, anchor: &str, zone: &str) {
    db.run(&[
        "org",
        "set",
        org,
        "--anchor-day",
        anchor,
        "--time-zone",
        zone,
        "--new-org",
    ])
    .assert_ok();
}

#[test]
fn anchor_31_falls_on_the_last_day_of_shorter_months_in_leap_and_other_years() {
    for path in READ_PATHS {
        let db = TestDb::migrated();
        set(&db, "a31", "31", "UTC");
        db.partitions_through("2028-07-01");
        db.read_path(path);
        let starts = [
            ("2027-01", "2027-01-31T00:00:00Z"),
            ("2027-02", "2027-02-28T00:00:00Z"),
            ("2027-03", "2027-03-31T00:00:00Z"),
            ("2027-04", "2027-04-30T00:00:00Z"),
            ("2027-05", "2027-05-31T00:00:00Z"),
            ("2027-06", "2027-06-30T00:00:00Z"),
            ("2028-01", "2028-01-31T00:00:00Z"),
            ("2028-02", "2028-02-29T00:00:00Z"),
            ("2028-03", "2028-03-31T00:00:00Z"),
            ("2028-04", "2028-04-30T00:00:00Z"),
            ("2028-05", "2028-05-31T00:00:00Z"),
            ("2028-06", "2028-06-30T00:00:00Z"),
        ];
        for (_, start) in starts {
            around(&db, "a31", t(start));
        }
        for w in starts.windows(2) {
            let ((month, start), (_, next)) = (w[0], w[1]);
            if month == "2027-06" {
                continue;
            }
            let (s, e, current) = limits_at(&db, "a31", &["--month", month]);
            assert_eq!((s.as_str(), e.as_str()), (start, next), "{path:?} {month}");
            // the 10 at the start are in, the 1 just before the end too
            assert_eq!(current, 11, "{path:?} {month}");
        }
    }
}

#[test]
fn new_york_periods_are_743_721_and_745_hours_across_dst() {
    for path in READ_PATHS {
        let db = TestDb::migrated();
        set(&db, "ny", "1", "America/New_York");
        set(&db, "ny15", "15", "America/New_York");
        db.read_path(path);
        // DST began 2026-03-08 and ended 2026-11-01 (at 02:00 local, after the period began)
        for b in [
            "2026-03-01T05:00:00Z",
            "2026-04-01T04:00:00Z",
            "2026-11-01T04:00:00Z",
            "2026-12-01T05:00:00Z",
        ] {
            around(&db, "ny", t(b));
        }
        for b in ["2026-10-15T04:00:00Z", "2026-11-15T05:00:00Z"] {
            around(&db, "ny15", t(b));
        }
        for (org, month, start, end, hours) in [
            (
                "ny",
                "2026-03",
                "2026-03-01T05:00:00Z",
                "2026-04-01T04:00:00Z",
                743,
            ),
            (
                "ny",
                "2026-11",
                "2026-11-01T04:00:00Z",
                "2026-12-01T05:00:00Z",
                721,
            ),
            (
                "ny15",
                "2026-10",
                "2026-10-15T04:00:00Z",
                "2026-11-15T05:00:00Z",
                745,
            ),
        ] {
            let (s, e, current) = limits_at(&db, org, &["--month", month]);
            assert_eq!((s.as_str(), e.as_str()), (start, end), "{path:?} {month}");
            assert_eq!((t(end) - t(start)).num_hours(), hours);
            assert_eq!(current, 11, "{path:?} {month}");
        }
        // --at names the period containing an instant; the local bounds are midnights
        let out = db.run(&[
            "limits",
            "--org",
            "ny",
            "--at",
            "2026-11-01T03:59:59.999999Z",
            "-o",
            "json",
        ]);
        let v = out.json();
        assert_eq!(v["period_start"], "2026-10-01T04:00:00Z");
        assert_eq!(v["period_local_start"], "2026-10-01T00:00:00");
        assert_eq!(v["period_local_end"], "2026-11-01T00:00:00");
        assert_eq!(v["time_zone"], "America/New_York");
        assert_eq!(v["anchor_day"], 1);
        assert_eq!(v["limits"]["chat_messages"]["current"], 1);
    }
}

#[test]
fn kathmandu_and_chatham_boundaries_fall_inside_utc_days() {
    for path in READ_PATHS {
        let db = TestDb::migrated();
        set(&db, "ktm", "10", "Asia/Kathmandu"); // +05:45
        set(&db, "cht", "10", "Pacific/Chatham"); // +13:45 in (southern) summer, +12:45 in winter
        db.read_path(path);
        let cases = [
            (
                "ktm",
                "2026-03",
                "2026-03-09T18:15:00Z",
                "2026-04-09T18:15:00Z",
            ),
            (
                "cht",
                "2026-01",
                "2026-01-09T10:15:00Z",
                "2026-02-09T10:15:00Z",
            ),
            // DST ended 2026-04-05: May 10 is at +12:45, April 10 already too
            (
                "cht",
                "2026-04",
                "2026-04-09T11:15:00Z",
                "2026-05-09T11:15:00Z",
            ),
        ];
        for (org, _, start, end) in cases {
            around(&db, org, t(start));
            around(&db, org, t(end));
            // and the whole UTC days between, for the rollup to answer
            insert(&db, org, "chat_message", 100, t(start) + Duration::days(3));
        }
        for (org, month, start, end) in cases {
            let (s, e, current) = limits_at(&db, org, &["--month", month]);
            assert_eq!(
                (s.as_str(), e.as_str()),
                (start, end),
                "{path:?} {org} {month}"
            );
            assert_eq!(current, 10 + 100 + 1, "{path:?} {org} {month}");
        }
    }
}

#[test]
fn a_santiago_period_starts_at_the_first_instant_after_the_midnight_gap() {
    let db = TestDb::migrated();
    // Chile's clocks jumped from 2026-09-06 00:00 -04 to 01:00 -03: local midnight never came
    set(&db, "scl", "6", "America/Santiago");
    around(&db, "scl", t("2026-09-06T04:00:00Z"));
    let out = db.run(&["limits", "--org", "scl", "--month", "2026-09", "-o", "json"]);
    let v = out.json();
    assert_eq!(v["period_start"], "2026-09-06T04:00:00Z");
    assert_eq!(v["period_local_start"], "2026-09-06T01:00:00");
    assert_eq!(v["period_end"], "2026-10-06T03:00:00Z");
    assert_eq!(v["limits"]["chat_messages"]["current"], 10);
    let (s, e, current) = limits_at(&db, "scl", &["--month", "2026-08"]);
    assert_eq!(
        (s.as_str(), e.as_str(), current),
        ("2026-08-06T04:00:00Z", "2026-09-06T04:00:00Z", 1)
    );
}

#[test]
fn a_change_for_an_org_with_events_waits_for_the_period_to_end() {
    let db = TestDb::migrated();
    let now = Utc::now();
    insert(&db, "acme", "chat_message", 1, now - Duration::seconds(5));
    let out = db.run(&[
        "org",
        "set",
        "acme",
        "--anchor-day",
        "15",
        "--time-zone",
        "America/New_York",
        "-o",
        "json",
    ]);
    out.assert_ok();
    let v = out.json();
    let month_end = usagectl::period::Month::containing(now).end;
    let month_end_s = usagectl::time::fmt_utc(&month_end);
    assert_eq!(v["pending"]["effective_from"], month_end_s.as_str());
    assert_eq!(v["pending"]["anchor_day"], 15);
    assert_eq!(v["anchor_day"], 1, "the current period keeps its settings");
    assert_eq!(v["time_zone"], "UTC");
    // the current period is the calendar month still, whole
    let (s, e, _) = limits_at(&db, "acme", &[]);
    assert_eq!(e, month_end_s);
    assert_eq!(
        s,
        usagectl::time::fmt_utc(&usagectl::period::Month::containing(now).start)
    );
    // the first period under the new settings runs from the change to the next 15th, NY
    insert(&db, "acme", "chat_message", 10, month_end);
    let (s2, e2, current) = limits_at(&db, "acme", &["--at", &month_end_s]);
    assert_eq!(s2, month_end_s);
    // local midnight on the 15th of the month the switch falls in (EST or EDT)
    assert!(
        e2.starts_with(&month_end.format("%Y-%m-15T0").to_string()),
        "{e2}"
    );
    assert_eq!(current, 10);
    // changing it again replaces the pending change; setting back what is in force drops it
    set(&db, "acme", "20", "America/New_York");
    let v = db.run(&["org", "show", "acme", "-o", "json"]).json();
    assert_eq!(v["pending"]["anchor_day"], 20);
    set(&db, "acme", "1", "UTC");
    let v = db.run(&["org", "show", "acme", "-o", "json"]).json();
    assert!(v["pending"].is_null(), "{v}");
    // an org without events takes its settings at once
    set(&db, "newco", "15", "America/New_York");
    let v = db.run(&["org", "show", "newco", "-o", "json"]).json();
    assert!(v["pending"].is_null());
    assert_eq!(v["anchor_day"], 15);
    assert_eq!(v["settings_source"], "set");
    let v = db.run(&["org", "show", "acme", "-o", "json"]).json();
    assert_eq!(v["settings_source"], "default", "{v}");
    // --tier assigns at once, as tier assign does
    db.run(&["org", "set", "newco", "--tier", "pilot", "--new-org"])
        .assert_ok();
    let v = db.run(&["org", "show", "newco", "-o", "json"]).json();
    assert_eq!(
        (v["tier"].as_str(), v["tier_source"].as_str()),
        (Some("pilot"), Some("assigned"))
    );
    assert_eq!(v["limits"]["chat_messages"]["limit"], 500);
}

#[test]
fn status_all_reads_each_org_in_its_own_period() {
    for path in READ_PATHS {
        let db = TestDb::migrated();
        set(&db, "ktm", "1", "Asia/Kathmandu");
        set(&db, "ny", "15", "America/New_York");
        db.read_path(path);
        // UTC calendar org, and the two others, with events around each of their bounds
        for (org, bounds) in [
            ("utc", ["2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"]),
            ("ktm", ["2026-02-28T18:15:00Z", "2026-03-31T18:15:00Z"]),
            ("ny", ["2026-03-15T04:00:00Z", "2026-04-15T04:00:00Z"]),
        ] {
            for b in bounds {
                around(&db, org, t(b));
            }
            insert(
                &db,
                org,
                "chat_message",
                30,
                t(bounds[0]) + Duration::days(5),
            );
        }
        let out = db.run(&[
            "status",
            "--all",
            "--at",
            "2026-03-20T00:00:00Z",
            "-o",
            "json",
        ]);
        // every org at 41 of trial's 50 chat messages: approaching_limit
        assert_eq!(out.code, 3, "{}", out.stderr);
        let v = out.json();
        let rows: BTreeMap<String, &serde_json::Value> = v["orgs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["org_id"].as_str().unwrap().to_string(), r))
            .collect();
        for (org, start, zone) in [
            ("utc", "2026-03-01T00:00:00Z", "UTC"),
            ("ktm", "2026-02-28T18:15:00Z", "Asia/Kathmandu"),
            ("ny", "2026-03-15T04:00:00Z", "America/New_York"),
        ] {
            let r = rows[org];
            assert_eq!(r["period_start"], start, "{path:?} {org}");
            assert_eq!(r["time_zone"], zone);
            assert_eq!(r["worst_metric"], "chat_messages");
            let (s, e) = (
                r["period_start"].as_str().unwrap(),
                r["period_end"].as_str().unwrap(),
            );
            assert_eq!(
                r["worst_current"].as_i64().unwrap(),
                psql_chat(&db, org, s, e)
            );
            assert_eq!(r["worst_current"], 10 + 30 + 1, "{path:?} {org}");
        }
    }
}

/// Start one `usagectl record --enforce` per `--at` instant at once; the exit codes per
/// instant.
fn race_at(db: &TestDb, org: &str, ats: &[String]) -> Vec<(String, i32)> {
    let children: Vec<_> = ats
        .iter()
        .map(|at| {
            let c = usagectl()
                .env("DATABASE_URL", &db.url)
                .args([
                    "record",
                    "--org",
                    org,
                    "--event",
                    "chat_message",
                    "--enforce",
                    "--at",
                    at,
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (at.clone(), c)
        })
        .collect();
    children
        .into_iter()
        .map(|(at, mut c)| (at, c.wait().unwrap().code().unwrap_or(-1)))
        .collect()
}

#[test]
fn racers_at_a_kathmandu_boundary_never_overshoot_or_cross_periods() {
    let db = TestDb::migrated();
    set(&db, "ktm", "1", "Asia/Kathmandu");
    // period A = [2026-09-30T18:15Z, 2026-10-31T18:15Z) holds 45 of trial's 50 messages
    let boundary = t("2026-10-31T18:15:00Z");
    insert(&db, "ktm", "chat_message", 45, boundary - Duration::days(2));
    let before = usagectl::time::fmt_utc(&(boundary - Duration::microseconds(1)));
    let at = usagectl::time::fmt_utc(&boundary);
    let ats: Vec<String> = (0..32)
        .map(|i| {
            if i % 2 == 0 {
                before.clone()
            } else {
                at.clone()
            }
        })
        .collect();
    let codes = race_at(&db, "ktm", &ats);
    let ok = |when: &str| codes.iter().filter(|(a, c)| a == when && *c == 0).count();
    let refused = codes.iter().filter(|(_, c)| *c == 4).count();
    assert_eq!(ok(&before), 5, "{codes:?}");
    assert_eq!(ok(&at), 16, "{codes:?}");
    assert_eq!(refused, 11);
    assert_eq!(
        psql_chat(&db, "ktm", "2026-09-30T18:15:00Z", "2026-10-31T18:15:00Z"),
        50
    );
    assert_eq!(
        psql_chat(&db, "ktm", "2026-10-31T18:15:00Z", "2026-11-30T18:15:00Z"),
        16
    );
    db.run(&["doctor"]).assert_ok();
}

#[test]
fn a_grant_lets_exactly_its_amount_through_under_racers_and_a_revoke_takes_it_back() {
    let db = TestDb::migrated();
    let now = Utc::now();
    insert(&db, "full", "chat_message", 50, now - Duration::seconds(30)); // trial: 50
    db.run(&[
        "record",
        "--org",
        "full",
        "--event",
        "chat_message",
        "--enforce",
    ])
    .assert_fails(4);
    let out = db.run(&[
        "grant",
        "add",
        "full",
        "chat_messages",
        "7",
        "--reason",
        "incident 4711",
        "-o",
        "json",
    ]);
    out.assert_ok();
    let g = out.json();
    assert_eq!(
        (g["limit_before"].as_i64(), g["limit_after"].as_i64()),
        (Some(50), Some(57))
    );
    let id = g["grant"]["id"].as_i64().unwrap().to_string();
    let ats: Vec<String> = (0..20).map(|_| usagectl::time::fmt_utc(&now)).collect();
    let codes = race_at(&db, "full", &ats);
    assert_eq!(
        codes.iter().filter(|(_, c)| *c == 0).count(),
        7,
        "{codes:?}"
    );
    assert_eq!(codes.iter().filter(|(_, c)| *c == 4).count(), 13);
    let v = db.run(&["limits", "--org", "full", "-o", "json"]).json();
    let chat = &v["limits"]["chat_messages"];
    assert_eq!(chat["limit"], 57);
    assert_eq!(chat["granted"], 7);
    assert_eq!(chat["limit_source"], "grant");
    assert_eq!(chat["current"], 57);
    // the grant is listed with who and why; a revoke is recorded, the row stays
    let list = db.run(&["grant", "list", "full", "-o", "json"]).json();
    assert_eq!(list["grants"][0]["reason"], "incident 4711");
    assert_eq!(list["grants"][0]["granted_by"], "postgres");
    db.run(&["grant", "revoke", &id, "--reason", "wrong org"])
        .assert_ok();
    db.run(&["grant", "revoke", &id, "--reason", "again"])
        .assert_fails(1);
    let v = db.run(&["limits", "--org", "full", "-o", "json"]).json();
    assert_eq!(v["limits"]["chat_messages"]["limit"], 50);
    assert_eq!(v["limits"]["chat_messages"]["limit_source"], "default_tier");
    let stored: i64 = db.scalar("SELECT count(*) FROM usagectl_grants");
    assert_eq!(stored, 1);
    let revoked: String =
        db.scalar("SELECT reason FROM usagectl_grant_revocations WHERE grant_id = 1");
    assert_eq!(revoked, "wrong org");
    // append-only: the table refuses an UPDATE and a DELETE
    let err = db
        .client()
        .batch_execute("DELETE FROM usagectl_grants")
        .unwrap_err();
    assert!(err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"));
}

#[test]
fn a_grant_for_another_period_or_an_unlimited_metric_changes_nothing_now() {
    let db = TestDb::migrated();
    insert(
        &db,
        "org1",
        "chat_message",
        50,
        Utc::now() - Duration::seconds(30),
    );
    db.run(&[
        "grant",
        "add",
        "org1",
        "chat_messages",
        "5",
        "--reason",
        "next month's launch",
        "--period",
        "next",
    ])
    .assert_ok();
    let v = db.run(&["limits", "--org", "org1", "-o", "json"]).json();
    assert_eq!(v["limits"]["chat_messages"]["limit"], 50);
    let next = v["period_end"].as_str().unwrap().to_string();
    let v = db
        .run(&["limits", "--org", "org1", "--at", &next, "-o", "json"])
        .json();
    assert_eq!(v["limits"]["chat_messages"]["limit"], 55);
    // the next period's grant is not this period's: only --all-periods lists it
    let now_list = db.run(&["grant", "list", "org1", "-o", "json"]).json();
    assert_eq!(
        now_list["grants"].as_array().unwrap().len(),
        0,
        "{now_list}"
    );
    let all = db
        .run(&["grant", "list", "--all-periods", "-o", "json"])
        .json();
    assert_eq!(all["grants"][0]["amount"], 5);
    assert_eq!(all["grants"][0]["period_start"], next.as_str());
    // an unlimited metric, a past period, a bad amount, no reason: exit 2, nothing stored
    db.run(&["tier", "assign", "org1", "subscription"])
        .assert_ok();
    let out = db.run(&[
        "grant",
        "add",
        "org1",
        "chat_messages",
        "5",
        "--reason",
        "x",
    ]);
    out.assert_fails(2);
    assert!(out.stderr.contains("unlimited"), "{}", out.stderr);
    db.run(&["tier", "assign", "org1", "trial"]).assert_ok();
    for bad in [
        &[
            "grant",
            "add",
            "org1",
            "chat_messages",
            "5",
            "--reason",
            "x",
            "--period",
            "2020-01-15T00:00:00Z",
        ][..],
        &[
            "grant",
            "add",
            "org1",
            "chat_messages",
            "0",
            "--reason",
            "x",
        ],
        &[
            "grant",
            "add",
            "org1",
            "chat_messages",
            "5",
            "--reason",
            " ",
        ],
        &["grant", "add", "org1", "export_pdf", "5", "--reason", "x"],
    ] {
        let out = db.run(bad);
        out.assert_fails(2);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    let stored: i64 = db.scalar("SELECT count(*) FROM usagectl_grants");
    assert_eq!(stored, 1);
}

#[test]
fn bad_settings_are_refused_with_suggestions_and_nothing_is_written() {
    let db = TestDb::migrated();
    for (args, needle) in [
        (
            &["org", "set", "o", "--new-org", "--time-zone", "New_York"][..],
            "America/New_York",
        ),
        (
            &[
                "org",
                "set",
                "o",
                "--new-org",
                "--time-zone",
                "Mars/Olympus",
            ],
            "IANA",
        ),
        (
            &["org", "set", "o", "--new-org", "--anchor-day", "32"],
            "1 to 31",
        ),
        (&["org", "set", "o", "--new-org"], "required"),
        (
            &["org", "set", "o", "--new-org", "--tier", "gold"],
            "unknown tier",
        ),
    ] {
        let out = db.run(args);
        out.assert_fails(2);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    let rows: i64 = db.scalar("SELECT count(*) FROM usagectl_org_settings");
    assert_eq!(rows, 0);
    // a case-insensitive name is stored as the database spells it
    set(&db, "o", "1", "europe/berlin");
    let zone: String = db.scalar("SELECT time_zone FROM usagectl_org_settings");
    assert_eq!(zone, "Europe/Berlin");
}

#[test]
fn a_batch_is_enforced_in_each_of_the_orgs_periods() {
    let db = TestDb::migrated();
    set(&db, "ny", "15", "America/New_York");
    // period [2026-10-15T04:00Z, 2026-11-15T05:00Z) holds 48 of 50
    insert(&db, "ny", "chat_message", 48, t("2026-11-01T00:00:00Z"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("batch.csv");
    // 2 at the end of the full period (fits: 50), 40 in the next one (fits)
    std::fs::write(
        &file,
        "org_id,event_type,quantity,created_at\n\
         ny,chat_message,2,2026-11-15T04:59:59.999999Z\n\
         ny,chat_message,40,2026-11-15T05:00:00Z\n",
    )
    .unwrap();
    db.run(&["record", "--file", file.to_str().unwrap(), "--enforce"])
        .assert_ok();
    assert_eq!(
        psql_chat(&db, "ny", "2026-10-15T04:00:00Z", "2026-11-15T05:00:00Z"),
        50
    );
    // one more in the full period refuses the whole org's batch
    std::fs::write(
        &file,
        "org_id,event_type,quantity,created_at\n\
         ny,chat_message,1,2026-11-15T04:59:59.999999Z\n\
         ny,chat_message,1,2026-11-16T00:00:00Z\n",
    )
    .unwrap();
    let out = db.run(&["record", "--file", file.to_str().unwrap(), "--enforce"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(
        psql_chat(&db, "ny", "2026-11-15T05:00:00Z", "2026-12-15T05:00:00Z"),
        40
    );
}

#[test]
fn export_billing_periods_writes_each_orgs_period_and_check_covers_it() {
    let db = TestDb::migrated();
    set(&db, "ktm", "1", "Asia/Kathmandu");
    set(&db, "ny", "15", "America/New_York");
    for (org, bounds) in [
        ("utc", ["2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"]),
        ("ktm", ["2026-02-28T18:15:00Z", "2026-03-31T18:15:00Z"]),
        ("ny", ["2026-03-15T04:00:00Z", "2026-04-15T04:00:00Z"]),
    ] {
        for b in bounds {
            around(&db, org, t(b));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("periods.csv");
    let out = db.run(&[
        "export",
        "--month",
        "2026-03",
        "--billing-periods",
        "--output",
        file.to_str().unwrap(),
    ]);
    out.assert_ok();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "month,org_id,tier,event_type,events,quantity,period_start,period_end,time_zone"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows,
        [
            "2026-03,ktm,trial,chat_message,2,11,2026-02-28T18:15:00Z,2026-03-31T18:15:00Z,Asia/Kathmandu",
            "2026-03,ny,trial,chat_message,2,11,2026-03-15T04:00:00Z,2026-04-15T04:00:00Z,America/New_York",
            "2026-03,utc,trial,chat_message,2,11,2026-03-01T00:00:00Z,2026-04-01T00:00:00Z,UTC",
        ]
    );
    for (org, s, e) in [
        ("ktm", "2026-02-28T18:15:00Z", "2026-03-31T18:15:00Z"),
        ("ny", "2026-03-15T04:00:00Z", "2026-04-15T04:00:00Z"),
    ] {
        assert_eq!(psql_chat(&db, org, s, e), 11);
    }
    let manifest = format!("{}.manifest.json", file.display());
    db.run(&["export", "--check", &manifest]).assert_ok();
    // a late event inside ny's period (but after the calendar month) is a change
    insert(&db, "ny", "chat_message", 5, t("2026-04-10T00:00:00Z"));
    let out = db.run(&["export", "--check", &manifest, "-o", "json"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["changes"][0]["org_id"], "ny");
    assert_eq!(v["changes"][0]["quantity_now"], 16);
    assert_eq!(v["changes"].as_array().unwrap().len(), 1);
}

/// The read path's answer for `orgs` (every org: `None`) and `types` (every type: `None`)
/// over `[start, end)`, every group (org, type, UTC day, model, events, quantity, first and
/// last instant), against psql's aggregate of the raw rows; panics with both sides on a
/// difference.
fn read_path_equals_raw(
    db: &TestDb,
    orgs: Option<&[&str]>,
    types: Option<&[&str]>,
    (start, end): (&str, &str),
    what: &str,
) {
    let array = |v: Option<&[&str]>| match v {
        Some(v) => format!(
            "ARRAY[{}]",
            v.iter()
                .map(|o| format!("'{o}'"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => "NULL::text[]".into(),
    };
    let (o, ty) = (array(orgs), array(types));
    let rows = |sql: &str| -> Vec<String> {
        let mut v: Vec<String> = psql(&db.url, sql).lines().map(str::to_string).collect();
        v.sort();
        v
    };
    let ours = rows(&format!(
        "SELECT org_id, event_type, day, model, events, quantity, first_event, last_event
         FROM usagectl_usage_by_model({o}, {ty}, '{start}', '{end}')"
    ));
    let raw = rows(&format!(
        "SELECT org_id, event_type, (created_at AT TIME ZONE 'UTC')::date, usagectl_model_key(event_type, metadata),
                count(*), sum(quantity), min(created_at), max(created_at)
         FROM usage_events WHERE ({o} IS NULL OR org_id = ANY ({o})) AND ({ty} IS NULL OR event_type = ANY ({ty}))
           AND created_at >= '{start}' AND created_at < '{end}'
         GROUP BY 1, 2, 3, 4"
    ));
    assert!(!raw.is_empty(), "{what}: the test window holds events");
    assert_eq!(
        ours, raw,
        "{what}: read path vs psql for {o} {ty} over [{start}, {end})"
    );
}

#[test]
fn the_boundary_rollup_stays_exact_through_registration_folds_and_corrections() {
    let db = TestDb::migrated();
    set(&db, "ktm", "10", "Asia/Kathmandu");
    set(&db, "ktm2", "10", "Asia/Kathmandu");
    // the March period of both: [2026-03-09T18:15Z, 2026-04-09T18:15Z)
    let (start, end) = ("2026-03-09T18:15:00Z", "2026-04-09T18:15:00Z");
    let us = Duration::microseconds(1);
    let c = &mut db.client();
    let tokens = |org: &str, model: &str, q: i32, at: DateTime<Utc>| {
        db.client()
            .execute(
                "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at)
                 VALUES ($1, 'ai_tokens_input', $2, jsonb_build_object('model', $3::text), $4)",
                &[&org, &q, &model, &at],
            )
            .unwrap();
    };
    // rows on both sides of both boundaries, at the boundaries' days' first and last
    // microseconds, and whole days between
    for org in ["ktm", "ktm2"] {
        for b in [t(start), t(end)] {
            let day = b.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
            for (q, at) in [
                (1, day),
                (2, b - us),
                (4, b),
                (8, b + us),
                (16, day + Duration::days(1) - us),
            ] {
                insert(&db, org, "chat_message", q, at);
                tokens(org, "m1", q * 100, at);
            }
            tokens(org, "m2", 3, b);
        }
        insert(&db, org, "chat_message", 32, t("2026-03-20T12:00:00Z"));
    }
    db.fold();
    // registering counts the rows already there
    assert!(db.register_boundaries() > 0);
    assert_eq!(
        db.register_boundaries(),
        0,
        "registering twice adds nothing"
    );
    let sides: i64 = db.scalar(
        "SELECT count(*) FROM usagectl_rollup
          WHERE bucket IN ('2026-03-09T00:00:00Z', '2026-03-09T18:15:00Z') AND org_id = 'ktm'",
    );
    // before: chat and m1 tokens; from the boundary on: chat, m1 and m2 tokens
    assert_eq!(sides, 5);
    assert_eq!(db.scalar::<i64>(ROLLUP_DISAGREEMENTS), 0);
    // ktm3 takes the same settings after the registration: its March boundaries are read
    // raw (`org set` registers the months around now only); utc1 has none
    set(&db, "ktm3", "10", "Asia/Kathmandu");
    let registered: i64 = db.scalar(&format!(
        "SELECT count(*) FROM usagectl_boundaries WHERE org_id = 'ktm3' AND boundary = '{start}'"
    ));
    assert_eq!(registered, 0);
    for org in ["ktm3", "utc1"] {
        for b in [t(start), t(end)] {
            for (q, at) in [(2, b - us), (4, b), (8, b + us)] {
                insert(&db, org, "chat_message", q, at);
                tokens(org, "m1", q * 100, at);
            }
        }
    }
    db.fold();
    // the period, and windows with only one end at a registered boundary
    let windows = [
        (start, end),
        (start, "2026-03-20T06:00:00Z"),
        ("2026-03-05T06:00:00Z", end),
    ];
    let check = |what: &str| {
        for w in windows {
            read_path_equals_raw(&db, Some(&["ktm"]), None, w, what);
            read_path_equals_raw(&db, Some(&["ktm", "ktm2"]), None, w, what);
            read_path_equals_raw(&db, Some(&["ktm", "ktm3", "utc1"]), None, w, what);
            read_path_equals_raw(&db, None, None, w, what);
            read_path_equals_raw(&db, None, Some(&["chat_message"]), w, what);
            read_path_equals_raw(
                &db,
                Some(&["ktm", "ktm3"]),
                Some(&["ai_tokens_input"]),
                w,
                what,
            );
        }
        let (_, _, current) = limits_at(&db, "ktm", &["--month", "2026-03"]);
        assert_eq!(current, psql_chat(&db, "ktm", start, end), "{what}");
        for month in ["2026-03", "2026-04"] {
            let out = db.run(&["doctor", "--month", month, "-o", "json"]);
            assert_eq!(out.code, 0, "{what}: doctor {month}: {}", out.stdout);
        }
        assert_eq!(db.scalar::<i64>(ROLLUP_DISAGREEMENTS), 0, "{what}");
    };
    check("registered over folded rows");
    // new rows at the boundaries, first unfolded, then folded
    for org in ["ktm", "ktm2"] {
        insert(&db, org, "chat_message", 64, t(start));
        insert(&db, org, "chat_message", 128, t(end) - us);
        tokens(org, "m3", 5, t(start) + us);
    }
    check("unfolded rows at the boundaries");
    assert!(db.fold() > 0);
    check("folded rows at the boundaries");
    // corrections of folded rows, each checked on its own: quantity, across the boundary
    // (both ways), into a boundary's day from another day, to another org and another
    // model, and deletes
    for (sql, what) in [
        (
            format!("UPDATE usage_events SET quantity = quantity + 1000 WHERE org_id = 'ktm' AND created_at = '{start}' AND event_type = 'chat_message'"),
            "quantity",
        ),
        (
            "UPDATE usage_events SET created_at = created_at + interval '2 microseconds' WHERE org_id = 'ktm' AND quantity = 2".into(),
            "forward across the boundary",
        ),
        (
            "UPDATE usage_events SET created_at = created_at - interval '2 microseconds' WHERE org_id = 'ktm' AND quantity = 8 AND event_type = 'chat_message'".into(),
            "back across the boundary",
        ),
        (
            format!("UPDATE usage_events SET created_at = '{start}'::timestamptz + interval '3 microseconds' WHERE org_id = 'ktm' AND quantity = 32"),
            "into the boundary's day",
        ),
        (
            "UPDATE usage_events SET org_id = 'ktm2' WHERE org_id = 'ktm' AND quantity = 16".into(),
            "to another org",
        ),
        (
            "UPDATE usage_events SET metadata = jsonb_build_object('model', 'm9') WHERE org_id = 'ktm2' AND metadata ->> 'model' = 'm2'".into(),
            "to another model",
        ),
        (
            "DELETE FROM usage_events WHERE org_id = 'ktm2' AND quantity = 4".into(),
            "delete",
        ),
    ] {
        assert!(c.execute(sql.as_str(), &[]).unwrap() > 0, "{what}");
        check(what);
    }
    // corrections of rows the fold has not reached
    insert(&db, "ktm", "chat_message", 256, t(start) + us);
    c.batch_execute(&format!(
        "UPDATE usage_events SET created_at = '{start}'::timestamptz - interval '1 microsecond' WHERE quantity = 256"
    ))
    .unwrap();
    check("after a correction of an unfolded row");
    db.fold();
    check("folded again");
    // a TRUNCATE empties both sides; the boundaries stay registered
    c.batch_execute("TRUNCATE usage_events").unwrap();
    let left: i64 = db.scalar("SELECT count(*) FROM usagectl_rollup");
    assert_eq!(left, 0);
    insert(&db, "ktm", "chat_message", 7, t(start));
    insert(&db, "ktm", "chat_message", 9, t(start) - us);
    tokens("ktm3", "m1", 11, t(start));
    db.fold();
    check("after a truncate and new rows");
    // a side that drifts is found by doctor and recounted by --repair
    c.batch_execute(&format!(
        "UPDATE usagectl_rollup SET quantity = quantity + 1 WHERE org_id = 'ktm' AND bucket = '{start}'"
    ))
    .unwrap();
    let out = db.run(&["limits", "--org", "ktm", "--month", "2026-03", "-o", "json"]);
    assert_eq!(
        out.json()["limits"]["chat_messages"]["current"],
        psql_chat(&db, "ktm", start, end) + 1,
        "the read path reads the side"
    );
    let out = db.run(&["doctor", "--month", "2026-03", "-o", "json"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    let drift = &out.json()["drift"];
    assert_eq!(drift.as_array().unwrap().len(), 1, "{drift}");
    assert_eq!(drift[0]["bucket"], start);
    let out = db.run(&["doctor", "--month", "2026-03", "--repair"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("from the boundary 2026-03-09T18:15:00Z"),
        "{}",
        out.stdout
    );
    check("after --repair");

    // doctor says how far the registered boundaries reach, and a switched-off trigger
    let v = db.run(&["doctor", "-o", "json"]).json();
    let (status, text) = doctor_check(&v, "period boundaries");
    assert_eq!(status, "info");
    assert!(text.contains("every org's current period"), "{text}");
    c.batch_execute(
        "DELETE FROM usagectl_boundaries WHERE org_id = 'ktm3' AND boundary = (SELECT period_start FROM usagectl_period('ktm3', now()));
         ALTER TABLE usage_events DISABLE TRIGGER usagectl_rollup_delete;",
    )
    .unwrap();
    let out = db.run(&["doctor", "-o", "json"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    let v = out.json();
    let (_, text) = doctor_check(&v, "period boundaries");
    assert!(
        text.contains("1 org(s) have a current period boundary not registered"),
        "{text}"
    );
    let (status, text) = doctor_check(&v, "functions and triggers");
    assert_eq!(status, "problem");
    assert!(
        text.contains("trigger usagectl_rollup_delete on usage_events disabled"),
        "{text}"
    );
    // maintain registers the missing boundary (and says so), and doctor agrees again
    c.batch_execute("ALTER TABLE usage_events ENABLE TRIGGER usagectl_rollup_delete")
        .unwrap();
    let m = db.run(&["maintain", "-o", "json"]);
    m.assert_ok();
    assert_eq!(m.json()["registered_boundaries"], 1, "{}", m.stdout);
    let out = db.run(&["doctor", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let (_, text) = doctor_check(&out.json(), "period boundaries");
    assert!(text.contains("every org's current period"), "{text}");
}

#[test]
fn audit_columns_name_the_os_user_from_the_password_database_without_user_set() {
    // cron, systemd and containers run without $USER or $LOGNAME: the audit columns must
    // still say who ran the command, as `record --adjust` and the connection defaults do
    let want = usagectl::db::conninfo::os_user_name().expect("this process has an OS user");
    let db = TestDb::migrated();
    insert(
        &db,
        "org1",
        "chat_message",
        1,
        Utc::now() - Duration::seconds(30),
    );
    let bare = |args: &[&str]| {
        run(usagectl()
            .env("DATABASE_URL", &db.url)
            .env_remove("USER")
            .env_remove("LOGNAME")
            .args(args))
    };
    bare(&[
        "grant",
        "add",
        "org1",
        "chat_messages",
        "5",
        "--reason",
        "launch week",
    ])
    .assert_ok();
    bare(&["org", "set", "org1", "--anchor-day", "15"]).assert_ok();
    let granted: Option<String> = db.scalar("SELECT granted_by_os FROM usagectl_grants");
    assert_eq!(granted.as_deref(), Some(want.as_str()));
    let set: Option<String> =
        db.scalar("SELECT set_by_os FROM usagectl_org_settings ORDER BY set_at DESC LIMIT 1");
    assert_eq!(set.as_deref(), Some(want.as_str()));
}

/// A change of settings in the org's past, as `org set` leaves it once the period it was
/// made in has ended: `first` in force for all periods, `then` from `from` on.
fn changed(db: &TestDb, org: &str, first: (&str, &str), from: &str, then: (i16, &str)) {
    set(db, org, first.0, first.1);
    db.client()
        .execute(
            "INSERT INTO usagectl_org_settings (org_id, effective_from, anchor_day, time_zone)
             VALUES ($1, $2, $3, $4)",
            &[&org, &t(from), &then.0, &then.1],
        )
        .unwrap();
}

/// The org's billing-period blocks of `export --month M --billing-periods` for each of
/// `months`: (month, period_start, period_end) -> events.
fn blocks(db: &TestDb, org: &str, months: &[&str]) -> BTreeMap<(String, String, String), i64> {
    let mut out = BTreeMap::new();
    for month in months {
        let run = db.run(&[
            "export",
            "--month",
            month,
            "--billing-periods",
            "--org",
            org,
            "-o",
            "json",
        ]);
        run.assert_ok();
        for row in run.json().as_array().unwrap() {
            assert_eq!(row["month"], *month);
            let key = (
                month.to_string(),
                row["period_start"].as_str().unwrap().to_string(),
                row["period_end"].as_str().unwrap().to_string(),
            );
            *out.entry(key).or_default() += row["events"].as_i64().unwrap();
        }
    }
    out
}

/// (org, first settings, switch, new settings, every boundary from 2025-08 to 2026-01)
type ChangeCase = (
    &'static str,
    (&'static str, &'static str),
    &'static str,
    (i16, &'static str),
    &'static [&'static str],
);

/// A settings change in each direction (anchor 31 -> 1, 1 -> 31) and a change of zone each
/// way, with events on every boundary and inside the short first period under the new
/// settings: the blocks of consecutive months never overlap, leave no gap, and together
/// hold every event psql counts for the org, each once.
#[test]
fn export_billing_periods_of_consecutive_months_hold_every_event_once_across_a_change() {
    let db = TestDb::migrated();
    let cases: [ChangeCase; 4] = [
        (
            "a31to1",
            ("31", "UTC"),
            "2025-10-31T00:00:00Z",
            (1, "UTC"),
            &[
                "2025-08-31T00:00:00Z",
                "2025-09-30T00:00:00Z",
                "2025-10-31T00:00:00Z",
                "2025-11-01T00:00:00Z",
                "2025-12-01T00:00:00Z",
                "2026-01-01T00:00:00Z",
            ],
        ),
        (
            "a1to31",
            ("1", "UTC"),
            "2025-11-01T00:00:00Z",
            (31, "UTC"),
            &[
                "2025-09-01T00:00:00Z",
                "2025-10-01T00:00:00Z",
                "2025-11-01T00:00:00Z",
                "2025-11-30T00:00:00Z",
                "2025-12-31T00:00:00Z",
            ],
        ),
        (
            "utc-to-ny",
            ("1", "UTC"),
            "2025-11-01T00:00:00Z",
            (15, "America/New_York"),
            &[
                "2025-09-01T00:00:00Z",
                "2025-10-01T00:00:00Z",
                "2025-11-01T00:00:00Z",
                "2025-11-15T05:00:00Z",
                "2025-12-15T05:00:00Z",
            ],
        ),
        (
            "ny-to-utc",
            ("15", "America/New_York"),
            "2025-10-15T04:00:00Z",
            (1, "UTC"),
            &[
                "2025-08-15T04:00:00Z",
                "2025-09-15T04:00:00Z",
                "2025-10-15T04:00:00Z",
                "2025-11-01T00:00:00Z",
                "2025-12-01T00:00:00Z",
            ],
        ),
    ];
    let months = [
        "2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02",
    ];
    for (org, first, from, then, boundaries) in cases {
        changed(&db, org, first, from, then);
        for (i, b) in boundaries.iter().enumerate() {
            around(&db, org, t(b));
            // and one inside each period, the short one after the switch included
            if let Some(next) = boundaries.get(i + 1) {
                let mid = t(b) + (t(next) - t(b)) / 2;
                insert(&db, org, "csv_upload", 1, mid);
            }
        }
        let blocks = blocks(&db, org, &months);
        let total: i64 = blocks.values().sum();
        let psql_count: i64 = psql(
            &db.url,
            &format!("SELECT count(*) FROM usage_events WHERE org_id = '{org}'"),
        )
        .trim()
        .parse()
        .unwrap();
        assert_eq!(total, psql_count, "{org}: {blocks:#?}");
        // the periods follow one another without gap or overlap, each in one month only
        let periods: Vec<_> = blocks.keys().map(|(_, s, e)| (t(s), t(e))).collect();
        let mut sorted = periods.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), periods.len(), "{org}: a period in two months");
        for w in sorted.windows(2) {
            assert_eq!(w[0].1, w[1].0, "{org}: {blocks:#?}");
        }
        // the switch starts a period of its own
        assert!(sorted.iter().any(|p| p.0 == t(from)), "{org}: {blocks:#?}");
    }
    // the rule: a period belongs to the month its local start falls in (in the zone it
    // was cut with); the short New York period starts on Oct 31 at 20:00 local time
    let ny = blocks(&db, "utc-to-ny", &["2025-10", "2025-11"]);
    let keys: Vec<_> = ny
        .keys()
        .map(|(m, s, e)| (m.as_str(), s.as_str(), e.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("2025-10", "2025-10-01T00:00:00Z", "2025-11-01T00:00:00Z"),
            ("2025-10", "2025-11-01T00:00:00Z", "2025-11-15T05:00:00Z"),
            ("2025-11", "2025-11-15T05:00:00Z", "2025-12-15T05:00:00Z"),
        ]
    );
    // --check tells the two October blocks apart: a late event in the short one is one
    // change, of that period
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("oct.csv");
    let file = file.to_str().unwrap();
    db.run(&[
        "export",
        "--month",
        "2025-10",
        "--billing-periods",
        "--org",
        "utc-to-ny",
        "--output",
        file,
    ])
    .assert_ok();
    let manifest = format!("{file}.manifest.json");
    db.run(&["export", "--check", &manifest]).assert_ok();
    insert(&db, "utc-to-ny", "csv_upload", 1, t("2025-11-10T00:00:00Z"));
    let out = db.run(&["export", "--check", &manifest, "-o", "json"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let changes = out.json()["changes"].as_array().unwrap().clone();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["period_start"], "2025-11-01T00:00:00Z");
    assert_eq!(
        (
            changes[0]["events_then"].as_i64(),
            changes[0]["events_now"].as_i64()
        ),
        (Some(1), Some(2))
    );
}

/// (org, --month or --at, period, period_start, period_end, the other period on stderr)
type PickCase = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

/// `limits`/`status --month` take their period by the export's rule (the month its local
/// start falls in), show the longest when a change of settings starts two in one month and
/// name the other on stderr; every period's label is its local start date.
#[test]
fn month_picks_by_the_same_rule_and_every_label_is_the_local_start_date() {
    let db = TestDb::migrated();
    changed(
        &db,
        "ny",
        ("1", "UTC"),
        "2025-11-01T00:00:00Z",
        (15, "America/New_York"),
    );
    changed(
        &db,
        "l31",
        ("1", "UTC"),
        "2025-11-01T00:00:00Z",
        (31, "UTC"),
    );
    for org in ["ny", "l31"] {
        insert(&db, org, "chat_message", 1, t("2025-11-05T00:00:00Z"));
    }
    let cases: [PickCase; 6] = [
        (
            "ny",
            &["--at", "2025-11-05T00:00:00Z"],
            "2025-10-31",
            "2025-11-01T00:00:00Z",
            "2025-11-15T05:00:00Z",
            None,
        ),
        (
            "ny",
            &["--month", "2025-10"],
            "2025-10-01",
            "2025-10-01T00:00:00Z",
            "2025-11-01T00:00:00Z",
            Some("--at 2025-11-01T00:00:00Z"),
        ),
        (
            "ny",
            &["--month", "2025-11"],
            "2025-11-15",
            "2025-11-15T05:00:00Z",
            "2025-12-15T05:00:00Z",
            None,
        ),
        (
            "l31",
            &["--month", "2025-11"],
            "2025-11-30",
            "2025-11-30T00:00:00Z",
            "2025-12-31T00:00:00Z",
            Some("--at 2025-11-01T00:00:00Z"),
        ),
        (
            "l31",
            &["--at", "2025-11-05T00:00:00Z"],
            "2025-11-01",
            "2025-11-01T00:00:00Z",
            "2025-11-30T00:00:00Z",
            None,
        ),
        (
            "l31",
            &["--month", "2025-10"],
            "2025-10-01",
            "2025-10-01T00:00:00Z",
            "2025-11-01T00:00:00Z",
            None,
        ),
    ];
    for (org, how, label, start, end, other) in cases {
        for cmd in ["limits", "status"] {
            let mut args = vec![cmd, "--org", org, "-o", "json"];
            args.extend_from_slice(how);
            let out = db.run(&args);
            assert!(out.code == 0 || cmd == "status", "{}", out.stderr);
            let v = out.json();
            assert_eq!(
                (
                    v["period"].as_str(),
                    v["period_start"].as_str(),
                    v["period_end"].as_str()
                ),
                (Some(label), Some(start), Some(end)),
                "{cmd} {org} {how:?}"
            );
            assert_eq!(
                v["period_local_start"].as_str().unwrap()[..10],
                *label,
                "{cmd} {org} {how:?}"
            );
            match other {
                Some(at) => assert!(
                    out.stderr.contains(at),
                    "{cmd} {org} {how:?}: {}",
                    out.stderr
                ),
                None => assert!(out.stderr.is_empty(), "{cmd} {org} {how:?}: {}", out.stderr),
            }
        }
    }
    // the one-day period after anchor 31 -> 1 in UTC is no calendar month, in any output
    changed(
        &db,
        "a31",
        ("31", "UTC"),
        "2025-10-31T00:00:00Z",
        (1, "UTC"),
    );
    let at = ["--at", "2025-10-31T12:00:00Z"];
    let v = db
        .run(&["limits", "--org", "a31", "-o", "json", at[0], at[1]])
        .json();
    assert_eq!(v["period"], "2025-10-31");
    let out = db.run(&["limits", "--org", "a31", at[0], at[1]]);
    assert!(
        out.stdout
            .contains("\nperiod [2025-10-31T00:00:00Z, 2025-11-01T00:00:00Z) UTC\n"),
        "{}",
        out.stdout
    );
    // status --all reads each org in the period --month names for it
    let v = db
        .run(&["status", "--all", "--month", "2025-11", "-o", "json"])
        .json();
    let starts: BTreeMap<&str, &str> = v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["org_id"].as_str().unwrap(),
                r["period_start"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(starts["ny"], "2025-11-15T05:00:00Z");
    assert_eq!(starts["l31"], "2025-11-30T00:00:00Z");
}

/// The recount protocol: a boundary registered while a fold is under way waits for it (the
/// watermark row), so the rows that fold counts into a day before the cut are counted
/// again under the cut. The fold is paused on a rollup row the test holds (data, not a
/// sleep, orders the steps).
#[test]
fn a_registration_waits_for_a_fold_under_way_and_counts_its_rows_in_the_new_buckets() {
    let db = TestDb::migrated();
    // ktm's period starts at 18:15 UTC on 2026-03-09 (anchor 10, +05:45); not registered yet
    db.client()
        .batch_execute(
            "INSERT INTO usagectl_org_settings (org_id, effective_from, anchor_day, time_zone)
             VALUES ('ktm', '-infinity', 10, 'Asia/Kathmandu');
             INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES
               ('ktm', 'chat_message', 1, '2026-03-09T10:00:00Z'),
               ('ktm', 'chat_message', 2, '2026-03-09T20:00:00Z'),
               ('zzz', 'chat_message', 4, '2026-03-09T12:00:00Z')",
        )
        .unwrap();
    db.fold();
    // unfolded: a new key for ktm after the boundary, and a row of zzz whose rollup row the
    // test holds, so the fold stops there with ktm's row counted (keys in order)
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES
               ('ktm', 'csv_upload', 8, '2026-03-09T21:00:00Z'),
               ('zzz', 'chat_message', 16, '2026-03-09T13:00:00Z')",
        )
        .unwrap();
    let mut holder = db.client();
    let mut hold = holder.transaction().unwrap();
    hold.execute(
        "SELECT 1 FROM usagectl_rollup WHERE org_id = 'zzz' FOR UPDATE",
        &[],
    )
    .unwrap();
    let waiting = |app: &str| -> bool {
        db.scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                             WHERE application_name = '{app}' AND wait_event_type = 'Lock')"
        ))
    };
    let spawn = |app: &'static str, sql: &'static str| {
        let url = db.url.clone();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute(&format!("SET application_name = '{app}'"))
                .unwrap();
            c.batch_execute(sql).unwrap();
        })
    };
    let fold = spawn("t-fold", "SELECT usagectl_fold()");
    while !waiting("t-fold") {
        assert!(!fold.is_finished(), "the fold stops at the held row");
        std::thread::yield_now();
    }
    let register = spawn(
        "t-register",
        "SELECT usagectl_register_boundaries('ktm', '2026-03-01', '2026-03-31')",
    );
    // it waits for the fold (or, were it not to, it finishes first)
    while !waiting("t-register") && !register.is_finished() {
        std::thread::yield_now();
    }
    hold.commit().unwrap();
    fold.join().unwrap();
    register.join().unwrap();
    let registered: i64 = db.scalar(
        "SELECT count(*) FROM usagectl_boundaries WHERE org_id = 'ktm' AND boundary = '2026-03-09T18:15:00Z'",
    );
    assert_eq!(registered, 1);
    assert_eq!(db.scalar::<i64>(ROLLUP_DISAGREEMENTS), 0);
    read_path_equals_raw(
        &db,
        Some(&["ktm"]),
        None,
        ("2026-03-09T18:15:00Z", "2026-04-09T18:15:00Z"),
        "after the registration",
    );
}
