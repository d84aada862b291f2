//! One query for both databases. Stores write their SQL once (numbered `$n`
//! parameters work on SQLite and PostgreSQL) and bind values of any type both
//! drivers encode; rows decode into `#[derive(sqlx::FromRow)]` structs, which
//! sqlx derives for every row type at once. Which driver runs the query is
//! decided here, at execution, from the [`Database`] or [`Tx`] it runs on —
//! the only place besides `mod.rs` that matches on the two.
//!
//! The shape mirrors sqlx's own (`query`, `query_as`, `query_scalar`,
//! `.bind(..)`, `.execute/.fetch_*`), so a store reads like plain sqlx code.

use super::{Database, Pool, Tx};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Encode, FromRow, Postgres, Sqlite, Type};
use std::marker::PhantomData;

/// A value both drivers can bind.
pub trait Param<'q>: Send {
    fn add_sqlite(self: Box<Self>, args: &mut SqliteArguments<'q>) -> Result<(), BoxDynError>;
    fn add_postgres(self: Box<Self>, args: &mut PgArguments) -> Result<(), BoxDynError>;
}

impl<'q, T> Param<'q> for T
where
    T: 'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>,
{
    fn add_sqlite(self: Box<Self>, args: &mut SqliteArguments<'q>) -> Result<(), BoxDynError> {
        args.add(*self)
    }
    fn add_postgres(self: Box<Self>, args: &mut PgArguments) -> Result<(), BoxDynError> {
        args.add(*self)
    }
}

/// Where a query runs: the pool of a database, or an open transaction.
pub enum On<'c> {
    Pool(&'c Database),
    Tx(&'c mut Tx),
}

impl On<'_> {
    /// The same place, for one more query.
    pub fn reborrow(&mut self) -> On<'_> {
        match self {
            Self::Pool(db) => On::Pool(db),
            Self::Tx(tx) => On::Tx(tx),
        }
    }
}

impl<'c> From<&'c Database> for On<'c> {
    fn from(db: &'c Database) -> Self {
        Self::Pool(db)
    }
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        Self::Tx(tx)
    }
}

/// A statement and its bound values, not yet tied to a driver.
pub struct Query<'q> {
    sql: &'q str,
    params: Vec<Box<dyn Param<'q> + 'q>>,
}

/// A statement (`INSERT`, `UPDATE`, DDL, ...) whose result is a row count.
pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        params: Vec::new(),
    }
}

/// A query whose rows decode into `O`.
pub fn query_as<O>(sql: &str) -> QueryAs<'_, O> {
    QueryAs {
        query: query(sql),
        _row: PhantomData,
    }
}

/// A query whose rows are one column decoding into `O`.
pub fn query_scalar<O>(sql: &str) -> QueryScalar<'_, O> {
    QueryScalar(query_as(sql))
}

impl<'q> Query<'q> {
    pub fn bind<T: Param<'q> + 'q>(mut self, value: T) -> Self {
        self.params.push(Box::new(value));
        self
    }

    /// Binds every value in turn (an `IN (...)` list, several `VALUES` rows).
    pub fn bind_all<T: Param<'q> + 'q>(mut self, values: impl IntoIterator<Item = T>) -> Self {
        for value in values {
            self.params.push(Box::new(value));
        }
        self
    }

    fn sqlite(self) -> Result<(&'q str, SqliteArguments<'q>), sqlx::Error> {
        let mut args = SqliteArguments::default();
        for param in self.params {
            param.add_sqlite(&mut args).map_err(sqlx::Error::Encode)?;
        }
        Ok((self.sql, args))
    }

    fn postgres(self) -> Result<(&'q str, PgArguments), sqlx::Error> {
        let mut args = PgArguments::default();
        for param in self.params {
            param.add_postgres(&mut args).map_err(sqlx::Error::Encode)?;
        }
        Ok((self.sql, args))
    }

    /// Runs the statement; the number of rows it changed.
    pub async fn execute<'c>(self, on: impl Into<On<'c>>) -> Result<u64, sqlx::Error> {
        let mut held = Held::new(on.into()).await?;
        match held.conn() {
            Conn::Sqlite(c) => {
                let (sql, args) = self.sqlite()?;
                let done = sqlx::query_with(sql, args).execute(c).await?;
                Ok(done.rows_affected())
            }
            Conn::Postgres(c) => {
                let (sql, args) = self.postgres()?;
                let done = sqlx::query_with(sql, args).execute(c).await?;
                Ok(done.rows_affected())
            }
        }
    }
}

/// Rows of a query, decoded with `O`'s `FromRow` on either driver.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<O> Row for O where O: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

pub struct QueryAs<'q, O> {
    query: Query<'q>,
    _row: PhantomData<fn() -> O>,
}

impl<'q, O: Row> QueryAs<'q, O> {
    pub fn bind<T: Param<'q> + 'q>(mut self, value: T) -> Self {
        self.query = self.query.bind(value);
        self
    }

    /// Binds every value in turn (an `IN (...)` list).
    pub fn bind_all<T: Param<'q> + 'q>(mut self, values: impl IntoIterator<Item = T>) -> Self {
        self.query = self.query.bind_all(values);
        self
    }

    pub async fn fetch_all<'c>(self, on: impl Into<On<'c>>) -> Result<Vec<O>, sqlx::Error> {
        let mut held = Held::new(on.into()).await?;
        match held.conn() {
            Conn::Sqlite(c) => {
                let (sql, args) = self.query.sqlite()?;
                sqlx::query_as_with(sql, args).fetch_all(c).await
            }
            Conn::Postgres(c) => {
                let (sql, args) = self.query.postgres()?;
                sqlx::query_as_with(sql, args).fetch_all(c).await
            }
        }
    }

    pub async fn fetch_optional<'c>(self, on: impl Into<On<'c>>) -> Result<Option<O>, sqlx::Error> {
        let mut held = Held::new(on.into()).await?;
        match held.conn() {
            Conn::Sqlite(c) => {
                let (sql, args) = self.query.sqlite()?;
                sqlx::query_as_with(sql, args).fetch_optional(c).await
            }
            Conn::Postgres(c) => {
                let (sql, args) = self.query.postgres()?;
                sqlx::query_as_with(sql, args).fetch_optional(c).await
            }
        }
    }

    pub async fn fetch_one<'c>(self, on: impl Into<On<'c>>) -> Result<O, sqlx::Error> {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }
}

/// Decodes one column on either driver.
pub trait Value:
    for<'r> sqlx::Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + Type<Postgres>
    + Send
    + Unpin
{
}
impl<O> Value for O where
    O: for<'r> sqlx::Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + Type<Postgres>
        + Send
        + Unpin
{
}

/// One-column rows, decoded as one-element tuples.
pub struct QueryScalar<'q, O>(QueryAs<'q, (O,)>);

impl<'q, O: Value> QueryScalar<'q, O> {
    pub fn bind<T: Param<'q> + 'q>(self, value: T) -> Self {
        Self(self.0.bind(value))
    }

    /// Binds every value in turn (an `IN (...)` list).
    pub fn bind_all<T: Param<'q> + 'q>(self, values: impl IntoIterator<Item = T>) -> Self {
        Self(self.0.bind_all(values))
    }

    pub async fn fetch_all<'c>(self, on: impl Into<On<'c>>) -> Result<Vec<O>, sqlx::Error> {
        let rows = self.0.fetch_all(on).await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    pub async fn fetch_optional<'c>(self, on: impl Into<On<'c>>) -> Result<Option<O>, sqlx::Error> {
        Ok(self.0.fetch_optional(on).await?.map(|(v,)| v))
    }

    pub async fn fetch_one<'c>(self, on: impl Into<On<'c>>) -> Result<O, sqlx::Error> {
        Ok(self.0.fetch_one(on).await?.0)
    }
}

/// A connection for one query: borrowed from a transaction, or acquired
/// from the pool for the query's duration.
enum Held<'c> {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Postgres(sqlx::pool::PoolConnection<Postgres>),
    Tx(&'c mut Tx),
}

pub(super) enum Conn<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection),
    Postgres(&'a mut sqlx::PgConnection),
}

impl<'c> Held<'c> {
    async fn new(on: On<'c>) -> Result<Self, sqlx::Error> {
        let faults = match &on {
            On::Pool(db) => db.faults.as_ref(),
            On::Tx(tx) => tx.faults.as_ref(),
        };
        Database::injected_latency(faults).await;
        Ok(match on {
            On::Pool(db) => match &db.pool {
                Pool::Sqlite(pool) => Self::Sqlite(pool.acquire().await?),
                Pool::Postgres(pool) => Self::Postgres(pool.acquire().await?),
            },
            On::Tx(tx) => Self::Tx(tx),
        })
    }

    fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(c) => Conn::Sqlite(c),
            Self::Postgres(c) => Conn::Postgres(c),
            Self::Tx(tx) => tx.conn(),
        }
    }
}
