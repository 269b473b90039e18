//! Date formats: chrono strftime patterns and the `excel-serial` token.

use chrono::format::{Fixed, Item, Numeric, Parsed, StrftimeItems};
use chrono::{Datelike, NaiveDate};

/// The token that reads a number of days since 1899-12-30 (Excel's serial
/// dates, 1900 system).
pub const EXCEL_SERIAL: &str = "excel-serial";

/// Years outside this range are refused as implausible (a two-digit year
/// read with `%Y` gives year 20).
pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 2100;

/// Used when neither the source nor the column declares formats.
pub const DEFAULT_FORMAT: &str = "%Y-%m-%d";

#[derive(Debug, Clone)]
pub enum DateFormat {
    Strftime {
        pattern: String,
        items: Vec<Item<'static>>,
    },
    ExcelSerial,
}

impl DateFormat {
    /// Parses and checks one declared format: valid strftime with a year, a
    /// month and a day, or `excel-serial`.
    pub fn compile(pattern: &str) -> Result<DateFormat, String> {
        if pattern == EXCEL_SERIAL {
            return Ok(DateFormat::ExcelSerial);
        }
        let items = StrftimeItems::new(pattern)
            .parse_to_owned()
            .map_err(|_| format!("'{pattern}' is not a valid strftime format"))?;
        let (mut year, mut month, mut day) = (false, false, false);
        for item in &items {
            match item {
                Item::Numeric(n, _) => match n {
                    Numeric::Year
                    | Numeric::YearMod100
                    | Numeric::IsoYear
                    | Numeric::IsoYearMod100 => year = true,
                    Numeric::Month => month = true,
                    Numeric::Day => day = true,
                    Numeric::Ordinal => {
                        month = true;
                        day = true
                    }
                    _ => {}
                },
                Item::Fixed(Fixed::ShortMonthName | Fixed::LongMonthName) => month = true,
                _ => {}
            }
        }
        let mut lacking = Vec::new();
        if !year {
            lacking.push("a year (%Y)");
        }
        if !month {
            lacking.push("a month (%m)");
        }
        if !day {
            lacking.push("a day (%d)");
        }
        if lacking.is_empty() {
            Ok(DateFormat::Strftime {
                pattern: pattern.to_string(),
                items,
            })
        } else {
            let list = match lacking.as_slice() {
                [one] => one.to_string(),
                [init @ .., last] => format!("{} and {last}", init.join(", ")),
                [] => String::new(),
            };
            Err(format!("date format '{pattern}' lacks {list}"))
        }
    }

    pub fn pattern(&self) -> &str {
        match self {
            DateFormat::Strftime { pattern, .. } => pattern,
            DateFormat::ExcelSerial => EXCEL_SERIAL,
        }
    }
}

/// Result of trying one text against the formats.
pub enum DateParse {
    Ok(NaiveDate),
    /// Matched a format's shape but names no such day (31.02.2020).
    NoSuchDay(String),
    NoMatch,
}

/// Tries `text` against each format in order (strict: the whole text must
/// match, and the day must exist). The first reading with a plausible year
/// wins; a reading with a year outside 1900-2100 (`15.02.10` read with `%Y`
/// is year 10) gives way to a later format that reads it plausibly (`%y`),
/// and is returned only when no format does, for the caller to refuse.
pub fn parse_text(text: &str, formats: &[DateFormat]) -> DateParse {
    let mut no_such_day = None;
    let mut implausible = None;
    for f in formats {
        let d = match f {
            DateFormat::Strftime { pattern, items } => {
                let mut parsed = Parsed::new();
                if chrono::format::parse(&mut parsed, text, items.iter()).is_err() {
                    continue;
                }
                match parsed.to_naive_date() {
                    Ok(d) => d,
                    Err(_) => {
                        if no_such_day.is_none() {
                            no_such_day = Some(pattern.clone());
                        }
                        continue;
                    }
                }
            }
            DateFormat::ExcelSerial => match text.parse::<i64>() {
                Ok(n) => match from_excel_serial(n as f64) {
                    Some(d) => d,
                    None => continue,
                },
                Err(_) => continue,
            },
        };
        if year_plausible(d) {
            return DateParse::Ok(d);
        }
        implausible.get_or_insert(d);
    }
    match (implausible, no_such_day) {
        (Some(d), _) => DateParse::Ok(d),
        (None, Some(p)) => DateParse::NoSuchDay(p),
        (None, None) => DateParse::NoMatch,
    }
}

/// Days since 1899-12-30 (the fraction, a time of day, is dropped).
pub fn from_excel_serial(days: f64) -> Option<NaiveDate> {
    if !days.is_finite() || days.abs() > 3_000_000.0 {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    epoch.checked_add_signed(chrono::Duration::days(days.floor() as i64))
}

pub fn year_plausible(d: NaiveDate) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&d.year())
}

/// Days since 1970-01-01, polars' physical date.
pub fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_need_year_month_day() {
        assert!(DateFormat::compile("%d.%m.%Y").is_ok());
        assert!(DateFormat::compile("%F").is_ok());
        assert!(DateFormat::compile("excel-serial").is_ok());
        assert_eq!(
            DateFormat::compile("%m.%Y").unwrap_err(),
            "date format '%m.%Y' lacks a day (%d)"
        );
        assert_eq!(
            DateFormat::compile("%d.%m.%Q").unwrap_err(),
            "'%d.%m.%Q' is not a valid strftime format"
        );
    }

    #[test]
    fn strict_parsing() {
        let f = [DateFormat::compile("%d.%m.%Y").unwrap()];
        assert!(matches!(parse_text("29.02.2020", &f), DateParse::Ok(_)));
        assert!(matches!(
            parse_text("31.02.2020", &f),
            DateParse::NoSuchDay(_)
        ));
        assert!(matches!(parse_text("2020-02-01", &f), DateParse::NoMatch));
        assert!(matches!(parse_text("01.02.2020x", &f), DateParse::NoMatch));
    }

    #[test]
    fn a_plausible_reading_wins_over_an_earlier_implausible_one() {
        let f = [
            DateFormat::compile("%d.%m.%Y").unwrap(),
            DateFormat::compile("%d.%m.%y").unwrap(),
        ];
        let DateParse::Ok(d) = parse_text("15.02.10", &f) else {
            panic!("no date")
        };
        assert_eq!(d, NaiveDate::from_ymd_opt(2010, 2, 15).unwrap());
        let DateParse::Ok(d) = parse_text("15.02.2010", &f) else {
            panic!("no date")
        };
        assert_eq!(d, NaiveDate::from_ymd_opt(2010, 2, 15).unwrap());
        // Only %Y: year 10 comes back, for the caller to refuse.
        let DateParse::Ok(d) = parse_text("15.02.10", &f[..1]) else {
            panic!("no date")
        };
        assert!(!year_plausible(d));
    }

    #[test]
    fn excel_serial_epoch() {
        assert_eq!(
            from_excel_serial(43831.0),
            NaiveDate::from_ymd_opt(2020, 1, 1)
        );
        assert_eq!(
            from_excel_serial(43831.75),
            NaiveDate::from_ymd_opt(2020, 1, 1)
        );
        assert_eq!(from_excel_serial(f64::NAN), None);
    }
}
