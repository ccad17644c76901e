//! Through PgBouncer in transaction mode (Debian's `pgbouncer`, started here in front of the
//! suite's cluster): every command works with many processes at once, and answers exactly
//! as it does connected directly; migrate refuses with the documented message.
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postgres::types::Type;

use crate::support::*;

/// A PgBouncer in `pool_mode=transaction` with a small pool, so that the processes share
/// server sessions; stopped when dropped (and by a watchdog if the test process dies).
struct Bouncer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Bouncer {
    fn start(server: &usagectl::db::conninfo::Options) -> Bouncer {
        let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .expect("pgbouncer is not installed: .ci/run installs Debian's pgbouncer package");
        let dir = tempfile::Builder::new()
            .prefix("usagectl-bouncer-")
            .tempdir_in("/tmp")
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = &server["host"];
        let server_port = server.get("port").map_or("5432", String::as_str);
        let user = &server["user"];
        std::fs::write(dir.path().join("users.txt"), format!("\"{user}\" \"\"\n")).unwrap();
        let ini = format!(
            "[databases]\n* = host={host} port={server_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {users}\npool_mode = transaction\n\
             default_pool_size = 3\nmax_client_conn = 500\nmax_db_connections = 3\n\
             ignore_startup_parameters = extra_float_digits\nlogfile = {log}\npidfile =\n",
            users = dir.path().join("users.txt").display(),
            log = dir.path().join("bouncer.log").display(),
        );
        let ini_path = dir.path().join("pgbouncer.ini");
        std::fs::write(&ini_path, ini).unwrap();
        let mut cmd = Command::new(binary);
        cmd.arg(&ini_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        // PgBouncer refuses to run as root: run it as the server's unprivileged user
        if unsafe { libc::geteuid() } == 0 {
            let meta = std::fs::metadata(host).expect("the server's socket directory");
            use std::os::unix::fs::MetadataExt;
            let (uid, gid) = (meta.uid(), meta.gid());
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
            cmd.uid(uid).gid(gid);
        }
        let child = cmd.spawn().expect("starting pgbouncer");
        // stop it if this test process dies first
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {} 2>/dev/null; do sleep 0.3; done; kill {} 2>/dev/null",
                std::process::id(),
                child.id()
            ))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let bouncer = Bouncer {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen on port {port} within 20 s: {}",
                std::fs::read_to_string(bouncer._dir.path().join("bouncer.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        bouncer
    }

    fn url(&self, user: &str, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname={dbname} sslmode=disable",
            self.port
        )
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Leave a statement named `s0` (what `postgres` names its first prepared statement) on
/// every server session of the pool, as another pooled client would.
fn poison_the_pool(url: &str) {
    let mut clients: Vec<postgres::Client> = (0..3)
        .map(|_| postgres::Client::connect(url, postgres::NoTls).expect("connecting via pgbouncer"))
        .collect();
    for c in &mut clients {
        c.batch_execute("BEGIN; PREPARE s0 AS SELECT 1").unwrap();
    }
    for c in &mut clients {
        c.batch_execute("COMMIT").unwrap();
    }
}

fn run_via(url: &str, args: &[String], stdin: Option<&str>) -> Run {
    let mut cmd = usagectl();
    cmd.env("DATABASE_URL", url).args(args);
    if let Some(path) = stdin {
        cmd.stdin(std::fs::File::open(path).unwrap());
    }
    run(&mut cmd)
}

/// `n` processes at once, each running `args` through `url`.
fn concurrently(url: &str, n: usize, args: impl Fn(usize) -> Vec<String>) -> Vec<Run> {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let url = url.to_string();
            let a = args(i);
            std::thread::spawn(move || run_via(&url, &a, None))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn every_command_works_through_pgbouncer_in_transaction_mode() {
    let db = TestDb::migrated();
    db.client()
        .batch_execute(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at, idempotency_key)
             SELECT 'org-' || (i % 7),
                    (ARRAY['chat_message','csv_upload','csv_row_processed','ai_tokens_input','analysis_run'])[1 + i % 5],
                    1 + i % 40, jsonb_build_object('n', i),
                    date_trunc('day', now()) - interval '3 days' + make_interval(secs => i * 37),
                    'seed-' || i
             FROM generate_series(1, 3000) i;
             INSERT INTO usagectl_org_tiers (org_id, tier) VALUES ('org-1', 'pilot'), ('org-2', 'subscription');",
        )
        .unwrap();
    let server = usagectl::db::conninfo::parse(&db.url).unwrap();
    let bouncer = Bouncer::start(&server);
    let via = bouncer.url(&server["user"], &db.name);
    poison_the_pool(&via);
    let month = db.scalar::<String>("SELECT to_char(now() - interval '3 days', 'YYYY-MM')");
    let dir = tempfile::tempdir().unwrap();

    // reads: 12 processes at once each, byte-identical to a direct connection
    let reads: Vec<Vec<String>> = vec![
        strings(&["summary", "--org", "org-3", "--days", "10", "-o", "csv"]),
        strings(&["limits", "--org", "org-1", "--month", &month, "-o", "csv"]),
        strings(&["status", "--org", "org-0", "--month", &month, "-o", "csv"]),
        strings(&["status", "--all", "--month", &month, "-o", "csv"]),
        strings(&["export", "--month", &month]),
        strings(&["export", "--month", &month, "--org", "org-4"]),
        strings(&["export", "--raw", "--month", &month]),
        strings(&["export", "--raw", "--month", &month, "-o", "jsonl"]),
        strings(&["doctor", "--month", &month, "-o", "csv"]),
        strings(&["tier", "list", "-o", "csv"]),
        strings(&["tier", "show", "org-2", "-o", "csv"]),
    ];
    for args in &reads {
        let direct = db.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            direct.code == 0 || direct.code == 3 || direct.code == 4,
            "{args:?} direct: {}",
            direct.stderr
        );
        assert!(!direct.stdout.is_empty(), "{args:?}");
        for (i, r) in concurrently(&via, 12, |_| args.clone()).iter().enumerate() {
            assert_eq!(
                (r.code, r.stderr.as_str()),
                (direct.code, direct.stderr.as_str()),
                "{args:?} process {i} via pgbouncer"
            );
            assert!(
                r.stdout == direct.stdout,
                "{args:?} process {i}: output differs via pgbouncer"
            );
        }
    }
    // export to a file with its manifest, then --check it, through the pooler
    let file = dir.path().join("usage.csv");
    let out = run_via(
        &via,
        &strings(&[
            "export",
            "--month",
            &month,
            "--output",
            file.to_str().unwrap(),
        ]),
        None,
    );
    out.assert_ok();
    let manifest = format!("{}.manifest.json", file.display());
    let out = run_via(&via, &strings(&["export", "--check", &manifest]), None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    // writes: 12 processes at once, each form of record
    let before: i64 = db.scalar("SELECT count(*) FROM usage_events");
    for r in concurrently(&via, 12, |i| {
        strings(&[
            "record",
            "--org",
            "org-9",
            "--event",
            "chat_message",
            "--idempotency-key",
            &format!("plain-{i}"),
        ])
    }) {
        r.assert_ok();
    }
    // the trial tier allows 10 analyses a month: 12 at once store exactly 10
    let enforced = concurrently(&via, 12, |i| {
        strings(&[
            "record",
            "--org",
            "org-9",
            "--event",
            "analysis_run",
            "--enforce",
            "--idempotency-key",
            &format!("enf-{i}"),
        ])
    });
    let codes: Vec<i32> = enforced.iter().map(|r| r.code).collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 10, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 4).count(), 2, "{codes:?}");
    let files: Vec<String> = (0..12)
        .map(|i| {
            let p = dir.path().join(format!("batch-{i}.csv"));
            let mut text = String::from("org_id,event_type,quantity,idempotency_key\n");
            for j in 0..50 {
                text.push_str(&format!("org-8,csv_row_processed,2,file-{i}-{j}\n"));
            }
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        })
        .collect();
    for r in concurrently(&via, 12, |i| strings(&["record", "--file", &files[i]])) {
        r.assert_ok();
    }
    for r in concurrently(&via, 12, |i| {
        strings(&["record", "--file", &files[i], "--enforce"])
    }) {
        r.assert_ok(); // a retry: every key is stored already
    }
    let after: i64 = db.scalar("SELECT count(*) FROM usage_events");
    assert_eq!(after - before, 12 + 10 + 12 * 50);
    // a retried plain record through the pooler stores nothing new
    run_via(
        &via,
        &strings(&[
            "record",
            "--org",
            "org-9",
            "--event",
            "chat_message",
            "--idempotency-key",
            "plain-0",
        ]),
        None,
    )
    .assert_ok();
    assert_eq!(db.scalar::<i64>("SELECT count(*) FROM usage_events"), after);
    // the rollup agrees with the raw rows after all that
    let out = run_via(&via, &strings(&["doctor", "-o", "csv"]), None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // tier changes
    // a correction
    run_via(
        &via,
        &strings(&[
            "record",
            "--org",
            "org-9",
            "--event",
            "chat_message",
            "--adjust",
            "--quantity",
            "-2",
            "--reason",
            "double-counted",
        ]),
        None,
    )
    .assert_ok();
    let net: i64 = db.scalar(
        "SELECT sum(quantity) FROM usage_events WHERE org_id = 'org-9' AND event_type = 'chat_message'",
    );
    assert_eq!(net, 12 - 2);
    run_via(&via, &strings(&["tier", "assign", "org-9", "pilot"]), None).assert_ok();
    assert_eq!(
        db.scalar::<String>("SELECT tier FROM usagectl_org_tiers WHERE org_id = 'org-9'"),
        "pilot"
    );

    // -v says a pooler is in between
    let out = run_via(&via, &strings(&["-v", "tier", "list"]), None);
    out.assert_ok();
    assert!(
        out.stderr.contains("a pooler or proxy is in between"),
        "{}",
        out.stderr
    );

    // migrate refuses, with the documented message, and changes nothing
    let out = run_via(&via, &strings(&["migrate"]), None);
    out.assert_fails(2);
    assert!(
        out.stderr.contains("migrate needs a session of its own")
            && out
                .stderr
                .contains("connect to PostgreSQL directly or through a session-mode pool"),
        "{}",
        out.stderr
    );
    // its dry run needs no session and works
    run_via(&via, &strings(&["migrate", "--dry-run"]), None).assert_ok();
}

/// The web app's API through PgBouncer in transaction mode: 12 clients at once check,
/// reserve, settle, release and record for one org, each call in its own transaction with
/// the pooled server sessions shared; the limit holds and no call fails.
#[test]
fn the_web_app_api_works_through_pgbouncer_with_12_clients() {
    let db = TestDb::migrated();
    db.client()
        .batch_execute(
            "INSERT INTO usagectl_org_limit_overrides (org_id, metric, limit_value)
             VALUES ('pooled', 'chat_messages', 100)",
        )
        .unwrap();
    let server = usagectl::db::conninfo::parse(&db.url).unwrap();
    let bouncer = Bouncer::start(&server);
    let via = bouncer.url(&server["user"], &db.name);
    poison_the_pool(&via);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(12));
    let handles: Vec<_> = (0..12)
        .map(|i| {
            let (via, barrier) = (via.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&via, postgres::NoTls).unwrap();
                barrier.wait();
                let mut recorded = 0i64;
                for n in 0..10 {
                    let mut tx = c.transaction().unwrap();
                    tx.query_typed(
                        "SELECT allowed FROM usagectl.check('pooled', 'chat_messages')",
                        &[],
                    )
                    .unwrap();
                    let id: Option<uuid::Uuid> = tx
                        .query_typed(
                            "SELECT reservation_id FROM usagectl.reserve('pooled', 'chat_messages', 2)",
                            &[],
                        )
                        .unwrap()[0]
                        .get(0);
                    tx.commit().unwrap();
                    if let Some(id) = id {
                        if n % 3 == 0 {
                            c.query_typed("SELECT usagectl.release($1)", &[(&id, Type::UUID)])
                                .unwrap();
                        } else {
                            let events = serde_json::json!([{
                                "event_type": "chat_message", "quantity": 2,
                                "idempotency_key": format!("c{i}-n{n}")
                            }]);
                            let r: serde_json::Value = c
                                .query_typed(
                                    "SELECT usagectl.settle($1, $2)",
                                    &[(&id, Type::UUID), (&events, Type::JSONB)],
                                )
                                .unwrap()[0]
                                .get(0);
                            recorded += r["used"].as_i64().unwrap();
                        }
                    }
                    let o: String = c
                        .query_typed(
                            "SELECT outcome FROM usagectl.record('pooled', 'chat_message')",
                            &[],
                        )
                        .unwrap()[0]
                        .get(0);
                    if o == "recorded" {
                        recorded += 1;
                    }
                }
                recorded
            })
        })
        .collect();
    let recorded: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let stored: i64 = db.scalar(
        "SELECT coalesce(sum(quantity), 0)::bigint FROM usage_events WHERE org_id = 'pooled'",
    );
    assert_eq!(stored, recorded);
    assert!(stored <= 100, "{stored}");
    assert!(
        stored >= 90,
        "12 clients asking for 400 fill the limit: {stored}"
    );
}
