//! Keyset pagination: pages are read from an index after or before a key, never by OFFSET, so
//! the millionth row costs what the first does.
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Order, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};

/// Which page: `limit` rows after `after` and before `before`, from the start (`first`) or from
/// the end (`last`). Keys are the values of the ordering columns.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub after: Option<Vec<Value>>,
    pub before: Option<Vec<Value>>,
    pub limit: u64,
    pub from_end: bool,
    /// Every ordering column descending (else every one ascending).
    pub descending: bool,
}

#[derive(Debug)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_previous: bool,
    pub has_next: bool,
}

/// Reads one page of `base` in the order of `columns` (all ascending, or all descending). Besides the page, one `LIMIT 1`
/// probe tells whether rows exist on the other side of the cursor.
pub async fn keyset<E, M>(
    db: &impl ConnectionTrait,
    base: Select<E>,
    columns: &[SimpleExpr],
    request: &PageRequest,
) -> Result<Page<M>, DbErr>
where
    E: EntityTrait<Model = M>,
    M: FromQueryResult + Send + Sync,
{
    let tuple = || Expr::tuple(columns.iter().cloned());
    let values = |key: &Vec<Value>| Expr::tuple(key.iter().cloned().map(SimpleExpr::Value));
    // "after" in the page order: greater when ascending, smaller when descending.
    let beyond = |key: &Vec<Value>, inclusive: bool| match (request.descending, inclusive) {
        (false, false) => tuple().gt(values(key)),
        (false, true) => tuple().gte(values(key)),
        (true, false) => tuple().lt(values(key)),
        (true, true) => tuple().lte(values(key)),
    };
    let short_of = |key: &Vec<Value>, inclusive: bool| match (request.descending, inclusive) {
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
    let direction = if request.from_end != request.descending { Order::Desc } else { Order::Asc };
    for column in columns {
        select = select.order_by(column.clone(), direction.clone());
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
