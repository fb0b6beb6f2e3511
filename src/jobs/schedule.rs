//! The crawl schedule: a cron expression, seconds first, in UTC.
use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;

#[derive(Debug, thiserror::Error)]
#[error("`{expression}` is not a cron expression with seconds (e.g. `0 0 0 * * *`): {reason}")]
pub struct ScheduleError {
    expression: String,
    reason: String,
}

pub fn parse_cron(expression: &str) -> Result<Cron, ScheduleError> {
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expression.trim())
        .map_err(|e| ScheduleError { expression: expression.to_string(), reason: e.to_string() })
}

/// The most recent firing at or before `now`, if the schedule fired within a year.
pub fn previous_tick(cron: &Cron, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_previous_occurrence(&now, true).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_is_daily_at_midnight() {
        let cron = parse_cron("0 0 0 * * *").unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-21T16:00:00Z").unwrap().with_timezone(&Utc);
        let prev = previous_tick(&cron, now).unwrap();
        assert_eq!(prev.to_rfc3339(), "2026-11-21T00:00:00+00:00");
    }

    #[test]
    fn bad_expressions_are_rejected() {
        assert!(parse_cron("every day").is_err());
        assert!(parse_cron("0 0 * * *").is_err(), "five fields lack the seconds");
    }
}
