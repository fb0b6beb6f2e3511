//! The `Query` root (docs/rules.md §5).
use async_graphql::{Context, Object, ID};
use sea_orm::DatabaseConnection;

use super::account::{self, AccountMonthArgs, AccountMonthConnection};
use super::archive::{
    self, ArchiveDay, ArchiveDeveloperConnection, ArchiveDeveloperOrder, ArchiveRepositoryConnection,
    ArchiveRepositoryOrder,
};
use super::cursor::PageArgs;
use super::error::ApiResult;
use super::jobs::{self, RefreshJob, RefreshJobConnection};
use super::monthly::{self, MonthlyArgs, MonthlyConnection, MonthlyOrder};
use super::repository::{self, page_complexity, Repository, RepositoryConnection};
use super::scalars::Date;
use crate::domain::{OwnerLogin, RepoName, RepoRef};
use crate::store;
use crate::store::archive::queries::{DeveloperFilter, RepositoryFilter};
use entity::refresh_job::JobStatus;

pub struct Query;

#[Object]
impl Query {
    /// First-time contributors per repository and month.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn monthly_first_contributors(
        &self,
        ctx: &Context<'_>,
        owner: Option<String>,
        repo: Option<String>,
        from: Option<Date>,
        to: Option<Date>,
        #[graphql(default_with = "Some(false)")] include_bots: Option<bool>,
        #[graphql(default_with = "Some(MonthlyOrder::MonthAsc)")] order_by: Option<MonthlyOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<MonthlyConnection> {
        let args = MonthlyArgs::given(owner, repo, from, to, include_bots, order_by);
        monthly::connection(ctx, args, None, PageArgs::new(first, after, last, before)).await
    }

    /// People new to a whole account, by month: each counts once, in the month of their first
    /// contribution to any of the account's repositories.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn account_monthly_first_contributors(
        &self,
        ctx: &Context<'_>,
        owner: String,
        from: Option<Date>,
        to: Option<Date>,
        #[graphql(default_with = "Some(false)")] include_bots: Option<bool>,
        #[graphql(default_with = "Some(MonthlyOrder::MonthAsc)")] order_by: Option<MonthlyOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<AccountMonthConnection> {
        let args = AccountMonthArgs {
            owner,
            from,
            to,
            include_bots: include_bots.unwrap_or(false),
            order: order_by.unwrap_or(MonthlyOrder::MonthAsc),
        };
        account::connection(ctx.data_unchecked(), args, PageArgs::new(first, after, last, before)).await
    }

    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn repositories(
        &self,
        ctx: &Context<'_>,
        owner: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<RepositoryConnection> {
        repository::repositories(ctx.data_unchecked(), owner, PageArgs::new(first, after, last, before)).await
    }

    /// The repository currently named `owner/name`, if it is known.
    async fn repository(&self, ctx: &Context<'_>, owner: String, name: String) -> ApiResult<Option<Repository>> {
        let repo = RepoRef::new(OwnerLogin::parse(&owner)?, RepoName::parse(&name)?);
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(store::repositories::find_by_name(db, &repo).await?.map(Repository))
    }

    async fn refresh_job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<RefreshJob>> {
        let id = jobs::parse_id(&id)?;
        Ok(store::jobs::find(ctx.data_unchecked::<DatabaseConnection>(), id).await?.map(RefreshJob))
    }

    /// GH Archive, day by day: one entry per imported day of the window (at most 366 days),
    /// oldest first.
    async fn archive_activity(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        #[graphql(default_with = "Some(false)")] include_bots: Option<bool>,
    ) -> ApiResult<Vec<ArchiveDay>> {
        archive::activity(ctx.data_unchecked(), archive::window(from, to)?, include_bots.unwrap_or(false)).await
    }

    /// GH Archive developers of the window (at most 366 days), summed.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn archive_developers(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        #[graphql(default_with = "Some(false)")] include_bots: Option<bool>,
        min_repositories_owned: Option<i32>,
        commits_per_day_above: Option<f64>,
        commits_per_day_below: Option<f64>,
        #[graphql(default_with = "Some(ArchiveDeveloperOrder::CommitsDesc)")] order_by: Option<ArchiveDeveloperOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<ArchiveDeveloperConnection> {
        let filter = DeveloperFilter {
            range: archive::window(from, to)?,
            include_bots: include_bots.unwrap_or(false),
            min_repositories_owned: min_repositories_owned.map(i64::from),
            commits_per_day_above,
            commits_per_day_below,
            order: order_by.unwrap_or(ArchiveDeveloperOrder::CommitsDesc).into(),
        };
        archive::developers(ctx.data_unchecked(), filter, PageArgs::new(first, after, last, before)).await
    }

    /// GH Archive repositories of the window (at most 366 days), by members.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn archive_repositories(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        #[graphql(default_with = "Some(false)")] include_bots: Option<bool>,
        min_members: Option<i32>,
        #[graphql(default_with = "Some(ArchiveRepositoryOrder::MembersDesc)")] order_by: Option<ArchiveRepositoryOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<ArchiveRepositoryConnection> {
        let _ = order_by;
        let filter = RepositoryFilter {
            range: archive::window(from, to)?,
            include_bots: include_bots.unwrap_or(false),
            min_members: min_members.map(i64::from),
        };
        archive::repositories(ctx.data_unchecked(), filter, PageArgs::new(first, after, last, before)).await
    }

    /// Refresh jobs, newest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn refresh_jobs(
        &self,
        ctx: &Context<'_>,
        status: Option<JobStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<RefreshJobConnection> {
        jobs::connection(ctx.data_unchecked(), status, PageArgs::new(first, after, last, before)).await
    }
}
