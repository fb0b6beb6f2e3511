//! Types parsed at the edge: once built, they are valid.
pub mod contributor_key;
mod month;
mod names;

pub use contributor_key::ContributorKey;
pub use month::Month;
pub use names::{NameError, OwnerLogin, RepoName, Target};
