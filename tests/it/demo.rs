use crate::support::*;

#[test]
fn demo_starts_loads_summarises_and_stops() {
    let dir = tempfile::Builder::new()
        .prefix("usagectl-demo-test-")
        .tempdir_in("/tmp")
        .unwrap();
    let root = dir.path().join("pg");
    let root_s = root.to_str().unwrap().to_string();
    let out = run(usagectl().args(["demo", "--dir", &root_s, "-o", "json"]));
    out.assert_ok();
    let v = out.json();
    assert_eq!(v["org_id"], "acme-foods");
    assert!(v["total_events"].as_i64().unwrap() > 100, "{v}");
    assert!(
        out.stderr.contains("export DATABASE_URL="),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("stop it: usagectl demo --dir {root_s} --stop")),
        "the stop hint names the cluster's directory: {}",
        out.stderr
    );

    // the cluster keeps running for the other commands, and loading again adds nothing new
    let url = format!("host={root_s} port=5432 user=postgres dbname=usagectl_demo");
    let s = run(usagectl().env("DATABASE_URL", &url).args([
        "summary",
        "--org",
        "globex-trial",
        "-o",
        "json",
    ]));
    s.assert_ok();
    assert!(s.json()["total_events"].as_i64().unwrap() > 0);
    let again = run(usagectl().args(["demo", "--dir", &root_s, "-o", "json"]));
    again.assert_ok();
    assert!(again.json()["total_events"].as_i64().unwrap() >= v["total_events"].as_i64().unwrap());

    // --month pins the sample to a calendar month that has ended: the docs' figures, the
    // same whatever was loaded before (the 30 days above overlap it) and on every load
    let pinned = run(usagectl().args([
        "demo",
        "--dir",
        &root_s,
        "--month",
        "2026-11",
        "--org",
        "globex-trial",
        "-o",
        "json",
    ]));
    pinned.assert_ok();
    let v = pinned.json();
    assert_eq!(v["org_id"], "globex-trial");
    assert_eq!(v["period_start"], "2026-11-01T00:00:00Z");
    let csv_rows = v["limits"]["csv_rows"]["current"].clone();
    assert_eq!(csv_rows, 1956, "{v}");
    let again = run(usagectl().args(["demo", "--dir", &root_s, "--month", "2026-11"]));
    again.assert_ok();
    assert!(
        again.stderr.contains("(0 new sample events loaded"),
        "{}",
        again.stderr
    );
    let raw = run(usagectl()
        .env("DATABASE_URL", &url)
        .args(["export", "--month", "2026-11", "--org", "initech", "--raw"]));
    raw.assert_ok();
    assert!(
        raw.stdout.lines().nth(1).unwrap_or("").starts_with(
            "9af5e2cc-a157-f9cb-e8d2-00e0e768e9fd,initech,chat_message,1,2026-11-01T17:05:42"
        ),
        "the sample's ids are its own too: {}",
        raw.stdout
    );
    let future = run(usagectl().args(["demo", "--dir", &root_s, "--month", "9998-12"]));
    future.assert_fails(2);
    assert!(
        future.stderr.contains("has not ended yet"),
        "{}",
        future.stderr
    );

    run(usagectl().args(["demo", "--dir", &root_s, "--stop"])).assert_ok();
    let after = run(usagectl()
        .env("DATABASE_URL", &url)
        .args(["summary", "--org", "acme-foods"]));
    after.assert_fails(1);
}
