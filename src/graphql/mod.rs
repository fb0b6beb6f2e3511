//! The GraphQL API: schema, queries, mutations, subscriptions, connection/cursor helpers.
mod account;
mod archive;
mod compiled;
mod cursor;
mod error;
mod jobs;
mod loaders;
mod monthly;
mod mutation;
mod plain;
mod query;
mod repository;
mod scalars;
mod subscription;

use async_graphql::dataloader::DataLoader;
use async_graphql::Schema;

pub use compiled::Compiled;
pub use error::{ApiError, SERVICE_UNAVAILABLE};
pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;

use crate::jobs::JobQueue;
use crate::store::reads::Reads;

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// How long a DataLoader gathers keys before it queries.
const LOADER_DELAY: std::time::Duration = std::time::Duration::from_millis(5);
/// Keys per DataLoader query: a page's worth (100) of nodes and both bot settings.
const MAX_BATCH: usize = 500;

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 10;
/// Deepest query accepted when it asks only for the schema (`__schema`, `__type`): GraphiQL's
/// and other tools' introspection query nests `ofType` about 15 deep, and reads no data.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;
/// Costliest query accepted: a page of 100 rows with a nested page of 100 is 10,000 nodes.
pub const MAX_COMPLEXITY: usize = 20_000;

/// Builds the schema with its limits; resolvers read from the queue's database (None: only
/// for the SDL).
pub fn build_schema(queue: Option<JobQueue>) -> AppSchema {
    let mut builder = Schema::build(Query, Mutation, Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32);
    if let Some(queue) = queue {
        let db = queue.db().clone();
        builder = builder
            .data(queue)
            .data(batched(loaders::RepositoryLoader { db: db.clone() }))
            .data(batched(loaders::ContributorCountLoader { db: db.clone() }))
            .data(Reads::of(&db))
            .data(db);
    }
    builder.finish()
}

/// The schema that answers queries made only of introspection fields: the same types, a
/// deeper limit, no data (such a query reads none).
pub fn build_introspection_schema() -> AppSchema {
    Schema::build(Query, Mutation, Subscription)
        .limit_depth(MAX_INTROSPECTION_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32)
        .finish()
}

/// A loader whose keys, requested while a page's nodes resolve, go out as one batch.
fn batched<L: Send + Sync + 'static>(loader: L) -> DataLoader<L> {
    DataLoader::new(loader, tokio::spawn).delay(LOADER_DELAY).max_batch_size(MAX_BATCH)
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
