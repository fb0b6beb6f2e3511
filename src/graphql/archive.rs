//! GH Archive over GraphQL (docs/rules.md §7): days, developers and repositories of a window.
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, Object, SimpleObject};
use sea_orm::DatabaseConnection;

use super::cursor::{Cursor, PageArgs, Scope};
use super::error::{ApiError, ApiResult};
use super::scalars::Date;
use crate::domain::archive::{DayRange, RangeError};
use crate::store::archive::queries::{
    self, DeveloperFilter, DeveloperKey, DeveloperOrder, RepositoryFilter, RepositoryKey,
};

impl From<RangeError> for ApiError {
    fn from(err: RangeError) -> Self {
        ApiError::BadUserInput(err.to_string())
    }
}

/// The window of days a query covers: inclusive, UTC, at most 366 days.
pub fn window(from: Date, to: Date) -> ApiResult<DayRange> {
    Ok(DayRange::requested(from.0, to.0)?)
}

/// One imported day of the archive. The day of an event is the day of its hour file.
#[derive(SimpleObject)]
pub struct ArchiveDay {
    pub day: Date,
    /// Hour files counted (24 for a whole day; the archive has gaps).
    pub hours_imported: i32,
    /// Hour files the archive does not have (404).
    pub hours_missing: i32,
    pub events: i64,
    /// Developers with any event that day.
    pub active_developers: i64,
    /// Active that day, with no commit counted.
    pub developers_without_commits: i64,
    pub developers_with_one_commit: i64,
    pub developers_with_more_than_one_commit: i64,
    /// Developers with at least one push whose commit count the archive does not give (since
    /// October 2025); they are also counted by their known commits above.
    pub developers_with_unknown_commits: i64,
    pub pushes: i64,
    pub commits: i64,
    /// Pushes without a commit count: they add nothing to `commits`.
    pub pushes_without_commit_count: i64,
}

impl From<queries::Day> for ArchiveDay {
    fn from(d: queries::Day) -> Self {
        Self {
            day: Date(d.day),
            hours_imported: d.hours_imported,
            hours_missing: d.hours_missing,
            events: d.events,
            active_developers: d.active_developers,
            developers_without_commits: d.developers_without_commits,
            developers_with_one_commit: d.developers_with_one_commit,
            developers_with_more_than_one_commit: d.developers_with_more_than_one_commit,
            developers_with_unknown_commits: d.developers_with_unknown_commits,
            pushes: d.pushes,
            commits: d.commits,
            pushes_without_commit_count: d.pushes_without_commit_count,
        }
    }
}

pub async fn activity(db: &DatabaseConnection, range: DayRange, include_bots: bool) -> ApiResult<Vec<ArchiveDay>> {
    Ok(queries::activity(db, range, include_bots).await?.into_iter().map(ArchiveDay::from).collect())
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArchiveDeveloperOrder {
    /// Most commits first; ties by actor id ascending.
    CommitsDesc,
    /// Most repositories owned first; ties by actor id ascending.
    RepositoriesOwnedDesc,
}

/// A developer (an event's actor) over the window.
#[derive(SimpleObject)]
pub struct ArchiveDeveloper {
    pub actor_id: i64,
    /// The login on the developer's latest event in the window.
    pub login: String,
    pub is_bot: bool,
    /// Days of the window with any event.
    pub active_days: i64,
    pub pushes: i64,
    pub commits: i64,
    /// Commits ÷ calendar days of the window.
    pub commits_per_day: f64,
    /// Repositories with an event in the window whose latest name's owner is this developer's
    /// latest login.
    pub repositories_owned: i64,
}

pub struct ArchiveDeveloperTotal {
    filter: DeveloperFilter,
}

#[Object]
impl ArchiveDeveloperTotal {
    /// Developers matching the filters, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(queries::developers_total(ctx.data_unchecked::<DatabaseConnection>(), &self.filter).await?)
    }
}

pub type ArchiveDeveloperConnection = Connection<Cursor<DeveloperKey>, ArchiveDeveloper, ArchiveDeveloperTotal>;

pub async fn developers(
    db: &DatabaseConnection,
    filter: DeveloperFilter,
    page: PageArgs,
) -> ApiResult<ArchiveDeveloperConnection> {
    for (name, value) in
        [("commitsPerDayAbove", filter.commits_per_day_above), ("commitsPerDayBelow", filter.commits_per_day_below)]
    {
        if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(ApiError::bad_input(format!("`{name}` must be a number of at least 0")));
        }
    }
    if filter.min_repositories_owned.is_some_and(|n| n < 0) {
        return Err(ApiError::bad_input("`minRepositoriesOwned` must not be negative"));
    }
    let scope = Scope::of(&[
        &filter.range.key(),
        if filter.include_bots { "bots" } else { "" },
        &format!("{:?}", filter.min_repositories_owned),
        &format!("{:?}", filter.commits_per_day_above),
        &format!("{:?}", filter.commits_per_day_below),
        &format!("{:?}", filter.order),
    ]);
    let request = page.window::<DeveloperKey>(&scope)?;
    let page = queries::developers(db, &filter, &request).await?;
    let order = filter.order;
    let mut connection =
        Connection::with_additional_fields(page.has_previous, page.has_next, ArchiveDeveloperTotal { filter });
    connection.edges.extend(page.rows.into_iter().map(|d| {
        let cursor = Cursor::new(&scope, d.key(order));
        Edge::new(
            cursor,
            ArchiveDeveloper {
                actor_id: d.actor_id,
                login: d.login,
                is_bot: d.is_bot,
                active_days: d.active_days,
                pushes: d.pushes,
                commits: d.commits,
                commits_per_day: d.commits_per_day,
                repositories_owned: d.repositories_owned,
            },
        )
    }));
    Ok(connection)
}

impl From<ArchiveDeveloperOrder> for DeveloperOrder {
    fn from(order: ArchiveDeveloperOrder) -> Self {
        match order {
            ArchiveDeveloperOrder::CommitsDesc => DeveloperOrder::Commits,
            ArchiveDeveloperOrder::RepositoriesOwnedDesc => DeveloperOrder::RepositoriesOwned,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArchiveRepositoryOrder {
    /// Most members first; ties by repository id ascending.
    MembersDesc,
}

/// A repository over the window.
#[derive(SimpleObject)]
pub struct ArchiveRepository {
    pub repo_id: i64,
    /// Its latest name in the window, `owner/name`.
    pub name: String,
    /// Distinct developers who pushed to it or were added to it in the window.
    pub members: i64,
    pub pushes: i64,
    pub commits: i64,
}

pub struct ArchiveRepositoryTotal {
    filter: RepositoryFilter,
}

#[Object]
impl ArchiveRepositoryTotal {
    /// Repositories matching the filters, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(queries::repositories_total(ctx.data_unchecked::<DatabaseConnection>(), &self.filter).await?)
    }
}

pub type ArchiveRepositoryConnection = Connection<Cursor<RepositoryKey>, ArchiveRepository, ArchiveRepositoryTotal>;

pub async fn repositories(
    db: &DatabaseConnection,
    filter: RepositoryFilter,
    page: PageArgs,
) -> ApiResult<ArchiveRepositoryConnection> {
    if filter.min_members.is_some_and(|n| n < 0) {
        return Err(ApiError::bad_input("`minMembers` must not be negative"));
    }
    let scope = Scope::of(&[
        &filter.range.key(),
        if filter.include_bots { "bots" } else { "" },
        &format!("{:?}", filter.min_members),
    ]);
    let request = page.window::<RepositoryKey>(&scope)?;
    let page = queries::repositories(db, &filter, &request).await?;
    let mut connection =
        Connection::with_additional_fields(page.has_previous, page.has_next, ArchiveRepositoryTotal { filter });
    connection.edges.extend(page.rows.into_iter().map(|r| {
        let cursor = Cursor::new(&scope, RepositoryKey { members: r.members, repo_id: r.repo_id });
        Edge::new(
            cursor,
            ArchiveRepository {
                repo_id: r.repo_id,
                name: r.name,
                members: r.members,
                pushes: r.pushes,
                commits: r.commits,
            },
        )
    }));
    Ok(connection)
}
