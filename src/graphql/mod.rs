//! The GraphQL API: schema, queries, mutations, subscriptions, connection/cursor helpers.
mod cursor;
mod error;
mod jobs;
mod loaders;
mod monthly;
mod query;
mod repository;
mod scalars;

use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptyMutation, EmptySubscription, Schema};
use sea_orm::DatabaseConnection;

pub use error::ApiError;
pub use query::Query;

pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 10;
/// Costliest query accepted: a page of 100 rows with a nested page of 100 is 10,000 nodes.
pub const MAX_COMPLEXITY: usize = 20_000;

/// Builds the schema with its limits; `db` is what resolvers read from (None: only for the SDL).
pub fn build_schema(db: Option<DatabaseConnection>) -> AppSchema {
    let mut builder = Schema::build(Query, EmptyMutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32);
    if let Some(db) = db {
        builder = builder
            .data(DataLoader::new(loaders::RepositoryLoader { db: db.clone() }, tokio::spawn))
            .data(DataLoader::new(loaders::ContributorCountLoader { db: db.clone() }, tokio::spawn))
            .data(db);
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
