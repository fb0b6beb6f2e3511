//! `monthlyFirstContributors`: the read model, by keyset pages.
use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, Object, Value};
use entity::monthly_first_contributors as monthly;

use super::cursor::{Cursor, PageArgs, Scope};
use super::error::{ApiError, ApiResult};
use super::loaders::RepositoryLoader;
use super::plain::{Plain, PlainFields};
use super::repository::Repository;
use super::scalars::Date;
use crate::domain::{Month, OwnerLogin, RepoName};
use crate::store::read_model::{self, MonthOrder, MonthlyFilter, MonthlyKey};
use crate::store::reads::Reads;

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

impl PlainFields for MonthlyFirstContributors {
    fn plain(&self, name: &str) -> Option<Value> {
        Some(match name {
            "owner" => Value::String(self.0.owner.clone()),
            "repoName" => Value::String(self.0.repo_name.clone()),
            "month" => Value::String(crate::domain::iso_date(self.0.month)),
            "newContributors" => Value::from(self.0.new_contributors),
            _ => return None,
        })
    }
}

/// `totalCount` of a connection: read with the page when the query asks for it (known), else
/// computed if a fragment asks for it after all.
pub struct MonthlyTotal {
    filter: MonthlyFilter,
    known: Option<i64>,
}

#[Object]
impl MonthlyTotal {
    /// Rows matching the filters, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        match self.known {
            Some(total) => Ok(total),
            None => Ok(read_model::monthly_total(ctx.data_unchecked::<Reads>(), &self.filter).await?),
        }
    }
}

pub type MonthlyConnection = Connection<Cursor<MonthlyKey>, Plain<MonthlyFirstContributors>, MonthlyTotal>;

/// Filters as the API receives them, before checking.
pub struct MonthlyArgs {
    pub owner: Option<String>,
    pub repo: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub include_bots: bool,
    pub order: MonthlyOrder,
}

impl MonthlyArgs {
    /// The arguments of the root field as given, a null or absent one at the schema's default
    /// (`includeBots: false`, `orderBy: MONTH_ASC`).
    pub fn given(
        owner: Option<String>,
        repo: Option<String>,
        from: Option<Date>,
        to: Option<Date>,
        include_bots: Option<bool>,
        order: Option<MonthlyOrder>,
    ) -> Self {
        Self {
            owner,
            repo,
            from,
            to,
            include_bots: include_bots.unwrap_or(false),
            order: order.unwrap_or(MonthlyOrder::MonthAsc),
        }
    }
}

/// One page of the read model with what its connection shows.
pub struct MonthlyPage {
    pub rows: Vec<monthly::Model>,
    pub has_previous: bool,
    pub has_next: bool,
    /// The total over all pages, when it was asked for.
    pub total: Option<i64>,
    /// The fingerprint of the filters, in every cursor of the page.
    pub scope: Scope,
    filter: MonthlyFilter,
}

/// Checks the filters and the page arguments, and reads one page (with the total when
/// `with_total`, in the same statement).
pub async fn read(
    db: &Reads,
    args: MonthlyArgs,
    repository_id: Option<i64>,
    page: PageArgs,
    with_total: bool,
) -> ApiResult<MonthlyPage> {
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
    let (result, total) = read_model::monthly_page(db, &filter, &request, with_total).await?;
    Ok(MonthlyPage {
        rows: result.rows,
        has_previous: result.has_previous,
        has_next: result.has_next,
        total,
        scope,
        filter,
    })
}

/// Reads one page (see `read`) and builds the connection.
pub async fn connection(
    ctx: &Context<'_>,
    args: MonthlyArgs,
    repository_id: Option<i64>,
    page: PageArgs,
) -> ApiResult<MonthlyConnection> {
    let with_total = ctx.look_ahead().field("totalCount").exists();
    let page = read(ctx.data_unchecked::<Reads>(), args, repository_id, page, with_total).await?;
    let total = MonthlyTotal { filter: page.filter, known: page.total };
    let mut connection = Connection::with_additional_fields(page.has_previous, page.has_next, total);
    let scope = page.scope;
    connection.edges.extend(
        page.rows
            .into_iter()
            .map(|row| Edge::new(Cursor::new(&scope, MonthlyKey::of(&row)), Plain(MonthlyFirstContributors(row)))),
    );
    Ok(connection)
}
