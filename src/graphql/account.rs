//! `accountMonthlyFirstContributors`: people new to a whole account, by month (docs/rules.md §1.2).
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object};
use entity::account_monthly_first_contributors as monthly;
use sea_orm::DatabaseConnection;

use super::cursor::{Cursor, PageArgs, Scope};
use super::error::{ApiError, ApiResult};
use super::monthly::MonthlyOrder;
use super::scalars::Date;
use crate::domain::{Month, OwnerLogin};
use crate::store::account_model::{self, AccountMonthFilter, AccountMonthKey};
use crate::store::{self, page::Page, read_model::MonthOrder};

/// First-time contributors of a whole account in one month: each person counts once, in the
/// month of their first contribution to any of the account's repositories.
pub struct AccountMonth {
    owner: String,
    row: monthly::Model,
}

#[Object]
impl AccountMonth {
    async fn owner(&self) -> &str {
        &self.owner
    }
    /// First day of the month.
    async fn month(&self) -> Date {
        Date(self.row.month)
    }
    async fn new_contributors(&self) -> i32 {
        self.row.new_contributors
    }
}

/// `totalCount`, computed only when asked for.
pub struct AccountMonthTotal {
    filter: Option<AccountMonthFilter>,
}

#[Object]
impl AccountMonthTotal {
    /// Months matching the filters, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        match &self.filter {
            Some(filter) => Ok(account_model::total(ctx.data_unchecked::<DatabaseConnection>(), filter).await?),
            None => Ok(0),
        }
    }
}

pub type AccountMonthConnection = Connection<Cursor<AccountMonthKey>, AccountMonth, AccountMonthTotal>;

/// The arguments of the field, before checking.
pub struct AccountMonthArgs {
    pub owner: String,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub include_bots: bool,
    pub order: MonthlyOrder,
}

pub async fn connection(
    db: &DatabaseConnection,
    args: AccountMonthArgs,
    page: PageArgs,
) -> ApiResult<AccountMonthConnection> {
    let owner = OwnerLogin::parse(&args.owner)?;
    let from = args.from.map(|d| Month::containing(d.0));
    let to = args.to.map(|d| Month::containing(d.0));
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(ApiError::bad_input("`from` is after `to`"));
        }
    }
    let order = match args.order {
        MonthlyOrder::MonthAsc => MonthOrder::Asc,
        MonthlyOrder::MonthDesc => MonthOrder::Desc,
    };
    let scope = Scope::of(&[
        &owner.key(),
        &from.map(|m| m.first_day().to_string()).unwrap_or_default(),
        &to.map(|m| m.first_day().to_string()).unwrap_or_default(),
        if args.include_bots { "bots" } else { "" },
        if order == MonthOrder::Desc { "desc" } else { "asc" },
    ]);
    let request = page.window::<AccountMonthKey>(&scope)?;
    let Some(account) = store::accounts::find(db, &owner).await? else {
        // An account never crawled has no months.
        let page: Page<monthly::Model> = Page::empty();
        return Ok(Connection::with_additional_fields(
            page.has_previous,
            page.has_next,
            AccountMonthTotal { filter: None },
        ));
    };
    let filter = AccountMonthFilter { account_id: account.id, from, to, include_bots: args.include_bots, order };
    let page = account_model::page(db, &filter, &request).await?;
    let mut connection = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        AccountMonthTotal { filter: Some(filter) },
    );
    connection.edges.extend(page.rows.into_iter().map(|row| {
        let key = AccountMonthKey { month: row.month };
        Edge::new(Cursor::new(&scope, key), AccountMonth { owner: account.login.clone(), row })
    }));
    Ok(connection)
}
