//! What commands that read raw rows must know about archived months: a window that
//! reaches one cannot be answered from the table.
use anyhow::Result;
use chrono::{DateTime, Utc};
use postgres::GenericClient;

use crate::db::queries;
use crate::error::Archived;

/// Refuse (exit 5, [`Archived`]) a raw read of `[from, to)` (`from` None: from the first
/// event) that reaches an archived month, naming the month and its file.
pub fn require_raw(
    db: &mut impl GenericClient,
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
    what: &str,
) -> Result<()> {
    let archived = queries::archived_in(db, from, to)?;
    let Some((month, file)) = archived.first() else {
        return Ok(());
    };
    let more = match archived.len() {
        1 => String::new(),
        n => format!(
            " (and {} more archived month(s): usagectl archive --list)",
            n - 1
        ),
    };
    Err(anyhow::Error::new(Archived(format!(
        "{what} needs the raw rows of {month}, which is archived: they are in {file}{more}; \
         `usagectl archive --restore {month} --file {file}` puts them back"
    ))))
}

/// The archived months before `to`, for a note beside a listing that reached the oldest
/// rows in the table.
pub fn archived_before(db: &mut impl GenericClient, to: DateTime<Utc>) -> Result<Vec<String>> {
    Ok(queries::archived_in(db, None, to)?
        .into_iter()
        .map(|(month, _)| month)
        .collect())
}
