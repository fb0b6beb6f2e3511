//! Keyset pagination: pages are read from an index after or before a key, never by OFFSET, so
//! the millionth row costs what the first does. Each list has a typed key (its position in the
//! list's order); callers pass keys, never column values.
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement, SimpleExpr, SubQueryStatement};
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, Order, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, QueryTrait, Select, Statement, Value,
};

/// Which page: `limit` rows after `after` and before `before`, from the start (`first`) or from
/// the end (`last`).
#[derive(Debug, Clone)]
pub struct PageRequest<K> {
    pub after: Option<K>,
    pub before: Option<K>,
    pub limit: u64,
    pub from_end: bool,
}

impl<K> PageRequest<K> {
    /// The same window with the keys turned into the values of the ordering columns.
    pub(crate) fn bounds(&self, values: impl Fn(&K) -> Vec<Value>) -> PageRequest<Vec<Value>> {
        PageRequest {
            after: self.after.as_ref().map(&values),
            before: self.before.as_ref().map(&values),
            limit: self.limit,
            from_end: self.from_end,
        }
    }
}

#[derive(Debug)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_previous: bool,
    pub has_next: bool,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Self { rows: Vec::new(), has_previous: false, has_next: false }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { rows: self.rows.into_iter().map(f).collect(), has_previous: self.has_previous, has_next: self.has_next }
    }
}

/// Whether the list's ordering columns ascend or all descend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Ascending,
    Descending,
}

/// Reads one page of `base` in the order of `columns` (all in `direction`), in one statement
/// (see `keyset_counted`).
pub(crate) async fn keyset<E, M>(
    db: &impl ConnectionTrait,
    base: Select<E>,
    columns: &[SimpleExpr],
    request: &PageRequest<Vec<Value>>,
    direction: Direction,
) -> Result<Page<M>, DbErr>
where
    E: EntityTrait<Model = M>,
    M: FromQueryResult + Send + Sync,
{
    Ok(keyset_counted(db, base, columns, request, direction, None).await?.0)
}

/// The statement with its final `LIMIT` written as a number rather than a parameter, on
/// PostgreSQL. Planning a parameter there, PostgreSQL assumes a tenth of the table is read, so its
/// plan cache never adopts the generic plan and plans the statement again on every execution
/// (0.1 to 0.6 ms of its CPU, more than running it). A page size is the service's own number,
/// never the client's text, so writing it into the SQL is safe, and there are few distinct sizes.
pub(crate) fn literal_limit(mut statement: Statement) -> Statement {
    if statement.db_backend != DbBackend::Postgres {
        return statement;
    }
    let Some(values) = statement.values.as_mut() else { return statement };
    let n = values.0.len();
    let suffix = format!(" LIMIT ${n}");
    if let (true, Some(Value::BigUnsigned(Some(limit)))) = (statement.sql.ends_with(&suffix), values.0.last()) {
        let limit = *limit;
        values.0.pop();
        statement.sql.truncate(statement.sql.len() - suffix.len());
        statement.sql.push_str(&format!(" LIMIT {limit}"));
    }
    statement
}

/// Column aliases of the values read beside a page's rows.
const OTHER_SIDE: &str = "gc_other_side";
const TOTAL: &str = "gc_total";

/// What turns the rows of a page's statement (see `keyset_statement`) into the page.
pub(crate) struct KeysetPage {
    other_side: Option<SimpleExpr>,
    count: Option<SimpleExpr>,
    limit: u64,
    from_end: bool,
}

/// The page statement: `base` in the order of `columns` (all in `direction`), one row more
/// than asked for, with the other-side probe and the total (when `total` is given) as
/// subqueries selected beside each row; and what turns its rows into the page.
pub(crate) fn keyset_statement<E: EntityTrait>(
    backend: DbBackend,
    base: Select<E>,
    columns: &[SimpleExpr],
    request: &PageRequest<Vec<Value>>,
    direction: Direction,
    total: Option<SelectStatement>,
) -> (Statement, KeysetPage) {
    let descending = direction == Direction::Descending;
    let tuple = || Expr::tuple(columns.iter().cloned());
    let values = |key: &Vec<Value>| Expr::tuple(key.iter().cloned().map(SimpleExpr::Value));
    // "after" in the page order: greater when ascending, smaller when descending.
    let beyond = |key: &Vec<Value>, inclusive: bool| match (descending, inclusive) {
        (false, false) => tuple().gt(values(key)),
        (false, true) => tuple().gte(values(key)),
        (true, false) => tuple().lt(values(key)),
        (true, true) => tuple().lte(values(key)),
    };
    let short_of = |key: &Vec<Value>, inclusive: bool| match (descending, inclusive) {
        (false, false) => tuple().lt(values(key)),
        (false, true) => tuple().lte(values(key)),
        (true, false) => tuple().gt(values(key)),
        (true, true) => tuple().gte(values(key)),
    };
    // Rows beyond the cursor on the side the page does not read.
    let other_side = if request.from_end {
        request.before.as_ref().map(|before| base.clone().filter(beyond(before, true)))
    } else {
        request.after.as_ref().map(|after| base.clone().filter(short_of(after, true)))
    }
    .map(|select| {
        let mut probe = select.into_query();
        probe.clear_selects().expr(Expr::val(1));
        Expr::exists(probe)
    });
    let count = total.map(|t| SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(t))));

    let mut select = base;
    if let Some(after) = &request.after {
        select = select.filter(beyond(after, false));
    }
    if let Some(before) = &request.before {
        select = select.filter(short_of(before, false));
    }
    let order = if request.from_end != descending { Order::Desc } else { Order::Asc };
    for column in columns {
        select = select.order_by(column.clone(), order.clone());
    }
    if let Some(probe) = &other_side {
        select = select.expr_as(probe.clone(), OTHER_SIDE);
    }
    if let Some(count) = &count {
        select = select.expr_as(count.clone(), TOTAL);
    }
    let statement = literal_limit(select.limit(request.limit + 1).build(backend));
    (statement, KeysetPage { other_side, count, limit: request.limit, from_end: request.from_end })
}

/// The probe's answer and the total, as read beside a page's rows.
pub(crate) type Extras = (bool, Option<i64>);

impl KeysetPage {
    /// Whether the statement selects the other-side probe after the rows' own columns.
    pub fn has_probe(&self) -> bool {
        self.other_side.is_some()
    }

    /// Whether it selects the total after them (and after the probe, when there is one).
    pub fn has_total(&self) -> bool {
        self.count.is_some()
    }

    /// The probe and the total (0 for none) of a page with no row: on their own, in a second
    /// statement, when the page asked for either.
    pub async fn extras_alone(&self, db: &impl ConnectionTrait) -> Result<Extras, DbErr> {
        if !self.has_probe() && !self.has_total() {
            return Ok((false, None));
        }
        let mut alone = Query::select();
        alone.expr_as(self.other_side.clone().unwrap_or_else(|| Expr::val(false).into()), Alias::new(OTHER_SIDE));
        alone.expr_as(self.count.clone().unwrap_or_else(|| Expr::val(0i64).into()), Alias::new(TOTAL));
        match db.query_one(db.get_database_backend().build(&alone)).await? {
            Some(row) => self.extras(&row),
            None => Ok((false, self.count.as_ref().map(|_| 0))),
        }
    }

    /// The probe and the total from a row of the statement (or of `extras_alone`'s), by name.
    fn extras(&self, row: &QueryResult) -> Result<Extras, DbErr> {
        let beyond = self.has_probe() && row.try_get::<bool>("", OTHER_SIDE)?;
        let count = match self.has_total() {
            true => Some(row.try_get::<Option<i64>>("", TOTAL)?.unwrap_or(0)),
            false => None,
        };
        Ok((beyond, count))
    }

    /// The page from the statement's rows (in the statement's order) and the extras read
    /// beside them.
    pub fn page<M>(&self, mut rows: Vec<M>, (beyond, count): Extras) -> (Page<M>, Option<i64>) {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.from_end {
            rows.reverse();
        }
        let page = if self.from_end {
            Page { rows, has_previous: more, has_next: beyond }
        } else {
            Page { rows, has_previous: beyond, has_next: more }
        };
        (page, count)
    }
}

/// Reads one page of `base` in the order of `columns` (all in `direction`), and the list's
/// total when `total` (a statement selecting one number) is given. Whether rows exist on the
/// other side of the cursor is an indexed `EXISTS` probe. Probe and total are subqueries of
/// the page's statement, computed once beside its rows, so that a page is one round trip to the
/// database; only an empty page needs a second statement for them.
pub(crate) async fn keyset_counted<E, M>(
    db: &impl ConnectionTrait,
    base: Select<E>,
    columns: &[SimpleExpr],
    request: &PageRequest<Vec<Value>>,
    direction: Direction,
    total: Option<SelectStatement>,
) -> Result<(Page<M>, Option<i64>), DbErr>
where
    E: EntityTrait,
    M: FromQueryResult + Send + Sync,
{
    let (statement, keyset) = keyset_statement(db.get_database_backend(), base, columns, request, direction, total);
    let found = db.query_all(statement).await?;
    let extras = match found.first() {
        Some(row) => keyset.extras(row)?,
        None => keyset.extras_alone(db).await?,
    };
    let rows = found.iter().map(|row| M::from_query_result(row, "")).collect::<Result<Vec<M>, DbErr>>()?;
    Ok(keyset.page(rows, extras))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    fn statement(backend: DbBackend) -> Statement {
        let mut q = Query::select();
        q.expr(Expr::val(1)).from(Alias::new("t")).and_where(Expr::col(Alias::new("a")).eq(5)).limit(101);
        let (sql, values) = match backend {
            DbBackend::Postgres => q.build(PostgresQueryBuilder),
            _ => q.build(SqliteQueryBuilder),
        };
        Statement::from_sql_and_values(backend, sql, values)
    }

    #[test]
    fn the_final_limit_is_written_as_a_number_on_postgres() {
        let pg = literal_limit(statement(DbBackend::Postgres));
        assert!(pg.sql.ends_with("WHERE \"a\" = $2 LIMIT 101"), "{}", pg.sql);
        assert_eq!(pg.values.unwrap().0.len(), 2);
        let lite = literal_limit(statement(DbBackend::Sqlite));
        assert!(lite.sql.ends_with("LIMIT ?"), "{}", lite.sql);
        assert_eq!(lite.values.unwrap().0.len(), 3);
    }
}
