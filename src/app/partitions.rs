//! The months ahead of a partitioned usage_events: what `partition ahead` and `maintain`
//! both do.
use anyhow::Result;
use postgres::Client;

use crate::db::queries;
use crate::partition::{self, Layout};

/// What [`ahead`] found and did.
#[derive(Debug)]
pub struct Ahead {
    /// How the table is laid out.
    pub layout: Layout,
    /// The months whose partitions this run created (`YYYY-MM`).
    pub created: Vec<String>,
}

/// Create the missing partitions of the current month and the
/// [`partition::MONTHS_AHEAD`] after it, when usagectl partitions the table (not for a
/// heap, nor when pg_partman manages it).
pub fn ahead(client: &mut Client) -> Result<Ahead> {
    let layout = queries::layout(client)?;
    let mut created = Vec::new();
    if layout == Layout::Partitioned {
        let now = queries::server_now(client)?;
        let covered: Vec<_> = queries::partitions(client)?
            .iter()
            .filter_map(queries::PartitionRow::range)
            .collect();
        for month in partition::months_to_create(now, &covered) {
            if queries::create_partition(client, &month)? {
                created.push(month.label());
            }
        }
    }
    Ok(Ahead { layout, created })
}
