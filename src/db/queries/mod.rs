//! The query module: every SQL statement usagectl runs against its tables lives here.
//! Functions take `&mut impl GenericClient` (a client or a transaction), return typed
//! rows and never format anything.
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use postgres::GenericClient;
use postgres::types::Type;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::schema::{self, Step, StepKind};
use super::sql::Sql;
use crate::period::Month;
use crate::quota::{LimitConfig, Metric, Usage};

mod alerts;
mod archive;
mod catalog;
mod costs;
mod demo;
mod events;
mod export;
mod migrations;
mod orgs;
mod partition;
mod periods;
mod reads;
mod rollup;
mod staging;
mod stripe;
mod tiers;

pub use alerts::*;
pub use archive::*;
pub use catalog::*;
pub use costs::*;
pub use demo::*;
pub use events::*;
pub use export::*;
pub use migrations::*;
pub use orgs::*;
pub use partition::*;
pub use periods::*;
pub use reads::*;
pub use rollup::*;
pub use staging::*;
pub use stripe::*;
pub use tiers::*;
