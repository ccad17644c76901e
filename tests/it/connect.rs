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
    assert_eq!(
        out.stderr.matches("has group or world access").count(),
        1,
        "{}",
        out.stderr
    );
    // and once for a connection that tries three hosts
    let out = run(usagectl()
        .env("PGPORT", "1")
        .env("PGPASSFILE", &pgpass)
        .args(["summary", "--org", "acme"]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.matches("has group or world access").count(),
        1,
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

/// A cluster of its own, listening on `listen` ("" for sockets only), with `settings`; a
/// watchdog removes it when the test process ends.
fn own_cluster(prefix: &str, listen: &str, settings: &[&str]) -> usagectl::localpg::LocalPg {
    let root = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .unwrap()
        .keep();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pg = usagectl::localpg::LocalPg::new(&root.join("pg"), port, listen).unwrap();
    pg.init(&[]).unwrap();
    spawn_watchdog(&pg, &root);
    pg.start(settings).unwrap();
    pg
}

/// `pg_ctl ARGS -D DATA` as the server's user.
fn pg_ctl(pg: &usagectl::localpg::LocalPg, args: &[&str]) {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let meta = std::fs::metadata(pg.data_dir()).unwrap();
    let out = std::process::Command::new(usagectl::localpg::find_bindir().unwrap().join("pg_ctl"))
        .args(args)
        .arg("-D")
        .arg(pg.data_dir())
        .uid(meta.uid())
        .gid(meta.gid())
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// With no host, usagectl tries the Unix socket directories first, as psql does: a server
/// listening only on a socket in /tmp (no TCP at all) is found with just PGPORT.
#[test]
fn no_host_finds_the_server_socket_in_tmp() {
    let pg = own_cluster(
        "usagectl-sock-",
        "",
        &["unix_socket_directories='/tmp'", "fsync=off"],
    );
    assert!(std::path::Path::new(&format!("/tmp/.s.PGSQL.{}", pg.port)).exists());
    let env = |c: &mut std::process::Command| {
        c.env("PGPORT", pg.port.to_string())
            .env("PGUSER", usagectl::localpg::SUPERUSER)
            .env("PGDATABASE", "postgres");
    };
    let mut c = usagectl();
    env(&mut c);
    run(c.args(["migrate"])).assert_ok();
    let mut c = usagectl();
    env(&mut c);
    let out = run(c.args(["-v", "summary", "--org", "acme", "-o", "json"]));
    assert_eq!(summary_count(&out), 0);
    assert!(
        out.stderr.contains(&format!(
            "connecting to host=/var/run/postgresql,/tmp,localhost port={} dbname=postgres",
            pg.port
        )),
        "{}",
        out.stderr
    );
    pg.stop().unwrap();
}

/// No server on a socket in either directory: localhost over TCP, last. Here /tmp holds a
/// stale socket (its server gone, as after a crash), which is tried and passed over.
#[test]
fn no_host_and_no_socket_falls_back_to_localhost() {
    let (db, port) = setup("local_user", "local-pass-1");
    let out = run(usagectl()
        .env("PGPORT", port.to_string())
        .env("PGUSER", usagectl::localpg::SUPERUSER)
        .env("PGDATABASE", &db.name)
        .args(["summary", "--org", "acme", "-o", "json"]));
    assert_eq!(summary_count(&out), 1);

    struct Stale(std::path::PathBuf);
    impl Drop for Stale {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let stale = Stale(std::path::PathBuf::from(format!("/tmp/.s.PGSQL.{port}")));
    drop(std::os::unix::net::UnixListener::bind(&stale.0).unwrap());
    assert!(stale.0.exists());
    let out = run(usagectl()
        .env("PGPORT", port.to_string())
        .env("PGUSER", usagectl::localpg::SUPERUSER)
        .env("PGDATABASE", &db.name)
        .args(["summary", "--org", "acme", "-o", "json"]));
    assert_eq!(summary_count(&out), 1);
}

/// The password file is consulted for each host tried, with that host's port.
#[test]
fn password_file_is_matched_per_host() {
    let (db, port) = setup("perhost_user", "per-host-pass-2");
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "127.0.0.1:{dead}:*:perhost_user:not-this-one\nlocalhost:{port}:{}:perhost_user:per-host-pass-2\n",
            db.name
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let url = format!(
        "postgres://perhost_user@127.0.0.1:{dead},localhost:{port}/{}?connect_timeout=3",
        db.name
    );
    let out = run(usagectl()
        .env("DATABASE_URL", &url)
        .env("PGPASSFILE", &pgpass)
        .args(["summary", "--org", "acme", "-o", "json"]));
    assert_eq!(summary_count(&out), 1);
}

/// A user that only NSS knows (a systemd userdb record, not in /etc/passwd) is the
/// default user and database name, as with libpq's getpwuid_r.
#[test]
fn default_user_comes_from_nss_not_etc_passwd() {
    struct Record(Vec<std::path::PathBuf>);
    impl Drop for Record {
        fn drop(&mut self) {
            for p in &self.0 {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    let uid = 61000 + std::process::id() % 3000;
    let name = format!("usagectl-t{uid}");
    std::fs::create_dir_all("/run/userdb").unwrap();
    let file = std::path::PathBuf::from(format!("/run/userdb/{name}.user"));
    let by_uid = std::path::PathBuf::from(format!("/run/userdb/{uid}.user"));
    let _record = Record(vec![file.clone(), by_uid.clone()]);
    std::fs::write(
        &file,
        format!(
            r#"{{"userName":"{name}","uid":{uid},"gid":{uid},"homeDirectory":"/nonexistent","shell":"/bin/false","disposition":"regular"}}"#
        ),
    )
    .unwrap();
    let _ = std::fs::remove_file(&by_uid);
    std::os::unix::fs::symlink(&file, &by_uid).unwrap();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    assert!(!passwd.contains(&name));
    let getent = std::process::Command::new("getent")
        .args(["passwd", &uid.to_string()])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&getent.stdout).starts_with(&format!("{name}:")),
        "NSS (systemd userdb) does not know the test user"
    );
    use std::os::unix::process::CommandExt;
    let out = run(usagectl().uid(uid).gid(uid).args([
        "-v",
        "--database-url",
        "host=127.0.0.1 port=1 connect_timeout=2",
        "summary",
        "--org",
        "acme",
    ]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!("dbname={name} user={name} ")),
        "{}",
        out.stderr
    );
}

/// A server that answers "not accepting connections" (SQLSTATE 57P03: starting up, in
/// recovery) is tried again with backoff until connect_timeout; here a standby with
/// hot_standby=off, promoted while usagectl waits.
#[test]
fn a_server_in_recovery_is_waited_for_until_connect_timeout() {
    use std::io::BufRead;
    let pg = own_cluster("usagectl-recovery-", "127.0.0.1", &["fsync=off"]);
    pg.stop().unwrap();
    let signal = pg.data_dir().join("standby.signal");
    std::fs::write(&signal, "").unwrap();
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(pg.data_dir()).unwrap();
        std::os::unix::fs::chown(&signal, Some(meta.uid()), Some(meta.gid())).unwrap();
    }
    pg.start(&["hot_standby=off", "fsync=off"]).unwrap();
    let url = |timeout: u32| {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout={timeout}",
            pg.port
        )
    };

    // it gives up when connect_timeout has passed, saying why
    let started = std::time::Instant::now();
    let out = run(usagectl().args(["--database-url", &url(2), "migrate"]));
    out.assert_fails(1);
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500));
    assert!(
        out.stderr
            .contains("still could not take connections after 2 s")
            && out.stderr.contains("not accepting connections"),
        "{}",
        out.stderr
    );

    // and connects once the server can take connections
    let mut child = usagectl()
        .args(["-v", "--database-url", &url(60), "migrate"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{said}");
        said.push_str(&line);
        if line.contains("cannot take connections yet") {
            break;
        }
    }
    assert!(
        said.contains(&format!(
            "the server at 127.0.0.1 port {} cannot take connections yet (the database system is not accepting connections); trying again in 0.1 s",
            pg.port
        )),
        "{said}"
    );
    pg_ctl(&pg, &["promote", "-w"]);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{said}{rest}");
    pg.stop().unwrap();
}
