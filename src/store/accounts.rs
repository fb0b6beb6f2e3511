//! Tracked accounts and when their repository list was last fetched.
use chrono::{DateTime, Utc};
use entity::account::{self, AccountKind};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::db::begin_write;
use super::error::StoreError;

use crate::domain::OwnerLogin;

/// The account row of `owner`, created if missing.
pub async fn get_or_create(db: &DatabaseConnection, owner: &OwnerLogin) -> Result<account::Model, StoreError> {
    if let Some(found) = find(db, owner).await? {
        return Ok(found);
    }
    let tx = begin_write(db).await?;
    let row = account::ActiveModel {
        login: Set(owner.as_str().to_string()),
        login_key: Set(owner.key()),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    account::Entity::insert(row)
        .on_conflict(OnConflict::column(account::Column::LoginKey).do_nothing().to_owned())
        .exec_without_returning(&*tx)
        .await?;
    tx.commit().await?;
    find(db, owner).await?.ok_or_else(|| StoreError::Corrupt(format!("account {owner} vanished after it was created")))
}

pub async fn find(db: &impl ConnectionTrait, owner: &OwnerLogin) -> Result<Option<account::Model>, StoreError> {
    Ok(account::Entity::find().filter(account::Column::LoginKey.eq(owner.key())).one(db).await?)
}

/// Records a complete listing of the account's repositories.
pub async fn mark_listed(
    db: &impl ConnectionTrait,
    id: i64,
    login: &str,
    kind: AccountKind,
    etag: Option<String>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    account::Entity::update_many()
        .col_expr(account::Column::Login, Expr::value(login))
        .col_expr(account::Column::Kind, Expr::value(kind))
        .col_expr(account::Column::ReposEtag, Expr::value(etag))
        .col_expr(account::Column::ReposListedAt, Expr::value(at))
        .filter(account::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
