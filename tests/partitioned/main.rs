//! The read-path, enforcement, API and archive tests again, on `usage_events`
//! partitioned by month: `TestDb::migrated()` adopts partitions right after `migrate`,
//! with the heap holding the rows before July 2025 and a partition for each month from
//! there, so the tests' rows spread over the heap and many monthly partitions.
//! The modules are the integration suite's own files (tests/it), compiled a second time.

/// Whether `TestDb::migrated()` partitions the table (see `support`).
pub const PARTITIONED: bool = true;

#[path = "../it/support.rs"]
mod support;

#[path = "../it/api.rs"]
mod api;
#[path = "../it/archive.rs"]
mod archive;
#[path = "../it/bulk.rs"]
mod bulk;
#[path = "../it/export.rs"]
mod export;
#[path = "../it/orgs.rs"]
mod orgs;
#[path = "../it/periods.rs"]
mod periods;
#[path = "../it/quota.rs"]
mod quota;
#[path = "../it/record.rs"]
mod record;
#[path = "../it/rollup.rs"]
mod rollup;
#[path = "../it/summary.rs"]
mod summary;
