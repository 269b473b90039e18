//! One column's profile, accumulated cell by cell in bounded memory, and
//! the small-cell suppression applied when it is finished.
//!
//! A [`ColumnAcc`] sees every cell once and keeps counters, the per-format
//! date counts and a frequency table of at most [`DISTINCT_CAP`] values
//! (above that the table is dropped and the column is high-cardinality).
//! [`ColumnAcc::finish`] turns it into a [`ColumnProfile`] that holds only
//! what may leave the centre: values seen at least [`MIN_CELL`] times (never
//! an identifier's), counts, numeric ranges rounded outward and date ranges
//! at month precision.

use chrono::{Datelike, NaiveDate};
use cohortflow_ingest::{DateFormat, DateParse, parse_text};
use std::collections::{BTreeMap, HashMap};

/// Values seen fewer times than this are counted, never shown.
pub const MIN_CELL: u64 = 5;
/// Above this many distinct values a column's frequencies are not kept.
pub const DISTINCT_CAP: usize = 1000;
/// Distinct text values whose date readings are remembered per column.
const DATE_CACHE_CAP: usize = 100_000;
/// A text column with at most this many distinct values is a category.
const CATEGORY_MAX: usize = 30;

/// Codes that commonly mean "missing" in registry exports, compared after
/// trimming and ignoring case. These are vocabulary, not patient values, so
/// the report shows them with their counts.
pub const MISSING_CODES: &[&str] = &[
    "na",
    "n/a",
    "#n/a",
    "nan",
    "null",
    "none",
    "-",
    "--",
    "—",
    "?",
    ".",
    "unknown",
    "not known",
    "not tested",
    "not done",
    "not available",
    "н/д",
    "нд",
    "н.д.",
    "нет данных",
    "неизвестно",
    "не известно",
    "не определялась",
    "не определено",
    "не исследовано",
    "не проводилось",
];

/// Header words of columns that identify a person, whatever their values
/// look like (matched as parts of the lower-cased header).
const IDENTIFYING_HEADERS: &[&str] = &[
    "фио",
    "фамил",
    "имя",
    "отчеств",
    "адрес",
    "телефон",
    "паспорт",
    "полис",
    "снилс",
    "name",
    "surname",
    "address",
    "phone",
    "passport",
    "snils",
    "e-mail",
    "email",
];

/// Words of a yes/no column.
const BOOL_WORDS: &[&str] = &[
    "true", "false", "yes", "no", "y", "n", "да", "нет", "д", "н",
];

/// The date formats a scan tries on text (chrono strftime, as in a source
/// file). Day-first before month-first, so that the first format that
/// reads every value is the European reading.
pub const DATE_FORMATS: &[&str] = &[
    "%d.%m.%Y",
    "%d.%m.%y",
    "%m.%d.%Y",
    "%Y.%m.%d",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%Y/%m/%d",
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
];

/// One cell as a reader gives it.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Empty,
    Text(&'a str),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
    /// A spreadsheet error value (`#N/A`) or a date cell outside the calendar.
    Error,
}

/// The compiled candidate formats, with the first separator each expects.
pub struct Formats {
    list: Vec<(DateFormat, Option<char>)>,
}

impl Formats {
    pub fn new() -> Formats {
        let list = DATE_FORMATS
            .iter()
            .filter_map(|p| {
                let sep = p.chars().find(|c| !c.is_ascii_alphabetic() && *c != '%');
                DateFormat::compile(p).ok().map(|f| (f, sep))
            })
            .collect();
        Formats { list }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn pattern(&self, i: usize) -> &str {
        self.list[i].0.pattern()
    }
}

impl Default for Formats {
    fn default() -> Self {
        Formats::new()
    }
}

/// What the scan infers a column to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Nothing but empty cells and missing codes.
    Empty,
    Integer,
    Float,
    Date,
    Boolean,
    Category,
    Text,
    /// Unique per row, or high-cardinality text, or SNILS-shaped: shown only
    /// as counts.
    Identifier,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Empty => "empty",
            Kind::Integer => "integer",
            Kind::Float => "float",
            Kind::Date => "date",
            Kind::Boolean => "boolean",
            Kind::Category => "category",
            Kind::Text => "text",
            Kind::Identifier => "identifier",
        }
    }
}

/// Accumulates one column.
pub struct ColumnAcc {
    header: String,
    rows: u64,
    empty: u64,
    errors: u64,
    missing: BTreeMap<String, u64>,
    /// Value -> (text cells, other cells). Text cells are classified
    /// (number, date, ...) once per distinct value, with its count, when
    /// the column is finished or the table overflows; cells of other kinds
    /// as they come.
    values: Option<HashMap<String, (u64, u64)>>,
    /// Date readings of text values, once per distinct value (bounded).
    date_cache: HashMap<String, Vec<(u8, NaiveDate)>>,
    text_cells: u64,
    number_cells: u64,
    date_cells: u64,
    bool_cells: u64,
    ints: u64,
    comma_floats: u64,
    point_floats: u64,
    num_min: f64,
    num_max: f64,
    bool_words: u64,
    snils: u64,
    date_ok: Vec<u64>,
    date_range: Vec<Option<(NaiveDate, NaiveDate)>>,
    cell_dates: Option<(NaiveDate, NaiveDate)>,
}

fn widen(r: &mut Option<(NaiveDate, NaiveDate)>, d: NaiveDate) {
    *r = Some(match *r {
        None => (d, d),
        Some((lo, hi)) => (lo.min(d), hi.max(d)),
    });
}

/// `Some(is_integer, decimal mark)` when `t` is a plain number: an optional
/// sign, digits, and at most one `.` or `,` followed by digits. No
/// thousands separators, no exponent.
fn number_shape(t: &str) -> Option<(bool, Option<char>)> {
    let b = t.strip_prefix(['-', '+']).unwrap_or(t).as_bytes();
    let mut mark = None;
    let mut digits_before = 0;
    let mut digits_after = 0;
    for &c in b {
        match c {
            b'0'..=b'9' if mark.is_none() => digits_before += 1,
            b'0'..=b'9' => digits_after += 1,
            b'.' | b',' if mark.is_none() => mark = Some(c as char),
            _ => return None,
        }
    }
    match mark {
        None if digits_before > 0 => Some((true, None)),
        Some(m) if digits_before > 0 && digits_after > 0 => Some((false, Some(m))),
        _ => None,
    }
}

/// `123-456-789 01`, the written form of a SNILS.
fn snils_shape(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 14
        && b.iter().enumerate().all(|(i, c)| match i {
            3 | 7 => *c == b'-',
            11 => *c == b' ',
            _ => c.is_ascii_digit(),
        })
}

fn is_missing_code(t: &str) -> bool {
    // Most values start with a character no missing code starts with.
    let first = t.chars().next().and_then(|c| c.to_lowercase().next());
    if t.len() > 40 || !MISSING_CODES.iter().any(|c| c.chars().next() == first) {
        return false;
    }
    let lower = t.to_lowercase();
    MISSING_CODES.contains(&lower.as_str())
}

fn is_bool_word(t: &str) -> bool {
    t.len() <= 10 && BOOL_WORDS.contains(&t.to_lowercase().as_str())
}

impl ColumnAcc {
    pub fn new(header: String, formats: &Formats) -> ColumnAcc {
        ColumnAcc {
            header,
            rows: 0,
            empty: 0,
            errors: 0,
            missing: BTreeMap::new(),
            values: Some(HashMap::new()),
            date_cache: HashMap::new(),
            text_cells: 0,
            number_cells: 0,
            date_cells: 0,
            bool_cells: 0,
            ints: 0,
            comma_floats: 0,
            point_floats: 0,
            num_min: f64::INFINITY,
            num_max: f64::NEG_INFINITY,
            bool_words: 0,
            snils: 0,
            date_ok: vec![0; formats.len()],
            date_range: vec![None; formats.len()],
            cell_dates: None,
        }
    }

    /// Counts `key`; `true` when the value table keeps it (a text value is
    /// then classified later, with its count). When the table would grow
    /// past [`DISTINCT_CAP`] it is classified now and dropped.
    fn count_value(&mut self, key: &str, text: bool, formats: &Formats) -> bool {
        let Some(map) = &mut self.values else {
            return false;
        };
        if let Some(n) = map.get_mut(key) {
            if text {
                n.0 += 1
            } else {
                n.1 += 1
            }
            return true;
        }
        if map.len() < DISTINCT_CAP {
            map.insert(key.to_string(), if text { (1, 0) } else { (0, 1) });
            return true;
        }
        // High-cardinality: classify what the table holds and stop keeping
        // values at all.
        if let Some(map) = self.values.take() {
            for (v, (n, _)) in map {
                if n > 0 {
                    self.classify_text(&v, n, formats);
                }
            }
        }
        false
    }

    /// Adds `n` text cells holding `t` (trimmed, not empty) to the counters.
    fn classify_text(&mut self, t: &str, n: u64, formats: &Formats) {
        if is_missing_code(t) {
            *self.missing.entry(t.to_string()).or_insert(0) += n;
            return;
        }
        self.text_cells += n;
        if let Some((int, mark)) = number_shape(t) {
            match (int, mark) {
                (true, _) => self.ints += n,
                (false, Some(',')) => self.comma_floats += n,
                _ => self.point_floats += n,
            }
            if let Ok(x) = t.replace(',', ".").parse::<f64>() {
                self.number(x);
            }
        } else if is_bool_word(t) {
            self.bool_words += n;
        } else if snils_shape(t) {
            self.snils += n;
        }
        self.try_dates(t, n, formats);
    }

    fn number(&mut self, x: f64) {
        self.num_min = self.num_min.min(x);
        self.num_max = self.num_max.max(x);
    }

    pub fn push(&mut self, cell: Cell<'_>, formats: &Formats) {
        self.rows += 1;
        match cell {
            Cell::Empty => self.empty += 1,
            Cell::Error => self.errors += 1,
            Cell::Bool(b) => {
                self.bool_cells += 1;
                self.count_value(if b { "true" } else { "false" }, false, formats);
            }
            Cell::Date(d) => {
                self.date_cells += 1;
                widen(&mut self.cell_dates, d);
                self.count_value(&d.format("%Y-%m-%d").to_string(), false, formats);
            }
            Cell::Number(x) => {
                self.number_cells += 1;
                let key = if x.fract() == 0.0 && x.abs() < 1e15 {
                    self.ints += 1;
                    format!("{x:.0}")
                } else {
                    format!("{x}")
                };
                if x.is_finite() {
                    self.number(x);
                }
                self.count_value(&key, false, formats);
            }
            Cell::Text(raw) => {
                let t = raw.trim();
                if t.is_empty() {
                    self.empty += 1;
                    return;
                }
                if !self.count_value(t, true, formats) {
                    self.classify_text(t, 1, formats);
                }
            }
        }
    }

    fn try_dates(&mut self, t: &str, n: u64, formats: &Formats) {
        if t.len() < 6
            || t.len() > 19
            || !t
                .bytes()
                .all(|c| c.is_ascii_digit() || b"./-: T".contains(&c))
        {
            return;
        }
        let readings = match self.date_cache.get(t) {
            Some(r) => r.clone(),
            None => {
                let sep = t.chars().find(|c| !c.is_ascii_digit());
                let mut r = Vec::new();
                for (i, (f, fsep)) in formats.list.iter().enumerate() {
                    if *fsep != sep {
                        continue;
                    }
                    if let DateParse::Ok(d) = parse_text(t, std::slice::from_ref(f))
                        && (1900..=2100).contains(&d.year())
                    {
                        r.push((i as u8, d));
                    }
                }
                if self.date_cache.len() < DATE_CACHE_CAP {
                    self.date_cache.insert(t.to_string(), r.clone());
                }
                r
            }
        };
        for (i, d) in readings {
            self.date_ok[usize::from(i)] += n;
            widen(&mut self.date_range[usize::from(i)], d);
        }
    }

    /// The profile, suppressed: see the module comment.
    pub fn finish(mut self, formats: &Formats) -> ColumnProfile {
        if let Some(mut map) = self.values.take() {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let pending: Vec<(String, u64)> = keys
                .into_iter()
                .map(|k| (k.clone(), map[k].0))
                .filter(|(_, n)| *n > 0)
                .collect();
            for (v, n) in pending {
                self.classify_text(&v, n, formats);
            }
            map.retain(|k, _| !self.missing.contains_key(k));
            self.values = Some(map);
        }
        self.date_cache = HashMap::new();
        let missing_total: u64 = self.missing.values().sum();
        let filled = self.rows - self.empty - self.errors - missing_total;
        let text = self.text_cells;
        let distinct = self.values.as_ref().map(|m| m.len());
        // Per format: values that fail it (text values only; date cells are
        // dates whatever the format).
        let date_formats: Vec<FormatCount> = (0..formats.len())
            .filter(|&i| self.date_ok[i] > 0)
            .map(|i| FormatCount {
                format: formats.pattern(i).to_string(),
                ok: self.date_ok[i],
                fail: text - self.date_ok[i],
                range: self.date_range[i],
            })
            .collect();
        let best_date = date_formats.iter().map(|f| f.ok).max().unwrap_or(0);
        let numeric = self.ints + self.comma_floats + self.point_floats;
        let numeric_cells = numeric.max(self.number_cells);
        let nearly = |n: u64| filled > 0 && n * 10 >= filled * 9;
        let all = |n: u64| filled > 0 && n == filled;
        let bools_only = self
            .values
            .as_ref()
            .is_some_and(|m| m.keys().all(|k| k == "0" || k == "1") && !m.is_empty());
        let mut kind = if filled == 0 {
            Kind::Empty
        } else if self.date_cells + best_date > 0 && nearly(self.date_cells + best_date) {
            Kind::Date
        } else if all(self.bool_cells + self.bool_words)
            || (all(self.ints) && bools_only && filled >= MIN_CELL)
        {
            Kind::Boolean
        } else if all(self.ints) {
            Kind::Integer
        } else if all(numeric_cells) || (numeric > 0 && nearly(numeric)) {
            Kind::Float
        } else if distinct.is_some_and(|d| d <= CATEGORY_MAX) {
            Kind::Category
        } else {
            Kind::Text
        };
        let unique = distinct.is_some_and(|d| d as u64 == filled) && filled >= MIN_CELL;
        let base = kind;
        let header = self.header.to_lowercase();
        let named = IDENTIFYING_HEADERS.iter().any(|w| header.contains(w));
        let identifier = match kind {
            Kind::Text | Kind::Integer | Kind::Category => {
                named
                    || unique
                    || distinct.is_none()
                    || (kind == Kind::Text && distinct.is_some_and(|d| d as u64 * 10 > filled * 9))
                    || (self.snils > 0 && nearly(self.snils))
            }
            _ => false,
        };
        if identifier {
            kind = Kind::Identifier;
        }
        let not_fitting = match kind {
            Kind::Date => filled - (self.date_cells + best_date).min(filled),
            Kind::Float => filled - numeric_cells.min(filled),
            _ => 0,
        };
        // Frequencies: only values seen at least MIN_CELL times, never an
        // identifier's or a date's.
        let mut shown = Vec::new();
        let mut rare = (0u64, 0u64);
        if let Some(map) = &self.values
            && !matches!(kind, Kind::Identifier | Kind::Date)
        {
            for (v, &(a, b)) in map {
                let n = a + b;
                if n >= MIN_CELL {
                    shown.push((v.clone(), n));
                } else {
                    rare.0 += 1;
                    rare.1 += n;
                }
            }
            shown.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
        let numeric_range = if matches!(kind, Kind::Integer | Kind::Float)
            && numeric_cells >= MIN_CELL
            && self.num_min.is_finite()
        {
            Some(rounded_range(self.num_min, self.num_max))
        } else {
            None
        };
        let best_range = date_formats
            .iter()
            .filter(|f| f.ok == best_date)
            .find_map(|f| f.range);
        let all_dates = match (best_range, self.cell_dates) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (r, None) | (None, r) => r,
        };
        let date_range = if kind == Kind::Date && self.date_cells + best_date >= MIN_CELL {
            all_dates.map(|(a, b)| (month(a), month(b)))
        } else {
            None
        };
        ColumnProfile {
            header: self.header,
            kind,
            base,
            rows: self.rows,
            filled,
            empty: self.empty,
            errors: self.errors,
            missing: self.missing.into_iter().collect(),
            distinct,
            unique,
            shown,
            rare_values: rare.0,
            rare_cells: rare.1,
            text_cells: text,
            number_cells: self.number_cells,
            date_cells: self.date_cells,
            bool_cells: self.bool_cells,
            integers: self.ints,
            comma_floats: self.comma_floats,
            point_floats: self.point_floats,
            snils: self.snils,
            date_formats: date_formats
                .into_iter()
                .map(|f| FormatCount { range: None, ..f })
                .collect(),
            numeric_range,
            date_range,
            not_fitting,
        }
    }
}

fn month(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// `[lo, hi]` rounded outward to the power of ten of the larger magnitude
/// (38.4..79.5 becomes 30..80; 1..2 stays 1..2), so no single value is
/// shown.
fn rounded_range(lo: f64, hi: f64) -> (String, String, f64) {
    let mag = lo.abs().max(hi.abs()).max(1.0);
    let step = 10f64.powi(mag.log10().floor() as i32);
    let a = (lo / step).floor() * step;
    let b = (hi / step).ceil() * step;
    let fmt = |x: f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x}")
        }
    };
    (fmt(a), fmt(b), step)
}

/// How many text values one date format reads.
#[derive(Debug, Clone)]
pub struct FormatCount {
    pub format: String,
    pub ok: u64,
    pub fail: u64,
    range: Option<(NaiveDate, NaiveDate)>,
}

/// What the scan shows of one column. Holds no value seen fewer than
/// [`MIN_CELL`] times and no value of an identifier column.
#[derive(Debug, Clone)]
pub struct ColumnProfile {
    pub header: String,
    pub kind: Kind,
    /// The type before the identifier test (an identifier's values are
    /// text, integers or codes).
    pub base: Kind,
    pub rows: u64,
    /// Cells with a value: not empty, not a missing code, not an error.
    pub filled: u64,
    pub empty: u64,
    pub errors: u64,
    /// Missing codes seen (vocabulary of [`MISSING_CODES`], as written), with counts.
    pub missing: Vec<(String, u64)>,
    /// Distinct values; `None` above [`DISTINCT_CAP`] (high-cardinality).
    pub distinct: Option<usize>,
    /// Every value differs (and there are at least [`MIN_CELL`]).
    pub unique: bool,
    /// Values seen at least [`MIN_CELL`] times, most frequent first.
    pub shown: Vec<(String, u64)>,
    /// Values seen fewer than [`MIN_CELL`] times: how many values, how many cells.
    pub rare_values: u64,
    pub rare_cells: u64,
    pub text_cells: u64,
    pub number_cells: u64,
    pub date_cells: u64,
    pub bool_cells: u64,
    pub integers: u64,
    pub comma_floats: u64,
    pub point_floats: u64,
    pub snils: u64,
    /// Each candidate format that reads at least one text value.
    pub date_formats: Vec<FormatCount>,
    /// (low, high, step): the numbers' range rounded outward to `step`.
    pub numeric_range: Option<(String, String, f64)>,
    /// Earliest and latest month (`YYYY-MM`), only with at least
    /// [`MIN_CELL`] dates.
    pub date_range: Option<(String, String)>,
    /// Values that do not fit the inferred type (dates, numbers).
    pub not_fitting: u64,
}

impl ColumnProfile {
    /// The formats that read every text value.
    pub fn formats_reading_all(&self) -> Vec<&str> {
        self.date_formats
            .iter()
            .filter(|f| f.fail == 0)
            .map(|f| f.format.as_str())
            .collect()
    }

    /// Decimal mark of the text numbers: `Some(',')`, `Some('.')`, or
    /// `None` when there are none (or both: see [`Self::mixed_marks`]).
    pub fn decimal_mark(&self) -> Option<char> {
        match (self.comma_floats > 0, self.point_floats > 0) {
            (true, false) => Some(','),
            (false, true) => Some('.'),
            _ => None,
        }
    }

    pub fn mixed_marks(&self) -> bool {
        self.comma_floats > 0 && self.point_floats > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(cells: &[&str]) -> ColumnProfile {
        let f = Formats::new();
        let mut acc = ColumnAcc::new("x".into(), &f);
        for c in cells {
            acc.push(Cell::Text(c), &f);
        }
        acc.finish(&f)
    }

    #[test]
    fn numbers_and_marks() {
        assert_eq!(number_shape("7,5"), Some((false, Some(','))));
        assert_eq!(number_shape("-12"), Some((true, None)));
        assert_eq!(number_shape("1 000"), None);
        assert_eq!(number_shape("1,000.5"), None);
        assert_eq!(number_shape("7."), None);
        let p = profile(&["7,5", "8,0", "12", "", "н/д"]);
        assert_eq!(p.kind, Kind::Float);
        assert_eq!(p.decimal_mark(), Some(','));
        assert_eq!(
            (p.filled, p.empty, p.missing.clone()),
            (3, 1, vec![("н/д".into(), 1)])
        );
    }

    #[test]
    fn dates_count_failures_per_format() {
        let p = profile(&[
            "01.02.2020",
            "13.02.2020",
            "31.02.2020",
            "05.06.2021",
            "07.08.2022",
            "10.10.2010",
            "11.11.2011",
            "12.12.2012",
            "09.09.2019",
            "08.08.2018",
        ]);
        assert_eq!(p.kind, Kind::Date);
        let dmy = p
            .date_formats
            .iter()
            .find(|f| f.format == "%d.%m.%Y")
            .unwrap();
        assert_eq!((dmy.ok, dmy.fail), (9, 1));
        // Month-first reads only the dates whose first part is at most 12.
        let mdy = p
            .date_formats
            .iter()
            .find(|f| f.format == "%m.%d.%Y")
            .unwrap();
        assert_eq!((mdy.ok, mdy.fail), (8, 2));
        assert!(p.formats_reading_all().is_empty());
        assert_eq!(p.not_fitting, 1);
        // The range of the best format's dates, to the month.
        assert_eq!(p.date_range, Some(("2010-10".into(), "2022-08".into())));
        // Fewer than 5 dates: no range.
        let p = profile(&["01.02.2020", "13.02.2020", "05.06.2021"]);
        assert_eq!((p.kind, p.date_range.clone()), (Kind::Date, None));
    }

    #[test]
    fn rare_values_are_counted_not_kept() {
        let mut cells = vec!["a"; 5];
        cells.extend(["b", "b", "c"]);
        let p = profile(&cells);
        assert_eq!(p.kind, Kind::Category);
        assert_eq!(p.shown, vec![("a".to_string(), 5)]);
        assert_eq!((p.rare_values, p.rare_cells), (2, 3));
    }

    #[test]
    fn unique_text_is_an_identifier() {
        let p = profile(&["A-1", "A-2", "A-3", "A-4", "A-5"]);
        assert_eq!(p.kind, Kind::Identifier);
        assert!(p.shown.is_empty());
    }

    #[test]
    fn ranges_round_outward() {
        assert_eq!(rounded_range(38.4, 79.5).0, "30");
        assert_eq!(rounded_range(38.4, 79.5).1, "80");
        assert_eq!(rounded_range(1.0, 2.0), ("1".into(), "2".into(), 1.0));
        assert_eq!(rounded_range(4.0, 250.0), ("0".into(), "300".into(), 100.0));
    }
}
