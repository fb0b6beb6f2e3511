//! Admin mutations: queue a refresh of a repository or of an account.
use async_graphql::{Context, Object};

use super::error::{ApiError, ApiResult};
use super::jobs::RefreshJob;
use super::Caller;
use entity::refresh_job::JobTrigger;

use super::scalars::Date;
use crate::domain::archive::DayRange;
use crate::domain::{OwnerLogin, RepoName, RepoRef, Target};
use crate::jobs::JobQueue;

pub struct Mutation;

fn require_admin(ctx: &Context<'_>) -> ApiResult<()> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::Admin) => Ok(()),
        Some(Caller::BadToken) => Err(ApiError::Unauthenticated("the bearer token is not the admin token".into())),
        _ => Err(ApiError::Unauthenticated("mutations need `Authorization: Bearer <ADMIN_TOKEN>`".into())),
    }
}

async fn refresh(ctx: &Context<'_>, target: Target) -> ApiResult<RefreshJob> {
    let queue = ctx.data_unchecked::<JobQueue>();
    let (job, _) = queue.enqueue(&target, JobTrigger::Mutation).await?;
    Ok(RefreshJob(job))
}

#[Object]
impl Mutation {
    /// Refreshes one repository (any public one; it is then kept refreshed with the rest).
    /// Returns at once with the job, or with the one already queued or running for it.
    async fn refresh_repo(&self, ctx: &Context<'_>, owner: String, name: String) -> ApiResult<RefreshJob> {
        require_admin(ctx)?;
        let target = Target::Repository(RepoRef::new(OwnerLogin::parse(&owner)?, RepoName::parse(&name)?));
        refresh(ctx, target).await
    }

    /// Imports every hour of GH Archive from `from` to `to` (UTC days, inclusive; `to` defaults to
    /// `from`; at most 366 days, none before 2015-01-01). Returns at once with the job, or with
    /// the one already queued or running for the same days.
    async fn import_archive(&self, ctx: &Context<'_>, from: Date, to: Option<Date>) -> ApiResult<RefreshJob> {
        require_admin(ctx)?;
        let range = DayRange::requested(from.0, to.unwrap_or(from).0)?;
        refresh(ctx, Target::Archive(range)).await
    }

    /// Refreshes every repository of an account (organization or user).
    async fn refresh_owner(&self, ctx: &Context<'_>, owner: String) -> ApiResult<RefreshJob> {
        require_admin(ctx)?;
        refresh(ctx, Target::Account(OwnerLogin::parse(&owner)?)).await
    }
}
