//! SeaORM entities of git-collector, one module per table.
pub mod account;
pub mod account_first_contributor;
pub mod account_monthly_first_contributors;
pub mod archive_day;
pub mod archive_hour;
pub mod contributor;
pub mod enums;
pub mod first_contribution;
pub mod monthly_first_contributors;
pub mod monthly_total;
pub mod refresh_job;
pub mod repository;
pub mod schedule_firing;
