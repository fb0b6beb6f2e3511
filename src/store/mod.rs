//! Every database query, as functions taking a connection (`&impl ConnectionTrait`).
pub mod accounts;
pub mod contributions;
pub mod db;
pub mod jobs;
pub mod page;
pub mod read_model;
pub mod repositories;

/// Rows written per INSERT statement: far below SQLite's and PostgreSQL's parameter limits.
pub(crate) const BATCH_ROWS: usize = 500;
