//! `schema.sql`: the schema a fresh `usagectl migrate` leaves, as `pg_dump --schema-only`
//! prints it (owners, privileges, comments and session settings left out), committed so
//! that every change to a table, index, function or trigger shows up in review as a diff.
//! This fails when the file is stale; regenerate it with
//! `USAGECTL_REGENERATE=1 cargo test --test it schema_snapshot`.
use std::path::Path;
use std::process::Command;

use crate::support::*;

/// pg_dump's text without what differs between runs and machines: comments (versions,
/// names), `SET` and `set_config` lines, the `\restrict` key newer pg_dumps print, and
/// runs of blank lines.
fn normalise(dump: &str) -> String {
    let mut out = String::new();
    let mut blank = true;
    for line in dump.lines() {
        let skip = line.starts_with("--")
            || line.starts_with("SET ")
            || line.starts_with("SELECT pg_catalog.set_config")
            || line.starts_with("\\restrict")
            || line.starts_with("\\unrestrict");
        if skip {
            continue;
        }
        if line.trim().is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        blank = false;
    }
    out
}

#[test]
fn schema_sql_is_what_a_fresh_migrate_leaves() {
    // always the suite's own cluster: pg_dump must be of the server's major version
    let name = format!("usagectl_schema_{}", std::process::id());
    let pg = &cluster().pg;
    let mut admin = postgres::Client::connect(&pg.conninfo("postgres"), postgres::NoTls)
        .expect("connecting to the suite's cluster");
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
        ))
        .unwrap();
    let url = pg.conninfo(&name);
    run(usagectl().env("DATABASE_URL", &url).args(["migrate"])).assert_ok();
    let bindir = usagectl::localpg::find_bindir().expect("finding pg_dump");
    let out = Command::new(bindir.join("pg_dump"))
        .args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            &url,
        ])
        .output()
        .expect("running pg_dump");
    admin
        .batch_execute(&format!("DROP DATABASE {name}"))
        .unwrap();
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = normalise(&String::from_utf8_lossy(&out.stdout));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.sql");
    let header = "-- The schema a fresh `usagectl migrate` leaves (pg_dump --schema-only --no-owner\n\
                  -- --no-privileges, normalised). Generated: do not edit; a test fails when it is\n\
                  -- stale. Regenerate: USAGECTL_REGENERATE=1 cargo test --test it schema_snapshot\n\n";
    let want = format!("{header}{fresh}");
    if std::env::var_os("USAGECTL_REGENERATE").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "schema.sql is stale: run `USAGECTL_REGENERATE=1 cargo test --test it schema_snapshot` \
         and review the diff"
    );
}
