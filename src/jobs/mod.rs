//! Durable refresh jobs, their workers, and the cron schedule (which only enqueues).
pub mod schedule;
