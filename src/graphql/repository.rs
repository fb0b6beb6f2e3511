//! `Repository` and `Contributor`, and the `repositories` connection.
use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Object, ID};
use entity::enums::RefreshOutcome;
use entity::repository;
use sea_orm::DatabaseConnection;

use super::cursor::{self, Cursor, PageArgs, Scope};
use super::error::ApiResult;
use super::loaders::ContributorCountLoader;
use super::monthly::{self, MonthlyArgs, MonthlyConnection, MonthlyOrder};
use super::scalars::{Date, DateTime};
use crate::domain::OwnerLogin;
use crate::store::{
    self,
    contributions::{ContributorPosition, RepoContributor},
    repositories::RepositoryKey,
};

pub struct Repository(pub repository::Model);

#[Object]
impl Repository {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// GitHub's numeric id: stable across renames and transfers.
    async fn github_id(&self) -> i64 {
        self.0.github_id
    }
    async fn owner(&self) -> &str {
        &self.0.owner
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn full_name(&self) -> String {
        format!("{}/{}", self.0.owner, self.0.name)
    }
    async fn is_fork(&self) -> bool {
        self.0.is_fork
    }
    async fn is_archived(&self) -> bool {
        self.0.is_archived
    }
    /// No longer served by GitHub (deleted, or gone from its account's listing); history kept.
    async fn is_gone(&self) -> bool {
        self.0.is_gone
    }
    async fn default_branch(&self) -> Option<&str> {
        self.0.default_branch.as_deref()
    }
    async fn created_at(&self) -> Option<DateTime> {
        self.0.created_at.map(DateTime)
    }
    async fn pushed_at(&self) -> Option<DateTime> {
        self.0.pushed_at.map(DateTime)
    }
    async fn last_refreshed_at(&self) -> Option<DateTime> {
        self.0.last_refreshed_at.map(DateTime)
    }
    /// How the last refresh ended: updated, unchanged, empty, gone, blocked or failed.
    async fn last_refresh_outcome(&self) -> Option<RefreshOutcome> {
        self.0.last_outcome
    }
    /// Why the last refresh did not succeed, if it did not.
    async fn last_refresh_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn contributor_count(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] include_bots: Option<bool>,
    ) -> ApiResult<i64> {
        let include_bots = include_bots.unwrap_or(false);
        let loader = ctx.data_unchecked::<DataLoader<ContributorCountLoader>>();
        Ok(loader.load_one((self.0.id, include_bots)).await?.unwrap_or(0))
    }
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn monthly_first_contributors(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
        #[graphql(default_with = "Some(false)")] include_bots: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<MonthlyConnection> {
        let args = MonthlyArgs {
            owner: None,
            repo: None,
            from,
            to,
            include_bots: include_bots.unwrap_or(false),
            order: MonthlyOrder::MonthAsc,
        };
        monthly::connection(ctx, args, Some(self.0.id), PageArgs::new(first, after, last, before)).await
    }
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn contributors(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] include_bots: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<ContributorConnection> {
        contributors(
            ctx.data_unchecked(),
            self.0.id,
            include_bots.unwrap_or(false),
            PageArgs::new(first, after, last, before),
        )
        .await
    }
}

/// Cost of a connection field: its page size times the cost of one node.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let size = first.or(last).map(|n| n.clamp(0, 100) as usize).unwrap_or(cursor::DEFAULT_PAGE as usize);
    size.max(1) * child
}

pub struct Contributor(pub RepoContributor);

#[Object]
impl Contributor {
    /// Null for contributors known only by email.
    async fn login(&self) -> Option<&str> {
        self.0.login.as_deref()
    }
    async fn github_id(&self) -> Option<i64> {
        self.0.github_id
    }
    async fn is_bot(&self) -> bool {
        self.0.is_bot
    }
    async fn first_contribution_at(&self) -> DateTime {
        DateTime(self.0.first_contribution_at)
    }
    async fn commit_count(&self) -> i64 {
        self.0.commit_count
    }
}

pub struct ContributorTotal {
    repository_id: i64,
    include_bots: bool,
}

#[Object]
impl ContributorTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(store::contributions::contributors_count(db, self.repository_id, self.include_bots).await? as i64)
    }
}

pub type ContributorConnection = Connection<Cursor<ContributorPosition>, Contributor, ContributorTotal>;

async fn contributors(
    db: &DatabaseConnection,
    repository_id: i64,
    include_bots: bool,
    page: PageArgs,
) -> ApiResult<ContributorConnection> {
    let scope = Scope::of(&[&repository_id.to_string(), if include_bots { "bots" } else { "" }]);
    let request = page.window::<ContributorPosition>(&scope)?;
    let page = store::contributions::contributors_page(db, repository_id, include_bots, &request).await?;
    let mut connection = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        ContributorTotal { repository_id, include_bots },
    );
    connection.edges.extend(
        page.rows.into_iter().map(|c| Edge::new(Cursor::new(&scope, ContributorPosition::of(&c)), Contributor(c))),
    );
    Ok(connection)
}

pub struct RepositoryTotal {
    owner: Option<String>,
}

#[Object]
impl RepositoryTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(store::repositories::count(db, self.owner.as_deref()).await? as i64)
    }
}

pub type RepositoryConnection = Connection<Cursor<RepositoryKey>, Repository, RepositoryTotal>;

pub async fn repositories(
    db: &DatabaseConnection,
    owner: Option<String>,
    page: PageArgs,
) -> ApiResult<RepositoryConnection> {
    let owner = owner.as_deref().map(OwnerLogin::parse).transpose()?.map(|o| o.key());
    let scope = Scope::of(&[owner.as_deref().unwrap_or_default()]);
    let request = page.window::<RepositoryKey>(&scope)?;
    let page = store::repositories::page(db, owner.as_deref(), &request).await?;
    let mut connection =
        Connection::with_additional_fields(page.has_previous, page.has_next, RepositoryTotal { owner });
    connection
        .edges
        .extend(page.rows.into_iter().map(|r| Edge::new(Cursor::new(&scope, RepositoryKey::of(&r)), Repository(r))));
    Ok(connection)
}
