//! What several commands share: read models and workflows over the db layer and the
//! domain modules (quota, period, alerts, stripe, ...). Commands call these; these never
//! call a command, and they return facts (notes, warnings) for the command to print.
pub mod archives;
pub mod costs;
pub mod every_org;
pub mod limits;
pub mod migrate;
pub mod orgs;
pub mod partitions;
pub mod quotas;
pub mod summary;
pub mod views;
