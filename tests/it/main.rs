//! Integration tests: the built binary against a real PostgreSQL the suite starts itself.
//! (tests/partitioned runs the read tests again on a table partitioned by month.)

/// Whether `TestDb::migrated()` partitions the table (see `support`).
pub const PARTITIONED: bool = false;
mod fake_stripe;
mod receiver;
mod support;

mod alerts;
mod api;
mod archive;
mod bulk;
mod connect;
mod demo;
mod export;
mod migrate;
mod orgs;
mod partition;
mod periods;
mod pooler;
mod quota;
mod record;
mod replica;
mod roles;
mod rollup;
mod schema_snapshot;
mod stripe;
mod summary;
mod tls;
mod tools;
mod waits;
