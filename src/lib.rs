//! git-collector: first-time contributors of GitHub repositories, month by month.
//!
//! A guided tour, from the edge inwards (arrows point one way:
//! `http`/`graphql` → `jobs` → `crawler` → `github` + `store`):

/// GH Archive: reading hour files, checking each line, folding events into aggregates.
pub mod archive;
/// Command-line verbs: serve, crawl, migrate, schema, archive import.
pub mod cli;
/// The configuration: environment variables and flags of the same meaning.
pub mod config;
/// One refresh of an account or a repository, start to end.
pub mod crawler;
/// Types parsed at the edge: owner and repository names, months, contributor identities.
pub mod domain;
/// HTTP to GitHub: client, DTOs, retry policy, errors.
pub mod github;
/// The GraphQL schema and its resolvers.
pub mod graphql;
/// The HTTP router: GraphQL, REST, health, metrics.
pub mod http;
/// Durable refresh jobs, workers and the cron schedule.
pub mod jobs;
/// In-process metrics in the Prometheus text format.
pub mod metrics;
/// Building and running the service.
pub mod startup;
/// Database access: every query lives here.
pub mod store;
/// Logging set-up.
pub mod telemetry;

/// mimalloc instead of the system allocator: a page of 100 rows allocates thousands of small
/// values (rows, GraphQL values, JSON), and it takes about a tenth less CPU per page
/// (BENCHMARKS.md, "Read path"). Set here so that the binary, the tests and the benches share it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
