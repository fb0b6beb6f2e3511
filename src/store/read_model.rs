//! Reading the monthly read model: keyset pages for GraphQL, numbered pages for REST, totals.
use chrono::NaiveDate;
use entity::{monthly_first_contributors as monthly, monthly_total, repository};
use sea_orm::sea_query::{Asterisk, Expr, SelectStatement, SimpleExpr};
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, Row as _};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryResult,
    QuerySelect, QueryTrait, Select, Statement, Value,
};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::page::{keyset_counted, keyset_statement, Direction, Page, PageRequest};
use super::reads::{query_error, Reads};
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

/// One page, and the total when `with_total` (one statement either way; see `keyset_counted`).
pub async fn monthly_page(
    db: &Reads,
    filter: &MonthlyFilter,
    request: &PageRequest<MonthlyKey>,
    with_total: bool,
) -> Result<(Page<monthly::Model>, Option<i64>), StoreError> {
    if filter.repository_ids.as_ref().is_some_and(|ids| ids.is_empty()) {
        return Ok((Page::empty(), with_total.then_some(0)));
    }
    let request = request.bounds(|k| key_values(filter, k));
    let total = with_total.then(|| monthly_total_query(filter));
    let pool = match db {
        Reads::Postgres(pool) => pool,
        Reads::Shared(db) => {
            let (page, total) = keyset_counted::<_, ByPosition>(
                db,
                base(filter),
                &key_columns(filter),
                &request,
                Direction::Ascending,
                total,
            )
            .await?;
            return Ok((page.map(|row| row.0), total));
        }
    };
    // PostgreSQL's rows decoded here, by position and without sqlx's check of each value's
    // type (a tenth of the CPU of a page of 100): the columns are the entity's, whose types
    // the migrations fix. The probe and the total that follow them are checked.
    let (statement, keyset) = keyset_statement(
        DbBackend::Postgres,
        base(filter),
        &key_columns(filter),
        &request,
        Direction::Ascending,
        total,
    );
    let found = pool.fetch(&statement).await?;
    let extras = match found.first() {
        Some(row) => {
            let mut at = MODEL_COLUMNS;
            let beyond = keyset.has_probe() && pg_get::<bool>(row, &mut at)?;
            let total = if keyset.has_total() { Some(pg_get::<Option<i64>>(row, &mut at)?.unwrap_or(0)) } else { None };
            (beyond, total)
        }
        None => keyset.extras_alone(db).await?,
    };
    let rows = found.iter().map(model_of_pg_row).collect::<Result<Vec<_>, _>>()?;
    Ok(keyset.page(rows, extras))
}

/// A read-model row decoded by position (the entity's column order, which `Entity::find()`
/// selects) rather than by name: SeaORM's lookup of each column by name was a fifth of the
/// CPU of a page of 100.
struct ByPosition(monthly::Model);

impl FromQueryResult for ByPosition {
    fn from_query_result(row: &QueryResult, _prefix: &str) -> Result<Self, DbErr> {
        Ok(Self(monthly::Model {
            repository_id: row.try_get_by_index(0)?,
            include_bots: row.try_get_by_index(1)?,
            month: row.try_get_by_index(2)?,
            month_desc_key: row.try_get_by_index(3)?,
            owner: row.try_get_by_index(4)?,
            repo_name: row.try_get_by_index(5)?,
            owner_key: row.try_get_by_index(6)?,
            name_key: row.try_get_by_index(7)?,
            new_contributors: row.try_get_by_index(8)?,
        }))
    }
}

/// Columns of the read model's entity, which `Entity::find()` selects first.
const MODEL_COLUMNS: usize = 9;

/// The value at `*at` (checked), moving `at` on.
fn pg_get<T>(row: &PgRow, at: &mut usize) -> Result<T, DbErr>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    let value = row.try_get::<T, _>(*at).map_err(query_error)?;
    *at += 1;
    Ok(value)
}

/// A read-model row from PostgreSQL, in the entity's column order (see `ByPosition`).
fn model_of_pg_row(row: &PgRow) -> Result<monthly::Model, DbErr> {
    Ok(monthly::Model {
        repository_id: row.try_get_unchecked(0).map_err(query_error)?,
        include_bots: row.try_get_unchecked(1).map_err(query_error)?,
        month: row.try_get_unchecked(2).map_err(query_error)?,
        month_desc_key: row.try_get_unchecked(3).map_err(query_error)?,
        owner: row.try_get_unchecked(4).map_err(query_error)?,
        repo_name: row.try_get_unchecked(5).map_err(query_error)?,
        owner_key: row.try_get_unchecked(6).map_err(query_error)?,
        name_key: row.try_get_unchecked(7).map_err(query_error)?,
        new_contributors: row.try_get_unchecked(8).map_err(query_error)?,
    })
}

/// How many rows the filter selects, from maintained counts where the filter allows.
pub async fn monthly_total(db: &impl ConnectionTrait, filter: &MonthlyFilter) -> Result<i64, StoreError> {
    if filter.repository_ids.as_ref().is_some_and(|ids| ids.is_empty()) {
        return Ok(0);
    }
    let statement = db.get_database_backend().build(&monthly_total_query(filter));
    let row = db.query_one(statement).await?;
    Ok(row.map(|row| row.try_get::<Option<i64>>("", "n")).transpose()?.flatten().unwrap_or(0))
}

/// The statement counting the rows the filter selects (one column `n`, NULL for none): a sum of
/// maintained counts where the filter allows, else a count of the rows.
fn monthly_total_query(filter: &MonthlyFilter) -> SelectStatement {
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
            select.into_query()
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
            select.into_query()
        }
        _ => base(filter).select_only().column_as(Expr::col(Asterisk).count(), "n").into_query(),
    }
}

/// One row of the REST listing: the columns it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRow {
    pub month: NaiveDate,
    pub repo_name: String,
    pub new_contributors: i32,
}

/// Page `page` (from 1) of `size` rows in the REST order (month, repository name), without bots,
/// and the total, in one statement. The page's month and how many of its rows come before the
/// page are read off the per-month totals (a running sum over `monthly_totals`); the page's
/// first key is then found by skipping within that one month on the index (idx_monthly_rest)
/// alone, reading no row it skips; and the page is read by keyset from that key. Only a page
/// past the end needs a second statement, for the total.
pub async fn rest_page(db: &Reads, page: u64, size: u64) -> Result<(Vec<RestRow>, i64), StoreError> {
    let statement = rest_statement(db.get_database_backend(), page, size);
    let (rows, total) = match db {
        // As for the GraphQL pages: decoded here without a type check of each value.
        Reads::Postgres(pool) => {
            let found = pool.fetch(&statement).await?;
            let total = match found.first() {
                Some(row) => Some(pg_get::<Option<i64>>(row, &mut 3)?),
                None => None,
            };
            let rows = found
                .iter()
                .map(|row| {
                    Ok(RestRow {
                        month: row.try_get_unchecked(0).map_err(query_error)?,
                        repo_name: row.try_get_unchecked(1).map_err(query_error)?,
                        new_contributors: row.try_get_unchecked(2).map_err(query_error)?,
                    })
                })
                .collect::<Result<Vec<_>, DbErr>>()?;
            (rows, total)
        }
        Reads::Shared(shared) => {
            let found = shared.query_all(statement).await?;
            let total = match found.first() {
                Some(row) => Some(row.try_get_by_index::<Option<i64>>(3)?),
                None => None,
            };
            let rows = found
                .iter()
                .map(|row| {
                    Ok(RestRow {
                        month: row.try_get_by_index(0)?,
                        repo_name: row.try_get_by_index(1)?,
                        new_contributors: row.try_get_by_index(2)?,
                    })
                })
                .collect::<Result<Vec<_>, DbErr>>()?;
            (rows, total)
        }
    };
    let total = match total {
        Some(total) => total.unwrap_or(0),
        // A page past the end: the total on its own.
        None => {
            let all = MonthlyFilter {
                owner: None,
                repository_ids: None,
                from: None,
                to: None,
                include_bots: false,
                order: MonthOrder::Asc,
            };
            monthly_total(db, &all).await?
        }
    };
    Ok((rows, total))
}

/// The statement of REST page `page` of `size` rows (see `rest_page`): month, repository name,
/// new contributors, and the total beside each row.
fn rest_statement(backend: DbBackend, page: u64, size: u64) -> Statement {
    let offset = i64::try_from(page.saturating_sub(1).saturating_mul(size)).unwrap_or(i64::MAX);
    let (a, b) = if backend == DbBackend::Postgres { ("$1", "$2") } else { ("?", "?") };
    // The size is the service's own number (at most 100), written into the text so that
    // PostgreSQL's plan for it is made once (see `literal_limit`).
    let sql = format!(
        "WITH months AS (SELECT month, SUM(repositories) OVER (ORDER BY month) - repositories AS before \
         FROM monthly_totals WHERE include_bots = FALSE AND repositories > 0), \
         start AS (SELECT month, {a} - before AS skip FROM months WHERE before <= {b} ORDER BY month DESC LIMIT 1) \
         SELECT month, repo_name, new_contributors, \
         (SELECT SUM(repositories) FROM monthly_totals WHERE include_bots = FALSE) AS total \
         FROM monthly_first_contributors WHERE include_bots = FALSE \
         AND (month, name_key, owner_key, repository_id) >= (SELECT month, name_key, owner_key, repository_id \
         FROM monthly_first_contributors WHERE include_bots = FALSE AND month = (SELECT month FROM start) \
         ORDER BY name_key, owner_key, repository_id LIMIT 1 OFFSET (SELECT skip FROM start)) \
         ORDER BY month, name_key, owner_key, repository_id LIMIT {size}"
    );
    Statement::from_sql_and_values(backend, sql, [offset.into(), offset.into()])
}

#[cfg(test)]
mod tests {
    use sea_orm::{Iden, Iterable};

    use super::*;

    #[test]
    fn by_position_follows_the_entity_column_order() {
        let names: Vec<String> = monthly::Column::iter().map(|c| c.to_string()).collect();
        assert_eq!(
            names,
            [
                "repository_id",
                "include_bots",
                "month",
                "month_desc_key",
                "owner",
                "repo_name",
                "owner_key",
                "name_key",
                "new_contributors"
            ]
        );
        assert_eq!(names.len(), MODEL_COLUMNS, "the probe and the total follow the entity's columns");
    }

    /// Every statement the read connections run follows an index: checked on the generic plan
    /// PostgreSQL keeps for each page shape (filters, cursors on either side, either end, with
    /// and without the total) and for REST pages. Without `enable_seqscan = off` on those
    /// connections, the probe and the small tables of a fresh database are read by sequential
    /// scans here, and on the API bench's table the probe took 156 ms.
    #[tokio::test]
    async fn every_read_statement_follows_an_index_on_postgres() {
        let Some(server) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
            let note = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/skipped-tests.txt");
            let line = "store::read_model::tests::every_read_statement_follows_an_index_on_postgres: needs PostgreSQL (TEST_DATABASE_URL)\n";
            let _ = std::fs::OpenOptions::new().create(true).append(true).open(note).and_then(|mut f| {
                use std::io::Write as _;
                f.write_all(line.as_bytes())
            });
            eprintln!("skipped: needs PostgreSQL");
            return;
        };
        let name = format!("gc_plans_{}", std::process::id());
        let admin = crate::store::db::connect(&server).await.unwrap();
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\"")).await.unwrap();
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&name);
        let db = crate::store::db::connect(url.as_str()).await.unwrap();
        crate::store::db::migrate(&db).await.unwrap();
        let Reads::Postgres(pool) = Reads::of(&db) else { panic!("PostgreSQL reads") };

        let key = MonthlyKey {
            month: NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
            owner_key: "acme".into(),
            name_key: "widgets".into(),
            repository_id: 7,
        };
        let month = Month::containing(key.month);
        let filters = [
            (None, None, None, None, false, MonthOrder::Asc),
            (None, None, None, None, true, MonthOrder::Desc),
            (Some("acme"), None, None, None, false, MonthOrder::Asc),
            (Some("acme"), None, Some(month), Some(month), false, MonthOrder::Desc),
            (None, Some(vec![1, 2]), None, None, false, MonthOrder::Asc),
            (None, None, Some(month), None, false, MonthOrder::Asc),
            (None, None, None, Some(month), false, MonthOrder::Desc),
        ];
        let requests = [
            (false, false, false),
            (true, false, false),
            (false, true, true),
            (false, false, true),
            (true, true, false),
        ];
        let mut checked = 0;
        for (owner, ids, from, to, include_bots, order) in filters {
            let filter =
                MonthlyFilter { owner: owner.map(Into::into), repository_ids: ids, from, to, include_bots, order };
            for (after, before, from_end) in requests {
                let request = PageRequest {
                    after: after.then(|| key.clone()),
                    before: before.then(|| key.clone()),
                    limit: 100,
                    from_end,
                };
                let request = request.bounds(|k| key_values(&filter, k));
                for with_total in [false, true] {
                    let total = with_total.then(|| monthly_total_query(&filter));
                    let (statement, _) = keyset_statement(
                        DbBackend::Postgres,
                        base(&filter),
                        &key_columns(&filter),
                        &request,
                        Direction::Ascending,
                        total,
                    );
                    let plan = pool.generic_plan(&statement).await.unwrap();
                    assert!(!plan.contains("Seq Scan"), "{filter:?} {request:?}:\n{}\n{plan}", statement.sql);
                    checked += 1;
                }
            }
        }
        for page in [1, 5] {
            let statement = rest_statement(DbBackend::Postgres, page, 100);
            let plan = pool.generic_plan(&statement).await.unwrap();
            assert!(!plan.contains("Seq Scan"), "REST page {page}:\n{plan}");
            checked += 1;
        }
        assert_eq!(checked, 7 * 5 * 2 + 2);
        db.close().await.unwrap();
        admin.execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await.unwrap();
    }
}
