//! The system catalogs: relations, functions, indexes, roles, replicas and databases.
use super::*;

/// How far `replica` is behind `primary`: zero when it has replayed everything the primary
/// has written, else the time since its last replayed commit; never less than its
/// `recovery_min_apply_delay` (a delayed replica has the WAL but holds the commits back);
/// `None` when it is not a replica, is paused, or has never replayed a commit.
pub fn replica_lag(
    replica: &mut impl GenericClient,
    primary: &mut impl GenericClient,
) -> Result<Option<std::time::Duration>> {
    let r = replica
        .row(
            "SELECT pg_is_in_recovery(),
                    CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END,
                    CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END,
                    extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
                    (SELECT setting::float8 / 1000 FROM pg_settings
                      WHERE name = 'recovery_min_apply_delay')",
            &[],
        )
        .context("asking the read replica how far behind it is")?;
    let (in_recovery, paused, replayed, since): (bool, Option<bool>, Option<String>, Option<f64>) =
        (r.get(0), r.get(1), r.get(2), r.get(3));
    let delay = std::time::Duration::from_secs_f64(r.get::<_, Option<f64>>(4).unwrap_or(0.0));
    if !in_recovery || paused == Some(true) {
        return Ok(None);
    }
    let Some(replayed) = replayed else {
        return Ok(None);
    };
    let behind: f64 = primary
        .row(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::float8",
            &[&replayed],
        )
        .context("comparing the replica's position with the primary's")?
        .get(0);
    let lag = if behind <= 0.0 {
        Some(std::time::Duration::ZERO)
    } else {
        since.map(|s| std::time::Duration::from_secs_f64(s.max(0.0)))
    };
    Ok(lag.map(|l| l.max(delay)))
}

/// Whether `usage_events` exists already (an adopted table) before migrating.
pub fn usage_events_exists(db: &mut impl GenericClient) -> Result<bool> {
    let row = db
        .row("SELECT to_regclass('usage_events') IS NOT NULL", &[])
        .context("looking for usage_events")?;
    Ok(row.get(0))
}

/// Relations (tables, indexes) by name that exist, of those asked about.
pub fn existing_relations(db: &mut impl GenericClient, names: &[&str]) -> Result<Vec<String>> {
    Ok(db
        .rows(
            "SELECT n FROM unnest($1::text[]) AS n WHERE to_regclass(n) IS NOT NULL",
            &[&names],
        )
        .context("looking for the tool's tables")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// The default expression of a column of usage_events, if it has one.
pub fn usage_events_column_default(
    db: &mut impl GenericClient,
    column: &str,
) -> Result<Option<String>> {
    Ok(db
        .query_typed_opt(
            "SELECT pg_get_expr(d.adbin, d.adrelid)
             FROM pg_attribute a
             JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = to_regclass('usage_events') AND a.attname = $1 AND NOT a.attisdropped",
            &[(&column, Type::TEXT)],
        )
        .with_context(|| format!("reading the default of usage_events.{column}"))?
        .map(|r| r.get(0)))
}

/// Invalid indexes on usage_events (left by an interrupted CREATE INDEX CONCURRENTLY).
pub fn invalid_indexes(db: &mut impl GenericClient) -> Result<Vec<String>> {
    Ok(db
        .rows(
            "SELECT indexrelid::regclass::text FROM pg_index
             WHERE indrelid = to_regclass('usage_events') AND NOT indisvalid",
            &[],
        )
        .context("checking the indexes on usage_events")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Whether row-level security is enabled on a table.
pub fn rls_enabled(db: &mut impl GenericClient, table: &str) -> Result<bool> {
    Ok(db
        .row(
            "SELECT coalesce((SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass($1)), false)",
            &[&table],
        )?
        .get(0))
}

/// Which orgs' rows of usage_events and its rollups the connected role reads when usagectl
/// scopes no org: the fact every command that reads all orgs checks first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowVisibility {
    /// Every org's: row-level security does not apply to the role (it owns the tables, has
    /// BYPASSRLS or is a superuser), or a policy of some other kind lets it read them.
    All,
    /// Only one org's: `app.current_org_id` is set for the session (`ALTER ROLE ... SET`,
    /// `ALTER DATABASE ... SET` or `PGOPTIONS`), and the seed's policy reads it.
    OneOrg {
        /// The role whose rights apply (`current_user`).
        role: String,
        /// The org in `app.current_org_id`.
        org: String,
    },
    /// None: row-level security hides every row from this role.
    Hidden {
        /// The role whose rights apply (`current_user`).
        role: String,
    },
}

impl RowVisibility {
    /// The fact from what the catalog says: whether the org-scoped policies alone decide
    /// what the role reads (`confined`), and the session's `app.current_org_id`, if set.
    pub fn of(confined: bool, scoped_org: Option<String>, role: String) -> RowVisibility {
        match (confined, scoped_org) {
            (false, _) => RowVisibility::All,
            (true, Some(org)) => RowVisibility::OneOrg { role, org },
            (true, None) => RowVisibility::Hidden { role },
        }
    }
}

/// The tables whose rows the seed's policy (or usagectl's copy of it) reads one org at a time.
const ORG_SCOPED_TABLES: [&str; 2] = ["usage_events", "usagectl_rollup"];

/// Which orgs' rows the connected role reads with no org scoped by usagectl. The role is
/// confined when row-level security is active for it on any of [`ORG_SCOPED_TABLES`]
/// (`row_security_active`: not the owner, unless FORCE; no BYPASSRLS; not a superuser)
/// and every permissive SELECT policy there that applies to it reads `app.current_org_id`.
pub fn row_visibility(db: &mut impl GenericClient) -> Result<RowVisibility> {
    let r = db
        .row(
            "SELECT coalesce(bool_or(row_security_active(c) AND NOT EXISTS (
                        SELECT 1 FROM pg_policy p
                         WHERE p.polrelid = c AND p.polpermissive AND p.polcmd IN ('r', '*')
                           AND (p.polroles = '{0}' OR EXISTS (
                                   SELECT 1 FROM unnest(p.polroles) r
                                    WHERE r <> 0 AND pg_has_role(current_user, r, 'USAGE')))
                           AND coalesce(pg_get_expr(p.polqual, p.polrelid), '')
                               NOT LIKE '%app.current_org_id%')), false),
                    nullif(current_setting('app.current_org_id', true), ''),
                    current_user::text
               FROM unnest($1::text[]) t, to_regclass(t) c
              WHERE c IS NOT NULL",
            &[&&ORG_SCOPED_TABLES[..]],
        )
        .context("asking whether row-level security hides rows from this role")?;
    Ok(RowVisibility::of(r.get(0), r.get(1), r.get(2)))
}

/// Which of the given roles exist.
pub fn existing_roles(db: &mut impl GenericClient, names: &[&str]) -> Result<Vec<String>> {
    Ok(db
        .rows(
            "SELECT rolname::text FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1",
            &[&names],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// The connected role, for corrections' audit trail.
pub fn current_user(db: &mut impl GenericClient) -> Result<String> {
    Ok(db.row("SELECT current_user::text", &[])?.get(0))
}

/// Whether a database exists on the server.
pub fn database_exists(db: &mut impl GenericClient, name: &str) -> Result<bool> {
    let row = db
        .row(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )
        .context("listing databases")?;
    Ok(row.get(0))
}

/// Create a database (the name is quoted as an identifier).
pub fn create_database(db: &mut impl GenericClient, name: &str) -> Result<()> {
    db.batch_execute(&format!("CREATE DATABASE {}", quote_ident(name)))
        .with_context(|| format!("creating database {name}"))
}

/// Quote an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_is_all_unless_the_org_policies_confine_the_role() {
        let role = || "support".to_string();
        assert_eq!(RowVisibility::of(false, None, role()), RowVisibility::All);
        assert_eq!(
            RowVisibility::of(false, Some("beta".into()), role()),
            RowVisibility::All
        );
        assert_eq!(
            RowVisibility::of(true, Some("beta".into()), role()),
            RowVisibility::OneOrg {
                role: role(),
                org: "beta".into()
            }
        );
        assert_eq!(
            RowVisibility::of(true, None, role()),
            RowVisibility::Hidden { role: role() }
        );
    }
}
