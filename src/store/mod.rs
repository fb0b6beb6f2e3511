//! Every database query, as functions taking a connection (`&impl ConnectionTrait`).
pub mod account_model;
pub mod accounts;
pub mod archive;
pub mod contributions;
pub mod db;
mod error;
pub mod jobs;
pub mod page;
pub mod read_model;
pub mod reads;
pub mod repositories;

pub use error::{is_unavailable, StoreError};

/// Rows written per INSERT statement: far below SQLite's and PostgreSQL's parameter limits.
pub(crate) const BATCH_ROWS: usize = 500;
