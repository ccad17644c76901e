//! How usagectl sends statements: unnamed, with typed parameters, so that it works
//! through transaction poolers (PgBouncer `pool_mode=transaction`, Supavisor, RDS Proxy).
//!
//! `postgres`' `query`/`execute` prepare a *named* statement (`s0`, `s1`, …) first; behind a
//! transaction pooler the Parse, the Bind and the Close can reach different server
//! connections, which fails with `prepared statement "s0" already exists` / `does not
//! exist`. `query_typed` sends Parse, Bind and Execute of the unnamed statement in one
//! round trip, which every pooler passes through; it needs each parameter's type, which
//! [`Param`] derives from the Rust type. Every statement in [`super::queries`] goes
//! through [`Sql`].
use chrono::{DateTime, NaiveDate, Utc};
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Row};
use serde_json::Value;
use uuid::Uuid;

/// The PostgreSQL type a Rust value is sent as.
pub trait PgType {
    /// That type.
    const PG: Type;
}

macro_rules! pg_type {
    ($($t:ty => $pg:expr),* $(,)?) => {
        $(impl PgType for $t { const PG: Type = $pg; })*
    };
}

pg_type! {
    str => Type::TEXT,
    String => Type::TEXT,
    bool => Type::BOOL,
    i32 => Type::INT4,
    i64 => Type::INT8,
    f64 => Type::FLOAT8,
    DateTime<Utc> => Type::TIMESTAMPTZ,
    NaiveDate => Type::DATE,
    Value => Type::JSONB,
    Uuid => Type::UUID,
    Vec<String> => Type::TEXT_ARRAY,
    Vec<&str> => Type::TEXT_ARRAY,
    Vec<i32> => Type::INT4_ARRAY,
    [String] => Type::TEXT_ARRAY,
    [&str] => Type::TEXT_ARRAY,
}

impl<T: PgType + ?Sized> PgType for &T {
    const PG: Type = T::PG;
}

impl<T: PgType> PgType for Option<T> {
    const PG: Type = T::PG;
}

/// A statement parameter: a value and the type it is sent as.
pub trait Param: ToSql + Sync {
    /// The type it is sent as.
    fn pg_type(&self) -> Type;
    /// The value.
    fn value(&self) -> &(dyn ToSql + Sync);
}

impl<T: PgType + ToSql + Sync> Param for T {
    fn pg_type(&self) -> Type {
        T::PG
    }
    fn value(&self) -> &(dyn ToSql + Sync) {
        self
    }
}

fn typed<'a>(params: &[&'a dyn Param]) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    params.iter().map(|p| (p.value(), p.pg_type())).collect()
}

/// Unnamed statements with typed parameters on any client or transaction.
pub trait Sql: GenericClient {
    /// All rows.
    fn rows(&mut self, sql: &str, params: &[&dyn Param]) -> Result<Vec<Row>, postgres::Error> {
        self.query_typed(sql, &typed(params))
    }

    /// Exactly one row.
    fn row(&mut self, sql: &str, params: &[&dyn Param]) -> Result<Row, postgres::Error> {
        self.query_typed_one(sql, &typed(params))
    }

    /// At most one row.
    fn opt_row(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<Option<Row>, postgres::Error> {
        self.query_typed_opt(sql, &typed(params))
    }

    /// Run it; the number of rows it affected.
    fn exec(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, postgres::Error> {
        self.execute_typed(sql, &typed(params))
    }
}

impl<C: GenericClient> Sql for C {}

/// Prepare a `COPY` (the one statement `postgres` cannot send unnamed) inside `tx`.
/// Inside a transaction its Parse, Bind and Close reach the same server session even
/// behind a transaction pooler; the caller drops the statement (which sends the Close)
/// before the transaction ends. A name that another pooled client left on that server
/// session (`prepared statement "s0" already exists`) is stepped over: the statement is
/// prepared again under the next name, inside a savepoint.
pub fn prepare_copy(
    tx: &mut postgres::Transaction<'_>,
    sql: &str,
) -> Result<postgres::Statement, postgres::Error> {
    use postgres::error::SqlState;
    let mut tries = 0;
    loop {
        tries += 1;
        let mut sp = tx.transaction()?;
        match sp.prepare(sql) {
            Ok(statement) => {
                sp.commit()?;
                return Ok(statement);
            }
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_PSTATEMENT) && tries < 16 => {
                sp.rollback()?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A `COPY ... TO STDOUT` stream that keeps its prepared statement until the stream is
/// dropped: closing the statement mid-stream would leave a message the server never reads,
/// and a server that ends the session then resets the socket before its reason (a
/// terminated backend, a statement timeout) reaches usagectl.
pub struct CopyOut<'a> {
    reader: postgres::CopyOutReader<'a>,
    _statement: postgres::Statement,
}

impl std::io::Read for CopyOut<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

impl std::io::BufRead for CopyOut<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.reader.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.reader.consume(amt)
    }
}

/// Prepare (see [`prepare_copy`]) and start a `COPY ... TO STDOUT` inside `tx`, streaming
/// `what` (for the error's context).
pub fn copy_out<'a>(
    tx: &'a mut postgres::Transaction<'_>,
    sql: &str,
    what: &str,
) -> anyhow::Result<CopyOut<'a>> {
    use anyhow::Context;
    let statement =
        prepare_copy(tx, sql).with_context(|| format!("preparing the COPY of {what}"))?;
    let reader = tx
        .copy_out(&statement)
        .with_context(|| format!("streaming {what} from the server"))?;
    Ok(CopyOut {
        reader,
        _statement: statement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_the_rust_type() {
        let org = String::from("acme");
        let none: Option<&str> = None;
        let when: Option<DateTime<Utc>> = None;
        let types: Vec<Type> = [
            &org as &dyn Param,
            &"x",
            &none,
            &7i32,
            &7i64,
            &when,
            &vec!["a"],
        ]
        .iter()
        .map(|p| p.pg_type())
        .collect();
        assert_eq!(
            types,
            [
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT4,
                Type::INT8,
                Type::TIMESTAMPTZ,
                Type::TEXT_ARRAY
            ]
        );
    }
}
