//! Stripe metered billing (issue 16) against a real PostgreSQL and a fake Stripe on
//! 127.0.0.1 that behaves as Stripe documents its Billing Meter endpoints.
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::fake_stripe::{Event, FakeStripe, Inject};
use crate::support::*;

const KEY: &str = "sk_test_51FakeKeyForTests0000abcd";

struct Setup {
    db: TestDb,
    fake: FakeStripe,
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn days_ago(n: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(n)
}

impl Setup {
    /// acme -> cus_A, globex -> cus_B; ai_tokens (input + output) -> "ai_tokens",
    /// chat_message -> "chat", both pushed from 10 days ago.
    fn new() -> Setup {
        let db = TestDb::migrated();
        let fake = FakeStripe::start(
            KEY,
            &[("mtr_ai", "ai_tokens"), ("mtr_chat", "chat")],
            &["cus_A", "cus_B"],
        );
        db.run(&[
            "org",
            "set",
            "acme",
            "--stripe-customer",
            "cus_A",
            "--new-org",
        ])
        .assert_ok();
        db.run(&[
            "org",
            "set",
            "globex",
            "--stripe-customer",
            "cus_B",
            "--new-org",
        ])
        .assert_ok();
        let from = days_ago(10).date_naive().to_string();
        db.run(&[
            "stripe",
            "meter",
            "add",
            "ai_tokens",
            "--event-name",
            "ai_tokens",
            "--meter-id",
            "mtr_ai",
            "--from",
            &from,
        ])
        .assert_ok();
        db.run(&[
            "stripe",
            "meter",
            "add",
            "chat_message",
            "--event-name",
            "chat",
            "--meter-id",
            "mtr_chat",
            "--from",
            &from,
        ])
        .assert_ok();
        Setup { db, fake }
    }

    fn stripe(&self, args: &[&str]) -> Run {
        let mut a = vec!["stripe"];
        a.extend_from_slice(args);
        run(usagectl()
            .env("DATABASE_URL", &self.db.url)
            .env("STRIPE_API_KEY", KEY)
            .env("STRIPE_API_BASE", self.fake.base())
            .args(&a))
    }

    fn push(&self) -> Run {
        self.stripe(&["push", "-o", "json"])
    }

    fn insert(&self, org: &str, event_type: &str, quantity: i32, at: DateTime<Utc>) {
        self.db
            .client()
            .execute(
                "INSERT INTO usage_events (org_id, event_type, quantity, created_at) VALUES ($1, $2, $3, $4)",
                &[&org, &event_type, &quantity, &at],
            )
            .unwrap();
    }

    /// psql's sums per (customer, event name, day) since the meters' first day.
    fn psql_sums(&self) -> BTreeMap<(String, String, String), i64> {
        let from = days_ago(10).date_naive();
        let out = psql(
            &self.db.url,
            &format!(
                "SELECT CASE org_id WHEN 'acme' THEN 'cus_A' ELSE 'cus_B' END,
                        CASE WHEN event_type = 'chat_message' THEN 'chat' ELSE 'ai_tokens' END,
                        (created_at AT TIME ZONE 'UTC')::date, sum(quantity)
                   FROM usage_events
                  WHERE org_id IN ('acme', 'globex') AND created_at >= '{from}'::date AT TIME ZONE 'UTC'
                    AND event_type IN ('chat_message', 'ai_tokens_input', 'ai_tokens_output')
                  GROUP BY 1, 2, 3 HAVING sum(quantity) <> 0"
            ),
        );
        out.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('|').collect();
                (
                    (f[0].into(), f[1].into(), f[2].into()),
                    f[3].parse().unwrap(),
                )
            })
            .collect()
    }

    fn meter_event_posts(&self) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| r.0 == "POST")
            .count()
    }
}

#[test]
fn stripe_holds_exactly_the_usage_after_new_late_and_corrected_events() {
    let s = Setup::new();
    s.insert("acme", "ai_tokens_input", 1000, days_ago(3));
    s.insert("acme", "ai_tokens_output", 250, days_ago(3));
    s.insert("acme", "chat_message", 4, days_ago(2));
    s.insert("globex", "chat_message", 7, days_ago(1));
    s.insert("acme", "chat_message", 1, days_ago(20)); // before the meters' first day
    let out = s.push();
    out.assert_ok();
    assert_eq!(out.json()["mode"], "test");
    assert_eq!(s.fake.sums(), s.psql_sums());
    assert_eq!(s.meter_event_posts(), 3);
    // new events today, a late one for three days ago, a correction two days ago
    s.insert("acme", "chat_message", 2, Utc::now());
    s.insert("acme", "ai_tokens_output", 50, days_ago(3));
    s.db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--quantity",
        "-3",
        "--adjust",
        "--reason",
        "double-counted",
        "--at",
        &rfc(days_ago(2)),
    ])
    .assert_ok();
    let out = s.push();
    out.assert_ok();
    let v = out.json();
    let revs = v["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 3, "{v}");
    let corr = revs
        .iter()
        .find(|r| r["value"] == -3)
        .expect("the decrease is a negative event");
    assert_eq!(corr["revision"], 2);
    assert_eq!(corr["status"], "sent");
    assert_eq!(s.fake.sums(), s.psql_sums());
    // every request pinned the API version and used its identifier as Idempotency-Key
    let ids: Vec<String> = s
        .fake
        .events()
        .iter()
        .map(|e| e.identifier.clone())
        .collect();
    for r in s.fake.requests().iter().filter(|r| r.0 == "POST") {
        assert_eq!(r.3, "2024-06-20");
        assert!(ids.contains(&r.2), "{r:?}");
    }
    // ten pushes in a row send nothing new
    let before = s.fake.requests().len();
    for _ in 0..10 {
        let out = s.push();
        out.assert_ok();
        assert_eq!(out.json()["revisions"], serde_json::json!([]));
    }
    assert_eq!(s.fake.requests().len(), before);
    // an earlier --through reads today in part: never a decrease from that
    let earlier = rfc(Utc::now() - chrono::Duration::minutes(5));
    let out = s.stripe(&["push", "--through", &earlier, "-o", "json"]);
    out.assert_ok();
    assert_eq!(out.json()["revisions"], serde_json::json!([]));
    assert_eq!(s.fake.requests().len(), before);
    // the ledger says the same as Stripe
    let sent: i64 =
        s.db.scalar("SELECT sum(value)::bigint FROM usagectl_stripe_ledger WHERE status = 'sent'");
    assert_eq!(sent, s.fake.events().iter().map(|e| e.value).sum::<i64>());
    s.stripe(&["reconcile"]).assert_ok();
}

#[test]
fn a_push_killed_after_the_request_is_completed_by_the_next_without_a_duplicate() {
    let s = Setup::new();
    s.insert("acme", "chat_message", 5, days_ago(1));
    s.fake
        .inject(&[Inject::RecordThenHang(Duration::from_secs(30))]);
    let mut child = usagectl()
        .env("DATABASE_URL", &s.db.url)
        .env("STRIPE_API_KEY", KEY)
        .env("STRIPE_API_BASE", s.fake.base())
        .args(["stripe", "push", "--org", "acme"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let waited = std::time::Instant::now();
    while s.fake.events().is_empty() {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the push never reached the fake"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let pending: i64 =
        s.db.scalar("SELECT count(*) FROM usagectl_stripe_ledger WHERE status = 'pending'");
    assert_eq!(
        pending, 1,
        "killed between Stripe's answer and the ledger update"
    );
    // the next push sees the claim's session gone and sends the same revision again
    let waited = std::time::Instant::now();
    let out = loop {
        let out = s.stripe(&["push", "--org", "acme", "-o", "json"]);
        if out.json()["busy"].as_array().unwrap().is_empty() {
            break out;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the dead push's claim was never freed"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    out.assert_ok();
    assert_eq!(out.json()["revisions"][0]["status"], "sent");
    assert_eq!(out.json()["revisions"][0]["revision"], 1);
    assert_eq!(s.fake.events().len(), 1, "no duplicate");
    let posts: Vec<_> = s
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.0 == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[0].2, posts[1].2,
        "the retry carried the same Idempotency-Key"
    );
    assert_eq!(s.fake.sums(), s.psql_sums());
}

#[test]
fn two_concurrent_pushes_never_send_one_revision_twice() {
    let s = Setup::new();
    for d in 0..6 {
        s.insert("acme", "chat_message", 1 + d as i32, days_ago(d));
        s.insert("globex", "ai_tokens_input", 100 + d as i32, days_ago(d));
    }
    s.fake
        .inject(&[Inject::Slow(Duration::from_millis(150)); 12]);
    let spawn = || {
        let (url, base) = (s.db.url.clone(), s.fake.base());
        std::thread::spawn(move || {
            run(usagectl()
                .env("DATABASE_URL", &url)
                .env("STRIPE_API_KEY", KEY)
                .env("STRIPE_API_BASE", &base)
                .args(["stripe", "push", "--jobs", "2", "-o", "json"]))
        })
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    a.assert_ok();
    b.assert_ok();
    let mut keys: Vec<String> = s
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.0 == "POST")
        .map(|r| r.2)
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "a revision was sent twice");
    // whatever one push skipped as busy, a later one sends; then all agree
    s.push().assert_ok();
    assert_eq!(s.fake.sums(), s.psql_sums());
    assert_eq!(s.fake.events().len(), 12);
}

#[test]
fn a_40_day_old_correction_is_reported_not_sent() {
    let s = Setup::new();
    let old = days_ago(40);
    let day = old.date_naive();
    s.db.client()
        .batch_execute(&format!(
            "UPDATE usagectl_stripe_meters SET from_day = '{}'",
            days_ago(60).date_naive()
        ))
        .unwrap();
    s.insert("acme", "chat_message", 9, old);
    // as if pushed 40 days ago: the ledger and Stripe hold the 9
    s.db.client()
        .batch_execute(&format!(
            "INSERT INTO usagectl_stripe_ledger (livemode, org_id, source, day, revision, identifier, customer_id,
                 event_name, value, usage_after, status, sent_at)
             VALUES (false, 'acme', 'chat_message', '{day}', 1, 'uct-acme-chat_message-old-r1', 'cus_A', 'chat', 9, 9,
                     'sent', now() - interval '40 days')"
        ))
        .unwrap();
    s.fake.preload(Event {
        identifier: "uct-acme-chat_message-old-r1".into(),
        event_name: "chat".into(),
        customer: "cus_A".into(),
        value: 9,
        timestamp: day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp(),
    });
    s.db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--quantity",
        "-4",
        "--adjust",
        "--reason",
        "refund",
        "--at",
        &rfc(old),
    ])
    .assert_ok();
    let out = s.push();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["revisions"][0]["status"], "manual_credit");
    assert_eq!(v["revisions"][0]["value"], -4);
    assert!(
        out.stderr.contains(&format!(
            "org acme, chat_message, {day}: usage changed by -4 on a day Stripe no longer accepts"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(s.meter_event_posts(), 0, "nothing sent for an old day");
    // reported once: the next push has nothing new
    let again = s.push();
    again.assert_ok();
    assert_eq!(again.json()["revisions"], serde_json::json!([]));
}

#[test]
fn reconcile_finds_a_day_stripe_dropped() {
    let s = Setup::new();
    s.insert("acme", "chat_message", 3, days_ago(2));
    s.insert("acme", "chat_message", 6, days_ago(1));
    s.insert("globex", "ai_tokens_input", 70, days_ago(1));
    s.fake.inject(&[Inject::Drop]);
    // one stream at a time, so the dropped request is acme's first day
    s.stripe(&["push", "--jobs", "1"]).assert_ok();
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let dropped_month = days_ago(2).format("%Y-%m").to_string();
    let out = s.stripe(&["reconcile", "--month", &dropped_month, "-o", "json"]);
    assert_eq!(out.code, 3, "{}", out.stdout);
    let v = out.json();
    assert_eq!(v["mode"], "test");
    let rows = v["disagreements"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["org_id"], "acme");
    assert_eq!(rows[0]["day"], days_ago(2).date_naive().to_string());
    assert_eq!(rows[0]["usage"], 3);
    assert_eq!(rows[0]["ledger_sent"], 3);
    assert_eq!(rows[0]["stripe"], 0.0);
    // nothing else disagrees
    if month != dropped_month {
        s.stripe(&["reconcile", "--month", &month]).assert_ok();
    }
}

#[test]
fn rate_limits_wait_for_retry_after() {
    let s = Setup::new();
    s.insert("acme", "chat_message", 2, days_ago(1));
    s.fake.inject(&[Inject::RateLimit(1)]);
    let started = std::time::Instant::now();
    let out = s.stripe(&["push", "--org", "acme", "-o", "json"]);
    out.assert_ok();
    assert!(started.elapsed() >= Duration::from_secs(1));
    let posts: Vec<_> = s
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.0 == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].2, posts[1].2);
    assert_eq!(s.fake.events().len(), 1);
}

#[test]
fn the_key_is_never_shown_and_bad_input_is_refused() {
    let s = Setup::new();
    s.insert("acme", "chat_message", 2, days_ago(1));
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "sk_test_51WrongKeyForTests000wxyz\n").unwrap();
    let wrong = wrong.display().to_string();
    let mut outputs = vec![
        s.stripe(&["push", "--dry-run"]),
        s.stripe(&["push", "--stripe-key-file", &wrong]),
        s.stripe(&["reconcile", "--stripe-key-file", &wrong]),
    ];
    assert_eq!(outputs[1].code, 1, "{}", outputs[1].stderr);
    assert!(
        outputs[1].stderr.contains("401 invalid_request_error"),
        "{}",
        outputs[1].stderr
    );
    let dry: Vec<serde_json::Value> = outputs[0]
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dry.len(), 1);
    assert_eq!(dry[0]["event"]["value"], 2);
    assert_eq!(dry[0]["mode"], "test");
    assert_eq!(
        s.meter_event_posts(),
        1,
        "the dry run sent nothing (one POST: the wrong key's)"
    );
    let ledger: i64 =
        s.db.scalar("SELECT count(*) FROM usagectl_stripe_ledger WHERE status = 'sent'");
    assert_eq!(ledger, 0);
    outputs.push(s.push());
    outputs.push(s.stripe(&["reconcile"]));
    outputs.push(s.stripe(&["meter", "list"]));
    for o in &outputs {
        assert!(!o.stdout.contains(KEY) && !o.stderr.contains(KEY), "{o:?}");
        assert!(
            !o.stdout.contains("51WrongKey") && !o.stderr.contains("51WrongKey"),
            "{o:?}"
        );
    }
    // misuse: exit 2, one line, nothing written
    let live = dir.path().join("live");
    std::fs::write(&live, "sk_live_51LiveKeyForTests0000abcd").unwrap();
    let live = live.display().to_string();
    for args in [
        vec!["push", "--stripe-key-file", &live],
        vec!["push", "--stripe-key-file", "/nonexistent/key"],
        vec!["push", "--org", "nobody"],
        vec!["push", "--jobs", "0"],
        vec!["meter", "add", "chats", "--event-name", "x"],
        vec!["meter", "add", "csv_rows", "--event-name", "chat"],
        vec![
            "meter",
            "add",
            "csv_rows",
            "--event-name",
            "rows",
            "--meter-id",
            "meter1",
        ],
        vec!["meter", "remove", "csv_rows"],
        vec!["reconcile", "--month", "2026-13"],
    ] {
        let out = s.stripe(&args);
        out.assert_fails(2);
        assert!(!out.stderr.contains("51LiveKey"), "{}", out.stderr);
    }
    // plain http to a host that is not loopback: refused with advice for this command,
    // not the alert rules' --allow-insecure-http, which stripe does not have
    let http = s.stripe(&["push", "--api-base", "http://stripe-proxy.example/v1"]);
    http.assert_fails(2);
    assert_eq!(
        http.stderr,
        "usagectl: error: --api-base: the API base URL http://stripe-proxy.example/… is plain http \
         to a host that is not loopback: use https (plain http is sent only to a test server or \
         proxy on loopback, since every request carries the API key)\n"
    );
    s.db.run(&["org", "set", "acme", "--stripe-customer", "acme"])
        .assert_fails(2);
    let no_key = run(usagectl()
        .env("DATABASE_URL", &s.db.url)
        .env("STRIPE_API_BASE", s.fake.base())
        .args(["stripe", "push"]));
    no_key.assert_fails(2);
    let meters: i64 = s.db.scalar("SELECT count(*) FROM usagectl_stripe_meters");
    assert_eq!(meters, 2);
    // remove keeps the ledger; list shows what is left
    s.stripe(&["meter", "remove", "ai_tokens"]).assert_ok();
    let left = s.stripe(&["meter", "list", "-o", "json"]).json();
    assert_eq!(left["meters"].as_array().unwrap().len(), 1);
    assert_eq!(left["meters"][0]["source"], "chat_message");
    assert_eq!(
        left["meters"][0]["event_types"],
        serde_json::json!(["chat_message"])
    );
    // org show names the customer
    let v = s.db.run(&["org", "show", "acme", "-o", "json"]).json();
    assert_eq!(v["stripe_customer"], "cus_A");
}
