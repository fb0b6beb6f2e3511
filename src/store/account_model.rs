//! People new to a whole account (docs/rules.md §1.2): each contributor's first contribution to
//! any counting repository of the account (`account_first_contributors`), and the monthly read
//! model derived from it, kept in the same transaction as the change that moves them.
//!
//! Lock order, in every transaction that writes here: the account row first (`lock`), then the
//! repository row, then contributors in key order, then the read-model rows in key order.
//! Refreshes of different repositories of one account may crawl at the same time on any
//! replica; their writes to the account model take turns on the account row, so a person is
//! never lost or counted twice.
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    account, account_first_contributor as firsts, account_monthly_first_contributors as monthly, contributor,
    first_contribution, repository,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Select,
};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::page::{keyset, Direction, Page, PageRequest};
use super::read_model::MonthOrder;
use super::BATCH_ROWS;
use crate::domain::Month;

/// Takes the account's row lock until the transaction ends (PostgreSQL; SQLite has one writer).
pub async fn lock(tx: &impl ConnectionTrait, account_id: i64) -> Result<(), StoreError> {
    account::Entity::update_many()
        .col_expr(account::Column::MonthlyRows, Expr::col(account::Column::MonthlyRows).into())
        .filter(account::Column::Id.eq(account_id))
        .exec(tx)
        .await?;
    Ok(())
}

/// The contributors of a repository.
pub async fn contributors_of(tx: &impl ConnectionTrait, repository_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(first_contribution::Entity::find()
        .select_only()
        .column(first_contribution::Column::ContributorId)
        .filter(first_contribution::Column::RepositoryId.eq(repository_id))
        .into_tuple()
        .all(tx)
        .await?)
}

/// Recomputes, for `contributors`, their first contribution to the account's counting
/// repositories (listed by GitHub, not gone), and moves the account's monthly rows and counts
/// by the difference. The caller holds the account's lock.
pub async fn recount(tx: &impl ConnectionTrait, account_id: i64, contributors: &[i64]) -> Result<(), StoreError> {
    let mut ids = contributors.to_vec();
    ids.sort_unstable();
    ids.dedup();
    // (month, bot) now and as counted, per contributor.
    let mut now: HashMap<i64, (DateTime<Utc>, bool)> = HashMap::with_capacity(ids.len());
    let mut counted: HashMap<i64, (DateTime<Utc>, bool)> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH_ROWS) {
        let earliest: Vec<(i64, Option<DateTime<Utc>>, bool)> = first_contribution::Entity::find()
            .select_only()
            .column(first_contribution::Column::ContributorId)
            .column_as(first_contribution::Column::FirstContributionAt.min(), "first_at")
            .column(contributor::Column::IsBot)
            .join(JoinType::InnerJoin, first_contribution::Relation::Repository.def())
            .join(JoinType::InnerJoin, first_contribution::Relation::Contributor.def())
            .filter(repository::Column::AccountId.eq(account_id))
            .filter(repository::Column::IsGone.eq(false))
            .filter(first_contribution::Column::ContributorId.is_in(chunk.iter().copied()))
            .group_by(first_contribution::Column::ContributorId)
            .group_by(contributor::Column::IsBot)
            .into_tuple()
            .all(tx)
            .await?;
        now.extend(earliest.into_iter().filter_map(|(id, at, bot)| Some((id, (at?, bot)))));
        let stored = firsts::Entity::find()
            .filter(firsts::Column::AccountId.eq(account_id))
            .filter(firsts::Column::ContributorId.is_in(chunk.iter().copied()))
            .all(tx)
            .await?;
        counted.extend(stored.into_iter().map(|f| (f.contributor_id, (f.first_contribution_at, f.is_bot))));
    }

    // Per (include_bots, month): rows gained minus rows lost.
    let mut deltas: BTreeMap<(bool, NaiveDate), i32> = BTreeMap::new();
    let mut count = |(at, bot): (DateTime<Utc>, bool), sign: i32| {
        let month = Month::of(at).first_day();
        *deltas.entry((true, month)).or_default() += sign;
        if !bot {
            *deltas.entry((false, month)).or_default() += sign;
        }
    };
    let mut upserts = Vec::new();
    let mut removals = Vec::new();
    for id in &ids {
        let (old, new) = (counted.get(id).copied(), now.get(id).copied());
        if old == new {
            continue;
        }
        if let Some(old) = old {
            count(old, -1);
        }
        match new {
            Some(new) => {
                count(new, 1);
                upserts.push(firsts::ActiveModel {
                    account_id: Set(account_id),
                    contributor_id: Set(*id),
                    first_contribution_at: Set(new.0),
                    is_bot: Set(new.1),
                });
            }
            None => removals.push(*id),
        }
    }
    for chunk in upserts.chunks(BATCH_ROWS) {
        let replace = OnConflict::columns([firsts::Column::AccountId, firsts::Column::ContributorId])
            .update_columns([firsts::Column::FirstContributionAt, firsts::Column::IsBot])
            .to_owned();
        firsts::Entity::insert_many(chunk.to_vec()).on_conflict(replace).exec_without_returning(tx).await?;
    }
    for chunk in removals.chunks(BATCH_ROWS) {
        firsts::Entity::delete_many()
            .filter(firsts::Column::AccountId.eq(account_id))
            .filter(firsts::Column::ContributorId.is_in(chunk.iter().copied()))
            .exec(tx)
            .await?;
    }
    apply_deltas(tx, account_id, deltas).await
}

/// Moves the account's monthly rows by `deltas`, in key order, and keeps its row counts.
async fn apply_deltas(
    tx: &impl ConnectionTrait,
    account_id: i64,
    deltas: BTreeMap<(bool, NaiveDate), i32>,
) -> Result<(), StoreError> {
    let (mut rows_humans, mut rows_all) = (0i32, 0i32);
    for ((include_bots, month), delta) in deltas.into_iter().filter(|(_, d)| *d != 0) {
        let key = || {
            monthly::Entity::find()
                .filter(monthly::Column::AccountId.eq(account_id))
                .filter(monthly::Column::IncludeBots.eq(include_bots))
                .filter(monthly::Column::Month.eq(month))
        };
        let before = key().one(tx).await?.map(|r| r.new_contributors).unwrap_or(0);
        let after = before + delta;
        let row_change = match (before > 0, after > 0) {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        };
        if after > 0 {
            let row = monthly::ActiveModel {
                account_id: Set(account_id),
                include_bots: Set(include_bots),
                month: Set(month),
                new_contributors: Set(after),
            };
            let replace =
                OnConflict::columns([monthly::Column::AccountId, monthly::Column::IncludeBots, monthly::Column::Month])
                    .update_column(monthly::Column::NewContributors)
                    .to_owned();
            monthly::Entity::insert(row).on_conflict(replace).exec_without_returning(tx).await?;
        } else if before > 0 {
            monthly::Entity::delete_many()
                .filter(monthly::Column::AccountId.eq(account_id))
                .filter(monthly::Column::IncludeBots.eq(include_bots))
                .filter(monthly::Column::Month.eq(month))
                .exec(tx)
                .await?;
        }
        if include_bots {
            rows_all += row_change;
        } else {
            rows_humans += row_change;
        }
    }
    if rows_all != 0 || rows_humans != 0 {
        account::Entity::update_many()
            .col_expr(account::Column::MonthlyRows, Expr::col(account::Column::MonthlyRows).add(rows_humans))
            .col_expr(
                account::Column::MonthlyRowsWithBots,
                Expr::col(account::Column::MonthlyRowsWithBots).add(rows_all),
            )
            .filter(account::Column::Id.eq(account_id))
            .exec(tx)
            .await?;
    }
    Ok(())
}

/// Position of a row of an account's months: the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMonthKey {
    pub month: NaiveDate,
}

/// Which of an account's months.
#[derive(Debug, Clone)]
pub struct AccountMonthFilter {
    pub account_id: i64,
    pub from: Option<Month>,
    pub to: Option<Month>,
    pub include_bots: bool,
    pub order: MonthOrder,
}

fn base(filter: &AccountMonthFilter) -> Select<monthly::Entity> {
    let mut select = monthly::Entity::find()
        .filter(monthly::Column::AccountId.eq(filter.account_id))
        .filter(monthly::Column::IncludeBots.eq(filter.include_bots));
    if let Some(from) = filter.from {
        select = select.filter(monthly::Column::Month.gte(from.first_day()));
    }
    if let Some(to) = filter.to {
        select = select.filter(monthly::Column::Month.lte(to.first_day()));
    }
    select
}

/// A page of an account's months, by keyset on the month.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &AccountMonthFilter,
    request: &PageRequest<AccountMonthKey>,
) -> Result<Page<monthly::Model>, StoreError> {
    let direction = match filter.order {
        MonthOrder::Asc => Direction::Ascending,
        MonthOrder::Desc => Direction::Descending,
    };
    let request = request.bounds(|k| vec![k.month.into()]);
    Ok(keyset(db, base(filter), &[Expr::col(monthly::Column::Month).into()], &request, direction).await?)
}

/// How many months the filter selects: the maintained count, or an indexed count for a range.
pub async fn total(db: &impl ConnectionTrait, filter: &AccountMonthFilter) -> Result<i64, StoreError> {
    if filter.from.is_some() || filter.to.is_some() {
        return Ok(base(filter).count(db).await? as i64);
    }
    let column = if filter.include_bots { account::Column::MonthlyRowsWithBots } else { account::Column::MonthlyRows };
    Ok(account::Entity::find()
        .select_only()
        .column(column)
        .filter(account::Column::Id.eq(filter.account_id))
        .into_tuple::<i32>()
        .one(db)
        .await?
        .map(i64::from)
        .unwrap_or(0))
}

/// Every month of an account, oldest first (for tests and checks).
pub async fn all_months(
    db: &impl ConnectionTrait,
    account_id: i64,
    include_bots: bool,
) -> Result<Vec<(NaiveDate, i32)>, StoreError> {
    Ok(monthly::Entity::find()
        .select_only()
        .column(monthly::Column::Month)
        .column(monthly::Column::NewContributors)
        .filter(monthly::Column::AccountId.eq(account_id))
        .filter(monthly::Column::IncludeBots.eq(include_bots))
        .order_by_asc(monthly::Column::Month)
        .into_tuple()
        .all(db)
        .await?)
}
