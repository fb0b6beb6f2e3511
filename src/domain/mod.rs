//! Types parsed at the edge: once built, they are valid.
pub mod archive;
pub mod contributor_key;
mod month;
mod names;
mod schedule;

/// Organization or user: where an account's repositories are listed.
pub use entity::enums::AccountKind;

pub use contributor_key::{ContributorKey, IDENTITY_RULES};
pub use month::{iso_date, push_iso_date, Month};
pub use names::{NameError, OwnerLogin, RepoName, RepoRef, Target};
pub use schedule::{Schedule, ScheduleError};
