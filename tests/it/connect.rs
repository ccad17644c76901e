use std::os::unix::fs::PermissionsExt;

use crate::support::*;

/// A migrated database on the suite's own cluster (these tests need its TCP port and its
/// password rules), and a password-only role that may read it.
fn setup(role: &str, password: &str) -> (TestDb, u16) {
    let c = cluster();
    let db = TestDb::new();
    // TestDb may live on USAGECTL_TEST_DATABASE_URL's server; these tests need ours
    let db = if db.url.contains(&c.pg.root.display().to_string()) {
        db
    } else {
        local_db()
    };
    db.run(&["migrate"]).assert_ok();
    db.client()
        .batch_execute(&format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                 CREATE ROLE {role} LOGIN PASSWORD '{password}' IN ROLE {PASSWORD_GROUP};
               END IF;
             END $$;
             GRANT SELECT ON usage_events TO {role};
             INSERT INTO usage_events (org_id, event_type) VALUES ('acme', 'chat_message');"
        ))
        .unwrap();
    (db, c.pg.port)
}

fn local_db() -> TestDb {
    // SAFETY of intent: only reached when USAGECTL_TEST_DATABASE_URL points elsewhere
    let saved = std::env::var_os("USAGECTL_TEST_DATABASE_URL");
    unsafe { std::env::remove_var("USAGECTL_TEST_DATABASE_URL") };
    let db = TestDb::new();
    if let Some(v) = saved {
        unsafe { std::env::set_var("USAGECTL_TEST_DATABASE_URL", v) };
    }
    db
}

fn summary_count(out: &Run) -> i64 {
    out.assert_ok();
    out.json()["total_events"].as_i64().unwrap()
}

#[test]
fn libpq_environment_alone_is_enough() {
    let (db, port) = setup("env_user", "env-pass-1");
    let out = run(usagectl()
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", port.to_string())
        .env("PGUSER", "env_user")
        .env("PGPASSWORD", "env-pass-1")
        .env("PGDATABASE", &db.name)
        .env("PGAPPNAME", "cron-job")
        .env("PGCONNECT_TIMEOUT", "5")
        .args(["summary", "--org", "acme", "-o", "json"]));
    assert_eq!(summary_count(&out), 1);
}

#[test]
fn url_and_keyvalue_forms_and_their_precedence() {
    let (db, port) = setup("prec_user", "prec-pass-1");
    let url = format!(
        "postgresql://prec_user:prec-pass-1@127.0.0.1:{port}/{}",
        db.name
    );
    let kv = format!(
        "host=127.0.0.1 port={port} user=prec_user password='prec-pass-1' dbname={}",
        db.name
    );
    let dead = "postgres://nobody@127.0.0.1:1/none?connect_timeout=2";

    for good in [&url, &kv] {
        // --database-url beats DATABASE_URL
        let out = run(usagectl().env("DATABASE_URL", dead).args([
            "--database-url",
            good,
            "summary",
            "--org",
            "acme",
            "-o",
            "json",
        ]));
        assert_eq!(summary_count(&out), 1);
        // DATABASE_URL beats the PG* variables
        let out = run(usagectl()
            .env("DATABASE_URL", good)
            .env("PGDATABASE", "does_not_exist")
            .env("PGUSER", "nobody")
            .args(["summary", "--org", "acme", "-o", "json"]));
        assert_eq!(summary_count(&out), 1);
    }
}

#[test]
fn password_file_is_used_when_no_password_is_given() {
    let (db, port) = setup("pgpass_user", "from-the-file-9");
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "# usagectl test\n127.0.0.1:{port}:{}:pgpass_user:from-the-file-9\n",
            db.name
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let url = format!("postgres://pgpass_user@127.0.0.1:{port}/{}", db.name);

    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .env("PGPASSFILE", &pgpass)
        .args(["summary", "--org", "acme", "-o", "json"]));
    assert_eq!(summary_count(&out), 1);

    // ~/.pgpass when PGPASSFILE is unset
    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .env("HOME", dir.path())
        .args(["summary", "--org", "acme", "-o", "json"]));
    assert!(out.code != 0, "no ~/.pgpass yet");
    std::fs::copy(&pgpass, dir.path().join(".pgpass")).unwrap();
    std::fs::set_permissions(
        dir.path().join(".pgpass"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .env("HOME", dir.path())
        .args(["summary", "--org", "acme", "-o", "json"]));
    assert_eq!(summary_count(&out), 1);

    // a file others can read is ignored, with a warning, as libpq does
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .env("PGPASSFILE", &pgpass)
        .args(["summary", "--org", "acme"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("has group or world access"),
        "{}",
        out.stderr
    );
}

#[test]
fn failures_name_what_was_tried_and_never_the_password() {
    let (db, port) = setup("secret_user", "right-pass-1");
    let secret = "Wr0ng-S3cret-Pa55";
    let url = format!(
        "postgres://secret_user:{secret}@127.0.0.1:{port}/{}",
        db.name
    );
    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .args(["summary", "--org", "acme"]));
    out.assert_fails(1);
    assert!(
        out.stderr.contains(&format!(
            "host=127.0.0.1 port={port} dbname={} user=secret_user",
            db.name
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("password authentication failed"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(secret), "{}", out.stderr);
    assert!(!out.stderr.contains(&url), "{}", out.stderr);

    // nothing listening
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(usagectl()
        .args([
            "--database-url",
            &format!("postgres://someone:{secret}@127.0.0.1:{free}/billing"),
        ])
        .args(["summary", "--org", "acme"]));
    assert_eq!(out.code, 1);
    // the password typed on the command line earns a hint line before the error
    assert_eq!(out.stderr.lines().count(), 2, "{}", out.stderr);
    assert!(
        out.stderr
            .lines()
            .next()
            .unwrap()
            .contains("shows in the process list")
    );
    assert!(
        out.stderr.contains(&format!(
            "host=127.0.0.1 port={free} dbname=billing user=someone"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.to_lowercase().contains("connection refused"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(secret));
}

#[test]
fn a_host_list_tries_each_host_in_turn() {
    let (db, port) = setup("multi_user", "multi-pass-1");
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!(
        "postgres://multi_user@127.0.0.1:{dead},127.0.0.1:{port}/{}?connect_timeout=3",
        db.name
    );
    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .env("PGPASSWORD", "multi-pass-1")
        .args(["summary", "--org", "acme", "-o", "json"]));
    assert_eq!(summary_count(&out), 1);
}

#[test]
fn malformed_connection_strings_are_misuse() {
    for bad in [
        "postgres://h/db?sslmode",
        "hots=localhost",
        "port=abc",
        "sslmode=sometimes",
    ] {
        let out = run(usagectl().args(["--database-url", bad, "summary", "--org", "a"]));
        out.assert_fails(2);
    }
}

#[test]
fn secrets_stay_out_of_output_and_the_process_list_gets_a_hint() {
    let (db, port) = setup("hint_user", "hint-Pa55-word");
    let url = format!(
        "postgres://hint_user:hint-Pa55-word@127.0.0.1:{port}/{}",
        db.name
    );
    // typed on the command line: a one-line hint, and never the password
    let out = run(usagectl().args([
        "-v",
        "--database-url",
        &url,
        "summary",
        "--org",
        "acme",
        "-o",
        "json",
    ]));
    out.assert_ok();
    assert!(
        out.stderr.contains("shows in the process list"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("connecting to host=127.0.0.1 port={port}")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hint-Pa55-word") && !out.stdout.contains("hint-Pa55-word"));
    // from the environment: no hint
    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .args(["summary", "--org", "acme"]));
    out.assert_ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    // from a file
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("url");
    std::fs::write(&f, format!("{url}\n")).unwrap();
    let out = run(usagectl()
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .args([
            "--database-url-file",
            f.to_str().unwrap(),
            "summary",
            "--org",
            "acme",
            "-o",
            "json",
        ]));
    out.assert_ok();
    assert_eq!(out.json()["total_events"], 1);
    let out = run(usagectl().args([
        "--database-url-file",
        "/nonexistent/url",
        "summary",
        "--org",
        "acme",
    ]));
    out.assert_fails(1);
    // a wrong password through every path: the error names the target, not the secret
    let bad = url.replace("hint-Pa55-word", "Wr0ng-hint-pw");
    std::fs::write(&f, &bad).unwrap();
    let out = run(usagectl().args([
        "-v",
        "--database-url-file",
        f.to_str().unwrap(),
        "summary",
        "--org",
        "acme",
    ]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("password authentication failed"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("Wr0ng-hint-pw") && !out.stderr.contains(&bad),
        "{}",
        out.stderr
    );
}
