//! The throwaway PostgreSQL the suite starts itself, and helpers to run the binary.
//!
//! One cluster per test process, made with the machine's own initdb/pg_ctl in a private
//! directory under /tmp, on a free TCP port and a private socket; one fresh database per
//! test, dropped afterwards. A watchdog process stops the server and removes the
//! directory as soon as the test process exits, however it exits.
//! `USAGECTL_TEST_DATABASE_URL` points the per-test databases at an existing server
//! instead (tests of password authentication still use the suite's own cluster).
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use usagectl::db::conninfo;
use usagectl::localpg::LocalPg;

/// Role group whose members must authenticate with a password over TCP.
pub const PASSWORD_GROUP: &str = "usagectl_pw";

pub struct Cluster {
    pub pg: LocalPg,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    l.local_addr().unwrap().port()
}

/// Start a throwaway cluster in a new directory under /tmp, listening on 127.0.0.1 at a
/// free port and on its own socket, with `hba_first` lines before the trust rules; a
/// watchdog stops it and removes the directory when this test process ends.
pub fn start_cluster(prefix: &str, hba_first: &[&str], settings: &[&str]) -> LocalPg {
    let root = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("creating the cluster directory")
        .keep();
    let pg = LocalPg::new(&root.join("pg"), free_port(), "127.0.0.1").expect("finding PostgreSQL");
    pg.init(hba_first).expect("initdb");
    spawn_watchdog(&pg, &root);
    pg.start(settings).expect("starting PostgreSQL");
    pg
}

/// Settings that make a throwaway cluster fast.
pub const FAST: [&str; 4] = [
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=300",
];

/// The suite's own cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let hba = format!("host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256");
        let pg = start_cluster("usagectl-test-", &[&hba], &FAST);
        let mut c = postgres::Client::connect(&pg.conninfo("postgres"), postgres::NoTls)
            .expect("connecting to the test cluster");
        c.batch_execute(&format!("CREATE ROLE {PASSWORD_GROUP} NOLOGIN"))
            .unwrap();
        Cluster { pg }
    })
}

/// Stop the server and remove `root` when this process ends.
#[allow(clippy::zombie_processes)] // it must outlive this process; init reaps it
pub fn spawn_watchdog(pg: &LocalPg, root: &std::path::Path) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.3; done; \
         kill -QUIT $(head -n 1 '{data}/postmaster.pid') 2>/dev/null; sleep 1; rm -rf '{root}'",
        pid = std::process::id(),
        data = pg.data_dir().display(),
        root = root.display()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the watchdog");
}

/// Connection string of the server that holds the per-test databases, for `dbname`.
fn server_conninfo(dbname: &str) -> String {
    match std::env::var("USAGECTL_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let mut opts = conninfo::parse(&url).expect("parsing USAGECTL_TEST_DATABASE_URL");
            opts.insert("dbname".into(), dbname.into());
            to_keyvalue(&opts)
        }
        _ => cluster().pg.conninfo(dbname),
    }
}

fn to_keyvalue(opts: &conninfo::Options) -> String {
    opts.iter()
        .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where read commands take their figures from (see [`TestDb::read_path`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPath {
    /// The daily rollup with every row folded: [`TestDb::run`] folds before each command.
    Folded,
    /// The daily rollup with the rows inserted since the path was chosen not folded yet
    /// (the fold lagging): read raw above the watermark.
    Unfolded,
    /// The raw rows only, while a backfill day is pending.
    Raw,
    /// The rollup with the period boundaries registered: [`TestDb::run`] folds and
    /// registers the period boundaries inside UTC days of every org with settings before
    /// each command, as `usagectl maintain` does, so a period's partial days come from the
    /// rollup's buckets. ([`ReadPath::Unfolded`] registers them once, when chosen: the rows
    /// inserted later reach the boundaries' days unfolded.)
    Boundaries,
}

/// Every read path: a read test loops over them and asserts the same answer on each.
pub const READ_PATHS: [ReadPath; 4] = [
    ReadPath::Folded,
    ReadPath::Unfolded,
    ReadPath::Raw,
    ReadPath::Boundaries,
];

/// Where the partitioned suite's heap ends: its rows before it, a partition per month
/// after.
pub const PARTITION_BOUND: &str = "2025-07";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh database, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
    /// The read path chosen with [`TestDb::read_path`].
    pub path: std::cell::Cell<Option<ReadPath>>,
}

impl TestDb {
    /// An empty database.
    pub fn new() -> TestDb {
        let name = format!(
            "usagectl_t{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = postgres::Client::connect(&server_conninfo("postgres"), postgres::NoTls)
            .expect("connecting to the test server");
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
            ))
            .expect("creating the test database");
        TestDb {
            url: server_conninfo(&name),
            name,
            path: Default::default(),
        }
    }

    /// A database on which `usagectl migrate` has run; in the partitioned suite
    /// (tests/partitioned), `usagectl partition adopt` too, with the heap holding the rows
    /// before [`PARTITION_BOUND`] and a partition per month from there.
    pub fn migrated() -> TestDb {
        let db = TestDb::new();
        let out = db.run(&["migrate"]);
        assert_eq!(out.code, 0, "migrate failed: {}", out.stderr);
        if crate::PARTITIONED {
            db.partition();
        }
        db
    }

    /// On a partitioned table, the partitions of every month up to `last` (the first
    /// day of a month): rows dated that far ahead need them. Nothing on a heap.
    pub fn partitions_through(&self, last: &str) {
        if crate::PARTITIONED {
            self.client()
                .execute(
                    "SELECT usagectl_create_partition(m::date)
                       FROM generate_series(date_trunc('month', now()), $1::text::date, interval '1 month') m",
                    &[&last],
                )
                .expect("creating partitions ahead");
        }
    }

    /// `usagectl partition adopt`, with the heap's bound at [`PARTITION_BOUND`].
    pub fn partition(&self) {
        let out = run(usagectl()
            .env("DATABASE_URL", &self.url)
            .env("USAGECTL_TEST_PARTITION_BOUND", PARTITION_BOUND)
            .args(["partition", "adopt"]));
        assert_eq!(out.code, 0, "partition adopt failed: {}", out.stderr);
    }

    /// This database's connection string with `user` set to `role`, built from its parts
    /// (a `replace` on the text misses quoted values such as `user='postgres'`).
    pub fn url_as(&self, role: &str) -> String {
        let mut opts = conninfo::parse(&self.url).expect("parsing the test database's conninfo");
        opts.insert("user".into(), role.into());
        to_keyvalue(&opts)
    }

    /// A connection to this database as `role`, checked to be `role`.
    pub fn client_as(&self, role: &str) -> postgres::Client {
        let mut c = postgres::Client::connect(&self.url_as(role), postgres::NoTls)
            .expect("connecting as a test role");
        let user: String = c
            .query_one("SELECT current_user::text", &[])
            .unwrap()
            .get(0);
        assert_eq!(user, role, "connected as another role than asked");
        c
    }

    /// `usagectl ARGS` against this database, connected as `role`.
    pub fn run_as(&self, role: &str, args: &[&str]) -> Run {
        run(usagectl().env("DATABASE_URL", self.url_as(role)).args(args))
    }

    /// A superuser connection to this database.
    pub fn client(&self) -> postgres::Client {
        let mut c = postgres::Client::connect(&self.url, postgres::NoTls).expect("connecting");
        c.batch_execute("SET TIME ZONE 'UTC'").unwrap();
        c
    }

    /// `usagectl ARGS` against this database.
    pub fn run(&self, args: &[&str]) -> Run {
        match self.path.get() {
            Some(ReadPath::Folded) => {
                self.fold();
            }
            Some(ReadPath::Boundaries) => {
                self.fold();
                self.register_boundaries();
            }
            _ => {}
        }
        run(usagectl().env("DATABASE_URL", &self.url).args(args))
    }

    /// Fold every committed row into the rollup (`usagectl_fold()`); returns how many.
    pub fn fold(&self) -> i64 {
        self.scalar("SELECT r_events FROM usagectl_fold()")
    }

    /// Register the period boundaries inside UTC days of every org with settings, for the
    /// periods of 2000-2039 (what `maintain` does for the months around now); returns how
    /// many were new.
    pub fn register_boundaries(&self) -> i32 {
        self.scalar(
            "SELECT usagectl_register_boundaries(NULL, '2000-01-01T00:00:00Z', '2040-01-01T00:00:00Z')",
        )
    }

    /// A scalar from SQL.
    pub fn scalar<T: for<'a> postgres::types::FromSql<'a>>(&self, sql: &str) -> T {
        self.client().query_one(sql, &[]).expect(sql).get(0)
    }

    /// Make read commands answer from `path`. A backfill day still pending (1900-01-01,
    /// which holds no events, so the triggers keep every other day of the rollup exact)
    /// makes `queries::use_rollup` false and reads aggregate the raw rows; removing it sends
    /// them back to the rollup.
    pub fn read_path(&self, path: ReadPath) {
        let sql = match path {
            ReadPath::Folded | ReadPath::Unfolded | ReadPath::Boundaries => {
                "DELETE FROM usagectl_rollup_backfill WHERE day = '1900-01-01'"
            }
            ReadPath::Raw => {
                "INSERT INTO usagectl_rollup_backfill (day) VALUES ('1900-01-01') ON CONFLICT (day) DO UPDATE SET done = false"
            }
        };
        self.client().batch_execute(sql).expect(sql);
        let pending: bool =
            self.scalar("SELECT EXISTS (SELECT 1 FROM usagectl_rollup_backfill WHERE NOT done)");
        assert_eq!(pending, path == ReadPath::Raw, "read path {path:?}");
        // rows already there are folded, so "unfolded" reads both the rollup and raw rows
        self.fold();
        if path == ReadPath::Unfolded {
            self.register_boundaries();
        }
        self.path.set(Some(path));
        // a failing assertion's captured output names the path it failed on
        eprintln!("read path: {path:?}");
    }

    /// Create the table exactly as the seed document does, RLS policy included.
    pub fn create_seed_table(&self) {
        self.client().batch_execute(SEED_DDL).expect("seed DDL");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) =
            postgres::Client::connect(&server_conninfo("postgres"), postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The (status, detail) of the check named `name` in `usagectl doctor -o json`'s output.
pub fn doctor_check(v: &serde_json::Value, name: &str) -> (String, String) {
    let c = v["checks"]
        .as_array()
        .expect("doctor's checks")
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {v}"));
    (
        c["status"].as_str().unwrap().into(),
        c["detail"].as_str().unwrap().into(),
    )
}

/// The seed document's DDL, verbatim, with the RLS policy it asks to enable.
pub const SEED_DDL: &str = r#"
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE IF NOT EXISTS usage_events (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    org_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1,
    metadata JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_usage_events_org_id ON usage_events(org_id);
CREATE INDEX idx_usage_events_created_at ON usage_events(created_at DESC);
ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view own org usage events" ON usage_events
  FOR SELECT USING (org_id = current_setting('app.current_org_id', true));
"#;

/// The built binary with a clean environment: no PG* variables, no DATABASE_URL, no
/// home directory password file, no colour, and tables at their natural width (COLUMNS
/// wide enough for any; a test of fitting sets or removes it).
pub fn usagectl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_usagectl"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("PG") || k == "DATABASE_URL" {
            c.env_remove(k);
        }
    }
    c.env("HOME", "/nonexistent")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "10000")
        .stdin(Stdio::null());
    c
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// Assert a failure with `code` and exactly one line on stderr.
    pub fn assert_fails(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "stderr must be one line: {:?}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "nothing on stdout: {:?}",
            self.stdout
        );
        self
    }

    pub fn assert_ok(&self) -> &Run {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("running usagectl");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// psql over the same database, unaligned and tuples-only, for cross-checking figures.
pub fn psql(url: &str, sql: &str) -> String {
    let bindir: PathBuf = usagectl::localpg::find_bindir().expect("finding psql");
    let psql = if bindir.join("psql").is_file() {
        bindir.join("psql")
    } else {
        PathBuf::from("psql")
    };
    let out = Command::new(psql)
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-F",
            "|",
            "-d",
            url,
            "-c",
            sql,
        ])
        .env("PGTZ", "UTC")
        .output()
        .expect("running psql");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Owned strings, for argument lists built in a loop.
pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `usagectl ARGS`, killed (and the test failed) if it is still running after 20 s: a
/// command that waits without bound must fail this test, not hang it.
pub fn run_bounded(db: &TestDb, args: &[&str]) -> Run {
    let mut child = usagectl()
        .env("DATABASE_URL", &db.url)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} was still waiting after 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Buckets where the rollup and psql's own aggregate of the folded raw rows disagree: the
/// test's oracle, written out here (not the definitions' counting function), with a
/// bucket that starts at the last registered boundary of the org inside the row's UTC
/// day, or at its midnight.
pub const ROLLUP_DISAGREEMENTS: &str = "WITH raw AS (
         SELECT org_id,
                coalesce((SELECT max(b.boundary) FROM usagectl_boundaries b
                           WHERE b.org_id = e.org_id AND b.boundary <= e.created_at
                             AND b.boundary > date_trunc('day', e.created_at, 'UTC')),
                         date_trunc('day', e.created_at, 'UTC')) AS bucket,
                event_type,
                CASE WHEN event_type LIKE 'ai_tokens_%' THEN coalesce(left(metadata ->> 'model', 200), '')
                     ELSE '' END AS model,
                count(*) AS events, sum(quantity)::bigint AS quantity,
                min(created_at) AS f, max(created_at) AS l
         FROM usage_events e
         WHERE usagectl_seq IS NULL OR usagectl_seq <= (SELECT watermark FROM usagectl_fold_state)
         GROUP BY 1, 2, 3, 4)
     SELECT count(*) FROM raw FULL JOIN usagectl_rollup r USING (org_id, bucket, event_type, model)
     WHERE raw.events IS DISTINCT FROM r.events OR raw.quantity IS DISTINCT FROM r.quantity
        OR raw.f IS DISTINCT FROM r.first_event OR raw.l IS DISTINCT FROM r.last_event";

/// Wait until `ready` holds (data decides the order of a test's steps, not a sleep),
/// failing the test after 20 s with `what`.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        std::thread::yield_now();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Whether a session whose query contains `needle` is waiting, per `pg_stat_activity`:
/// `kind` `Lock` for a lock, `Timeout` for the fold's pg_sleep while writers finish.
pub fn session_waits(db: &TestDb, needle: &str, kind: &str) -> bool {
    let mut c = db.client();
    c.query_one(
        "SELECT count(*) > 0 FROM pg_stat_activity
          WHERE pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%'
            AND wait_event_type = $2",
        &[&needle, &kind],
    )
    .unwrap()
    .get(0)
}

/// Give `org` billing periods of its own: from local midnight on `anchor_day` in `zone`
/// (`usagectl org set`, which registers their boundaries).
pub fn set_period(db: &TestDb, org: &str, zone: &str, anchor_day: u8) {
    db.run(&[
        "org",
        "set",
        org,
        "--time-zone",
        zone,
        "--anchor-day",
        &anchor_day.to_string(),
        "--new-org",
    ])
    .assert_ok();
}
