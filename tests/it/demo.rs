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

    run(usagectl().args(["demo", "--dir", &root_s, "--stop"])).assert_ok();
    let after = run(usagectl()
        .env("DATABASE_URL", &url)
        .args(["summary", "--org", "acme-foods"]));
    after.assert_fails(1);
}
