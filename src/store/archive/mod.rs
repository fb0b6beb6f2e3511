//! The GH Archive aggregate store (docs/rules.md §7), behind one boundary: the ledger of hour
//! files, the days' rows, and the queries. Nothing else touches these tables, so that a column
//! store can take them over at the real archive's scale.
pub mod blocks;
pub mod days;
pub mod ledger;
pub mod queries;
pub mod rows;
mod sql;
