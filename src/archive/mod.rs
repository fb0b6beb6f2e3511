//! GH Archive: hour files of all public GitHub events, streamed, checked line by line and folded
//! into per-hour aggregates (docs/rules.md §7). No raw event is kept.
pub mod fold;
pub mod import;
pub mod read;
pub mod scan;
pub mod source;
