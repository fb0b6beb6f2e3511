//! Connecting to SQLite or PostgreSQL, applying the migrations one process at a time, and the
//! write transaction every write goes through.
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

/// How long a request waits for a pooled connection before it is answered "unavailable".
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// A pooled PostgreSQL connection idle for at least this long is tested (one round trip)
/// before a request gets it; a busier one is handed out as it is. A connection that broke
/// while busy fails its statement and is closed when it returns (sqlx tests every connection
/// as it comes back), so the next request gets a sound one.
pub(crate) const TEST_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Opens a pool on `url`. SQLite files are put in WAL mode so that readers never wait for the
/// crawler's writes.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return connect_postgres(url).await;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(8)
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false)
        // Another process (a `crawl` beside `serve`) may hold SQLite's write lock for a while.
        .map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::from_secs(30)));
    let db =
        Database::connect(options).await.with_context(|| format!("cannot open the database {}", redact_url(url)))?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL;").await.context("cannot switch SQLite to WAL mode")?;
    }
    Ok(db)
}

/// The PostgreSQL pool, built with sqlx's options directly: SeaORM's would test every
/// connection with a round trip each time it is handed out (see `TEST_AFTER_IDLE`).
async fn connect_postgres(url: &str) -> anyhow::Result<DatabaseConnection> {
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use sea_orm::sqlx::{ConnectOptions as _, Connection as _};
    let options: PgConnectOptions =
        url.parse().with_context(|| format!("cannot read the database URL {}", redact_url(url)))?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= TEST_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options.disable_statement_logging())
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(url)))?;
    Ok(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
}

/// An arbitrary constant: the PostgreSQL advisory lock that makes replicas migrate one at a time.
const MIGRATION_LOCK: i64 = 0x6769_7463_6f6c_6c63; // "gitcollc"

/// Applies every pending migration; a no-op when the schema is current. Replicas that start
/// together migrate one after the other: on PostgreSQL behind a transaction-scoped advisory
/// lock, on SQLite behind its write lock (taken by the first statement of the transaction).
/// Each runs the pending migrations, and those that come later find none.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let writer = match db.get_database_backend() {
        DbBackend::Sqlite => Some(SQLITE_WRITER.lock().await),
        _ => None,
    };
    let tx = db.begin().await.context("cannot begin the migration")?;
    match db.get_database_backend() {
        DbBackend::Postgres => {
            tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .await
                .context("cannot take the migration lock")?;
        }
        _ => {
            // A write takes SQLite's write lock now; another process waits for it (busy timeout).
            tx.execute_unprepared("CREATE TABLE IF NOT EXISTS migration_lock (id INTEGER PRIMARY KEY)")
                .await
                .context("cannot take the migration lock")?;
            tx.execute_unprepared("INSERT OR REPLACE INTO migration_lock (id) VALUES (1)")
                .await
                .context("cannot take the migration lock")?;
        }
    }
    Migrator::up(&tx, None).await.context("database migration failed")?;
    tx.commit().await.context("cannot commit the migrations")?;
    drop(writer);
    Ok(())
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

static SQLITE_WRITER: Mutex<()> = Mutex::const_new(());

/// The process's SQLite write lock, for a write transaction opened on the pool directly.
pub async fn sqlite_writer() -> MutexGuard<'static, ()> {
    SQLITE_WRITER.lock().await
}

/// A write transaction. SQLite allows one writer at a time and fails, instead of waiting, a
/// transaction that read before it wrote while another connection wrote; so on SQLite every
/// write of the process goes through one lock, held until commit or drop. PostgreSQL needs none.
pub struct WriteTx {
    tx: DatabaseTransaction,
    _writer: Option<MutexGuard<'static, ()>>,
}

impl std::ops::Deref for WriteTx {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.tx.commit().await
    }
}

/// Begins a write transaction (see `WriteTx`).
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTx, DbErr> {
    let writer = match db.get_database_backend() {
        DbBackend::Sqlite => Some(SQLITE_WRITER.lock().await),
        _ => None,
    };
    let tx = db.begin().await?;
    if writer.is_some() {
        // A write statement takes SQLite's write lock now (waiting for another process if
        // need be), as BEGIN IMMEDIATE would: later reads then never make the commit fail.
        tx.execute_unprepared("UPDATE migration_lock SET id = id WHERE 1 = 0").await?;
    }
    Ok(WriteTx { tx, _writer: writer })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://x.db?mode=rwc"), "sqlite://x.db?mode=rwc");
    }
}
