//! A write transaction on the pool itself (sqlx), for what SeaORM's transaction cannot do: bulk
//! loading with PostgreSQL's `COPY`. Statements are written with `?` placeholders and numbered
//! for PostgreSQL here. On SQLite the transaction takes the process's write lock, as every
//! other write does (`store::db::begin_write`).
use sea_orm::sqlx::{self, postgres::PgArguments, sqlite::SqliteArguments, Arguments, Row};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use tokio::sync::MutexGuard;

use crate::store::{db, StoreError};

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub enum Bind {
    I64(i64),
    I32(i32),
    Bool(bool),
    Text(String),
    Time(chrono::DateTime<chrono::Utc>),
    /// A list of ids: `BIGINT[]` on PostgreSQL, a JSON array on SQLite.
    Ids(Vec<u64>),
}

pub enum WriteTx {
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
    Lite(sqlx::Transaction<'static, sqlx::Sqlite>, MutexGuard<'static, ()>),
}

fn err(e: sqlx::Error) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)))
}

/// `?` placeholders numbered `$1, $2, …` for PostgreSQL.
pub(super) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Rows of a read on the pool, outside any write transaction (`?` placeholders).
pub async fn query(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<sea_orm::QueryResult>, StoreError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => numbered(sql),
        _ => sql.to_owned(),
    };
    Ok(db.query_all(sea_orm::Statement::from_sql_and_values(backend, sql, values)).await?)
}

/// Memory PostgreSQL may give each sort or hash of an archive query: a window's developers or
/// repositories are summed in one hash table instead of being spilled to disk (at 4 MB, the
/// server default, a 31-day window of 140,000 developers spills and takes 2.5 times as long).
const READ_WORK_MEM: &str = "256MB";

/// A transaction for the archive queries. On PostgreSQL it raises `work_mem` for these
/// queries only and turns JIT compilation off: their estimated costs make the planner compile
/// them, which took longer (~0.4 s) than running them.
pub async fn reading(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, StoreError> {
    use sea_orm::TransactionTrait;
    let tx = db.begin().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        tx.execute_unprepared(&format!("SET LOCAL work_mem = '{READ_WORK_MEM}'; SET LOCAL jit = off")).await?;
    }
    Ok(tx)
}

impl WriteTx {
    pub async fn begin(db: &DatabaseConnection) -> Result<Self, StoreError> {
        match db.get_database_backend() {
            DbBackend::Postgres => Ok(Self::Pg(db.get_postgres_connection_pool().begin().await.map_err(err)?)),
            _ => {
                let guard = db::sqlite_writer().await;
                let mut tx = db.get_sqlite_connection_pool().begin().await.map_err(err)?;
                // Take SQLite's write lock now (see `store::db::begin_write`).
                sqlx::query("UPDATE migration_lock SET id = id WHERE 1 = 0").execute(&mut *tx).await.map_err(err)?;
                Ok(Self::Lite(tx, guard))
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Pg(_))
    }

    pub async fn execute(&mut self, sql: &str, binds: &[Bind]) -> Result<u64, StoreError> {
        self.execute_owned(sql, binds.to_vec()).await
    }

    /// `execute`, taking the values (long texts and lists are moved, not copied).
    pub async fn execute_owned(&mut self, sql: &str, binds: Vec<Bind>) -> Result<u64, StoreError> {
        match self {
            Self::Pg(tx) => {
                let mut args = PgArguments::default();
                for b in binds {
                    add_pg(&mut args, b)?;
                }
                let sql = numbered(sql);
                let done = sqlx::query_with(&sql, args).execute(&mut **tx).await.map_err(err)?;
                Ok(done.rows_affected())
            }
            Self::Lite(tx, _) => {
                let mut args = SqliteArguments::default();
                for b in binds {
                    add_lite(&mut args, b)?;
                }
                let done = sqlx::query_with(sql, args).execute(&mut **tx).await.map_err(err)?;
                Ok(done.rows_affected())
            }
        }
    }

    /// Rows of `sql`, each read by `read` (the same code for both backends through `Cells`).
    pub async fn fetch<T>(
        &mut self,
        sql: &str,
        binds: &[Bind],
        mut read: impl FnMut(&dyn Cells) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Self::Pg(tx) => {
                let mut args = PgArguments::default();
                for b in binds {
                    add_pg(&mut args, b.clone())?;
                }
                let sql = numbered(sql);
                let rows = sqlx::query_with(&sql, args).fetch_all(&mut **tx).await.map_err(err)?;
                rows.iter().map(|r| read(r)).collect()
            }
            Self::Lite(tx, _) => {
                let mut args = SqliteArguments::default();
                for b in binds {
                    add_lite(&mut args, b.clone())?;
                }
                let rows = sqlx::query_with(sql, args).fetch_all(&mut **tx).await.map_err(err)?;
                rows.iter().map(|r| read(r)).collect()
            }
        }
    }

    /// `COPY table (columns) FROM STDIN` with text-format `data` (PostgreSQL only).
    pub async fn copy_in(&mut self, table_and_columns: &str, data: Vec<u8>) -> Result<(), StoreError> {
        let Self::Pg(tx) = self else {
            return Err(StoreError::Corrupt("COPY is PostgreSQL's".into()));
        };
        let mut copy = tx.copy_in_raw(&format!("COPY {table_and_columns} FROM STDIN")).await.map_err(err)?;
        copy.send(data).await.map_err(err)?;
        copy.finish().await.map_err(err)?;
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Self::Pg(tx) => tx.commit().await.map_err(err),
            Self::Lite(tx, guard) => {
                let result = tx.commit().await.map_err(err);
                drop(guard);
                result
            }
        }
    }
}

fn add_pg(args: &mut PgArguments, b: Bind) -> Result<(), StoreError> {
    let r = match b {
        Bind::I64(v) => args.add(v),
        Bind::I32(v) => args.add(v),
        Bind::Bool(v) => args.add(v),
        Bind::Text(v) => args.add(v),
        Bind::Time(v) => args.add(v),
        Bind::Ids(v) => args.add(v.into_iter().map(|id| id as i64).collect::<Vec<i64>>()),
    };
    r.map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn add_lite(args: &mut SqliteArguments<'_>, b: Bind) -> Result<(), StoreError> {
    let r = match b {
        Bind::I64(v) => args.add(v),
        Bind::I32(v) => args.add(v),
        Bind::Bool(v) => args.add(v),
        Bind::Text(v) => args.add(v),
        Bind::Time(v) => args.add(v),
        Bind::Ids(v) => args.add(ids_json(&v)),
    };
    r.map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A list of ids as SQLite keeps it: a JSON array.
pub(super) fn ids_json(ids: &[u64]) -> String {
    let mut out = String::with_capacity(ids.len() * 9 + 2);
    out.push('[');
    let mut buffer = itoa::Buffer::new();
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(buffer.format(*id));
    }
    out.push(']');
    out
}

/// The columns of a row, by position, on either backend.
pub trait Cells {
    fn i64(&self, i: usize) -> Result<i64, StoreError>;
    fn opt_i64(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn bool(&self, i: usize) -> Result<bool, StoreError>;
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn time(&self, i: usize) -> Result<chrono::DateTime<chrono::Utc>, StoreError>;
    /// A list of ids (`Bind::Ids`).
    fn ids(&self, i: usize) -> Result<Vec<u64>, StoreError>;
}

macro_rules! cells {
    ($row:ty, $ids:expr) => {
        impl Cells for $row {
            fn ids(&self, i: usize) -> Result<Vec<u64>, StoreError> {
                $ids(self, i)
            }
            fn i64(&self, i: usize) -> Result<i64, StoreError> {
                self.try_get::<i64, _>(i).map_err(err)
            }
            fn opt_i64(&self, i: usize) -> Result<Option<i64>, StoreError> {
                self.try_get::<Option<i64>, _>(i).map_err(err)
            }
            fn bool(&self, i: usize) -> Result<bool, StoreError> {
                self.try_get::<bool, _>(i).map_err(err)
            }
            fn text(&self, i: usize) -> Result<String, StoreError> {
                self.try_get::<String, _>(i).map_err(err)
            }
            fn time(&self, i: usize) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
                self.try_get::<chrono::DateTime<chrono::Utc>, _>(i).map_err(err)
            }
        }
    };
}

cells!(sqlx::postgres::PgRow, |row: &sqlx::postgres::PgRow, i| {
    Ok(row.try_get::<Vec<i64>, _>(i).map_err(err)?.into_iter().map(|id| id as u64).collect())
});
cells!(sqlx::sqlite::SqliteRow, |row: &sqlx::sqlite::SqliteRow, i| {
    let text = row.try_get::<String, _>(i).map_err(err)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("a list of ids: {e}")))
});

/// A value in PostgreSQL's COPY text format.
pub fn copy_text(out: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(numbered("SELECT ? + ?, 'x'"), "SELECT $1 + $2, 'x'");
    }

    #[test]
    fn ids_are_json_arrays_on_sqlite() {
        assert_eq!(ids_json(&[]), "[]");
        assert_eq!(ids_json(&[3, 17, u64::from(u32::MAX)]), "[3,17,4294967295]");
    }

    #[test]
    fn copy_text_escapes() {
        let mut out = Vec::new();
        copy_text(&mut out, "a\tb\\c\nd");
        assert_eq!(out, b"a\\tb\\\\c\\nd");
    }
}
