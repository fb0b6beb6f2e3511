//! Repositories: upserted from GitHub's listings by numeric id, with their crawl state.
use chrono::{DateTime, Utc};
use entity::enums::RefreshOutcome;
use entity::{monthly_first_contributors as monthly, repository};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use super::account_model;
use super::db::begin_write;
use super::error::StoreError;
use super::page::{keyset, Direction, Page, PageRequest};
use crate::domain::{OwnerLogin, RepoName, RepoRef};

/// What a GitHub listing or lookup says of a repository.
#[derive(Debug, Clone)]
pub struct RepoInfo {
    pub github_id: i64,
    pub owner: String,
    pub name: String,
    pub is_fork: bool,
    pub is_archived: bool,
    pub default_branch: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub pushed_at: Option<DateTime<Utc>>,
}

/// The stored repository's current full name, as a typed reference.
pub fn reference(repo: &repository::Model) -> Result<RepoRef, StoreError> {
    let corrupt = |e: crate::domain::NameError| StoreError::Corrupt(format!("repository {}: {e}", repo.id));
    Ok(RepoRef::new(OwnerLogin::parse(&repo.owner).map_err(corrupt)?, RepoName::parse(&repo.name).map_err(corrupt)?))
}

/// Inserts or updates the repository with `info.github_id`, as a repository of `account_id`
/// (the account named by its owner, whose lock the caller holds). A rename or transfer updates
/// the names, here and in the read model, and keeps the history. A repository that moves to
/// another account, or comes back after it was gone, moves its contributors' account months.
pub async fn upsert(
    db: &impl ConnectionTrait,
    account_id: i64,
    info: &RepoInfo,
    tracked: bool,
) -> Result<repository::Model, StoreError> {
    let owner_key = info.owner.to_ascii_lowercase();
    let name_key = info.name.to_ascii_lowercase();
    let existing = repository::Entity::find().filter(repository::Column::GithubId.eq(info.github_id)).one(db).await?;
    match existing {
        Some(row) => {
            let renamed = row.owner != info.owner || row.name != info.name;
            let previous = row.account_id.filter(|_| !row.is_gone);
            let moved = row.account_id != Some(account_id) || row.is_gone;
            if let Some(previous) = previous.filter(|p| *p != account_id) {
                // Lock order: accounts before the repository row.
                account_model::lock(db, previous).await?;
            }
            let keep_tracked = row.is_tracked;
            let mut active = row.into_active_model();
            active.owner = Set(info.owner.clone());
            active.name = Set(info.name.clone());
            active.owner_key = Set(owner_key.clone());
            active.name_key = Set(name_key.clone());
            active.is_fork = Set(info.is_fork);
            active.is_archived = Set(info.is_archived);
            active.default_branch = Set(info.default_branch.clone());
            active.created_at = Set(info.created_at);
            active.pushed_at = Set(info.pushed_at);
            active.is_gone = Set(false);
            active.account_id = Set(Some(account_id));
            active.is_tracked = Set(tracked || keep_tracked);
            active.listed_at = Set(Some(Utc::now()));
            let updated = active.update(db).await?;
            if renamed {
                monthly::Entity::update_many()
                    .col_expr(monthly::Column::Owner, Expr::value(info.owner.clone()))
                    .col_expr(monthly::Column::RepoName, Expr::value(info.name.clone()))
                    .col_expr(monthly::Column::OwnerKey, Expr::value(owner_key))
                    .col_expr(monthly::Column::NameKey, Expr::value(name_key))
                    .filter(monthly::Column::RepositoryId.eq(updated.id))
                    .exec(db)
                    .await?;
            }
            if moved {
                let people = account_model::contributors_of(db, updated.id).await?;
                if let Some(previous) = previous.filter(|p| *p != account_id) {
                    account_model::recount(db, previous, &people).await?;
                }
                account_model::recount(db, account_id, &people).await?;
            }
            Ok(updated)
        }
        None => {
            let row = repository::ActiveModel {
                github_id: Set(info.github_id),
                account_id: Set(Some(account_id)),
                owner: Set(info.owner.clone()),
                name: Set(info.name.clone()),
                owner_key: Set(owner_key),
                name_key: Set(name_key),
                is_fork: Set(info.is_fork),
                is_archived: Set(info.is_archived),
                default_branch: Set(info.default_branch.clone()),
                created_at: Set(info.created_at),
                pushed_at: Set(info.pushed_at),
                is_gone: Set(false),
                is_tracked: Set(tracked),
                first_seen_at: Set(Utc::now()),
                listed_at: Set(Some(Utc::now())),
                ..Default::default()
            };
            Ok(row.insert(db).await?)
        }
    }
}

/// Flags the account's repositories that a complete listing no longer shows (their history is
/// kept, and they stop counting for the account); returns how many. The caller holds the
/// account's lock.
pub async fn mark_gone_except(db: &impl ConnectionTrait, account_id: i64, listed: &[i64]) -> Result<u64, StoreError> {
    let mut gone = repository::Entity::find()
        .select_only()
        .column(repository::Column::Id)
        .filter(repository::Column::AccountId.eq(account_id))
        .filter(repository::Column::IsGone.eq(false));
    if !listed.is_empty() {
        gone = gone.filter(repository::Column::GithubId.is_not_in(listed.iter().copied()));
    }
    let gone: Vec<i64> = gone.into_tuple().all(db).await?;
    for id in &gone {
        set_gone(db, account_id, *id).await?;
    }
    Ok(gone.len() as u64)
}

/// Flags one repository gone and moves its contributors' account months.
async fn set_gone(db: &impl ConnectionTrait, account_id: i64, repository_id: i64) -> Result<(), StoreError> {
    repository::Entity::update_many()
        .col_expr(repository::Column::IsGone, Expr::value(true))
        .filter(repository::Column::Id.eq(repository_id))
        .exec(db)
        .await?;
    let people = account_model::contributors_of(db, repository_id).await?;
    account_model::recount(db, account_id, &people).await
}

/// The account's repositories that GitHub still lists.
pub async fn of_account(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<repository::Model>, StoreError> {
    Ok(repository::Entity::find()
        .filter(repository::Column::AccountId.eq(account_id))
        .filter(repository::Column::IsGone.eq(false))
        .order_by_asc(repository::Column::NameKey)
        .all(db)
        .await?)
}

/// The repository currently named `owner/name` (case-insensitive).
pub async fn find_by_name(db: &impl ConnectionTrait, repo: &RepoRef) -> Result<Option<repository::Model>, StoreError> {
    Ok(repository::Entity::find()
        .filter(repository::Column::OwnerKey.eq(repo.owner.key()))
        .filter(repository::Column::NameKey.eq(repo.name.key()))
        .order_by_asc(repository::Column::IsGone)
        .order_by_desc(repository::Column::Id)
        .one(db)
        .await?)
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<repository::Model>, StoreError> {
    Ok(repository::Entity::find_by_id(id).one(db).await?)
}

/// Marks a known repository as one to keep refreshed on schedule.
pub async fn set_tracked(db: &DatabaseConnection, id: i64) -> Result<(), StoreError> {
    let tx = begin_write(db).await?;
    repository::Entity::update_many()
        .col_expr(repository::Column::IsTracked, Expr::value(true))
        .filter(repository::Column::Id.eq(id))
        .exec(&*tx)
        .await?;
    Ok(tx.commit().await?)
}

/// Repositories added with `refreshRepo`, which the schedule refreshes with the accounts.
pub async fn tracked(db: &impl ConnectionTrait) -> Result<Vec<repository::Model>, StoreError> {
    Ok(repository::Entity::find()
        .filter(repository::Column::IsTracked.eq(true))
        .filter(repository::Column::IsGone.eq(false))
        .order_by_asc(repository::Column::Id)
        .all(db)
        .await?)
}

/// A refresh that found the head unchanged (though the first page's ETag changed).
pub async fn record_unchanged(db: &DatabaseConnection, id: i64, etag: Option<String>) -> Result<(), StoreError> {
    let tx = begin_write(db).await?;
    repository::Entity::update_many()
        .col_expr(repository::Column::CommitsEtag, Expr::value(etag))
        .col_expr(repository::Column::LastOutcome, Expr::value(RefreshOutcome::Unchanged))
        .col_expr(repository::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(repository::Column::LastRefreshedAt, Expr::value(Utc::now()))
        .filter(repository::Column::Id.eq(id))
        .exec(&*tx)
        .await?;
    Ok(tx.commit().await?)
}

/// How a refresh ended, for a refresh that changed no data. `gone`: GitHub no longer serves
/// the repository; it stops counting for its account.
pub async fn record_outcome(
    db: &DatabaseConnection,
    id: i64,
    outcome: RefreshOutcome,
    error: Option<String>,
    gone: bool,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let tx = begin_write(db).await?;
    let account = match gone {
        true => find_by_id(&*tx, id).await?.filter(|r| !r.is_gone).and_then(|r| r.account_id),
        false => None,
    };
    if let Some(account) = account {
        account_model::lock(&*tx, account).await?;
    }
    repository::Entity::update_many()
        .col_expr(repository::Column::LastOutcome, Expr::value(outcome))
        .col_expr(repository::Column::LastError, Expr::value(error))
        .col_expr(repository::Column::LastRefreshedAt, Expr::value(at))
        .filter(repository::Column::Id.eq(id))
        .exec(&*tx)
        .await?;
    if gone {
        match account {
            Some(account) => set_gone(&*tx, account, id).await?,
            None => {
                repository::Entity::update_many()
                    .col_expr(repository::Column::IsGone, Expr::value(true))
                    .filter(repository::Column::Id.eq(id))
                    .exec(&*tx)
                    .await?;
            }
        }
    }
    Ok(tx.commit().await?)
}

/// Position of a repository in the list: (owner, name, id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryKey {
    pub owner_key: String,
    pub name_key: String,
    pub id: i64,
}

impl RepositoryKey {
    pub fn of(repo: &repository::Model) -> Self {
        Self { owner_key: repo.owner_key.clone(), name_key: repo.name_key.clone(), id: repo.id }
    }
}

/// A page of repositories in (owner, name) order, optionally of one owner (lowercase key).
pub async fn page(
    db: &impl ConnectionTrait,
    owner_key: Option<&str>,
    request: &PageRequest<RepositoryKey>,
) -> Result<Page<repository::Model>, StoreError> {
    let mut base = repository::Entity::find();
    if let Some(owner) = owner_key {
        base = base.filter(repository::Column::OwnerKey.eq(owner));
    }
    let columns = [
        Expr::col(repository::Column::OwnerKey).into(),
        Expr::col(repository::Column::NameKey).into(),
        Expr::col(repository::Column::Id).into(),
    ];
    let request = request.bounds(|k| vec![k.owner_key.clone().into(), k.name_key.clone().into(), k.id.into()]);
    Ok(keyset(db, base, &columns, &request, Direction::Ascending).await?)
}

pub async fn count(db: &impl ConnectionTrait, owner_key: Option<&str>) -> Result<u64, StoreError> {
    let mut select = repository::Entity::find();
    if let Some(owner) = owner_key {
        select = select.filter(repository::Column::OwnerKey.eq(owner));
    }
    Ok(select.count(db).await?)
}

/// Ids of the repositories currently named `name` (of `owner`, when given); lowercase keys.
pub async fn ids_named(
    db: &impl ConnectionTrait,
    owner_key: Option<&str>,
    name_key: &str,
) -> Result<Vec<i64>, StoreError> {
    let mut select = repository::Entity::find()
        .select_only()
        .column(repository::Column::Id)
        .filter(repository::Column::NameKey.eq(name_key));
    if let Some(owner) = owner_key {
        select = select.filter(repository::Column::OwnerKey.eq(owner));
    }
    Ok(select.into_tuple().all(db).await?)
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<repository::Model>, StoreError> {
    Ok(repository::Entity::find().filter(repository::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}
