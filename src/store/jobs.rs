//! The refresh jobs table: reads for the API (the queue itself lives in `jobs`).
use entity::refresh_job;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use super::page::{keyset, Page, PageRequest};

pub const QUEUED: &str = "QUEUED";
pub const RUNNING: &str = "RUNNING";
pub const SUCCEEDED: &str = "SUCCEEDED";
pub const FAILED: &str = "FAILED";

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<refresh_job::Model>, DbErr> {
    refresh_job::Entity::find_by_id(id).one(db).await
}

/// Jobs newest first, optionally of one status.
pub async fn page(
    db: &impl ConnectionTrait,
    status: Option<&str>,
    request: &PageRequest,
) -> Result<Page<refresh_job::Model>, DbErr> {
    let mut base = refresh_job::Entity::find();
    if let Some(status) = status {
        base = base.filter(refresh_job::Column::Status.eq(status));
    }
    keyset(db, base, &[Expr::col(refresh_job::Column::Id).into()], request).await
}

pub async fn count(db: &impl ConnectionTrait, status: Option<&str>) -> Result<u64, DbErr> {
    let mut select = refresh_job::Entity::find();
    if let Some(status) = status {
        select = select.filter(refresh_job::Column::Status.eq(status));
    }
    select.count(db).await
}
