//! What can go wrong in the store.
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// Another worker refreshed the repository meanwhile: this refresh's results would count
    /// commits twice, so nothing of it was written.
    #[error(
        "repository {repository_id} was refreshed by another worker meanwhile; this refresh's results were discarded"
    )]
    RefreshConflict { repository_id: i64 },
    /// A stored row that the code cannot read (a value outside its type).
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The database could not be reached (connection refused, pool timeout), as opposed to a
    /// statement that failed: such errors pass when the database is back.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Db(err) if is_unavailable(err))
    }
}

/// Whether a database error means the database cannot be reached right now.
pub fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => {
            matches!(
                e,
                sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed
                    | sea_orm::sqlx::Error::WorkerCrashed
                    | sea_orm::sqlx::Error::Tls(_)
            ) || is_admin_shutdown(e)
        }
        _ => false,
    }
}

/// PostgreSQL's "terminating connection due to administrator command" and friends (class 57P).
fn is_admin_shutdown(err: &sea_orm::sqlx::Error) -> bool {
    match err {
        sea_orm::sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}
