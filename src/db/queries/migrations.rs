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
        StepKind::ShortLock => {
            // the lock queues the web app's inserts behind it: wait briefly, then let them
            // through and try again
            waits::retrying(client, &what, |client| {
                let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
                tx.batch_execute(step.sql).with_context(context)?;
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

/// Run `statements` (function definitions and their grants, see
/// [`schema::function_repair`]) in one transaction, as `role` when given (the owner of
/// usage_events, so the functions are its, as `migrate` makes them).
pub fn reinstall_functions(
    client: &mut postgres::Client,
    role: Option<&str>,
    statements: &[&str],
) -> Result<()> {
    let mut tx = crate::db::waits::begin(client)?;
    if let Some(r) = role {
        tx.batch_execute(&format!("SET LOCAL ROLE {}", quote_ident(r)))
            .with_context(|| format!("switching to role {r}"))?;
    }
    for sql in statements {
        tx.batch_execute(sql)
            .context("reinstalling a function as this build defines it")?;
    }
    tx.commit()?;
    Ok(())
}
