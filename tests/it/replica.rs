//! Reads from a streaming replica (a second local cluster made with pg_basebackup) while
//! it is fresh enough, the primary otherwise; writes always go to the primary.
use std::time::{Duration, Instant};

use usagectl::localpg::LocalPg;

use crate::support::*;

fn count_on(pg: &LocalPg, db: &str) -> i64 {
    let mut c = postgres::Client::connect(&pg.conninfo(db), postgres::NoTls).unwrap();
    c.query_one(
        "SELECT count(*) FROM usage_events WHERE org_id = 'acme'",
        &[],
    )
    .unwrap()
    .get(0)
}

fn wait_for(pg: &LocalPg, db: &str, n: i64) {
    let start = Instant::now();
    while count_on(pg, db) != n {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the replica never caught up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn reads_use_a_fresh_replica_and_fall_back_to_the_primary() {
    let primary = start_cluster("usagectl-primary-", &[], &FAST);
    let mut admin =
        postgres::Client::connect(&primary.conninfo("postgres"), postgres::NoTls).unwrap();
    admin.batch_execute("CREATE DATABASE billing").unwrap();
    let p_url = primary.conninfo("billing");
    run(usagectl().env("DATABASE_URL", &p_url).args(["migrate"])).assert_ok();
    for _ in 0..10 {
        run(usagectl().env("DATABASE_URL", &p_url).args([
            "record",
            "--org",
            "acme",
            "--event",
            "chat_message",
        ]))
        .assert_ok();
    }

    let root = tempfile::Builder::new()
        .prefix("usagectl-replica-")
        .tempdir_in("/tmp")
        .unwrap()
        .keep();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let replica = LocalPg::new(&root.join("pg"), port, "127.0.0.1").unwrap();
    replica.init_replica_of(&primary).unwrap();
    spawn_watchdog(&replica, &root);
    replica.start(&FAST).unwrap(); // a standby needs max_connections >= the primary's
    wait_for(&replica, "billing", 10);
    let r_url = replica.conninfo("billing");

    let read = |args: &[&str]| {
        run(usagectl()
            .env("DATABASE_URL", &p_url)
            .env("USAGECTL_READ_DATABASE_URL", &r_url)
            .args(args))
    };
    // a caught-up replica answers, silently
    let s = read(&["summary", "--org", "acme", "-o", "json"]);
    s.assert_ok();
    assert_eq!(s.json()["total_events"], 10);
    assert!(s.stderr.is_empty(), "{}", s.stderr);
    let v = read(&["-v", "limits", "--org", "acme", "-o", "json"]);
    v.assert_ok();
    assert!(v.stderr.contains("reading the replica"), "{}", v.stderr);

    // pause the replica; record (with the replica configured) still goes to the primary
    let mut rc = postgres::Client::connect(&replica.conninfo("billing"), postgres::NoTls).unwrap();
    rc.batch_execute("SELECT pg_wal_replay_pause()").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("more.csv");
    let mut text = String::from("org_id,event_type\n");
    for _ in 0..90 {
        text.push_str("acme,chat_message\n");
    }
    std::fs::write(&file, text).unwrap();
    read(&["record", "--file", file.to_str().unwrap()]).assert_ok();
    read(&[
        "record",
        "--org",
        "acme",
        "--event",
        "chat_message",
        "--quantity",
        "1",
        "--enforce",
        "--custom-event",
    ])
    .assert_fails(4);
    assert_eq!(
        count_on(&replica, "billing"),
        10,
        "the paused replica has not seen them"
    );

    // a paused replica is stale: every read says so and answers from the primary
    let s = read(&["summary", "--org", "acme", "-o", "json"]);
    s.assert_ok();
    assert_eq!(s.json()["total_events"], 100);
    assert!(s.stderr.contains("reading the primary"), "{}", s.stderr);
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let e = read(&["export", "--month", &month, "-o", "json"]);
    e.assert_ok();
    assert_eq!(e.json()[0]["events"], 100);
    let st = read(&["status", "--org", "acme", "-o", "json"]);
    assert_eq!(st.code, 4, "100 of the trial's 50 chat messages");

    // resumed and caught up, the replica answers again
    rc.batch_execute("SELECT pg_wal_replay_resume()").unwrap();
    wait_for(&replica, "billing", 100);
    let s = read(&["summary", "--org", "acme", "-o", "json"]);
    assert_eq!(s.json()["total_events"], 100);
    assert!(s.stderr.is_empty(), "{}", s.stderr);

    // a host list with the replica first: read-write finds the primary, read-only the replica
    let hosts = format!(
        "host={},{} port={},{} user=postgres dbname=billing",
        replica.root.display(),
        primary.root.display(),
        replica.port,
        primary.port
    );
    run(usagectl()
        .env(
            "DATABASE_URL",
            format!("{hosts} target_session_attrs=read-write"),
        )
        .args(["record", "--org", "acme", "--event", "chat_message"]))
    .assert_ok();
    let ro = run(usagectl()
        .env(
            "DATABASE_URL",
            format!("{hosts} target_session_attrs=read-only"),
        )
        .args(["record", "--org", "acme", "--event", "chat_message"]));
    ro.assert_fails(1);
    assert!(ro.stderr.contains("read-only"), "{}", ro.stderr);
    wait_for(&replica, "billing", 101);

    // a replica that applies commits a minute late (recovery_min_apply_delay) has the WAL
    // but not the commits: it counts as that far behind. Within --max-staleness it answers
    // (with what it has), past it the primary does
    let mut rc = postgres::Client::connect(&replica.conninfo("billing"), postgres::NoTls).unwrap();
    rc.batch_execute("ALTER SYSTEM SET recovery_min_apply_delay = '60s'")
        .unwrap();
    rc.batch_execute("SELECT pg_reload_conf()").unwrap();
    std::thread::sleep(Duration::from_secs(1)); // the startup process rereads its settings
    run(usagectl().env("DATABASE_URL", &p_url).args([
        "record",
        "--org",
        "late",
        "--event",
        "chat_message",
    ]))
    .assert_ok();
    let summary = ["summary", "--org", "late", "-o", "json"];
    let lax = read(&[&["--max-staleness", "3600", "-v"], &summary[..]].concat());
    lax.assert_ok();
    assert_eq!(lax.json()["total_events"], 0, "the replica's answer");
    assert!(lax.stderr.contains("reading the replica"), "{}", lax.stderr);
    let strict = read(&[&["--max-staleness", "0"], &summary[..]].concat());
    strict.assert_ok();
    assert_eq!(strict.json()["total_events"], 1, "the primary's answer");
    assert!(
        strict
            .stderr
            .contains("more than --max-staleness 0 s); reading the primary"),
        "{}",
        strict.stderr
    );

    // a replica that is down: the primary answers
    replica.stop().unwrap();
    let s = read(&["summary", "--org", "acme", "-o", "json"]);
    s.assert_ok();
    assert_eq!(
        s.json()["total_events"],
        101,
        "100 and the one recorded through the host list"
    );
    assert!(
        s.stderr.contains("read replica unreachable"),
        "{}",
        s.stderr
    );
    // prefer-standby with no standby up falls back to the primary
    let ps = run(usagectl()
        .env(
            "DATABASE_URL",
            format!("{hosts} target_session_attrs=prefer-standby"),
        )
        .args(["summary", "--org", "acme", "-o", "json"]));
    ps.assert_ok();
    assert_eq!(ps.json()["total_events"], 101);
}
