//! `monthlyFirstContributors`: the read model, by keyset pages.
use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, Object};
use entity::monthly_first_contributors as monthly;
use sea_orm::DatabaseConnection;

use super::cursor::{self, PageArgs};
use super::error::{ApiError, ApiResult};
use super::loaders::RepositoryLoader;
use super::repository::Repository;
use super::scalars::Date;
use crate::domain::{Month, OwnerLogin, RepoName};
use crate::store::read_model::{self, MonthOrder, MonthlyFilter, MonthlyKey, MonthlyPageRequest};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MonthlyOrder {
    /// Oldest month first; ties by owner, then repository name, ascending.
    MonthAsc,
    /// Newest month first; ties by owner, then repository name, ascending.
    MonthDesc,
}

/// First-time contributors of one repository in one month.
pub struct MonthlyFirstContributors(pub monthly::Model);

#[Object]
impl MonthlyFirstContributors {
    async fn owner(&self) -> &str {
        &self.0.owner
    }
    async fn repo_name(&self) -> &str {
        &self.0.repo_name
    }
    async fn repository(&self, ctx: &Context<'_>) -> ApiResult<Repository> {
        let loader = ctx.data_unchecked::<DataLoader<RepositoryLoader>>();
        loader.load_one(self.0.repository_id).await?.map(Repository).ok_or(ApiError::Internal)
    }
    /// First day of the month.
    async fn month(&self) -> Date {
        Date(self.0.month)
    }
    async fn new_contributors(&self) -> i32 {
        self.0.new_contributors
    }
}

/// `totalCount` of a connection, computed only when asked for.
pub struct MonthlyTotal {
    filter: MonthlyFilter,
}

#[Object]
impl MonthlyTotal {
    /// Rows matching the filters, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(read_model::monthly_total(ctx.data_unchecked::<DatabaseConnection>(), &self.filter).await?)
    }
}

pub type MonthlyConnection = Connection<String, MonthlyFirstContributors, MonthlyTotal>;

/// Filters as the API receives them, before checking.
pub struct MonthlyArgs {
    pub owner: Option<String>,
    pub repo: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub include_bots: bool,
    pub order: MonthlyOrder,
}

const KIND: &str = "monthly";

fn encode(scope: &str, row: &monthly::Model) -> String {
    let key = MonthlyKey::of(row);
    cursor::encode(
        KIND,
        scope,
        &[key.month.format("%Y-%m-%d").to_string(), key.owner_key, key.name_key, key.repository_id.to_string()],
    )
}

fn decode(scope: &str, value: &str) -> ApiResult<MonthlyKey> {
    let parts = cursor::decode(value, KIND, scope, 4)?;
    let bad = || ApiError::bad_input("malformed cursor");
    Ok(MonthlyKey {
        month: chrono::NaiveDate::parse_from_str(&parts[0], "%Y-%m-%d").map_err(|_| bad())?,
        owner_key: parts[1].clone(),
        name_key: parts[2].clone(),
        repository_id: parts[3].parse().map_err(|_| bad())?,
    })
}

/// Checks the filters, reads one page, and builds the connection.
pub async fn connection(
    db: &DatabaseConnection,
    args: MonthlyArgs,
    repository_id: Option<i64>,
    page: PageArgs,
) -> ApiResult<MonthlyConnection> {
    let owner = args.owner.as_deref().map(OwnerLogin::parse).transpose()?;
    let repo = args.repo.as_deref().map(RepoName::parse).transpose()?;
    let from = args.from.map(|d| Month::containing(d.0));
    let to = args.to.map(|d| Month::containing(d.0));
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(ApiError::bad_input("`from` is after `to`"));
        }
    }
    let repository_ids = match (repository_id, &repo) {
        (Some(id), _) => Some(vec![id]),
        (None, Some(repo)) => {
            Some(crate::store::repositories::ids_named(db, owner.as_ref().map(|o| o.as_str()), repo.as_str()).await?)
        }
        (None, None) => None,
    };
    let order = match args.order {
        MonthlyOrder::MonthAsc => MonthOrder::Asc,
        MonthlyOrder::MonthDesc => MonthOrder::Desc,
    };
    let filter = MonthlyFilter {
        owner: owner.as_ref().map(OwnerLogin::key),
        repository_ids,
        from,
        to,
        include_bots: args.include_bots,
        order,
    };
    let scope = cursor::scope(&[
        &filter.owner.clone().unwrap_or_default(),
        &repo.map(|r| r.key()).unwrap_or_default(),
        &repository_id.map(|i| i.to_string()).unwrap_or_default(),
        &from.map(|m| m.first_day().to_string()).unwrap_or_default(),
        &to.map(|m| m.first_day().to_string()).unwrap_or_default(),
        if filter.include_bots { "bots" } else { "" },
        if order == MonthOrder::Desc { "desc" } else { "asc" },
    ]);
    let window = page.window(|c| decode(&scope, c))?;
    let request = MonthlyPageRequest {
        after: window.after,
        before: window.before,
        limit: window.limit,
        from_end: window.from_end,
    };
    let result = read_model::monthly_page(db, &filter, &request).await?;
    let mut connection =
        Connection::with_additional_fields(result.has_previous, result.has_next, MonthlyTotal { filter });
    connection
        .edges
        .extend(result.rows.into_iter().map(|row| Edge::new(encode(&scope, &row), MonthlyFirstContributors(row))));
    Ok(connection)
}
