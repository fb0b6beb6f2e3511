//! Where the read model's pages are read: on SQLite the shared pool, on PostgreSQL connections
//! of their own, kept for the statements that serve one API page each.
//!
//! Two costs of the shared pool are left out there:
//! - sqlx tests every connection with a round trip as it goes back to its pool. Here a
//!   connection goes back only when its statement ran to the end (its reply read in full), and
//!   is closed otherwise (an error, or a request dropped in the middle), so the test buys
//!   nothing. A connection idle for `TEST_AFTER_IDLE` is still tested before it is used.
//! - PostgreSQL plans a prepared statement with parameters again on each execution whenever it
//!   guesses that the values matter (a keyset page after a cursor: 0.1–0.2 ms of planning for
//!   0.08 ms of work). These connections use the generic plan (`plan_cache_mode`), planned
//!   once per connection. Every statement sent here is a keyset read on an index, whose best
//!   plan does not depend on the values. A generic plan is made without the values, though,
//!   and PostgreSQL then took a sequential scan for the "rows before this cursor" probe,
//!   expecting to meet a match early: 156 ms on the API bench's table when the cursor is
//!   near its end. So these connections also turn sequential scans off (`enable_seqscan`):
//!   each statement here has an index to follow. The test
//!   `read_model::tests::every_read_statement_follows_an_index_on_postgres` checks the generic
//!   plan of every page shape. Figures: BENCHMARKS.md, "Against pgbench".
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sea_orm::sqlx::{self, Connection as _};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_binder::SqlxValues;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::db::{ACQUIRE_TIMEOUT, TEST_AFTER_IDLE};

/// Connections kept for reads, per process: as many as requests that read at once.
const MAX_READERS: usize = 8;
/// A read connection unused for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The connection the read model's page statements go to (see the module's comment).
#[derive(Clone)]
pub enum Reads {
    Shared(DatabaseConnection),
    Postgres(Arc<ReadPool>),
}

impl Reads {
    /// Read connections for `db`: its own on PostgreSQL, opened as `db`'s are, when first
    /// needed; `db` itself on SQLite.
    pub fn of(db: &DatabaseConnection) -> Self {
        match db {
            DatabaseConnection::SqlxPostgresPoolConnection(_) => {
                let options = (*db.get_postgres_connection_pool().connect_options()).clone();
                Reads::Postgres(Arc::new(ReadPool::new(options)))
            }
            _ => Reads::Shared(db.clone()),
        }
    }
}

/// A stack of idle connections (the most recently used first, so that a light load keeps
/// few of them warm) and a limit on those in use.
pub struct ReadPool {
    options: PgConnectOptions,
    idle: Mutex<Vec<Idle>>,
    permits: Semaphore,
}

struct Idle {
    conn: PgConnection,
    since: Instant,
}

/// A connection in use. Dropped without `give_back`, it is closed.
struct Lease<'a> {
    pool: &'a ReadPool,
    conn: Option<PgConnection>,
    _permit: SemaphorePermit<'a>,
}

impl Lease<'_> {
    fn conn(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("a lease holds its connection until given back")
    }

    fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            // The least recently used connection, if unused for long, is closed.
            if idle.first().is_some_and(|oldest| oldest.since.elapsed() >= IDLE_TIMEOUT) {
                idle.remove(0);
            }
            idle.push(Idle { conn, since: Instant::now() });
        }
    }
}

impl ReadPool {
    fn new(options: PgConnectOptions) -> Self {
        Self {
            options: options.options([("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off")]),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(MAX_READERS),
        }
    }

    /// A connection within `ACQUIRE_TIMEOUT`, or the error the shared pool gives when it has
    /// none (the API answers it "unavailable").
    async fn acquire(&self) -> Result<Lease<'_>, DbErr> {
        let timed_out = || DbErr::ConnectionAcquire(ConnAcquireErr::Timeout);
        tokio::time::timeout(ACQUIRE_TIMEOUT, async {
            let permit = self.permits.acquire().await.map_err(|_| timed_out())?;
            loop {
                let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let conn = match idle {
                    Some(Idle { mut conn, since }) => {
                        let idle_for = since.elapsed();
                        if idle_for >= IDLE_TIMEOUT || (idle_for >= TEST_AFTER_IDLE && conn.ping().await.is_err()) {
                            continue;
                        }
                        conn
                    }
                    None => PgConnection::connect_with(&self.options)
                        .await
                        .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e)))?,
                };
                return Ok(Lease { pool: self, conn: Some(conn), _permit: permit });
            }
        })
        .await
        .map_err(|_| timed_out())?
    }

    /// The rows of `statement` as sqlx gives them, for a caller that decodes them itself.
    pub(crate) async fn fetch(&self, statement: &Statement) -> Result<Vec<PgRow>, DbErr> {
        let mut lease = self.acquire().await?;
        let values = SqlxValues(statement.values.clone().unwrap_or(sea_orm::Values(Vec::new())));
        let rows = sqlx::query_with(&statement.sql, values).fetch_all(lease.conn()).await.map_err(query_error)?;
        lease.give_back();
        Ok(rows)
    }

    async fn fetch_all(&self, statement: &Statement) -> Result<Vec<QueryResult>, DbErr> {
        Ok(self.fetch(statement).await?.into_iter().map(QueryResult::from).collect())
    }
}

/// An error of a statement run here or of decoding its rows, as SeaORM reports one.
pub(crate) fn query_error(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(err))
}

#[async_trait::async_trait]
impl ConnectionTrait for Reads {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Reads::Shared(db) => db.get_database_backend(),
            Reads::Postgres(_) => DbBackend::Postgres,
        }
    }

    async fn execute(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Reads::Shared(db) => db.execute(statement).await,
            Reads::Postgres(_) => Err(DbErr::Custom("read connections only read".into())),
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Reads::Shared(db) => db.execute_unprepared(sql).await,
            Reads::Postgres(_) => Err(DbErr::Custom("read connections only read".into())),
        }
    }

    async fn query_one(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Reads::Shared(db) => db.query_one(statement).await,
            Reads::Postgres(pool) => Ok(pool.fetch_all(&statement).await?.into_iter().next()),
        }
    }

    async fn query_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Reads::Shared(db) => db.query_all(statement).await,
            Reads::Postgres(pool) => pool.fetch_all(&statement).await,
        }
    }
}

#[cfg(test)]
impl ReadPool {
    /// The plan a read connection keeps for `statement` (its generic plan), as EXPLAIN prints it.
    pub(crate) async fn generic_plan(&self, statement: &Statement) -> Result<String, DbErr> {
        use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder as _};
        use sea_orm::sqlx::Row as _;
        use sea_orm::Value;
        let values = statement.values.clone().unwrap_or(sea_orm::Values(Vec::new())).0;
        let types: Vec<&str> = values
            .iter()
            .map(|v| match v {
                Value::Bool(_) => "boolean",
                Value::Int(_) => "integer",
                Value::BigInt(_) | Value::BigUnsigned(_) => "bigint",
                Value::String(_) => "text",
                Value::ChronoDate(_) => "date",
                other => panic!("no PostgreSQL type for {other:?} in this test"),
            })
            .collect();
        let literals: Vec<String> = values.iter().map(|v| PostgresQueryBuilder.value_to_string(v)).collect();
        let list =
            |items: Vec<String>| if items.is_empty() { String::new() } else { format!("({})", items.join(", ")) };
        let mut lease = self.acquire().await?;
        let conn = lease.conn();
        let declared = list(types.iter().map(|t| t.to_string()).collect());
        sqlx::raw_sql(&format!("PREPARE gc_plan{declared} AS {}", statement.sql))
            .execute(&mut *conn)
            .await
            .map_err(query_error)?;
        let rows = sqlx::raw_sql(&format!("EXPLAIN EXECUTE gc_plan{}", list(literals)))
            .fetch_all(&mut *conn)
            .await
            .map_err(query_error)?;
        sqlx::raw_sql("DEALLOCATE gc_plan").execute(&mut *conn).await.map_err(query_error)?;
        lease.give_back();
        let lines =
            rows.iter().map(|row| row.try_get::<String, _>(0).map_err(query_error)).collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }
}
