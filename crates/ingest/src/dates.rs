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
        /// The fixed layout of a pattern of `%d`, `%m`, `%Y` and one-byte
        /// separators (`%d.%m.%Y`, `%Y-%m-%d`), read without chrono when the
        /// text has exactly that shape.
        fixed: Option<Fixed8>,
    },
    ExcelSerial,
}

/// A date layout of fixed width: two-digit day and month, four-digit year,
/// one-byte separators between them (`%d.%m.%Y` is `dd.mm.yyyy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed8 {
    /// The layout's bytes: `b'd'`, `b'm'`, `b'y'` for digits, else the
    /// separator itself.
    shape: [u8; 10],
    /// Offsets of the day, month and year digits.
    day: usize,
    month: usize,
    year: usize,
}

/// What a fixed layout makes of a text of its exact shape, as chrono would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedRead {
    /// Not this layout's shape: chrono decides.
    NotShape,
    /// The shape, but a day outside 1-31 or a month outside 1-12 (chrono's
    /// parser refuses it: the format does not match).
    OutOfRange,
    /// Day and month in range, but no such day (31.02).
    NoSuchDay,
    Ok(NaiveDate),
}

impl Fixed8 {
    /// The fixed layout of a parsed pattern, if it is one: the numerics
    /// `%d`, `%m` and `%Y` once each (zero-padded), separated by single
    /// ASCII punctuation bytes other than signs, nothing else.
    fn of(items: &[Item<'_>]) -> Option<Fixed8> {
        let mut shape = [0u8; 10];
        let mut at = 0usize;
        let (mut day, mut month, mut year) = (None, None, None);
        let mut last_numeric = false;
        for item in items {
            match item {
                Item::Numeric(n, chrono::format::Pad::Zero) if !last_numeric => {
                    let (slot, width, mark) = match n {
                        Numeric::Day => (&mut day, 2, b'd'),
                        Numeric::Month => (&mut month, 2, b'm'),
                        Numeric::Year => (&mut year, 4, b'y'),
                        _ => return None,
                    };
                    if slot.is_some() || at + width > shape.len() {
                        return None;
                    }
                    *slot = Some(at);
                    shape[at..at + width].fill(mark);
                    at += width;
                    last_numeric = true;
                }
                Item::Literal(_) | Item::OwnedLiteral(_) if last_numeric => {
                    let l: &str = match item {
                        Item::Literal(l) => l,
                        Item::OwnedLiteral(l) => l,
                        _ => return None,
                    };
                    let &[b] = l.as_bytes() else { return None };
                    if !matches!(b, b'.' | b'-' | b'/') || at >= shape.len() {
                        return None;
                    }
                    shape[at] = b;
                    at += 1;
                    last_numeric = false;
                }
                _ => return None,
            }
        }
        if at != shape.len() || !last_numeric {
            return None;
        }
        Some(Fixed8 {
            shape,
            day: day?,
            month: month?,
            year: year?,
        })
    }

    /// Reads `text` if it has exactly this layout's shape.
    pub fn read(&self, text: &[u8]) -> FixedRead {
        let Ok(t) = <&[u8; 10]>::try_from(text) else {
            return FixedRead::NotShape;
        };
        for (b, s) in t.iter().zip(&self.shape) {
            let ok = match s {
                b'd' | b'm' | b'y' => b.is_ascii_digit(),
                sep => b == sep,
            };
            if !ok {
                return FixedRead::NotShape;
            }
        }
        let num = |at: usize, width: usize| {
            t[at..at + width]
                .iter()
                .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'))
        };
        let (d, m, y) = (num(self.day, 2), num(self.month, 2), num(self.year, 4));
        if !(1..=31).contains(&d) || !(1..=12).contains(&m) {
            return FixedRead::OutOfRange;
        }
        match NaiveDate::from_ymd_opt(y as i32, m, d) {
            Some(date) => FixedRead::Ok(date),
            None => FixedRead::NoSuchDay,
        }
    }
}

impl Fixed8 {
    /// Days since 1970-01-01 of `text` if it has exactly this layout's shape
    /// and is a day of a plausible year ([`MIN_YEAR`]-[`MAX_YEAR`]): what
    /// [`Fixed8::read`], [`year_plausible`] and [`epoch_days`] make of it,
    /// counted without chrono (the civil-from-days arithmetic of H. Hinnant's
    /// `days_from_civil`). `None` for any other text, which is then read as
    /// before. The calendar's days, chrono's checks of a date and its
    /// conversion were a tenth of ingest's CPU (perf, 1M); the test
    /// `days_of_a_fixed_layout_are_chronos` compares every day and month
    /// number of years 1850-2150.
    #[inline]
    pub fn days(&self, text: &[u8]) -> Option<i32> {
        let t = <&[u8; 10]>::try_from(text).ok()?;
        let mut shape = true;
        for (b, s) in t.iter().zip(&self.shape) {
            shape &= match s {
                b'd' | b'm' | b'y' => b.is_ascii_digit(),
                sep => b == sep,
            };
        }
        if !shape {
            return None;
        }
        let num = |at: usize, width: usize| {
            t[at..at + width]
                .iter()
                .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'))
        };
        let (d, m, y) = (num(self.day, 2), num(self.month, 2), num(self.year, 4));
        let y = y as i32;
        if !(MIN_YEAR..=MAX_YEAR).contains(&y) || !(1..=12).contains(&m) || d < 1 {
            return None;
        }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let month_days = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if d > month_days {
            return None;
        }
        // Years from March (so that a leap day ends its year), in eras of
        // 400 years; the plausible years are positive.
        let y = if m <= 2 { y - 1 } else { y } as u32;
        let (era, year_of_era) = (y / 400, y % 400);
        let day_of_year = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Some((era * 146_097 + day_of_era) as i32 - 719_468)
    }
}

/// [`parse_text`]'s days since 1970-01-01 of `text` when the first of
/// `formats` is a fixed layout that reads it as a plausible day
/// ([`Fixed8::days`]): the first format that does wins in `parse_text`.
/// `None` otherwise (`parse_text` then decides).
#[inline]
pub fn fixed_days(text: &str, formats: &[DateFormat]) -> Option<i32> {
    match formats.first()? {
        DateFormat::Strftime { fixed: Some(f), .. } => f.days(text.as_bytes()),
        _ => None,
    }
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
                fixed: Fixed8::of(&items),
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
///
/// A format of fixed layout (`%d.%m.%Y`, `%Y-%m-%d`) reads a text of exactly
/// its shape directly (`Fixed8`), with chrono's outcome (tested on every
/// day of 1900-2100 and on out-of-range days and months); any other text
/// goes to chrono.
pub fn parse_text(text: &str, formats: &[DateFormat]) -> DateParse {
    parse_text_with(text, formats, true)
}

/// [`parse_text`], with the fixed layouts used or not (`fast`): the two
/// must agree on every text.
pub fn parse_text_with(text: &str, formats: &[DateFormat], fast: bool) -> DateParse {
    let mut no_such_day = None;
    let mut implausible = None;
    for f in formats {
        let d = match f {
            DateFormat::Strftime {
                pattern,
                items,
                fixed,
            } => {
                if fast && let Some(fixed) = fixed {
                    match fixed.read(text.as_bytes()) {
                        FixedRead::Ok(d) => {
                            if year_plausible(d) {
                                return DateParse::Ok(d);
                            }
                            implausible.get_or_insert(d);
                            continue;
                        }
                        FixedRead::OutOfRange => continue,
                        FixedRead::NoSuchDay => {
                            if no_such_day.is_none() {
                                no_such_day = Some(pattern.clone());
                            }
                            continue;
                        }
                        FixedRead::NotShape => {}
                    }
                }
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

/// Days since 1970-01-01, polars' physical date: the days since the
/// common era's 0001-01-01 less those of 1970-01-01 (no date made and no
/// duration taken per cell).
pub fn epoch_days(d: NaiveDate) -> i32 {
    /// `NaiveDate::num_days_from_ce` of 1970-01-01.
    const EPOCH_FROM_CE: i32 = 719_163;
    d.num_days_from_ce() - EPOCH_FROM_CE
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed layout's days are `parse_text`'s: every day number 0-32 and
    /// month number 0-13 of the years 1850-2150, in three layouts, read as
    /// the first format, before another; and texts of another shape are
    /// left to `parse_text`.
    #[test]
    fn days_of_a_fixed_layout_are_chronos() {
        let compile = |p: &[&str]| -> Vec<DateFormat> {
            p.iter().map(|p| DateFormat::compile(p).unwrap()).collect()
        };
        let layouts = [
            (compile(&["%d.%m.%Y", "%Y-%m-%d"]), "{d}.{m}.{y}"),
            (compile(&["%d/%m/%Y"]), "{d}/{m}/{y}"),
            (compile(&["%Y-%m-%d", "%d.%m.%Y"]), "{y}-{m}-{d}"),
        ];
        let mut some = 0;
        for (formats, shape) in &layouts {
            for y in 1850..=2150 {
                for m in 0..=13 {
                    for d in 0..=32 {
                        let text = shape
                            .replace("{d}", &format!("{d:02}"))
                            .replace("{m}", &format!("{m:02}"))
                            .replace("{y}", &format!("{y}"));
                        let expected = match parse_text(&text, formats) {
                            DateParse::Ok(date) if year_plausible(date) => Some(epoch_days(date)),
                            _ => None,
                        };
                        let got = fixed_days(&text, formats);
                        assert_eq!(got, expected, "{text}");
                        some += usize::from(got.is_some());
                    }
                }
            }
        }
        assert_eq!(some, 3 * 73_414, "the days of 1900-2100, in each layout");
        let formats = compile(&["%d.%m.%Y"]);
        for text in [
            "1.02.2001",
            "01.02.01",
            "01-02-2001",
            "01.02.2001 ",
            "0a.02.2001",
            "",
        ] {
            assert_eq!(fixed_days(text, &formats), None, "{text}");
        }
        assert_eq!(
            fixed_days("2001-02-01", &compile(&["excel-serial", "%Y-%m-%d"])),
            None
        );
    }

    /// The days since 1970 are those of the date less 1970-01-01, for every
    /// day from year -1000 to 3000 and chrono's first and last days.
    #[test]
    fn epoch_days_are_the_days_since_1970() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut d = NaiveDate::from_ymd_opt(-1000, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(3000, 12, 31).unwrap();
        while d <= last {
            assert_eq!(epoch_days(d), (d - epoch).num_days() as i32, "{d}");
            d = d.succ_opt().unwrap();
        }
        for d in [NaiveDate::MIN, NaiveDate::MAX] {
            assert_eq!(epoch_days(d), (d - epoch).num_days() as i32, "{d}");
        }
    }

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

    /// Every format below reads the same with and without its fixed layout.
    fn same(text: &str, formats: &[DateFormat]) {
        assert_eq!(
            parse_text_with(text, formats, true),
            parse_text_with(text, formats, false),
            "{text:?} with {:?}",
            formats.iter().map(DateFormat::pattern).collect::<Vec<_>>()
        );
    }

    #[test]
    fn fixed_layouts_are_found() {
        for p in [
            "%d.%m.%Y", "%Y-%m-%d", "%F", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y",
        ] {
            let DateFormat::Strftime { fixed, .. } = DateFormat::compile(p).unwrap() else {
                panic!("{p}")
            };
            assert!(fixed.is_some(), "{p}");
        }
        for p in [
            "%d.%m.%y",
            "%e.%m.%Y",
            "%d %m %Y",
            "%d.%m.%Y %H",
            "%d.%b.%Y",
            "%Y%m%d",
        ] {
            let DateFormat::Strftime { fixed, .. } = DateFormat::compile(p).unwrap() else {
                panic!("{p}")
            };
            assert!(fixed.is_none(), "{p}");
        }
    }

    #[test]
    fn fixed_layouts_read_every_day_of_1900_to_2100_as_chrono() {
        let patterns = ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y"];
        let all: Vec<DateFormat> = patterns
            .iter()
            .map(|p| DateFormat::compile(p).unwrap())
            .collect();
        let mut d = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap();
        let mut days = 0;
        while d <= end {
            for (p, f) in patterns.iter().zip(&all) {
                let text = d.format(p).to_string();
                let one = std::slice::from_ref(f);
                assert_eq!(parse_text(&text, one), DateParse::Ok(d), "{text}");
                same(&text, one);
            }
            // Several formats: the first that reads it plausibly wins.
            same(&d.format("%Y-%m-%d").to_string(), &all);
            same(&d.format("%m/%d/%Y").to_string(), &all);
            d = d.succ_opt().unwrap();
            days += 1;
        }
        assert_eq!(days, 73_414);
    }

    #[test]
    fn fixed_layouts_refuse_as_chrono() {
        let formats: Vec<Vec<DateFormat>> = [
            vec!["%d.%m.%Y"],
            vec!["%Y-%m-%d"],
            vec!["%d.%m.%Y", "%d.%m.%y"],
            vec!["%d.%m.%Y", "%Y-%m-%d", "excel-serial"],
        ]
        .iter()
        .map(|ps| ps.iter().map(|p| DateFormat::compile(p).unwrap()).collect())
        .collect();
        let mut texts = Vec::new();
        // Every day and month number 00-99, in leap and common years, at
        // and beyond the plausible range, and year 0000.
        for y in [
            "0000", "0010", "1899", "1900", "2000", "2019", "2020", "2100", "2101", "9999",
        ] {
            for m in 0..100 {
                for d in 0..100 {
                    texts.push(format!("{d:02}.{m:02}.{y}"));
                    texts.push(format!("{y}-{m:02}-{d:02}"));
                }
            }
        }
        for t in [
            "",
            "1.2.2020",
            "01.2.2020",
            "1.02.2020",
            "01.02.20",
            "01.02.020",
            "01.02.02020",
            "01.02.2020 ",
            " 01.02.2020",
            "01. 02.2020",
            "01.02. 2020",
            "01,02,2020",
            "01-02-2020",
            "2020-1-2",
            "2020-01-2",
            "+2020-01-02",
            "-2020-01-02",
            "2020-01-02T00",
            "2020/01/02",
            "01.02.+020",
            "01.02.-020",
            "0a.02.2020",
            "01.02.202a",
            "٠١.٠٢.٢٠٢٠",
            "01.02.2020x",
            "x01.02.2020",
            "01..02.2020",
            "43831",
            "29.02.1900",
            "29.02.2000",
            "31.04.2020",
            "2020-02-30",
            "00.00.0000",
            "99.99.9999",
            "01.02.2020\n",
            "０1.02.2020",
        ] {
            texts.push(t.to_string());
        }
        for fs in &formats {
            for t in &texts {
                same(t, fs);
            }
        }
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
