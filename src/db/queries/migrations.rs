//! The migration runner: versions, checksums, steps, roles.
use super::*;

/// Take the migration lock for this session, so two `migrate` runs never interleave.
/// Released when the connection closes.
pub fn lock_migrations(db: &mut impl GenericClient) -> Result<()> {
    db.exec("SELECT pg_advisory_lock(hashtext('usagectl.migrate'))", &[])
        .context("taking the migration lock")?;
    Ok(())
}

/// Prepare migrate's own session: `statement_timeout` off (index builds and backfills run
/// long) and `lock_timeout` at `--lock-timeout` for the waits outside transactions (the
/// migration lock, index builds). Returns the role's statement_timeout when it had one.
pub fn migrate_session(client: &mut postgres::Client) -> Result<Option<String>> {
    let before: String = client
        .row("SELECT current_setting('statement_timeout')", &[])
        .context("reading statement_timeout")?
        .get(0);
    client
        .batch_execute(&format!(
            "SET statement_timeout = 0; SET lock_timeout = {}",
            crate::db::waits::current().lock_timeout.as_millis()
        ))
        .context("setting migrate's session timeouts")?;
    Ok((before != "0").then_some(before))
}

/// Create the version table if it is missing.
pub fn ensure_version_table(db: &mut impl GenericClient) -> Result<()> {
    db.batch_execute(schema::VERSION_TABLE_SQL)
        .context("creating usagectl_schema_migrations")
}

/// Whether the version table exists (without creating it).
pub fn version_table_exists(db: &mut impl GenericClient) -> Result<bool> {
    let row = db
        .row(
            "SELECT to_regclass('usagectl_schema_migrations') IS NOT NULL",
            &[],
        )
        .context("looking for usagectl_schema_migrations")?;
    Ok(row.get(0))
}

/// Versions recorded as applied, oldest first (the checksum column may not exist yet).
pub fn applied_migrations(db: &mut impl GenericClient) -> Result<Vec<schema::Applied>> {
    if !version_table_exists(db)? {
        return Ok(Vec::new());
    }
    let rows = db
        .rows(
            r#"SELECT version, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                      to_jsonb(m) ->> 'checksum'
               FROM usagectl_schema_migrations m ORDER BY version"#,
            &[],
        )
        .context("reading applied migrations")?;
    Ok(rows
        .iter()
        .map(|r| schema::Applied {
            version: r.get(0),
            applied_at: r.get(1),
            checksum: r.get(2),
        })
        .collect())
}

/// Record this build's checksum for versions applied before checksums were kept.
pub fn record_missing_checksums(db: &mut impl GenericClient) -> Result<u64> {
    let mut n = 0;
    for step in schema::STEPS {
        n += db
            .exec(
                "UPDATE usagectl_schema_migrations SET checksum = $2 WHERE version = $1 AND checksum IS NULL",
                &[&step.version, &step.checksum()],
            )
            .with_context(|| format!("recording the checksum of migration {}", step.version))?;
    }
    Ok(n)
}

/// Who owns `usage_events` and whether the connecting role may become it (`None` when
/// the table does not exist). Membership is `SET` on PostgreSQL 16 and later (a member
/// granted `SET FALSE` may not switch), `MEMBER` before; a superuser always may.
pub fn usage_events_owner(db: &mut impl GenericClient) -> Result<Option<schema::TableOwner>> {
    let row = db
        .opt_row(
            "SELECT pg_get_userbyid(c.relowner)::text, current_user::text,
                    pg_has_role(c.relowner, CASE WHEN current_setting('server_version_num')::int >= 160000
                                                 THEN 'SET' ELSE 'MEMBER' END)
             FROM pg_class c WHERE c.oid = to_regclass('usage_events')",
            &[],
        )
        .context("reading who owns usage_events")?;
    Ok(row.map(|r| schema::TableOwner {
        owner: r.get(0),
        connected_as: r.get(1),
        can_become: r.get(2),
    }))
}

/// Act as `role` for the rest of the session (`None`: as the connecting role again).
pub fn set_role(db: &mut impl GenericClient, role: Option<&str>) -> Result<()> {
    let sql = match role {
        Some(r) => format!("SET ROLE {}", quote_ident(r)),
        None => "RESET ROLE".into(),
    };
    db.batch_execute(&sql).with_context(|| match role {
        Some(r) => format!("switching to role {r}"),
        None => "switching back to the connecting role".into(),
    })
}

/// Give `owner` (the owner of `usage_events`) usagectl's tables, sequences, views and
/// functions that another role owns and the connecting role may hand over (a superuser:
/// all; else those of roles it is a member of): what a `migrate` run by another role left
/// (before runs switched to the owner), which the owner could not replace or alter.
/// Indexes, triggers and sequences linked to a column follow their table. One transaction,
/// under the short lock wait (ALTER ... OWNER locks the table); returns what changed hands.
pub fn hand_over(client: &mut postgres::Client, owner: &str) -> Result<Vec<String>> {
    use crate::db::waits;
    waits::retrying(
        client,
        "handing usagectl's objects to the owner of usage_events",
        |client| {
            let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
            let rows = tx
            .rows(
                r"SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                        WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                         c.oid::regclass::text
                  FROM pg_class c
                  WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'usagectl\_%'
                    AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
                    AND pg_get_userbyid(c.relowner) <> $1 AND pg_has_role(c.relowner, 'MEMBER')
                    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
                  UNION ALL
                  SELECT 'ROUTINE', p.oid::regprocedure::text
                  FROM pg_proc p
                  WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'usagectl\_%'
                    AND pg_get_userbyid(p.proowner) <> $1 AND pg_has_role(p.proowner, 'MEMBER')
                  ORDER BY 1, 2",
                &[&owner],
            )
            .context("listing usagectl's objects another role owns")?;
            let mut handed = Vec::new();
            for r in &rows {
                let (kind, name): (String, String) = (r.get(0), r.get(1));
                tx.batch_execute(&format!(
                    "ALTER {kind} {name} OWNER TO {}",
                    quote_ident(owner)
                ))
                .with_context(|| format!("handing {name} to {owner}"))?;
                handed.push(name);
            }
            tx.commit()?;
            Ok(handed)
        },
    )
}

/// Create and grant the least-privilege roles: [`schema::ROLES_CREATE_SQL`] as the
/// connecting role (`as_owner`: migrate switched to the owner of usage_events, whose
/// CREATEROLE it may lack), then [`schema::ROLES_SQL`]. Its policies and ENABLE ROW LEVEL
/// SECURITY take a lock the web app's inserts queue behind: each attempt waits at most
/// [`crate::db::waits::SHORT_LOCK`] for it, and is retried.
pub fn apply_roles(client: &mut postgres::Client, as_owner: bool) -> Result<()> {
    use crate::db::waits;
    let mut tx = waits::begin_with(
        client,
        waits::long_running(waits::current().lock_timeout),
        if as_owner { "SET LOCAL ROLE NONE;" } else { "" },
    )?;
    tx.batch_execute(schema::ROLES_CREATE_SQL)
        .context("creating the usage_reader and usage_writer roles")?;
    tx.commit()?;
    waits::retrying(client, "migrate --roles", |client| {
        let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
        tx.batch_execute(schema::ROLES_SQL)
            .context("adding the per-org policies of usage_events")?;
        tx.batch_execute(schema::GRANTS.sql)
            .context("granting the usage_reader and usage_writer roles")?;
        tx.commit()?;
        Ok(())
    })
}

fn record_version(db: &mut impl GenericClient, step: &Step) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_schema_migrations (version, description, checksum) VALUES ($1, $2, $3)
         ON CONFLICT (version) DO NOTHING",
        &[&step.version, &step.description, &step.checksum()],
    )
    .with_context(|| format!("recording migration {}", step.version))?;
    Ok(())
}

/// Apply one step (see [`StepKind`] for how each kind runs). `migrate` runs on a session of
/// its own (not through a transaction pooler), with `statement_timeout` off for it.
pub fn apply_step(client: &mut postgres::Client, step: &Step) -> Result<()> {
    use crate::db::waits;
    let what = format!("migration {}", step.version);
    let context = || format!("migration {}: {}", step.version, step.description);
    match step.kind {
        StepKind::Transactional => {
            let mut tx = waits::begin_with(
                client,
                waits::long_running(waits::current().lock_timeout),
                "",
            )?;
            tx.batch_execute(step.sql).with_context(context)?;
            record_version(&mut tx, step)?;
            tx.commit()?;
        }
        StepKind::ShortLock | StepKind::WithDefinitions => {
            // the lock queues the web app's inserts behind it: wait briefly, then let them
            // through and try again
            waits::retrying(client, &what, |client| {
                let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
                tx.batch_execute(step.sql).with_context(context)?;
                if step.kind == StepKind::WithDefinitions {
                    install_definitions_in(&mut tx)?;
                }
                record_version(&mut tx, step)?;
                tx.commit()?;
                Ok(())
            })?;
        }
        StepKind::ConcurrentIndex(name) => {
            // its waits (for writers, then for older snapshots) queue no insert; an attempt
            // that gives up leaves an invalid index, which the next attempt drops
            // each attempt may wait a third of --lock-timeout, so a build that gave up can be
            // tried again within it (0: wait as long as it takes)
            let per_attempt = waits::current().lock_timeout / 3;
            client
                .batch_execute(&format!("SET lock_timeout = {}", per_attempt.as_millis()))
                .context("setting the index build's lock_timeout")?;
            waits::retrying(client, &what, |client| {
                drop_if_invalid(client, name)?;
                client.batch_execute(step.sql).with_context(context)?;
                Ok(())
            })?;
            record_version(client, step)?;
        }
    }
    Ok(())
}

/// Drop `name` (concurrently) if it is an invalid index: what an interrupted or timed-out
/// `CREATE INDEX CONCURRENTLY` leaves behind, which `IF NOT EXISTS` would silently keep.
pub fn drop_if_invalid(client: &mut postgres::Client, name: &str) -> Result<bool> {
    let invalid: bool = client
        .row(
            "SELECT coalesce((SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)), false)",
            &[&name],
        )
        .with_context(|| format!("checking index {name}"))?
        .get(0);
    if invalid {
        client
            .batch_execute(&format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}",
                quote_ident(name)
            ))
            .with_context(|| format!("dropping the invalid index {name}"))?;
    }
    Ok(invalid)
}

/// What the database holds of this build's definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionsState {
    /// The schema predates the definition files (a version before
    /// [`schema::DEFINITIONS_SINCE`]): its functions are its migrations'.
    Predates,
    /// Installed from this build's files, and every function and trigger still as installed.
    Current,
    /// Installed from another build's files (`migrate` installs this build's).
    OtherBuild,
    /// The connecting role may not read the record of what was installed.
    Unreadable,
    /// Installed from this build's files, but these objects differ from what was installed
    /// (edited, dropped, disabled or added by hand), each with what is wrong.
    Drifted(Vec<(String, &'static str)>),
}

/// The functions and triggers usagectl owns, as the catalog shows each now: one line
/// naming it (`function NAME(ARGS)`, `function usagectl.NAME(ARGS)` for the web app's
/// API, or `trigger NAME on TABLE`) and the MD5 of its definition (a trigger's includes
/// whether it is enabled). Triggers cloned onto partitions follow their parent's and are
/// left out.
const CATALOG_OBJECTS: &str = r"
    SELECT 'function ' || p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid))
      FROM pg_proc p
     WHERE (p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'usagectl\_%')
        OR p.pronamespace = to_regnamespace('usagectl')
    UNION ALL
    SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass::text,
           md5(pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE NOT t.tgisinternal AND t.tgname LIKE 'usagectl\_%' AND t.tgparentid = 0
       AND c.relnamespace = current_schema()::regnamespace
    ORDER BY 1";

/// The idempotency keys of stored events that `usagectl_event_keys` lacks (a keyed row a
/// writer of an older build inserted after the step that made the table), claimed for
/// their events; returns how many. `numbered_above` limits the scan to the rows numbered
/// after it.
pub fn claim_missing_keys(db: &mut impl GenericClient, numbered_above: Option<i64>) -> Result<u64> {
    db.exec(
        "INSERT INTO usagectl_event_keys (org_id, idempotency_key, event_id)
         SELECT e.org_id, e.idempotency_key, e.id FROM usage_events e
          WHERE e.idempotency_key IS NOT NULL
            AND ($1::bigint IS NULL OR e.usagectl_seq > $1)
            AND NOT EXISTS (SELECT 1 FROM usagectl_event_keys k
                             WHERE k.org_id = e.org_id AND k.idempotency_key = e.idempotency_key)
          ORDER BY 1, 2
         ON CONFLICT DO NOTHING",
        &[&numbered_above],
    )
    .context("claiming the idempotency keys of stored events")
}

/// Install this build's definitions in `tx`: the files in order, the grants when both
/// roles exist, then what the catalog shows of each function and trigger, with this
/// build's checksum (see [`definitions_state`]).
pub fn install_definitions_in(tx: &mut postgres::Transaction<'_>) -> Result<()> {
    // first, before any lock on a table a reader of usage_events goes on to read (the
    // rollup's policy, the triggers' functions): no reader holds usage_events while it
    // waits for this transaction
    tx.batch_execute("LOCK TABLE usage_events IN ACCESS EXCLUSIVE MODE")
        .context("locking usage_events to install the definitions")?;
    for d in schema::DEFINITIONS {
        tx.batch_execute(d.sql)
            .with_context(|| format!("installing the definitions of {}.sql", d.name))?;
    }
    let api_schema: bool = tx
        .row("SELECT to_regnamespace('usagectl') IS NOT NULL", &[])?
        .get(0);
    if api_schema {
        tx.batch_execute(schema::API.sql)
            .context("installing the web app's API (schema usagectl)")?;
    }
    let roles: i64 = tx
        .row(
            "SELECT count(*) FROM pg_roles WHERE rolname IN ('usage_reader', 'usage_writer')",
            &[],
        )?
        .get(0);
    if roles == 2 {
        tx.batch_execute(schema::GRANTS.sql)
            .context("granting usage_reader and usage_writer what the definitions need")?;
    }
    tx.batch_execute("DELETE FROM usagectl_definitions")
        .context("clearing the record of installed definitions")?;
    tx.exec(
        &format!(
            "INSERT INTO usagectl_definitions (object, hash, build) SELECT o.*, $1 FROM ({CATALOG_OBJECTS}) o"
        ),
        &[&schema::definitions_checksum()],
    )
    .context("recording the installed definitions")?;
    Ok(())
}

/// Install this build's definitions in a transaction of their own, under the short lock
/// wait (CREATE TRIGGER locks usage_events briefly; a try that cannot get the lock lets the
/// web app's inserts through and tries again), as `role` when given (the owner of
/// usage_events, so the functions are its, as `migrate` makes them).
pub fn install_definitions(client: &mut postgres::Client, role: Option<&str>) -> Result<()> {
    use crate::db::waits;
    waits::retrying(client, "installing the definitions", |client| {
        let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
        if let Some(r) = role {
            tx.batch_execute(&format!("SET LOCAL ROLE {}", quote_ident(r)))
                .with_context(|| format!("switching to role {r}"))?;
        }
        install_definitions_in(&mut tx)?;
        tx.commit()?;
        Ok(())
    })
}

/// Compare the database's functions and triggers with the definitions this build installs.
pub fn definitions_state(db: &mut impl GenericClient) -> Result<DefinitionsState> {
    if existing_relations(db, &["usagectl_definitions"])?.is_empty() {
        return Ok(DefinitionsState::Predates);
    }
    let readable: bool = db
        .row(
            "SELECT has_table_privilege('usagectl_definitions', 'SELECT')",
            &[],
        )?
        .get(0);
    if !readable {
        return Ok(DefinitionsState::Unreadable);
    }
    let recorded: Vec<(String, String, String)> = db
        .rows(
            "SELECT object, hash, build FROM usagectl_definitions ORDER BY object",
            &[],
        )
        .context("reading the record of installed definitions")?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    if recorded.is_empty()
        || recorded
            .iter()
            .any(|r| r.2 != schema::definitions_checksum())
    {
        return Ok(DefinitionsState::OtherBuild);
    }
    let now: Vec<(String, String)> = db
        .rows(CATALOG_OBJECTS, &[])
        .context("reading usagectl's functions and triggers")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let disabled: Vec<String> = db
        .rows(
            r"SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass::text
                FROM pg_trigger t
               WHERE NOT t.tgisinternal AND t.tgname LIKE 'usagectl\_%' AND t.tgenabled = 'D'",
            &[],
        )
        .context("looking for disabled triggers")?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut drift = Vec::new();
    for (object, hash, _) in &recorded {
        match now.iter().find(|(o, _)| o == object) {
            None => drift.push((object.clone(), "missing")),
            Some(_) if disabled.contains(object) => drift.push((object.clone(), "disabled")),
            Some((_, h)) if h != hash => {
                drift.push((object.clone(), "differs from this build's definition"))
            }
            Some(_) => {}
        }
    }
    for (object, _) in &now {
        if !recorded.iter().any(|(o, _, _)| o == object) {
            drift.push((object.clone(), "not defined by this build"));
        }
    }
    Ok(if drift.is_empty() {
        DefinitionsState::Current
    } else {
        DefinitionsState::Drifted(drift)
    })
}

/// Where the web app's API stands: its version, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiState {
    /// Installed: `usagectl.api_version()`.
    Version(String),
    /// No schema `usagectl`: the role that ran `migrate` could not create it.
    NoSchema,
    /// The schema exists and the API is not in it (`migrate` installs it).
    NotInstalled,
    /// This role may not call it.
    Unreadable,
}

/// Ask for the web app's API (schema `usagectl`).
pub fn api_state(db: &mut impl GenericClient) -> Result<ApiState> {
    let row = db
        .row(
            "SELECT to_regnamespace('usagectl') IS NOT NULL,
                    to_regprocedure('usagectl.api_version()') IS NOT NULL
                    AND has_schema_privilege('usagectl', 'USAGE')
                    AND has_function_privilege('usagectl.api_version()', 'EXECUTE'),
                    to_regprocedure('usagectl.api_version()') IS NOT NULL",
            &[],
        )
        .context("looking for the web app's API")?;
    let (schema, callable, installed): (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
    Ok(match (schema, installed, callable) {
        (false, _, _) => ApiState::NoSchema,
        (true, false, _) => ApiState::NotInstalled,
        (true, true, false) => ApiState::Unreadable,
        (true, true, true) => ApiState::Version(
            db.row("SELECT usagectl.api_version()", &[])
                .context("asking usagectl.api_version()")?
                .get(0),
        ),
    })
}
