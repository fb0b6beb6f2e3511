//! Reading the monthly read model: keyset pages for GraphQL, numbered pages for REST, totals.
use chrono::NaiveDate;
use entity::{monthly_first_contributors as monthly, monthly_total, repository};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::page::{keyset, Direction, Page, PageRequest};
use crate::domain::Month;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthOrder {
    Asc,
    Desc,
}

#[derive(Debug, Clone)]
pub struct MonthlyFilter {
    /// Lowercase owner login.
    pub owner: Option<String>,
    /// Repositories selected by name (resolved to ids first).
    pub repository_ids: Option<Vec<i64>>,
    pub from: Option<Month>,
    pub to: Option<Month>,
    pub include_bots: bool,
    pub order: MonthOrder,
}

/// Position of a row in the read model: (month, owner, name, repository id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthlyKey {
    pub month: NaiveDate,
    pub owner_key: String,
    pub name_key: String,
    pub repository_id: i64,
}

impl MonthlyKey {
    pub fn of(row: &monthly::Model) -> Self {
        Self {
            month: row.month,
            owner_key: row.owner_key.clone(),
            name_key: row.name_key.clone(),
            repository_id: row.repository_id,
        }
    }
}

fn base(filter: &MonthlyFilter) -> Select<monthly::Entity> {
    let mut select = monthly::Entity::find().filter(monthly::Column::IncludeBots.eq(filter.include_bots));
    if let Some(owner) = &filter.owner {
        select = select.filter(monthly::Column::OwnerKey.eq(owner.clone()));
    }
    if let Some(ids) = &filter.repository_ids {
        select = select.filter(monthly::Column::RepositoryId.is_in(ids.clone()));
    }
    // The range goes on the month column that leads the index of the order.
    match filter.order {
        MonthOrder::Asc => {
            if let Some(from) = filter.from {
                select = select.filter(monthly::Column::Month.gte(from.first_day()));
            }
            if let Some(to) = filter.to {
                select = select.filter(monthly::Column::Month.lte(to.first_day()));
            }
        }
        MonthOrder::Desc => {
            if let Some(from) = filter.from {
                select = select.filter(monthly::Column::MonthDescKey.lte(from.desc_key()));
            }
            if let Some(to) = filter.to {
                select = select.filter(monthly::Column::MonthDescKey.gte(to.desc_key()));
            }
        }
    }
    select
}

/// The ordering columns and a key's values for them. Columns fixed by an equality filter are
/// left out, so that the key follows the index that serves the filter.
fn key_columns(filter: &MonthlyFilter) -> Vec<SimpleExpr> {
    let month = match filter.order {
        MonthOrder::Asc => monthly::Column::Month,
        MonthOrder::Desc => monthly::Column::MonthDescKey,
    };
    let mut cols = vec![Expr::col(month).into()];
    if filter.owner.is_none() {
        cols.push(Expr::col(monthly::Column::OwnerKey).into());
    }
    cols.push(Expr::col(monthly::Column::NameKey).into());
    cols.push(Expr::col(monthly::Column::RepositoryId).into());
    cols
}

fn key_values(filter: &MonthlyFilter, key: &MonthlyKey) -> Vec<Value> {
    let month: Value = match filter.order {
        MonthOrder::Asc => key.month.into(),
        MonthOrder::Desc => Month::containing(key.month).desc_key().into(),
    };
    let mut values = vec![month];
    if filter.owner.is_none() {
        values.push(key.owner_key.clone().into());
    }
    values.push(key.name_key.clone().into());
    values.push(key.repository_id.into());
    values
}

pub async fn monthly_page(
    db: &impl ConnectionTrait,
    filter: &MonthlyFilter,
    request: &PageRequest<MonthlyKey>,
) -> Result<Page<monthly::Model>, StoreError> {
    if filter.repository_ids.as_ref().is_some_and(|ids| ids.is_empty()) {
        return Ok(Page::empty());
    }
    let request = request.bounds(|k| key_values(filter, k));
    Ok(keyset(db, base(filter), &key_columns(filter), &request, Direction::Ascending).await?)
}

/// How many rows the filter selects, from maintained counts where the filter allows.
pub async fn monthly_total(db: &impl ConnectionTrait, filter: &MonthlyFilter) -> Result<i64, StoreError> {
    if filter.repository_ids.as_ref().is_some_and(|ids| ids.is_empty()) {
        return Ok(0);
    }
    let ranged = filter.from.is_some() || filter.to.is_some();
    match (&filter.owner, &filter.repository_ids, ranged) {
        (None, None, _) => {
            let mut select = monthly_total::Entity::find()
                .select_only()
                .column_as(monthly_total::Column::Repositories.sum(), "n")
                .filter(monthly_total::Column::IncludeBots.eq(filter.include_bots));
            if let Some(from) = filter.from {
                select = select.filter(monthly_total::Column::Month.gte(from.first_day()));
            }
            if let Some(to) = filter.to {
                select = select.filter(monthly_total::Column::Month.lte(to.first_day()));
            }
            Ok(select.into_tuple::<Option<i64>>().one(db).await?.flatten().unwrap_or(0))
        }
        (owner, ids, false) => {
            let column = if filter.include_bots {
                repository::Column::MonthlyRowsWithBots
            } else {
                repository::Column::MonthlyRows
            };
            let mut select = repository::Entity::find().select_only().column_as(column.sum(), "n");
            if let Some(owner) = owner {
                select = select.filter(repository::Column::OwnerKey.eq(owner.clone()));
            }
            if let Some(ids) = ids {
                select = select.filter(repository::Column::Id.is_in(ids.clone()));
            }
            Ok(select.into_tuple::<Option<i64>>().one(db).await?.flatten().unwrap_or(0))
        }
        _ => Ok(base(filter).count(db).await? as i64),
    }
}

/// Page `page` (from 1) of `size` rows in the REST order (month, repository name), without bots,
/// and the total. The page's first month is found from the per-month totals, so a deep page
/// skips at most one month's rows.
pub async fn rest_page(
    db: &impl ConnectionTrait,
    page: u64,
    size: u64,
) -> Result<(Vec<monthly::Model>, i64), StoreError> {
    let months: Vec<(NaiveDate, i32)> = monthly_total::Entity::find()
        .select_only()
        .column(monthly_total::Column::Month)
        .column(monthly_total::Column::Repositories)
        .filter(monthly_total::Column::IncludeBots.eq(false))
        .filter(monthly_total::Column::Repositories.gt(0))
        .order_by_asc(monthly_total::Column::Month)
        .into_tuple()
        .all(db)
        .await?;
    let total: i64 = months.iter().map(|(_, n)| i64::from(*n)).sum();
    let offset = (page.saturating_sub(1)).saturating_mul(size);
    if offset >= total as u64 {
        return Ok((Vec::new(), total));
    }
    let mut before = 0u64;
    let mut start = None;
    for (month, n) in &months {
        if before + *n as u64 > offset {
            start = Some(*month);
            break;
        }
        before += *n as u64;
    }
    let Some(start) = start else { return Ok((Vec::new(), total)) };
    let rest_order = |select: Select<monthly::Entity>| {
        select
            .filter(monthly::Column::IncludeBots.eq(false))
            .order_by_asc(monthly::Column::Month)
            .order_by_asc(monthly::Column::NameKey)
            .order_by_asc(monthly::Column::OwnerKey)
            .order_by_asc(monthly::Column::RepositoryId)
    };
    // The page's first key, skipping within one month on the index alone (no row is read for
    // the rows skipped); then the page itself by keyset from that key.
    let first: Option<(NaiveDate, String, String, i64)> = rest_order(monthly::Entity::find())
        .select_only()
        .column(monthly::Column::Month)
        .column(monthly::Column::NameKey)
        .column(monthly::Column::OwnerKey)
        .column(monthly::Column::RepositoryId)
        .filter(monthly::Column::Month.eq(start))
        .offset(offset - before)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let Some((month, name_key, owner_key, repository_id)) = first else { return Ok((Vec::new(), total)) };
    let key = Expr::tuple([
        Expr::col(monthly::Column::Month).into(),
        Expr::col(monthly::Column::NameKey).into(),
        Expr::col(monthly::Column::OwnerKey).into(),
        Expr::col(monthly::Column::RepositoryId).into(),
    ]);
    let from = Expr::tuple([
        SimpleExpr::Value(month.into()),
        SimpleExpr::Value(name_key.into()),
        SimpleExpr::Value(owner_key.into()),
        SimpleExpr::Value(repository_id.into()),
    ]);
    let rows = rest_order(monthly::Entity::find()).filter(key.gte(from)).limit(size).all(db).await?;
    Ok((rows, total))
}
