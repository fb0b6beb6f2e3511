//! The GraphQL API: schema, queries, mutations, subscriptions, connection/cursor helpers.
use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use sea_orm::DatabaseConnection;

pub struct Query;

#[Object]
impl Query {
    /// Version of the running git-collector.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the schema with its limits; `db` is what resolvers read from.
pub fn build_schema(db: Option<DatabaseConnection>) -> AppSchema {
    let mut builder = Schema::build(Query, EmptyMutation, EmptySubscription).limit_depth(12).limit_complexity(5_000);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The SDL printed by `git-collector schema`.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

/// Who sent the request, from its `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// A bearer token that is not the admin token.
    BadToken,
    Admin,
}
