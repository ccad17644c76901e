//! Migrating: create or adopt `usage_events`, apply the additive migrations, install the
//! definitions and count what predates the rollup; what `migrate`, `maintain` and `demo` run.
use anyhow::Result;
use postgres::Client;
use serde::Serialize;

use crate::db::queries;
use crate::db::schema::{self, MigrationState, RunAs, STEPS};
use crate::output::{Cell, Render, Style};

/// What the rollup's backfill did.
#[derive(Debug, Serialize)]
pub struct Backfill {
    /// UTC days counted.
    pub days: usize,
    /// Events counted.
    pub events: i64,
}

/// Which role a command needs.
#[derive(Debug, Serialize)]
pub struct RoleNeed {
    /// Commands.
    pub commands: &'static str,
    /// The role they need.
    pub role: &'static str,
}

/// One step in the report.
#[derive(Debug, Serialize)]
pub struct StepReport {
    /// Migration version.
    pub version: i32,
    /// What it does.
    pub description: String,
    /// The SQL.
    pub sql: String,
    /// `applied` (just now), `pending` (dry run).
    pub status: &'static str,
}

/// What migrate did or would do.
#[derive(Debug, Serialize)]
pub struct MigrateReport {
    /// True for `--dry-run`.
    pub dry_run: bool,
    /// Whether usage_events existed before this run (adopted rather than created).
    pub adopted_existing_table: bool,
    /// Schema version before this run.
    pub version_before: i32,
    /// Schema version after this run (unchanged for a dry run).
    pub version_after: i32,
    /// Steps run (or to run).
    pub steps: Vec<StepReport>,
    /// Days and events the rollup's backfill counted in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollup_backfill: Option<Backfill>,
    /// With --roles: which command needs which role.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleNeed>,
    /// The role the steps ran (or would run) as, when not the connecting role: the owner
    /// of usage_events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
    /// usagectl's objects handed to the owner of usage_events in this run (left owned by
    /// another role by an earlier run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub handed_over: Vec<String>,
    /// Whether this run installed this build's definitions (functions, triggers, policies,
    /// grants) on their own: the database had another build's (or, for a dry run, would).
    pub definitions_installed: bool,
}

impl MigrateReport {
    fn backfill_line(&self) -> String {
        match &self.rollup_backfill {
            Some(b) => format!(
                "backfilled the rollup: {} day(s), {} pre-existing event(s)\n",
                b.days, b.events
            ),
            None => String::new(),
        }
    }

    fn owner_lines(&self) -> String {
        let mut out = String::new();
        if self.definitions_installed && !self.dry_run {
            out.push_str("installed this build's functions and triggers (src/db/definitions)\n");
        }
        if let Some(role) = &self.run_as {
            out.push_str(&format!(
                "ran as {role} (SET ROLE), the owner of usage_events, so usagectl's objects are its\n"
            ));
        }
        if !self.handed_over.is_empty() {
            out.push_str(&format!(
                "handed to the owner of usage_events: {}\n",
                self.handed_over.join(", ")
            ));
        }
        out
    }

    fn roles_table(&self, style: &Style) -> String {
        if self.roles.is_empty() {
            return String::new();
        }
        let mut t = style.table(&["commands", "role"]);
        for r in &self.roles {
            t.add_row(vec![r.commands, r.role]);
        }
        format!(
            "roles usage_reader and usage_writer are in place (grant them to log-in roles: CREATE ROLE support LOGIN IN ROLE usage_reader)\n{t}\n"
        )
    }
}

impl Render for MigrateReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec!["version", "status", "description", "sql"]
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.steps
            .iter()
            .map(|s| {
                vec![
                    Cell::Num(s.version.into()),
                    Cell::text(s.status),
                    Cell::text(&s.description),
                    Cell::text(&s.sql),
                ]
            })
            .collect()
    }

    fn human(&self, style: &Style) -> String {
        if self.dry_run {
            if self.steps.is_empty() && self.definitions_installed {
                return "-- usagectl migrate --dry-run: the schema is up to date; this build's functions and triggers (src/db/definitions) would be installed\n".into();
            }
            if self.steps.is_empty() {
                return format!(
                    "-- schema is up to date (version {}); nothing to run\n",
                    self.version_after
                );
            }
            let mut out = format!(
                "-- usagectl migrate --dry-run: {} step(s) pending; each also records its version in usagectl_schema_migrations\n",
                self.steps.len()
            );
            if let Some(role) = &self.run_as {
                out.push_str(&format!(
                    "-- run as the owner of usage_events: SET ROLE {role}; (--roles creates the roles as the connecting role)\n"
                ));
            }
            out.push('\n');
            for s in &self.steps {
                out.push_str(&format!(
                    "-- {}: {}\n{};\n\n",
                    s.version, s.description, s.sql
                ));
            }
            return out;
        }
        if self.steps.is_empty() && !self.definitions_installed {
            return format!(
                "schema is up to date (version {}); nothing to do\n{}{}{}",
                self.version_after,
                self.owner_lines(),
                self.backfill_line(),
                self.roles_table(style)
            );
        }
        let mut t = style.table(&["version", "status", "step"]);
        for s in &self.steps {
            t.add_row(vec![
                s.version.to_string(),
                s.status.to_string(),
                s.description.clone(),
            ]);
        }
        let what = if self.adopted_existing_table {
            "adopted the existing usage_events table (every row, column and policy kept)"
        } else {
            "created usage_events"
        };
        format!(
            "{t}\n{what}; schema version {} -> {}\n{}{}{}",
            self.version_before,
            self.version_after,
            self.owner_lines(),
            self.backfill_line(),
            self.roles_table(style)
        )
    }
}

/// Apply (or, with `dry_run`, list) every pending step.
pub fn migrate(
    client: &mut Client,
    dry_run: bool,
    roles: bool,
    target: Option<i32>,
) -> Result<MigrateReport> {
    let adopted_existing_table = queries::usage_events_exists(client)?;
    // every object is created as the owner of usage_events (refused before anything runs
    // when the connecting role cannot become it)
    let mut owner = queries::usage_events_owner(client)?;
    let mut run_as = schema::run_as(owner.as_ref()).map_err(anyhow::Error::msg)?;
    let mut handed_over = Vec::new();
    if !dry_run {
        if let Some(role_timeout) = queries::migrate_session(client)? {
            crate::printer::note(&format!(
                "usagectl: migrate runs without this role's statement_timeout ({role_timeout}): index builds and backfills take as long as they need"
            ));
        }
        queries::lock_migrations(client)?;
        // read again under the lock: a run that held it may have created the table
        owner = queries::usage_events_owner(client)?;
        run_as = schema::run_as(owner.as_ref()).map_err(anyhow::Error::msg)?;
        if let Some(o) = &owner {
            handed_over = queries::hand_over(client, &o.owner)?;
        }
        if let RunAs::Owner(role) = &run_as {
            queries::set_role(client, Some(role))?;
        }
        queries::ensure_version_table(client)?;
    }
    let recorded = queries::applied_migrations(client)?;
    let changed: Vec<String> = schema::migration_states(&recorded)
        .iter()
        .filter(|m| m.3 == MigrationState::Changed)
        .map(|m| m.0.to_string())
        .collect();
    if !changed.is_empty() {
        anyhow::bail!(
            "migration {} was changed after it was applied: this build's SQL for it differs from what the database ran (see `usagectl migrate --status`); restore it, and put a change in a new migration",
            changed.join(", ")
        );
    }
    if !dry_run {
        queries::record_missing_checksums(client)?;
    }
    let applied: Vec<i32> = recorded.iter().map(|a| a.version).collect();
    let version_before = applied.iter().copied().max().unwrap_or(0);
    let mut steps = Vec::new();
    if dry_run && !queries::version_table_exists(client)? {
        steps.push(StepReport {
            version: 0,
            description: "create the table that records applied migrations".into(),
            sql: schema::VERSION_TABLE_SQL.into(),
            status: "pending",
        });
    }
    for step in STEPS
        .iter()
        .filter(|s| !applied.contains(&s.version) && target.is_none_or(|t| s.version <= t))
    {
        if !dry_run {
            queries::apply_step(client, step)?;
        }
        steps.push(StepReport {
            version: step.version,
            description: step.description.into(),
            sql: step.script(),
            status: if dry_run { "pending" } else { "applied" },
        });
    }
    let version_after = if dry_run {
        version_before
    } else {
        target
            .unwrap_or(i32::MAX)
            .min(schema::latest_version())
            .max(version_before)
    };
    // the backfill writes the rollup as the latest schema shapes it (migration 20 added its
    // model column): a staged upgrade leaves the days to the run that reaches the latest
    // this build's functions and triggers, when the database has another build's (a step
    // that needs them installed them already, in its own transaction)
    let mut definitions_installed = false;
    if version_after >= schema::DEFINITIONS_SINCE
        && queries::definitions_state(client)? == queries::DefinitionsState::OtherBuild
    {
        if !dry_run {
            queries::install_definitions(client, None)?;
        }
        definitions_installed = true;
    }
    // the boundaries inside UTC days, registered again under this build's bucket rule
    // right after the step that adopted it
    if !dry_run
        && version_before < schema::DEFINITIONS_SINCE
        && version_after >= schema::DEFINITIONS_SINCE
    {
        queries::register_boundaries(client, None)?;
    }
    // the keys a writer of the previous build stored after the step that made the key
    // table and before this build's insert function replaced its own
    if !dry_run && version_before < schema::KEYS_SINCE && version_after >= schema::KEYS_SINCE {
        queries::claim_missing_keys(client, None)?;
    }
    let rollup_backfill = if dry_run || version_after < schema::latest_version() {
        None
    } else {
        backfill(client)?
    };
    if roles && dry_run {
        steps.push(StepReport {
            version: 0,
            description: "create the usage_reader and usage_writer roles and their grants".into(),
            sql: format!("{};\n{}", schema::ROLES_CREATE_SQL, schema::ROLES_SQL),
            status: "pending",
        });
    } else if roles {
        queries::apply_roles(client, run_as != RunAs::Connected)?;
    }
    Ok(MigrateReport {
        dry_run,
        adopted_existing_table,
        version_before,
        version_after,
        steps,
        rollup_backfill,
        roles: if roles && !dry_run {
            schema::COMMAND_ROLES
                .iter()
                .map(|(commands, role)| RoleNeed { commands, role })
                .collect()
        } else {
            Vec::new()
        },
        run_as: match run_as {
            RunAs::Owner(role) => Some(role),
            RunAs::Connected => None,
        },
        handed_over,
        definitions_installed,
    })
}

/// Count the rows that predate the rollup's triggers, one day per transaction, oldest
/// first; an interrupted run resumes where it stopped. Progress on a terminal.
pub fn backfill(client: &mut Client) -> Result<Option<Backfill>> {
    let days = queries::pending_backfill_days(client)?;
    if days.is_empty() {
        return Ok(None);
    }
    let mut progress = crate::printer::get().progress();
    let mut events = 0;
    for (i, day) in days.iter().enumerate() {
        events += queries::backfill_day(client, *day)?;
        progress.tick(i as u64 + 1);
    }
    progress.finish(days.len() as u64);
    queries::finish_backfill(client)?;
    Ok(Some(Backfill {
        days: days.len(),
        events,
    }))
}

/// One row of `migrate --status`.
#[derive(Debug, Serialize)]
pub struct MigrationRow {
    /// Version.
    pub version: i32,
    /// What it does (empty for a version this build does not know).
    pub description: String,
    /// Where it stands.
    pub state: MigrationState,
    /// When it was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<String>,
}

/// `migrate --status`.
#[derive(Debug, Serialize)]
pub struct MigrationStatus {
    /// Every known or recorded version.
    pub migrations: Vec<MigrationRow>,
}

impl MigrationStatus {
    /// Whether a migration is pending or was changed after it was applied.
    pub fn needs_attention(&self) -> bool {
        self.migrations
            .iter()
            .any(|m| matches!(m.state, MigrationState::Pending | MigrationState::Changed))
    }
}

impl Render for MigrationStatus {
    fn csv_header(&self) -> Vec<&'static str> {
        vec!["version", "state", "applied_at", "description"]
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.migrations
            .iter()
            .map(|m| {
                vec![
                    Cell::Num(m.version.into()),
                    Cell::text(m.state.name()),
                    Cell::text(m.applied_at.as_deref().unwrap_or("")),
                    Cell::text(&m.description),
                ]
            })
            .collect()
    }

    fn human(&self, style: &Style) -> String {
        format!("{}\n", self.csv_table(style))
    }
}

/// Read where every migration stands.
pub fn status(client: &mut Client) -> Result<MigrationStatus> {
    let recorded = queries::applied_migrations(client)?;
    Ok(MigrationStatus {
        migrations: schema::migration_states(&recorded)
            .into_iter()
            .map(|(version, step, rec, state)| MigrationRow {
                version,
                description: step.map(|s| s.description.to_string()).unwrap_or_default(),
                state,
                applied_at: rec.map(|r| r.applied_at.clone()),
            })
            .collect(),
    })
}
