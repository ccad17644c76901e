//! What a command that reads every org does when row-level security confines the role:
//! refuse when it would see no org at all, name the org when it sees one.
use anyhow::Result;
use postgres::GenericClient;

use crate::db::queries::{self, RowVisibility};

/// Check, before a read of every org, that the role sees every org's rows. Hidden rows are
/// an error (exit 1): an answer from none of them would read as "all is well". One org
/// scoped is said on stderr and returned, for the command to show that org alone.
/// `per_org` names the command's one-org form, if it has one (`usagectl status --org ORG`).
pub fn check(db: &mut impl GenericClient, per_org: Option<&str>) -> Result<Option<String>> {
    match queries::row_visibility(db)? {
        RowVisibility::All => Ok(None),
        RowVisibility::OneOrg { role, org } => {
            crate::printer::notice(&one_org_note(&role, &org));
            Ok(Some(org))
        }
        RowVisibility::Hidden { role } => Err(anyhow::anyhow!(refusal(&role, per_org))),
    }
}

/// Like [`check`], for a read that is wrong unless it sees every org (checking a manifest
/// of every org): one org scoped is an error too, worded by `one_org` from that org.
pub fn require_every(
    db: &mut impl GenericClient,
    one_org: impl FnOnce(&str) -> String,
) -> Result<()> {
    match queries::row_visibility(db)? {
        RowVisibility::All => Ok(()),
        RowVisibility::OneOrg { org, .. } => Err(anyhow::anyhow!(one_org(&org))),
        RowVisibility::Hidden { role } => Err(anyhow::anyhow!(refusal(&role, None))),
    }
}

/// Scope the transaction to `org` for the seed's RLS policy when the command reads one org,
/// else [`check`] that the role sees every org (the one org it sees, if scoped).
pub fn scope(
    db: &mut impl GenericClient,
    org: Option<&str>,
    per_org: Option<&str>,
) -> Result<Option<String>> {
    match org {
        Some(org) => {
            queries::scope_to_org(db, org)?;
            Ok(None)
        }
        None => check(db, per_org),
    }
}

/// Whether `org` is shown when the role sees `only` (every org when `None`).
pub fn shows(only: Option<&str>, org: &str) -> bool {
    only.is_none_or(|o| o == org)
}

fn refusal(role: &str, per_org: Option<&str>) -> String {
    let alternative = per_org
        .map(|c| format!(" (or read one org at a time: `{c}`)"))
        .unwrap_or_default();
    format!(
        "role \"{role}\" cannot see every org's rows: row-level security on usage_events shows it \
         only the org in app.current_org_id, and none is set; run this as the table's owner or \
         as a role with BYPASSRLS{alternative}"
    )
}

fn one_org_note(role: &str, org: &str) -> String {
    format!(
        "role \"{role}\" sees only org {} (app.current_org_id is set for its sessions, and \
         row-level security on usage_events hides every other org): these figures are that \
         org's alone",
        crate::error::echo(org)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_the_role_and_what_it_needs() {
        assert_eq!(
            refusal("support", Some("usagectl status --org ORG")),
            "role \"support\" cannot see every org's rows: row-level security on usage_events \
             shows it only the org in app.current_org_id, and none is set; run this as the \
             table's owner or as a role with BYPASSRLS (or read one org at a time: `usagectl \
             status --org ORG`)"
        );
        assert!(refusal("support", None).ends_with("a role with BYPASSRLS"));
        assert!(
            one_org_note("support", "beta").starts_with("role \"support\" sees only org 'beta' (")
        );
    }

    #[test]
    fn one_org_scoped_shows_that_org_alone() {
        assert!(shows(None, "acme"));
        assert!(shows(Some("beta"), "beta"));
        assert!(!shows(Some("beta"), "acme"));
    }
}
