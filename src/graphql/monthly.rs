//! `monthlyFirstContributors`: the read model, by keyset pages.
use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, Object};
use entity::monthly_first_contributors as monthly;
use sea_orm::DatabaseConnection;

use super::cursor::{Cursor, PageArgs, Scope};
use super::error::{ApiError, ApiResult};
use super::loaders::RepositoryLoader;
use super::repository::Repository;
use super::scalars::Date;
use crate::domain::{Month, OwnerLogin, RepoName};
use crate::store::read_model::{self, MonthOrder, MonthlyFilter, MonthlyKey};

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

pub type MonthlyConnection = Connection<Cursor<MonthlyKey>, MonthlyFirstContributors, MonthlyTotal>;

/// Filters as the API receives them, before checking.
pub struct MonthlyArgs {
    pub owner: Option<String>,
    pub repo: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub include_bots: bool,
    pub order: MonthlyOrder,
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
        (None, Some(repo)) => Some(
            crate::store::repositories::ids_named(db, owner.as_ref().map(OwnerLogin::key).as_deref(), &repo.key())
                .await?,
        ),
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
    let scope = Scope::of(&[
        &filter.owner.clone().unwrap_or_default(),
        &repo.map(|r| r.key()).unwrap_or_default(),
        &repository_id.map(|i| i.to_string()).unwrap_or_default(),
        &from.map(|m| m.first_day().to_string()).unwrap_or_default(),
        &to.map(|m| m.first_day().to_string()).unwrap_or_default(),
        if filter.include_bots { "bots" } else { "" },
        if order == MonthOrder::Desc { "desc" } else { "asc" },
    ]);
    let request = page.window::<MonthlyKey>(&scope)?;
    let result = read_model::monthly_page(db, &filter, &request).await?;
    let mut connection =
        Connection::with_additional_fields(result.has_previous, result.has_next, MonthlyTotal { filter });
    connection.edges.extend(
        result
            .rows
            .into_iter()
            .map(|row| Edge::new(Cursor::new(&scope, MonthlyKey::of(&row)), MonthlyFirstContributors(row))),
    );
    Ok(connection)
}
