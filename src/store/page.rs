//! Keyset pagination: pages are read from an index after or before a key, never by OFFSET, so
//! the millionth row costs what the first does. Each list has a typed key (its position in the
//! list's order); callers pass keys, never column values.
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Order, QueryFilter, QueryOrder, QuerySelect, Select, Value,
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

/// Reads one page of `base` in the order of `columns` (all in `direction`). Besides the page,
/// one `LIMIT 1` probe tells whether rows exist on the other side of the cursor.
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
    let mut select = base.clone();
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
    let mut rows: Vec<M> = select.limit(request.limit + 1).all(db).await?;
    let more = rows.len() as u64 > request.limit;
    rows.truncate(request.limit as usize);
    if request.from_end {
        rows.reverse();
    }
    // Rows beyond the cursor on the side we did not read: one indexed probe.
    let other_side = if request.from_end {
        request.before.as_ref().map(|before| base.clone().filter(beyond(before, true)))
    } else {
        request.after.as_ref().map(|after| base.clone().filter(short_of(after, true)))
    };
    let beyond = match other_side {
        Some(select) => select.limit(1).all(db).await?.into_iter().next().is_some(),
        None => false,
    };
    Ok(if request.from_end {
        Page { rows, has_previous: more, has_next: beyond }
    } else {
        Page { rows, has_previous: beyond, has_next: more }
    })
}
