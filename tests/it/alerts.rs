//! Usage alerts (issue 15) against a real PostgreSQL and a real HTTP receiver on 127.0.0.1
//! that checks every signature with its own HMAC.
use std::time::{Duration, Instant};

use crate::receiver::{Receiver, Reply};
use crate::support::*;

/// A fixed secret (32 bytes), so the receiver can check signatures from the first delivery.
const SECRET: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// The part of every webhook URL that must never be shown.
const PATH: &str = "/hooks/s3cr3t-path-token";

struct Setup {
    db: TestDb,
    recv: Receiver,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup::on(TestDb::migrated())
    }

    fn on(db: TestDb) -> Setup {
        let recv = Receiver::start();
        recv.set_secret(SECRET);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), format!("{SECRET}\n")).unwrap();
        std::fs::write(dir.path().join("url"), recv.url(PATH)).unwrap();
        Setup { db, recv, dir }
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `alert add NAME` to the receiver with the fixed secret and `extra` flags.
    fn add(&self, name: &str, extra: &[&str]) -> Run {
        let (url, secret) = (self.file("url"), self.file("secret"));
        let mut args = vec![
            "alert",
            "add",
            name,
            "--webhook-file",
            &url,
            "--secret-file",
            &secret,
        ];
        args.extend_from_slice(extra);
        self.db.run(&args)
    }

    fn alert_run(&self, extra: &[&str]) -> Run {
        let mut args = vec!["alert", "run", "-o", "json"];
        args.extend_from_slice(extra);
        self.db.run(&args)
    }

    /// Chat messages for `org` now, as the web app writes them.
    fn chat(&self, org: &str, n: i32) {
        self.db
            .client()
            .execute(
                "INSERT INTO usage_events (org_id, event_type, quantity) VALUES ($1, 'chat_message', $2)",
                &[&org, &n],
            )
            .unwrap();
    }

    /// The (type, threshold) of every delivery, all signatures checked.
    fn deliveries(&self) -> Vec<(String, i64)> {
        self.recv
            .got()
            .iter()
            .map(|g| {
                assert!(g.signature_ok, "bad signature on {g:?}");
                assert_eq!(g.path, PATH);
                assert_eq!(g.content_type, "application/json");
                let v = g.json();
                assert_eq!(
                    v["id"],
                    g.webhook_id.as_str(),
                    "webhook-id is the payload's id"
                );
                (
                    v["type"].as_str().unwrap().to_string(),
                    v["threshold_pct"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    fn count(&self, sql: &str) -> i64 {
        self.db.scalar(sql)
    }
}

fn crossed(pct: i64) -> (String, i64) {
    ("usage.threshold_crossed".to_string(), pct)
}

fn resolved(pct: i64) -> (String, i64) {
    ("usage.threshold_resolved".to_string(), pct)
}

#[test]
fn crossing_80_then_100_is_delivered_twice_across_ten_runs_on_every_read_path() {
    for path in READ_PATHS {
        let s = Setup::new();
        s.db.read_path(path);
        s.add("chat", &["--metric", "chat_messages"]).assert_ok();
        // trial: 50 chat messages a month
        s.chat("acme", 39);
        s.alert_run(&[]).assert_ok();
        assert_eq!(s.deliveries(), vec![], "{path:?}: 39/50 is under 80%");
        s.chat("acme", 1);
        for _ in 0..4 {
            s.alert_run(&[]).assert_ok();
        }
        assert_eq!(s.deliveries(), vec![crossed(80)], "{path:?}");
        s.chat("acme", 10);
        for _ in 0..5 {
            s.alert_run(&[]).assert_ok();
        }
        assert_eq!(s.deliveries(), vec![crossed(80), crossed(100)], "{path:?}");
        let last = s.recv.got()[1].json();
        let v: serde_json::Value = s.db.run(&["limits", "--org", "acme", "-o", "json"]).json();
        assert_eq!(last["org_id"], "acme");
        assert_eq!(last["tier"], "trial");
        assert_eq!(last["metric"], "chat_messages");
        assert_eq!(last["current"], 50);
        assert_eq!(last["limit"], 50);
        assert_eq!(last["period_start"], v["period_start"]);
        assert_eq!(last["period_end"], v["period_end"]);
        let psql_sum = psql(
            &s.db.url,
            &format!(
                "SELECT sum(quantity) FROM usage_events WHERE org_id = 'acme' AND event_type = 'chat_message'
                   AND created_at >= '{}' AND created_at < '{}'",
                v["period_start"].as_str().unwrap(),
                v["period_end"].as_str().unwrap()
            ),
        );
        assert_eq!(psql_sum.trim(), "50");
        assert!(last["occurred_at"].is_string());
        assert_eq!(
            s.count("SELECT count(*) FROM usagectl_alert_outbox WHERE status = 'delivered'"),
            2
        );
    }
}

#[test]
fn a_correction_back_under_80_resolves_once() {
    let s = Setup::new();
    s.add("chat", &["--metric", "chat_messages"]).assert_ok();
    s.chat("acme", 42);
    s.alert_run(&[]).assert_ok();
    let out = s.db.run(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--quantity",
        "-5",
        "--adjust",
        "--reason",
        "duplicated calls",
    ]);
    out.assert_ok();
    for _ in 0..3 {
        s.alert_run(&[]).assert_ok();
    }
    assert_eq!(s.deliveries(), vec![crossed(80), resolved(80)]);
    assert_eq!(s.recv.got()[1].json()["current"], 37);
}

#[test]
fn a_grant_resolves_and_an_override_crosses_again() {
    let s = Setup::new();
    s.add("chat", &["--metric", "chat_messages", "--at", "100"])
        .assert_ok();
    s.chat("acme", 50);
    s.alert_run(&[]).assert_ok();
    s.db.run(&[
        "grant",
        "add",
        "acme",
        "chat_messages",
        "10",
        "--reason",
        "incident 7",
    ])
    .assert_ok();
    s.alert_run(&[]).assert_ok();
    let got = s.recv.got();
    assert_eq!(s.deliveries(), vec![crossed(100), resolved(100)]);
    assert_eq!(got[1].json()["limit"], 60);
    s.db.run(&["tier", "override", "acme", "chat_messages", "40"])
        .assert_ok();
    s.alert_run(&[]).assert_ok();
    assert_eq!(
        s.deliveries(),
        vec![crossed(100), resolved(100), crossed(100)]
    );
    // an override is the contract's limit; the period's grant still adds to it
    assert_eq!(s.recv.got()[2].json()["limit"], 50);
}

#[test]
fn a_new_period_starts_with_no_deliveries() {
    let s = Setup::new();
    s.add("chat", &["--metric", "chat_messages", "--at", "80"])
        .assert_ok();
    s.chat("acme", 45);
    s.alert_run(&[]).assert_ok();
    assert_eq!(s.deliveries(), vec![crossed(80)]);
    // as if that crossing had been decided last period and this period had begun: the
    // period's events are gone, the state is last period's
    s.db.client()
        .batch_execute(
            "UPDATE usagectl_alert_states SET period_start = period_start - interval '1 month';
             DELETE FROM usage_events;",
        )
        .unwrap();
    s.chat("acme", 10);
    for _ in 0..3 {
        s.alert_run(&[]).assert_ok();
    }
    assert_eq!(
        s.deliveries(),
        vec![crossed(80)],
        "no resolved for last period"
    );
    s.chat("acme", 30);
    s.alert_run(&[]).assert_ok();
    assert_eq!(
        s.deliveries(),
        vec![crossed(80), crossed(80)],
        "crossed in the new period"
    );
}

#[test]
fn a_receiver_answering_500_twice_gets_the_same_webhook_id_three_times() {
    let s = Setup::new();
    s.add("chat", &["--metric", "chat_messages", "--at", "80"])
        .assert_ok();
    s.chat("acme", 40);
    s.recv
        .script(&[Reply::Status(500), Reply::Status(500), Reply::Status(200)]);
    let out = s.alert_run(&[]);
    out.assert_ok();
    let got = s.recv.got();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|g| g.webhook_id == got[0].webhook_id && g.signature_ok)
    );
    assert!(got.iter().all(|g| g.body == got[0].body));
    let h = s.db.run(&["alert", "history", "-o", "json"]).json();
    let e = &h["events"][0];
    assert_eq!(e["id"], got[0].webhook_id.as_str());
    assert_eq!(e["status"], "delivered");
    assert_eq!(e["attempts"], 3);
    assert_eq!(e["last_status"], 200);
    assert_eq!(
        s.count("SELECT count(*) FROM usagectl_alert_attempts WHERE http_status = 500"),
        2
    );
    // delivered means done: later runs send nothing
    s.alert_run(&[]).assert_ok();
    assert_eq!(s.recv.got().len(), 3);
    // history filters: by org, and by how far back
    let other =
        s.db.run(&["alert", "history", "--org", "globex", "-o", "json"])
            .json();
    assert_eq!(other["events"], serde_json::json!([]));
    let recent =
        s.db.run(&[
            "alert", "history", "--org", "acme", "--since", "1h", "-o", "json",
        ])
        .json();
    assert_eq!(recent["events"].as_array().unwrap().len(), 1);
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let later =
        s.db.run(&["alert", "history", "--since", &future, "-o", "json"])
            .json();
    assert_eq!(later["events"], serde_json::json!([]));
}

#[test]
fn retries_span_runs_and_other_4xx_fail_at_once() {
    let s = Setup::new();
    s.add("chat", &["--metric", "chat_messages", "--at", "80"])
        .assert_ok();
    s.chat("acme", 40);
    // three 503s: the run gives up for now (exit 1, said on stderr) and schedules a retry
    s.recv
        .script(&[Reply::Status(503), Reply::Status(503), Reply::Status(503)]);
    let out = s.alert_run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("HTTP 503") && out.stderr.contains("tried again from"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["deliveries"][0]["status"], "retrying");
    // not due yet: the next run tries nothing
    s.alert_run(&[]).assert_ok();
    assert_eq!(s.recv.got().len(), 3);
    s.db.client()
        .batch_execute("UPDATE usagectl_alert_outbox SET next_attempt_at = now()")
        .unwrap();
    s.alert_run(&[]).assert_ok();
    let got = s.recv.got();
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|g| g.webhook_id == got[0].webhook_id));
    assert_eq!(
        s.count(
            "SELECT count(*) FROM usagectl_alert_outbox WHERE status = 'delivered' AND attempts = 4"
        ),
        1
    );
    // a 404 is not retried
    s.add("other", &["--metric", "chat_messages", "--at", "90"])
        .assert_ok();
    s.chat("acme", 5);
    s.recv.script(&[Reply::Status(404)]);
    let out = s.alert_run(&[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("HTTP 404") && out.stderr.contains("failed for good"),
        "{}",
        out.stderr
    );
    assert_eq!(s.recv.got().len(), 5);
    assert_eq!(
        s.count(
            "SELECT count(*) FROM usagectl_alert_outbox WHERE status = 'failed' AND attempts = 1"
        ),
        1
    );
    // and one that has waited 24 hours is given up
    s.db.client()
        .batch_execute(
            "UPDATE usagectl_alert_outbox SET status = 'pending', decided_at = now() - interval '25 hours'
              WHERE status = 'failed'",
        )
        .unwrap();
    let out = s.alert_run(&[]);
    out.assert_ok();
    assert_eq!(out.json()["expired"], 1);
    assert_eq!(s.recv.got().len(), 5);
}

/// The wait before a later run's try is 30 s after the first failed run, doubling per failed
/// run (not per attempt: a run makes three), and the time said on stderr is the one stored.
#[test]
fn a_later_runs_retry_waits_30_s_after_the_first_failed_run_then_doubles() {
    let s = Setup::new();
    s.add("chat", &["--metric", "chat_messages", "--at", "80"])
        .assert_ok();
    s.chat("acme", 40);
    // seconds from each failed run's last attempt to the stored next try, and the stored
    // time as the run printed it
    let stored = |s: &Setup| -> (f64, String) {
        let row = s
            .db
            .client()
            .query_one(
                "SELECT extract(epoch FROM o.next_attempt_at - max(a.at))::float8, o.next_attempt_at
                   FROM usagectl_alert_outbox o JOIN usagectl_alert_attempts a ON a.outbox_id = o.id
                  GROUP BY o.id",
                &[],
            )
            .unwrap();
        let at: chrono::DateTime<chrono::Utc> = row.get(1);
        (
            row.get(0),
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        )
    };
    for (run, want) in [(1, 30.0), (2, 60.0), (3, 120.0)] {
        s.recv
            .script(&[Reply::Status(503), Reply::Status(503), Reply::Status(503)]);
        let out = s.alert_run(&[]);
        assert_eq!(out.code, 1, "run {run}: {}", out.stderr);
        let (wait, at) = stored(&s);
        assert!(
            (wait - want).abs() < 1.0,
            "run {run}: waits {wait} s, not {want} s"
        );
        assert!(
            out.stderr.contains(&format!("tried again from {at}\n")),
            "run {run}: stored {at}: {}",
            out.stderr
        );
        assert_eq!(out.json()["deliveries"][0]["next_attempt_at"], at.as_str());
        s.db.client()
            .batch_execute("UPDATE usagectl_alert_outbox SET next_attempt_at = now()")
            .unwrap();
    }
    assert_eq!(s.recv.got().len(), 9);
}

#[test]
fn retry_after_is_honoured() {
    let s = Setup::new();
    s.add("chat", &["--metric", "chat_messages", "--at", "80"])
        .assert_ok();
    s.chat("acme", 40);
    s.recv.script(&[Reply::RetryAfter(429, 2)]);
    let started = Instant::now();
    s.alert_run(&[]).assert_ok();
    let got = s.recv.got();
    assert_eq!(got.len(), 2);
    assert!(got[1].timestamp - got[0].timestamp >= 1, "{got:?}");
    assert!(started.elapsed() >= Duration::from_secs(2));
    // longer than a run waits: left for a later run, not before the receiver asked
    s.add("later", &["--metric", "chat_messages", "--at", "90"])
        .assert_ok();
    s.chat("acme", 5);
    s.recv.script(&[Reply::RetryAfter(503, 3600)]);
    let out = s.alert_run(&[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        s.count(
            "SELECT count(*) FROM usagectl_alert_outbox
              WHERE status = 'pending' AND next_attempt_at > now() + interval '59 minutes'"
        ),
        1
    );
}

#[test]
fn a_receiver_that_hangs_is_cut_at_the_timeout() {
    let s = Setup::new();
    s.add("chat", &["--metric", "chat_messages", "--at", "80"])
        .assert_ok();
    s.chat("acme", 40);
    s.recv.script(&[
        Reply::Hang(Duration::from_secs(30)),
        Reply::Hang(Duration::from_secs(30)),
        Reply::Hang(Duration::from_secs(30)),
    ]);
    let started = Instant::now();
    let out = s.alert_run(&["--timeout", "1s"]);
    let took = started.elapsed();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no answer within the timeout"),
        "{}",
        out.stderr
    );
    // three attempts of 1 s and pauses of 0.5 s and 1 s, nowhere near the 30 s hang
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(15),
        "{took:?}"
    );
    assert_eq!(s.recv.got().len(), 3);
    assert_eq!(
        s.count(
            "SELECT count(*) FROM usagectl_alert_outbox WHERE status = 'pending' AND attempts = 3"
        ),
        1
    );
}

#[test]
fn two_concurrent_runs_deliver_each_of_50_crossings_once() {
    let s = Setup::new();
    s.add("full", &["--metric", "chat_messages", "--at", "100"])
        .assert_ok();
    s.db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity)
             SELECT 'org-' || g, 'chat_message', 50 FROM generate_series(1, 50) g",
        )
        .unwrap();
    let spawn = || {
        let url = s.db.url.clone();
        std::thread::spawn(move || {
            run(usagectl()
                .env("DATABASE_URL", &url)
                .args(["alert", "run", "-o", "json"]))
        })
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    a.assert_ok();
    b.assert_ok();
    let decided = a.json()["decisions"].as_array().unwrap().len()
        + b.json()["decisions"].as_array().unwrap().len();
    assert_eq!(decided, 50);
    let got = s.recv.got();
    assert_eq!(got.len(), 50);
    let mut ids: Vec<&str> = got.iter().map(|g| g.webhook_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50);
    let mut orgs: Vec<String> = got
        .iter()
        .map(|g| g.json()["org_id"].as_str().unwrap().to_string())
        .collect();
    orgs.sort();
    orgs.dedup();
    assert_eq!(orgs.len(), 50);
    assert!(got.iter().all(|g| g.signature_ok));
    // and again, both at once: nothing new
    let (a, b) = (spawn(), spawn());
    a.join().unwrap().assert_ok();
    b.join().unwrap().assert_ok();
    assert_eq!(s.recv.got().len(), 50);
}

#[test]
fn nothing_shows_the_secret_or_the_webhook_path() {
    let s = Setup::new();
    let mut outputs = Vec::new();
    outputs.push(s.add(
        "chat",
        &["--metric", "chat_messages", "--at", "80", "--at", "100"],
    ));
    s.chat("acme", 40);
    for args in [
        vec!["alert", "list"],
        vec!["alert", "list", "-o", "json"],
        vec!["alert", "list", "-o", "csv"],
        vec!["alert", "run", "--dry-run"],
        vec!["alert", "run"],
        vec!["alert", "history"],
        vec!["alert", "history", "-o", "csv"],
        vec!["alert", "test", "chat"],
        vec!["alert", "test", "chat", "-o", "json"],
    ] {
        let out = s.db.run(&args);
        out.assert_ok();
        outputs.push(out);
    }
    // failures: the receiver answers 500, then nobody listens at all
    s.recv.script(&[Reply::Status(500)]);
    outputs.push(s.db.run(&["alert", "test", "chat"]));
    s.db.client()
        .execute(
            "UPDATE usagectl_alert_rules SET webhook_url = 'http://127.0.0.1:1/hooks/s3cr3t-path-token'",
            &[],
        )
        .unwrap();
    outputs.push(s.db.run(&["alert", "test", "chat"]));
    s.chat("acme", 10);
    outputs.push(s.alert_run(&[]));
    outputs.push(s.db.run(&["alert", "history", "-o", "json"]));
    outputs.push(s.db.run(&[
        "alert",
        "add",
        "x",
        "--webhook",
        "http://example.com/hooks/s3cr3t-path-token",
    ]));
    outputs.push(s.db.run(&[
        "alert",
        "add",
        "x",
        "--webhook",
        "https://u:s3cr3t-path-token@example.com/",
    ]));
    assert!(outputs.iter().any(|o| o.code != 0));
    let key = SECRET.trim_start_matches("whsec_");
    for o in &outputs {
        for text in [&o.stdout, &o.stderr] {
            assert!(!text.contains(key), "secret shown: {text}");
            assert!(
                !text.contains("s3cr3t-path-token"),
                "webhook path shown: {text}"
            );
        }
    }
    assert!(outputs[1].stdout.contains("http://127.0.0.1:"));
    assert!(outputs[1].stdout.contains("/…"));
    let errors: String = s.db.scalar(
        "SELECT coalesce(string_agg(coalesce(error, ''), ' '), '') FROM usagectl_alert_attempts",
    );
    assert!(
        errors.contains("connection") && !errors.contains("s3cr3t"),
        "{errors}"
    );
}

#[test]
fn a_generated_secret_is_printed_once_and_signs() {
    let s = Setup::new();
    let url = s.recv.url(PATH);
    let out = s.db.run(&[
        "alert",
        "add",
        "gen",
        "--webhook",
        &url,
        "-o",
        "json",
        "--at",
        "50",
    ]);
    out.assert_ok();
    let secret = out.json()["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    s.recv.set_secret(&secret);
    let list = s.db.run(&["alert", "list", "-o", "json"]);
    assert!(!list.stdout.contains(&secret[6..]));
    s.chat("acme", 25);
    s.alert_run(&[]).assert_ok();
    let got = s.recv.got();
    assert_eq!(got.len(), 1);
    assert!(got[0].signature_ok);
    // the secret stays with the owner: the reader sees the rules, not the URL or secret
    s.db.run(&["migrate", "--roles"]).assert_ok();
    let role = format!("alerts_{}", s.db.name);
    s.db.client()
        .batch_execute(&format!("CREATE ROLE {role} LOGIN IN ROLE usage_reader"))
        .unwrap();
    let reader = format!("{} user={role}", s.db.url);
    let out = run(usagectl()
        .env("DATABASE_URL", &reader)
        .args(["alert", "list", "-o", "json"]));
    out.assert_ok();
    assert_eq!(out.json()["rules"][0]["name"], "gen");
    let denied = psql(
        &reader,
        "SELECT CASE WHEN has_column_privilege('usagectl_alert_rules', 'secret', 'SELECT')
                      OR has_column_privilege('usagectl_alert_rules', 'webhook_url', 'SELECT')
                 THEN 'readable' ELSE 'owner only' END",
    );
    assert_eq!(denied.trim(), "owner only");
    let out = run(usagectl()
        .env("DATABASE_URL", &reader)
        .args(["alert", "test", "gen"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("permission denied") || out.stderr.contains("owner"),
        "{}",
        out.stderr
    );
}

#[test]
fn slack_format_and_dry_run() {
    let s = Setup::new();
    s.add(
        "slack",
        &[
            "--body-format",
            "slack",
            "--metric",
            "chat_messages",
            "--at",
            "80",
        ],
    )
    .assert_ok();
    s.chat("acme", 40);
    let dry = s.alert_run(&["--dry-run"]);
    dry.assert_ok();
    let v = dry.json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["decisions"][0]["type"], "usage.threshold_crossed");
    assert_eq!(v["decisions"][0]["org_id"], "acme");
    assert_eq!(s.recv.got().len(), 0);
    assert_eq!(
        s.count("SELECT (SELECT count(*) FROM usagectl_alert_states) + (SELECT count(*) FROM usagectl_alert_outbox)"),
        0
    );
    s.alert_run(&[]).assert_ok();
    let got = s.recv.got();
    assert_eq!(got.len(), 1);
    assert!(got[0].signature_ok);
    let text = got[0].json()["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("org acme (trial) reached 80% of its chat_messages limit: 40/50"),
        "{text}"
    );
    // --quiet: nothing decided or delivered, nothing printed
    let q = s.db.run(&["alert", "run", "--quiet"]);
    q.assert_ok();
    assert_eq!(q.stdout, "");
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let s = Setup::new();
    let url = s.recv.url(PATH);
    let secret = s.file("secret");
    std::fs::write(s.dir.path().join("bad"), "not-a-secret").unwrap();
    let bad = s.file("bad");
    for args in [
        vec!["alert", "add", "a b", "--webhook", &url],
        vec!["alert", "add", "x", "--webhook", &url, "--at", "0"],
        vec!["alert", "add", "x", "--webhook", &url, "--at", "eighty"],
        vec!["alert", "add", "x", "--webhook", &url, "--metric", "chats"],
        vec!["alert", "add", "x", "--webhook", &url, "--tier", "platinum"],
        vec![
            "alert",
            "add",
            "x",
            "--webhook",
            &url,
            "--org",
            "a",
            "--tier",
            "trial",
        ],
        vec!["alert", "add", "x", "--webhook", "ftp://127.0.0.1/x"],
        vec!["alert", "add", "x", "--webhook", "http://example.com/x"],
        vec!["alert", "add", "x", "--webhook", "not a url"],
        vec!["alert", "add", "x"],
        vec![
            "alert",
            "add",
            "x",
            "--webhook",
            &url,
            "--secret-file",
            &bad,
        ],
        vec![
            "alert",
            "add",
            "x",
            "--webhook",
            &url,
            "--secret-file",
            "/nonexistent/s",
        ],
        vec![
            "alert",
            "add",
            "x",
            "--webhook",
            &url,
            "--body-format",
            "teams",
        ],
        vec!["alert", "remove", "nope"],
        vec!["alert", "test", "nope"],
        vec!["alert", "run", "--timeout", "0"],
        vec!["alert", "history", "--since", "yesterday"],
    ] {
        let out = s.db.run(&args);
        out.assert_fails(2);
        assert!(!out.stderr.contains("s3cr3t"), "{}", out.stderr);
    }
    assert_eq!(s.count("SELECT count(*) FROM usagectl_alert_rules"), 0);
    s.add("x", &[]).assert_ok();
    s.db.run(&[
        "alert",
        "add",
        "x",
        "--webhook",
        &url,
        "--secret-file",
        &secret,
    ])
    .assert_fails(2);
    assert_eq!(s.count("SELECT count(*) FROM usagectl_alert_rules"), 1);
    // defaults: 80 and 100, every metric, every org
    let v = s.db.run(&["alert", "list", "-o", "json"]).json();
    assert_eq!(v["rules"][0]["thresholds"], serde_json::json!([80, 100]));
    assert_eq!(v["rules"][0]["metrics"], serde_json::Value::Null);
    // http to a host that is not loopback only with --allow-insecure-http
    s.db.run(&[
        "alert",
        "add",
        "y",
        "--webhook",
        "http://example.com/x",
        "--allow-insecure-http",
    ])
    .assert_ok();
    let out = s.db.run(&["alert", "remove", "x", "-o", "json"]);
    out.assert_ok();
    assert_eq!(out.json()["pending_dropped"], 0);
    assert_eq!(s.count("SELECT count(*) FROM usagectl_alert_rules"), 1);
}

#[test]
fn https_is_verified_like_verify_full() {
    let certs = tempfile::tempdir().unwrap();
    crate::tls::make_certs(certs.path());
    let recv = Receiver::start_tls(
        &certs.path().join("server.crt"),
        &certs.path().join("server.key"),
    );
    recv.set_secret(SECRET);
    let s = Setup::new();
    let secret = s.file("secret");
    let ca = certs.path().join("ca.crt").display().to_string();
    let other = certs.path().join("other.crt").display().to_string();
    // the certificate names localhost: that name verifies, 127.0.0.1 does not
    let good = format!("https://localhost:{}{PATH}", recv.port);
    let by_ip = format!("https://127.0.0.1:{}{PATH}", recv.port);
    s.db.run(&[
        "alert",
        "add",
        "tls",
        "--webhook",
        &good,
        "--secret-file",
        &secret,
    ])
    .assert_ok();
    s.db.run(&[
        "alert",
        "add",
        "ip",
        "--webhook",
        &by_ip,
        "--secret-file",
        &secret,
    ])
    .assert_ok();
    s.db.run(&["alert", "test", "tls", "--root-cert", &ca])
        .assert_ok();
    assert_eq!(recv.got().len(), 1);
    assert!(recv.got()[0].signature_ok);
    for (rule, roots) in [
        ("tls", other.as_str()),
        ("tls", "system"),
        ("ip", ca.as_str()),
    ] {
        let out = s.db.run(&["alert", "test", rule, "--root-cert", roots]);
        out.assert_fails(1);
        assert!(
            out.stderr.contains("certificate"),
            "{rule} {roots}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("s3cr3t"), "{}", out.stderr);
    }
    assert_eq!(
        recv.got().len(),
        1,
        "no request over an unverified connection"
    );
    // the trust store also comes from the environment, as sslrootcert's does
    let out = run(usagectl()
        .env("DATABASE_URL", &s.db.url)
        .env("USAGECTL_WEBHOOK_ROOT_CERT", &ca)
        .args(["alert", "test", "tls"]));
    out.assert_ok();
    let out =
        s.db.run(&["alert", "test", "tls", "--root-cert", "/nonexistent/ca.pem"]);
    out.assert_fails(1);
    assert!(out.stderr.contains("/nonexistent/ca.pem"), "{}", out.stderr);
}
