//! Contributors, their first contributions, and the monthly read model derived from them.
//! A refresh's results are written in one transaction together with the read model and the
//! repository's new head: a crash leaves the previous consistent state.
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::RefreshOutcome;
use entity::{contributor, first_contribution, monthly_first_contributors as monthly, monthly_total, repository};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType, PaginatorTrait,
    QueryFilter, QuerySelect, RelationTrait,
};
use serde::{Deserialize, Serialize};

use super::account_model;
use super::db::begin_write;
use super::error::StoreError;
use super::page::{keyset, Direction, Page, PageRequest};
use super::BATCH_ROWS;
use crate::domain::{ContributorKey, Month, IDENTITY_RULES};

/// One contributor's earliest contribution among the commits a refresh read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributorFirst {
    pub key: ContributorKey,
    pub login: Option<String>,
    pub is_bot: bool,
    pub first_at: DateTime<Utc>,
    pub commits: i64,
}

/// How a refresh's results relate to what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// A full crawl: the results are the repository's whole history.
    Replace,
    /// An incremental refresh: the results are commits added since the stored head.
    Merge,
}

/// The repository's crawl state after the refresh.
#[derive(Debug, Clone)]
pub struct RepoState {
    pub head_sha: Option<String>,
    pub etag: Option<String>,
    pub outcome: RefreshOutcome,
    pub at: DateTime<Utc>,
}

/// Writes a refresh's results, recomputes the repository's read-model rows and records its new
/// state, all in one transaction. Returns how many contributors are new to the repository.
///
/// `expected_head` is the head the refresh started from: if another refresh of the same
/// repository committed meanwhile, nothing is written (its results would count commits twice)
/// and the error says so; the next refresh starts from the new state.
pub async fn apply_refresh(
    db: &DatabaseConnection,
    repository_id: i64,
    expected_head: Option<&str>,
    mode: ApplyMode,
    firsts: Vec<ContributorFirst>,
    state: RepoState,
) -> Result<u64, StoreError> {
    let tx = begin_write(db).await?;
    // Lock order (see `account_model`): the account, then the repository row. The guarded
    // write locks the row and checks that the stored head is still the one this refresh
    // started from, and that the repository still belongs to the account locked.
    let account = repository::Entity::find_by_id(repository_id)
        .one(&*tx)
        .await?
        .ok_or(StoreError::RefreshConflict { repository_id })?
        .account_id;
    if let Some(account) = account {
        account_model::lock(&*tx, account).await?;
    }
    let head_matches = match expected_head {
        Some(head) => repository::Column::HeadSha.eq(head),
        None => repository::Column::HeadSha.is_null(),
    };
    let account_matches = match account {
        Some(account) => repository::Column::AccountId.eq(account),
        None => repository::Column::AccountId.is_null(),
    };
    let claimed = repository::Entity::update_many()
        .col_expr(repository::Column::LastRefreshedAt, Expr::value(state.at))
        .filter(repository::Column::Id.eq(repository_id))
        .filter(head_matches)
        .filter(account_matches)
        .exec(&*tx)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(StoreError::RefreshConflict { repository_id });
    }
    let repo = repository::Entity::find_by_id(repository_id)
        .one(&*tx)
        .await?
        .ok_or(StoreError::RefreshConflict { repository_id })?;

    let before: HashSet<i64> = first_contribution::Entity::find()
        .select_only()
        .column(first_contribution::Column::ContributorId)
        .filter(first_contribution::Column::RepositoryId.eq(repository_id))
        .into_tuple::<i64>()
        .all(&*tx)
        .await?
        .into_iter()
        .collect();

    let ids = upsert_contributors(&*tx, &firsts).await?;
    if mode == ApplyMode::Replace {
        first_contribution::Entity::delete_many()
            .filter(first_contribution::Column::RepositoryId.eq(repository_id))
            .exec(&*tx)
            .await?;
    }
    let mut new_contributors = 0u64;
    for chunk in firsts.chunks(BATCH_ROWS) {
        let mut rows = Vec::with_capacity(chunk.len());
        for first in chunk {
            let contributor_id = *ids.get(&first.key.storage_key()).ok_or_else(|| {
                StoreError::Corrupt(format!("contributor {} vanished after it was written", first.key.storage_key()))
            })?;
            if !before.contains(&contributor_id) {
                new_contributors += 1;
            }
            rows.push(first_contribution::ActiveModel {
                repository_id: Set(repository_id),
                contributor_id: Set(contributor_id),
                first_contribution_at: Set(first.first_at),
                commit_count: Set(first.commits),
            });
        }
        let merge =
            OnConflict::columns([first_contribution::Column::RepositoryId, first_contribution::Column::ContributorId])
                .value(
                    first_contribution::Column::FirstContributionAt,
                    Expr::cust(
                        "CASE WHEN excluded.first_contribution_at < first_contributions.first_contribution_at \
                     THEN excluded.first_contribution_at ELSE first_contributions.first_contribution_at END",
                    ),
                )
                .value(
                    first_contribution::Column::CommitCount,
                    Expr::cust("first_contributions.commit_count + excluded.commit_count"),
                )
                .to_owned();
        first_contribution::Entity::insert_many(rows).on_conflict(merge).exec_without_returning(&*tx).await?;
    }

    rebuild_read_model(&*tx, &repo).await?;

    // The account's months of everyone whose first contribution here may have moved.
    if let Some(account) = account.filter(|_| !repo.is_gone) {
        let mut affected: Vec<i64> = ids.values().copied().collect();
        if mode == ApplyMode::Replace {
            affected.extend(before.iter().copied());
        }
        account_model::recount(&*tx, account, &affected).await?;
    }

    repository::Entity::update_many()
        .col_expr(repository::Column::HeadSha, Expr::value(state.head_sha))
        .col_expr(repository::Column::IdentityVersion, Expr::value(IDENTITY_RULES))
        .col_expr(repository::Column::CommitsEtag, Expr::value(state.etag))
        .col_expr(repository::Column::LastOutcome, Expr::value(state.outcome))
        .col_expr(repository::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(repository::Column::LastRefreshedAt, Expr::value(state.at))
        .filter(repository::Column::Id.eq(repository_id))
        .exec(&*tx)
        .await?;
    tx.commit().await?;
    Ok(new_contributors)
}

/// Inserts new contributors and refreshes known ones; returns identity key → id.
async fn upsert_contributors(
    tx: &impl ConnectionTrait,
    firsts: &[ContributorFirst],
) -> Result<HashMap<String, i64>, StoreError> {
    let mut ids = HashMap::with_capacity(firsts.len());
    // In key order, so that concurrent refreshes lock shared contributors in the same order.
    let mut sorted: Vec<&ContributorFirst> = firsts.iter().collect();
    sorted.sort_by_cached_key(|f| f.key.storage_key());
    for chunk in sorted.chunks(BATCH_ROWS) {
        let rows = chunk.iter().map(|f| contributor::ActiveModel {
            identity_key: Set(f.key.storage_key()),
            github_id: Set(f.key.github_id()),
            login: Set(f.login.clone()),
            is_bot: Set(f.is_bot),
            ..Default::default()
        });
        let refresh = OnConflict::column(contributor::Column::IdentityKey)
            .value(contributor::Column::Login, Expr::cust("COALESCE(excluded.login, contributors.login)"))
            .value(contributor::Column::IsBot, Expr::cust("(excluded.is_bot OR contributors.is_bot)"))
            .to_owned();
        contributor::Entity::insert_many(rows).on_conflict(refresh).exec_without_returning(tx).await?;
        let keys: Vec<String> = chunk.iter().map(|f| f.key.storage_key()).collect();
        let found: Vec<(i64, String)> = contributor::Entity::find()
            .select_only()
            .column(contributor::Column::Id)
            .column(contributor::Column::IdentityKey)
            .filter(contributor::Column::IdentityKey.is_in(keys))
            .into_tuple()
            .all(tx)
            .await?;
        ids.extend(found.into_iter().map(|(id, key)| (key, id)));
    }
    Ok(ids)
}

/// Recomputes the repository's monthly rows (with and without bots) from its first
/// contributions, and keeps the per-month and per-repository row counts in step.
async fn rebuild_read_model(tx: &impl ConnectionTrait, repo: &repository::Model) -> Result<(), StoreError> {
    let firsts: Vec<(DateTime<Utc>, bool)> = first_contribution::Entity::find()
        .select_only()
        .column(first_contribution::Column::FirstContributionAt)
        .column(contributor::Column::IsBot)
        .join(JoinType::InnerJoin, first_contribution::Relation::Contributor.def())
        .filter(first_contribution::Column::RepositoryId.eq(repo.id))
        .into_tuple()
        .all(tx)
        .await?;
    // month → (everyone, humans only)
    let mut counts: BTreeMap<Month, (i32, i32)> = BTreeMap::new();
    for (at, is_bot) in firsts {
        let entry = counts.entry(Month::of(at)).or_default();
        entry.0 += 1;
        if !is_bot {
            entry.1 += 1;
        }
    }
    let old: Vec<(bool, NaiveDate)> = monthly::Entity::find()
        .select_only()
        .column(monthly::Column::IncludeBots)
        .column(monthly::Column::Month)
        .filter(monthly::Column::RepositoryId.eq(repo.id))
        .into_tuple()
        .all(tx)
        .await?;
    monthly::Entity::delete_many().filter(monthly::Column::RepositoryId.eq(repo.id)).exec(tx).await?;
    let rows: Vec<monthly::ActiveModel> = counts
        .into_iter()
        .flat_map(|(month, (all, humans))| [(month, true, all), (month, false, humans)])
        .filter(|(_, _, n)| *n > 0)
        .map(|(month, include_bots, n)| monthly::ActiveModel {
            repository_id: Set(repo.id),
            include_bots: Set(include_bots),
            month: Set(month.first_day()),
            month_desc_key: Set(month.desc_key()),
            owner: Set(repo.owner.clone()),
            repo_name: Set(repo.name.clone()),
            owner_key: Set(repo.owner_key.clone()),
            name_key: Set(repo.name_key.clone()),
            new_contributors: Set(n),
        })
        .collect();

    // Per-month totals: -1 for each old row, +1 for each new one, in key order (lock order).
    let mut deltas: BTreeMap<(bool, NaiveDate), i32> = BTreeMap::new();
    for key in &old {
        *deltas.entry(*key).or_default() -= 1;
    }
    let (mut humans, mut all) = (0, 0);
    for row in &rows {
        let (include_bots, month) = (*row.include_bots.as_ref(), *row.month.as_ref());
        *deltas.entry((include_bots, month)).or_default() += 1;
        if include_bots {
            all += 1
        } else {
            humans += 1
        }
    }
    for chunk in rows.chunks(BATCH_ROWS) {
        monthly::Entity::insert_many(chunk.to_vec()).exec_without_returning(tx).await?;
    }
    let changes: Vec<monthly_total::ActiveModel> = deltas
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .map(|((include_bots, month), delta)| monthly_total::ActiveModel {
            include_bots: Set(include_bots),
            month: Set(month),
            repositories: Set(delta),
        })
        .collect();
    for chunk in changes.chunks(BATCH_ROWS) {
        let add = OnConflict::columns([monthly_total::Column::IncludeBots, monthly_total::Column::Month])
            .value(
                monthly_total::Column::Repositories,
                Expr::cust("monthly_totals.repositories + excluded.repositories"),
            )
            .to_owned();
        monthly_total::Entity::insert_many(chunk.to_vec()).on_conflict(add).exec_without_returning(tx).await?;
    }
    repository::Entity::update_many()
        .col_expr(repository::Column::MonthlyRows, Expr::value(humans))
        .col_expr(repository::Column::MonthlyRowsWithBots, Expr::value(all))
        .filter(repository::Column::Id.eq(repo.id))
        .exec(tx)
        .await?;
    Ok(())
}

/// A contributor of a repository, as the API shows it.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct RepoContributor {
    pub contributor_id: i64,
    pub login: Option<String>,
    pub github_id: Option<i64>,
    pub is_bot: bool,
    pub first_contribution_at: DateTime<Utc>,
    pub commit_count: i64,
}

fn contributors_base(repository_id: i64, include_bots: bool) -> sea_orm::Select<first_contribution::Entity> {
    let mut select = first_contribution::Entity::find()
        .join(JoinType::InnerJoin, first_contribution::Relation::Contributor.def())
        .filter(first_contribution::Column::RepositoryId.eq(repository_id));
    if !include_bots {
        select = select.filter(contributor::Column::IsBot.eq(false));
    }
    select
}

/// Position of a contributor in a repository's list: (first contribution, contributor id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributorPosition {
    pub first_at: DateTime<Utc>,
    pub contributor_id: i64,
}

impl ContributorPosition {
    pub fn of(row: &RepoContributor) -> Self {
        Self { first_at: row.first_contribution_at, contributor_id: row.contributor_id }
    }
}

/// A page of a repository's contributors in order of first contribution.
pub async fn contributors_page(
    db: &impl ConnectionTrait,
    repository_id: i64,
    include_bots: bool,
    request: &PageRequest<ContributorPosition>,
) -> Result<Page<RepoContributor>, StoreError> {
    let columns = [
        Expr::col((first_contribution::Entity, first_contribution::Column::FirstContributionAt)).into(),
        Expr::col((first_contribution::Entity, first_contribution::Column::ContributorId)).into(),
    ];
    let base = contributors_base(repository_id, include_bots);
    let request = request.bounds(|k| vec![k.first_at.into(), k.contributor_id.into()]);
    let page = keyset(db, base.clone(), &columns, &request, Direction::Ascending).await?;
    // The page's rows, with the contributor's columns.
    let ids: Vec<i64> = page.rows.iter().map(|r| r.contributor_id).collect();
    let people: HashMap<i64, contributor::Model> = contributor::Entity::find()
        .filter(contributor::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let rows = page
        .rows
        .into_iter()
        .filter_map(|fc| {
            let c = people.get(&fc.contributor_id)?;
            Some(RepoContributor {
                contributor_id: fc.contributor_id,
                login: c.login.clone(),
                github_id: c.github_id,
                is_bot: c.is_bot,
                first_contribution_at: fc.first_contribution_at,
                commit_count: fc.commit_count,
            })
        })
        .collect();
    Ok(Page { rows, has_previous: page.has_previous, has_next: page.has_next })
}

pub async fn contributors_count(
    db: &impl ConnectionTrait,
    repository_id: i64,
    include_bots: bool,
) -> Result<u64, StoreError> {
    Ok(contributors_base(repository_id, include_bots).count(db).await?)
}

/// Contributor counts of several repositories at once: repository id → count.
pub async fn contributor_counts(
    db: &impl ConnectionTrait,
    repository_ids: &[i64],
    include_bots: bool,
) -> Result<HashMap<i64, i64>, StoreError> {
    let mut select = first_contribution::Entity::find()
        .select_only()
        .column(first_contribution::Column::RepositoryId)
        .column_as(first_contribution::Column::ContributorId.count(), "n")
        .join(JoinType::InnerJoin, first_contribution::Relation::Contributor.def())
        .filter(first_contribution::Column::RepositoryId.is_in(repository_ids.iter().copied()))
        .group_by(first_contribution::Column::RepositoryId);
    if !include_bots {
        select = select.filter(contributor::Column::IsBot.eq(false));
    }
    Ok(select.into_tuple::<(i64, i64)>().all(db).await?.into_iter().collect())
}
