//! Known orgs: the one rule for "usagectl has seen this org", the refusal of a write to an
//! org never seen (unless --new-org), and the note reads give for one.
use crate::support::*;

const NEVER: &str = "has never been seen (no events, settings, tier, override, grant, alert rule or Stripe mapping)";

fn insert(db: &TestDb, org: &str) {
    db.client()
        .execute(
            "INSERT INTO usage_events (org_id, event_type, quantity) VALUES ($1, 'chat_message', 1)",
            &[&org],
        )
        .unwrap();
}

/// Rows of every table a write of an org's settings can add to.
fn settings_rows(db: &TestDb) -> i64 {
    db.scalar(
        "SELECT (SELECT count(*) FROM usagectl_org_settings) + (SELECT count(*) FROM usagectl_org_tiers)
              + (SELECT count(*) FROM usagectl_org_limit_overrides) + (SELECT count(*) FROM usagectl_grants)
              + (SELECT count(*) FROM usagectl_alert_rules) + (SELECT count(*) FROM usagectl_stripe_customers)
              + (SELECT count(*) FROM usagectl_org_locks)",
    )
}

/// The five writes of an org's settings, for `org`.
fn writes(org: &str) -> Vec<Vec<&str>> {
    vec![
        vec!["org", "set", org, "--time-zone", "Europe/Berlin"],
        vec!["org", "set", org, "--stripe-customer", "cus_X"],
        vec!["tier", "assign", org, "pilot"],
        vec!["tier", "override", org, "ai_tokens", "7"],
        vec![
            "grant",
            "add",
            org,
            "chat_messages",
            "5",
            "--reason",
            "support",
        ],
        vec![
            "alert",
            "add",
            "r1",
            "--webhook",
            "https://example.com/hook",
            "--org",
            org,
        ],
    ]
}

/// A typo in any write of an org's settings is refused (exit 2, one line naming the
/// nearest known orgs) and writes nothing; --new-org creates the org; `record` needs no
/// flag; an org with only settings, a tier, an override, a grant, an alert rule or a
/// Stripe mapping is known.
#[test]
fn a_write_to_an_org_never_seen_is_refused_unless_new_org() {
    let db = TestDb::migrated();
    insert(&db, "acme-foods");
    db.run(&["tier", "assign", "acme-food-eu", "pilot", "--new-org"])
        .assert_ok();
    let before = settings_rows(&db);
    for args in writes("acme-fods") {
        let out = db.run(&args);
        out.assert_fails(2);
        assert_eq!(
            out.stderr,
            format!(
                "usagectl: error: org \"acme-fods\" {NEVER}; nearest known: acme-foods, acme-food-eu; pass --new-org to create it\n"
            ),
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    // nothing near: the refusal alone
    let out = db.run(&["tier", "assign", "zzzz-unrelated", "pilot"]);
    out.assert_fails(2);
    assert_eq!(
        out.stderr,
        format!("usagectl: error: org \"zzzz-unrelated\" {NEVER}; pass --new-org to create it\n")
    );
    assert_eq!(
        settings_rows(&db),
        before,
        "a refused write wrote something"
    );
    // --new-org on alert add only with --org
    db.run(&[
        "alert",
        "add",
        "r0",
        "--webhook",
        "https://example.com/hook",
        "--new-org",
    ])
    .assert_fails(2);
    // each write with --new-org creates an org that is known from then on, by that one row
    let mut n = 0;
    for args in writes("x") {
        n += 1;
        let org = format!("new-{n}");
        let mut args: Vec<&str> = args
            .into_iter()
            .map(|a| if a == "x" { org.as_str() } else { a })
            .collect();
        args.push("--new-org");
        db.run(&args).assert_ok();
        let l = db.run(&["limits", "--org", &org, "-o", "json"]);
        assert_eq!(l.json()["known_org"], true, "{args:?}: {}", l.stderr);
        assert!(l.stderr.is_empty(), "{args:?}: {}", l.stderr);
        db.run(&["tier", "assign", &org, "trial"]).assert_ok();
    }
    // an org's first event is how it appears: record asks nothing
    db.run(&["record", "--org", "brand-new", "--event", "chat_message"])
        .assert_ok();
    db.run(&["tier", "assign", "brand-new", "pilot"])
        .assert_ok();
}

/// Reads that print nothing for an org never seen say so on stderr, as limits does.
#[test]
fn reads_of_an_org_never_seen_say_so() {
    let db = TestDb::migrated();
    insert(&db, "acme-foods");
    let note = format!("usagectl: note: org \"acme-fods\" {NEVER}; did you mean \"acme-foods\"?\n");
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    for args in [
        vec!["export", "--month", &month, "--org", "acme-fods"],
        vec!["export", "--month", &month, "--raw", "--org", "acme-fods"],
        vec!["costs", "--org", "acme-fods"],
        vec!["events", "--org", "acme-fods"],
        vec!["limits", "--org", "acme-fods"],
    ] {
        let out = db.run(&args);
        out.assert_ok();
        assert_eq!(out.stderr, note, "{args:?}");
        let known: Vec<&str> = args
            .iter()
            .map(|a| if *a == "acme-fods" { "acme-foods" } else { a })
            .collect();
        let out = db.run(&known);
        out.assert_ok();
        assert!(out.stderr.is_empty(), "{known:?}: {}", out.stderr);
    }
}

/// "Is this org known" is answered from usagectl's own tables and the rollup first: an
/// org the rollup holds is known without the events table being read at all (a big
/// org's rows placed late made the old EXISTS a long sequential scan), and on every read
/// path an org with events is known and a typo is not.
#[test]
fn an_org_is_known_from_the_rollup_without_reading_the_events() {
    let db = TestDb::migrated();
    for org in ["whale", "minnow"] {
        insert(&db, org);
    }
    db.fold();
    // an org in the rollup only (its rows folded, as the fold leaves them): known
    db.client()
        .execute(
            "INSERT INTO usagectl_rollup (org_id, bucket, event_type, model, events, quantity, first_event, last_event)
             VALUES ('rollup-only', date_trunc('day', now(), 'UTC'), 'chat_message', '', 1, 1, now(), now())",
            &[],
        )
        .unwrap();
    let out = db.run(&["limits", "--org", "rollup-only", "-o", "json"]);
    assert_eq!(out.json()["known_org"], true, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    // the folded whale: usage_events is neither scanned nor probed
    let mut c = db.client();
    let mut tx = c.transaction().unwrap();
    assert!(usagectl::db::queries::org_is_known(&mut tx, "whale").unwrap());
    let (seq, idx): (i64, i64) = {
        let r = tx
            .query_one(
                "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relname = 'usage_events'",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((seq, idx), (0, 0), "usage_events was read");
    tx.rollback().unwrap();
    drop(c);
    for path in READ_PATHS {
        let db = TestDb::migrated();
        db.read_path(path);
        insert(&db, "acme");
        for (org, known) in [("acme", true), ("acme-x", false)] {
            let out = db.run(&["limits", "--org", org, "-o", "json"]);
            assert_eq!(out.json()["known_org"], known, "{path:?} {org}");
        }
    }
}
