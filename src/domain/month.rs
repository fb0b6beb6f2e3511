//! A calendar month, represented by its first day.
use chrono::{DateTime, Datelike, NaiveDate, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(NaiveDate);

impl Month {
    pub fn of(at: DateTime<Utc>) -> Self {
        Self::containing(at.date_naive())
    }
    pub fn containing(day: NaiveDate) -> Self {
        // Day 1 exists in every month, so with_day(1) cannot fail.
        Self(day.with_day(1).unwrap_or(day))
    }
    pub fn first_day(self) -> NaiveDate {
        self.0
    }
    /// -(year·12 + month): sorts newest first in ascending order.
    pub fn desc_key(self) -> i32 {
        -(self.0.year() * 12 + self.0.month0() as i32)
    }
}

/// "YYYY-MM-DD" for years 0 to 9999, written digit by digit (chrono's `format` parses its
/// pattern on every call, which shows on pages of dates).
pub fn iso_date(date: NaiveDate) -> String {
    let mut out = String::with_capacity(10);
    push_iso_date(&mut out, date);
    out
}

/// `iso_date`, appended to `out`.
pub fn push_iso_date(out: &mut String, date: NaiveDate) {
    let (year, month, day) = (date.year(), date.month(), date.day());
    if !(0..=9999).contains(&year) {
        use std::fmt::Write as _;
        let _ = write!(out, "{}", date.format("%Y-%m-%d"));
        return;
    }
    let (y, m, d) = (year as u32, month, day);
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let bytes = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(d / 10),
        digit(d),
    ];
    out.push_str(std::str::from_utf8(&bytes).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_of_a_utc_instant() {
        let at = DateTime::parse_from_rfc3339("2016-01-31T23:30:00-02:00").unwrap().with_timezone(&Utc);
        assert_eq!(Month::of(at).first_day(), NaiveDate::from_ymd_opt(2016, 2, 1).unwrap());
    }

    #[test]
    fn desc_key_orders_newest_first() {
        let jan = Month::containing(NaiveDate::from_ymd_opt(2016, 1, 20).unwrap());
        let dec = Month::containing(NaiveDate::from_ymd_opt(2015, 12, 2).unwrap());
        assert!(jan.desc_key() < dec.desc_key());
        assert_eq!(jan.desc_key() + 1, dec.desc_key());
    }

    #[test]
    fn iso_date_matches_chrono() {
        for (y, m, d) in [(2024, 1, 31), (1999, 12, 1), (5, 6, 7), (9999, 12, 31), (-1, 1, 1), (10000, 1, 1)] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(iso_date(date), date.format("%Y-%m-%d").to_string());
        }
    }
}
