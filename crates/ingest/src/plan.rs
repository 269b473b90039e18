//! How one mapped canonical column is read: the plan of a column and the
//! conversion of one raw cell into its canonical value, or a `CellProblem`.

#[cfg(test)]
use crate::cell::clean_text;
use crate::cell::{CellProblem, RawCell, Value, canonical_value, parse_decimal, problem};
use crate::config::Source;
use crate::dates::{self, DateFormat, DateParse};
use crate::reasons::*;
use crate::text::{quoted, unit_name};
use cohortflow_core::schema::{ColumnType, Schema};
use std::collections::HashMap;

/// Where a fix needs the value that failed: messages never carry it.
pub(crate) const SEE_VALUE: &str =
    "`cohortflow run --show-values` shows the value (on your own machine)";

/// A small set of texts looked up without hashing when it is small (the
/// codes of a value map, the levels, the missing codes): index of the text.
#[derive(Clone, Default)]
pub(crate) struct Lookup {
    texts: Vec<String>,
    /// Each text's first 8 bytes (little-endian, zero-padded) and length,
    /// at the same index: a text of up to 8 bytes is found by two integer
    /// comparisons, a longer one compares its rest only when they match.
    /// (Comparing the texts themselves called `memcmp` for every text of
    /// the cell's length: with the lookup, 7 % of ingest's CPU at 1M.)
    heads: Vec<(u64, usize)>,
    /// Only for more than [`Lookup::LINEAR`] texts.
    map: Option<HashMap<String, u32>>,
    /// Bit `n` set when a text is `n` bytes long (bit 63: 63 or more), so
    /// that a cell of no text's length, as most are for the missing
    /// codes, is not compared at all.
    lengths: u64,
}

impl Lookup {
    const LINEAR: usize = 16;

    /// `texts` with duplicates dropped (the first stays).
    fn new(texts: impl IntoIterator<Item = String>) -> Self {
        let mut out: Vec<String> = Vec::new();
        let mut map = HashMap::new();
        let mut lengths = 0;
        for t in texts {
            if !map.contains_key(&t) {
                lengths |= Self::length_bit(&t);
                map.insert(t.clone(), out.len() as u32);
                out.push(t);
            }
        }
        Lookup {
            map: (out.len() > Self::LINEAR).then_some(map),
            heads: out.iter().map(|t| (head(t.as_bytes()), t.len())).collect(),
            texts: out,
            lengths,
        }
    }

    fn length_bit(text: &str) -> u64 {
        1 << text.len().min(63)
    }

    fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    fn find(&self, text: &str) -> Option<u32> {
        if self.lengths & Self::length_bit(text) == 0 {
            return None;
        }
        match &self.map {
            Some(m) => m.get(text).copied(),
            None => {
                let bytes = text.as_bytes();
                let probe = (head(bytes), bytes.len());
                self.heads
                    .iter()
                    .zip(&self.texts)
                    .position(|(h, t)| {
                        *h == probe && (probe.1 <= 8 || t.as_bytes()[8..] == bytes[8..])
                    })
                    .map(|i| i as u32)
            }
        }
    }

    fn contains(&self, text: &str) -> bool {
        self.find(text).is_some()
    }
}

/// The first 8 bytes of `text` as a little-endian number, zero-padded: two
/// texts of up to 8 bytes and the same length are equal exactly when these
/// are.
#[inline]
fn head(text: &[u8]) -> u64 {
    match text.first_chunk::<8>() {
        Some(first) => u64::from_le_bytes(*first),
        None => text
            .iter()
            .rev()
            .fold(0u64, |h, &b| (h << 8) | u64::from(b)),
    }
}

/// A converted cell, borrowed from the cell or the plan where it can be: the
/// fast form of `Option<Value>` that the column builders take.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Conv<'c> {
    /// A missing value of an optional column.
    Null,
    /// Text of the cell (trimmed).
    Str(&'c str),
    /// Text of a cell that is not text (a number in a string column).
    Owned(String),
    /// The value-map target number `i` ([`Plan::target`]).
    Target(u32),
    /// Level number `i` of a category column ([`Plan::level`]).
    Level(u32),
    Int(i64),
    Float(f64),
    /// Days since 1970-01-01.
    Date(i32),
    Bool(bool),
}

/// How one mapped canonical column is read.
#[derive(Clone)]
pub(crate) struct Plan {
    pub canonical: String,
    pub header: String,
    pub kind: ColumnType,
    required: bool,
    levels: Lookup,
    level_list: Vec<String>,
    /// Value map: codes (trimmed) and, at the same index, their targets.
    values: Option<Lookup>,
    targets: Vec<Value>,
    /// A category's value-map targets as level numbers, at the same index.
    target_levels: Vec<Option<u32>>,
    codes: Vec<String>,
    missing: Lookup,
    factor: f64,
    unit_note: String,
    formats: Vec<DateFormat>,
    decimal_comma: bool,
    toml: String,
}

impl Plan {
    /// The canonical value of a converted cell (`None`: missing).
    pub fn value(&self, c: &Conv<'_>) -> Option<Value> {
        Some(match c {
            Conv::Null => return None,
            Conv::Str(s) => Value::Str(s.to_string()),
            Conv::Owned(s) => Value::Str(s.clone()),
            Conv::Target(i) => self.target(*i).clone(),
            Conv::Level(i) => Value::Str(self.level(*i).to_string()),
            Conv::Int(i) => Value::Int(*i),
            Conv::Float(f) => Value::Float(*f),
            Conv::Date(d) => Value::Date(*d),
            Conv::Bool(b) => Value::Bool(*b),
        })
    }

    /// Value-map target `i`.
    pub fn target(&self, i: u32) -> &Value {
        &self.targets[i as usize]
    }

    /// Level `i` of a category column.
    pub fn level(&self, i: u32) -> &str {
        &self.levels.texts[i as usize]
    }

    /// The number of a category column's levels.
    pub fn level_count(&self) -> usize {
        self.levels.texts.len()
    }

    /// The level number (in the schema's declared levels) of a category
    /// column's converted cell: `None` for a missing value. A category's
    /// cell converts to a level or a value-map target, which `validate`
    /// has checked is a level; any other cell (none by construction) is
    /// looked up by its text.
    pub fn level_code(&self, c: &Conv<'_>) -> Option<u32> {
        match c {
            Conv::Level(i) => Some(*i),
            Conv::Target(i) => self.target_levels[*i as usize],
            Conv::Str(s) => self.levels.find(s),
            Conv::Owned(s) => self.levels.find(s),
            _ => None,
        }
    }

    /// [`Plan::read`] of a text cell when it converts without a problem,
    /// as `read` converts it; `None` leaves the cell to `read` (a problem,
    /// or a conversion this does not take: a boolean, an integer with a
    /// unit, a number `str::parse` does not read). Inlined into the
    /// converter's loop: `read`, with its messages, returns a `Result`
    /// holding a `CellProblem` through memory for every cell, and that
    /// call and its return were about a tenth of ingest's CPU (perf, 1M).
    /// The converter checks the two agree on every cell in debug builds,
    /// and `the_text_path_converts_as_read` on random cells.
    ///
    /// `clean`: the cell's record is known to hold no character that is not
    /// text ([`crate::cell::clean_text`]), so the cell is not looked at for them again.
    #[inline(always)]
    pub fn read_text<'c>(&self, s: &'c str, clean: bool) -> Option<Conv<'c>> {
        let s = trim(s);
        debug_assert!(!clean || !s.chars().any(not_text));
        if !clean && !plain_ascii(s) && s.chars().any(not_text) {
            return None;
        }
        if s.is_empty() || self.missing.contains(s) {
            return (!self.required).then_some(Conv::Null);
        }
        if let Some(values) = &self.values {
            return values.find(s).map(Conv::Target);
        }
        match self.kind {
            ColumnType::String => Some(Conv::Str(s)),
            ColumnType::Category => self.levels.find(s).map(Conv::Level),
            ColumnType::Date => match dates::fixed_days(s, &self.formats) {
                Some(days) => Some(Conv::Date(days)),
                None => match dates::parse_text(s, &self.formats) {
                    DateParse::Ok(d) if dates::year_plausible(d) => {
                        Some(Conv::Date(dates::epoch_days(d)))
                    }
                    _ => None,
                },
            },
            ColumnType::Float => {
                let v = parse_decimal(s, self.decimal_comma).ok()? * self.factor;
                v.is_finite().then_some(Conv::Float(v))
            }
            ColumnType::Integer if self.factor == 1.0 => s.parse::<i64>().ok().map(Conv::Int),
            ColumnType::Integer | ColumnType::Boolean => None,
        }
    }

    /// Converts one cell, borrowing its text where it can: `Conv::Null` is a
    /// missing value of an optional column.
    pub fn read<'c>(&self, cell: &RawCell<'c>) -> Result<Conv<'c>, CellProblem> {
        let cell = match cell {
            RawCell::Text(s) => RawCell::Text(trim(s)),
            other => other.clone(),
        };
        // A NUL, another control character, a byte-order mark or the
        // replacement character inside a value is never data: it is debris
        // of a broken export or a wrong encoding, and would silently change
        // the value (an id "P\0A-1" is not "PA-1").
        if let RawCell::Text(s) = &cell
            && !plain_ascii(s)
            && s.chars().any(not_text)
        {
            return Err(problem(
                REASON_CHARACTER,
                format!(
                    "the value of '{}' holds a character that is not text (NUL, a control \
                     character, a byte-order mark or an undecodable byte)",
                    self.canonical
                ),
                "re-export the file, or remove the character from the cell; check the declared \
                 `encoding` of the source"
                    .into(),
            ));
        }
        let missing = match &cell {
            RawCell::Empty => true,
            RawCell::Text(s) => s.is_empty() || self.missing.contains(s),
            RawCell::Error(_) => false,
            other => !self.missing.is_empty() && self.missing.contains(&other.display()),
        };
        if missing {
            if self.required {
                return Err(problem(
                    REASON_MISSING,
                    format!("'{}' is required but the value is missing", self.canonical),
                    "fill in the value in the export, or set on_error = \"reject\" to set the row aside"
                        .into(),
                ));
            }
            return Ok(Conv::Null);
        }
        if let RawCell::Error(issue) = &cell {
            return Err(issue.problem());
        }
        if let Some(values) = &self.values {
            let code = match &cell {
                RawCell::Text(s) => std::borrow::Cow::Borrowed(*s),
                other => std::borrow::Cow::Owned(other.display()),
            };
            return match values.find(code.as_ref()) {
                Some(i) => Ok(Conv::Target(i)),
                None => Err(problem(
                    REASON_UNKNOWN_CODE,
                    format!(
                        "the value is none of the codes of '{}' (known codes: {})",
                        self.canonical,
                        quoted(&self.codes)
                    ),
                    format!(
                        "add the code as \"<code>\" = \"...\" to [source.columns.{}.values] in \
                         {} (or to `missing` if it means the value is unknown); {SEE_VALUE}",
                        self.canonical, self.toml
                    ),
                )),
            };
        }
        match self.kind {
            ColumnType::String => Ok(match cell {
                RawCell::Text(s) => Conv::Str(s),
                other => Conv::Owned(other.display()),
            }),
            ColumnType::Category => {
                let found = match &cell {
                    RawCell::Text(s) => self.levels.find(s),
                    other => self.levels.find(&other.display()),
                };
                if let Some(i) = found {
                    Ok(Conv::Level(i))
                } else {
                    Err(problem(
                        REASON_LEVEL,
                        format!(
                            "the value is not a level of '{}' (levels: {})",
                            self.canonical,
                            quoted(&self.level_list)
                        ),
                        format!(
                            "map it: add \"<code>\" = \"<level>\" to [source.columns.{}.values] \
                             in {}; {SEE_VALUE}",
                            self.canonical, self.toml
                        ),
                    ))
                }
            }
            ColumnType::Boolean => self.boolean(&cell).map(Conv::Bool),
            ColumnType::Integer => self.integer(&cell).map(Conv::Int),
            ColumnType::Float => self.float(&cell).map(Conv::Float),
            ColumnType::Date => self.date(&cell).map(Conv::Date),
        }
    }

    fn boolean(&self, cell: &RawCell<'_>) -> Result<bool, CellProblem> {
        let b = match cell {
            RawCell::Bool(b) => Some(*b),
            RawCell::Number(f) if *f == 1.0 || *f == 0.0 => Some(*f == 1.0),
            RawCell::Int(i @ (0 | 1)) => Some(*i == 1),
            RawCell::Text(s) if s.eq_ignore_ascii_case("true") || *s == "1" => Some(true),
            RawCell::Text(s) if s.eq_ignore_ascii_case("false") || *s == "0" => Some(false),
            _ => None,
        };
        b.ok_or_else(|| {
            problem(
                REASON_BOOLEAN,
                format!("the value is not true/false for '{}'", self.canonical),
                format!(
                    "map the export's codes: add values = {{ \"<code>\" = \"true\", ... }} to \
                     [source.columns.{}] in {}; {SEE_VALUE}",
                    self.canonical, self.toml
                ),
            )
        })
    }

    fn number(&self, cell: &RawCell<'_>, reason: &'static str) -> Result<f64, CellProblem> {
        match cell {
            RawCell::Number(f) if f.is_finite() => Ok(*f),
            RawCell::Int(i) => Ok(*i as f64),
            RawCell::Text(s) => parse_decimal(s, self.decimal_comma).map_err(|(message, fix)| {
                problem(
                    reason,
                    format!(
                        "the value is not a number for '{}': {message}",
                        self.canonical
                    ),
                    fix.replace("<file>", &self.toml),
                )
            }),
            other => Err(problem(
                reason,
                format!(
                    "the cell is not a number for '{}' (it is {})",
                    self.canonical,
                    other.kind()
                ),
                "correct the value in the export".into(),
            )),
        }
    }

    fn integer(&self, cell: &RawCell<'_>) -> Result<i64, CellProblem> {
        if self.factor == 1.0 {
            if let RawCell::Int(i) = cell {
                return Ok(*i);
            }
            if let RawCell::Text(s) = cell
                && let Ok(i) = s.parse::<i64>()
            {
                return Ok(i);
            }
        }
        let v = self.number(cell, REASON_NUMBER)? * self.factor;
        let r = v.round();
        if (v - r).abs() <= 1e-9 * v.abs().max(1.0) && r.abs() < 9.0e15 {
            Ok(r as i64)
        } else {
            Err(problem(
                REASON_INTEGER,
                format!(
                    "the value{} is not a whole number, and '{}' is an integer column",
                    self.unit_note, self.canonical
                ),
                "correct the value in the export, or declare the column as float in the schema"
                    .into(),
            ))
        }
    }

    fn float(&self, cell: &RawCell<'_>) -> Result<f64, CellProblem> {
        let v = self.number(cell, REASON_NUMBER)? * self.factor;
        if !v.is_finite() {
            // 1e308 m in mm: finite in the export, infinite after the unit.
            return Err(problem(
                REASON_NUMBER,
                format!(
                    "the value{} is too large a number for '{}'",
                    self.unit_note, self.canonical
                ),
                "correct the value in the export".into(),
            ));
        }
        Ok(v)
    }

    fn date(&self, cell: &RawCell<'_>) -> Result<i32, CellProblem> {
        let patterns = || {
            self.formats
                .iter()
                .map(|f| f.pattern().to_string())
                .collect::<Vec<_>>()
        };
        let fix_formats = || {
            format!(
                "correct the value, or add its format to date_formats of [source.columns.{}] \
                 (or [source]) in {}",
                self.canonical, self.toml
            )
        };
        let serial = self
            .formats
            .iter()
            .any(|f| matches!(f, DateFormat::ExcelSerial));
        let d = match cell {
            RawCell::Date(d) => *d,
            RawCell::Number(_) | RawCell::Int(_) => {
                let n = match cell {
                    RawCell::Number(f) => *f,
                    RawCell::Int(i) => *i as f64,
                    _ => f64::NAN,
                };
                if !serial {
                    return Err(problem(
                        REASON_DATE,
                        format!(
                            "the cell holds a number, and date column '{}' reads formats {}",
                            self.canonical,
                            quoted(&patterns())
                        ),
                        format!(
                            "if the export stores dates as Excel serial numbers, add \"excel-serial\" \
                             to date_formats of [source.columns.{}] in {}",
                            self.canonical, self.toml
                        ),
                    ));
                }
                dates::from_excel_serial(n).ok_or_else(|| {
                    problem(
                        REASON_DATE,
                        "the number is not an Excel serial date".to_string(),
                        fix_formats(),
                    )
                })?
            }
            RawCell::Text(s) => match dates::parse_text(s, &self.formats) {
                DateParse::Ok(d) => d,
                DateParse::NoSuchDay(p) => {
                    return Err(problem(
                        REASON_DATE,
                        format!("the value has the shape of {p} but there is no such day"),
                        "correct the date in the export".into(),
                    ));
                }
                DateParse::NoMatch => {
                    let fix = if !serial && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                        format!(
                            "if the export stores dates as Excel serial numbers, add \"excel-serial\" \
                             to date_formats of [source.columns.{}] in {}; otherwise {}",
                            self.canonical,
                            self.toml,
                            fix_formats()
                        )
                    } else {
                        fix_formats()
                    };
                    return Err(problem(
                        REASON_DATE,
                        format!(
                            "the value matches none of the date formats {} of '{}'",
                            quoted(&patterns()),
                            self.canonical
                        ),
                        fix,
                    ));
                }
            },
            other => {
                return Err(problem(
                    REASON_DATE,
                    format!("the cell is not a date (it is {})", other.kind()),
                    "correct the value in the export".into(),
                ));
            }
        };
        if !dates::year_plausible(d) {
            return Err(problem(
                REASON_DATE_RANGE,
                format!(
                    "the value reads as a date in a year outside {}-{} (two-digit year?)",
                    dates::MIN_YEAR,
                    dates::MAX_YEAR
                ),
                format!(
                    "write four-digit years in the export, or read two-digit years with %y in \
                     date_formats of [source.columns.{}] in {}",
                    self.canonical, self.toml
                ),
            ));
        }
        Ok(dates::epoch_days(d))
    }
}

/// Builds the plans of the mapped columns, in schema order. Assumes the
/// source passed `validate`.
pub(crate) fn plans(source: &Source, schema: &Schema) -> Vec<Plan> {
    let cfg = &source.config;
    let toml = source.file.display().to_string();
    let mut out = Vec::new();
    for def in &schema.columns {
        let Some(m) = cfg.columns.get(&def.name) else {
            continue;
        };
        let m = m.get_ref();
        // As a map first: of two codes equal after trimming, the last wins.
        let map = m.values.as_ref().map(|vals| {
            vals.iter()
                .filter_map(|(k, v)| Some((k.trim().to_string(), canonical_value(def, v).ok()?)))
                .collect::<HashMap<_, _>>()
        });
        let (values, targets) = match map {
            Some(map) => {
                let (codes, targets): (Vec<String>, Vec<Value>) = map.into_iter().unzip();
                (Some(Lookup::new(codes)), targets)
            }
            None => (None, Vec::new()),
        };
        let levels = Lookup::new(def.levels.iter().cloned());
        let target_levels = targets
            .iter()
            .map(|t| match t {
                Value::Str(s) => levels.find(s),
                _ => None,
            })
            .collect();
        let codes = m
            .values
            .as_ref()
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default();
        let missing = Lookup::new(
            cfg.missing
                .iter()
                .chain(&m.missing)
                .map(|s| s.trim().to_string()),
        );
        let (factor, unit_note) = match (m.unit, def.unit) {
            (Some(from), Some(to)) if from != to => (
                from.factor_to(to).unwrap_or(1.0),
                format!(" (in {}, converted to {})", unit_name(from), unit_name(to)),
            ),
            _ => (1.0, String::new()),
        };
        let declared = if !m.date_formats.is_empty() {
            &m.date_formats
        } else {
            &cfg.date_formats
        };
        let mut formats: Vec<DateFormat> = declared
            .iter()
            .filter_map(|f| DateFormat::compile(f).ok())
            .collect();
        if declared.is_empty() {
            formats.extend(DateFormat::compile(dates::DEFAULT_FORMAT).ok());
        }
        out.push(Plan {
            canonical: def.name.clone(),
            header: m.column.trim().to_string(),
            kind: def.kind,
            required: def.required,
            levels,
            level_list: def.levels.clone(),
            values,
            targets,
            target_levels,
            codes,
            missing,
            factor,
            unit_note,
            formats,
            decimal_comma: cfg.csv.decimal_comma,
            toml: toml.clone(),
        });
    }
    out
}

/// `s` without the whitespace around it, as `str::trim`; a text that
/// starts and ends with a printable ASCII character (nearly every cell) is
/// returned as it is without the Unicode walk.
fn trim(s: &str) -> &str {
    let printable = |b: Option<&u8>| b.is_some_and(|&b| (0x21..0x7f).contains(&b));
    if printable(s.as_bytes().first()) && printable(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// Printable ASCII (and tab and line breaks) only: no character of it is
/// [`not_text`].
fn plain_ascii(s: &str) -> bool {
    // Printable ASCII is checked without a branch per byte (the compiler
    // makes it a vector loop); only a text with some other byte is walked
    // again for tabs and line breaks.
    let printable = s.bytes().fold(true, |ok, b| ok & (0x20..0x7f).contains(&b));
    printable
        || s.bytes()
            .all(|b| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r'))
}

/// Characters that never belong to a value: control characters other than
/// tab and line breaks (a quoted multi-line field keeps those), byte-order
/// marks, and U+FFFD, which a lossy decoder puts for a byte it could not
/// read.
fn not_text(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{fffd}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lookup by length and then text finds exactly the texts it holds,
    /// short, empty, long (63 bytes and more share a length bit) and not
    /// ASCII, in a small set and in one large enough for the hash map.
    #[test]
    fn a_lookup_finds_its_texts_and_nothing_else() {
        let long = |n: usize| "x".repeat(n);
        let held = vec![
            String::new(),
            "NA".to_string(),
            "н/д".to_string(),
            long(63),
            long(70),
            "N".to_string(),
            "12345678".to_string(),
            "123456789".to_string(),
        ];
        let probes = [
            "N\0",
            "\0N",
            "12345670",
            "123456780",
            "1234567",
            "12345678\0",
            "",
            "NA",
            "na",
            "N",
            "NAN",
            "н/д",
            "н/ д",
            "x",
            &long(62),
            &long(63),
            &long(64),
            &long(70),
            &long(71),
        ];
        for many in [false, true] {
            let mut texts = held.clone();
            if many {
                texts.extend((0..20).map(|i| format!("code{i}")));
            }
            let lookup = Lookup::new(texts.clone());
            assert_eq!(lookup.map.is_some(), many);
            for probe in probes.iter().map(|p| p.to_string()).chain(texts.clone()) {
                let expected = texts.iter().position(|t| *t == probe).map(|i| i as u32);
                assert_eq!(lookup.find(&probe), expected, "{probe:?}");
            }
        }
        assert_eq!(Lookup::default().find(""), None);
    }

    /// `read_text` converts a cell as `read` does whenever it converts it:
    /// the plans of the bundled centres (value maps, missing codes, two
    /// date layouts, decimal comma, centimetres) and of a source with an
    /// integer in a unit, booleans, a second date format and a text column,
    /// on random cells made of their codes, levels and missing codes, dates
    /// of every day and month number, numbers and debris (spaces around,
    /// control characters, U+FFFD, letters).
    #[test]
    fn the_text_path_converts_as_read() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let schema_text =
            std::fs::read_to_string(repo.join("pipelines/schemas/mgist.toml")).unwrap();
        let schema: Schema = toml::from_str(&schema_text).unwrap();
        let source = |file: std::path::PathBuf, text: String| {
            let parsed: crate::config::SourceFile = toml::from_str(&text).unwrap();
            Source {
                config: parsed.source,
                file,
                text,
            }
        };
        let mut sources: Vec<Source> = ["center_a.toml", "center_b.toml"]
            .iter()
            .map(|name| {
                let file = repo.join("pipelines/sources").join(name);
                source(file.clone(), std::fs::read_to_string(&file).unwrap())
            })
            .collect();
        let mut text =
            std::fs::read_to_string(repo.join("pipelines/sources/center_b.toml")).unwrap();
        text = text.replace(
            "date_formats = [\"%d/%m/%Y\"]",
            "date_formats = [\"%d/%m/%Y\", \"%Y-%m-%d\", \"excel-serial\"]",
        );
        text = text.replace(
            "im_line = \"Imatinib line\"",
            "im_line = { column = \"Imatinib line\", missing = [\"?\"] }",
        );
        assert!(text.contains("excel-serial") && text.contains("missing = [\"?\"]"));
        sources.push(source(repo.join("pipelines/sources/center_c.toml"), text));
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x7e47_0a7d);
        let (mut fast, mut total) = (0usize, 0usize);
        for src in &sources {
            for plan in plans(src, &schema) {
                let mut pool: Vec<String> = plan.codes.clone();
                pool.extend(plan.levels.texts.iter().cloned());
                pool.extend(plan.missing.texts.iter().cloned());
                pool.extend(
                    [
                        "", "1", "2", "0", "true", "FALSE", "x", "-3", "1e3", "NaN", "inf",
                    ]
                    .map(String::from),
                );
                for _ in 0..4_000 {
                    let mut cell = match rng.below(5) {
                        0 | 1 if !pool.is_empty() => pool[rng.below(pool.len())].clone(),
                        2 => {
                            let (d, m, y) = (rng.below(33), rng.below(14), 1850 + rng.below(300));
                            match rng.below(3) {
                                0 => format!("{d:02}.{m:02}.{y}"),
                                1 => format!("{d:02}/{m:02}/{y}"),
                                _ => format!("{y}-{m:02}-{d:02}"),
                            }
                        }
                        3 => {
                            let v = rng.below(100_000) as f64 / [1.0, 10.0, 1000.0][rng.below(3)];
                            let t = v.to_string();
                            if rng.below(2) == 0 {
                                t.replace('.', ",")
                            } else {
                                t
                            }
                        }
                        _ => [
                            "ж",
                            "\u{fffd}",
                            "\u{1}",
                            "1,2,3",
                            "12.5.2001",
                            "  ",
                            "\u{a0}",
                        ][rng.below(7)]
                        .to_string(),
                    };
                    if rng.below(6) == 0 {
                        cell = format!(
                            "{}{cell}{}",
                            [" ", "\t", "\u{a0}"][rng.below(3)],
                            [" ", ""][rng.below(2)]
                        );
                    }
                    total += 1;
                    if let Some(c) = plan.read_text(&cell, false) {
                        fast += 1;
                        assert_eq!(
                            plan.read(&RawCell::Text(&cell)).ok(),
                            Some(c),
                            "{} {cell:?}",
                            plan.canonical
                        );
                    }
                }
            }
        }
        // Most cells take the text path, not all.
        assert!(fast > total / 6 && fast < total, "{fast} of {total}");
    }

    /// A text `clean_text` passes holds no character that is not text, on
    /// every text of up to three of a set of characters and bytes around
    /// the ones it looks for; and the text path gives the same with and
    /// without the check on such texts.
    #[test]
    fn clean_texts_hold_only_text() {
        let parts = [
            "a", "\t", "\n", "\r", "\u{0}", "\u{1f}", "\u{7f}", "\u{80}", "\u{9f}", "\u{a0}", "«",
            "ж", "ё", "№", "\u{feff}", "\u{fffe}", "\u{fffd}", "\u{fffc}", "\u{ff}", " ",
        ];
        let (mut clean, mut all) = (0, 0);
        for a in parts {
            for b in parts {
                for c in parts {
                    let text = format!("{a}{b}{c}");
                    all += 1;
                    if clean_text(text.as_bytes()) {
                        clean += 1;
                        assert!(!text.chars().any(not_text), "{text:?}");
                    }
                }
            }
        }
        assert!(clean > all / 50 && clean < all, "{clean} of {all}");
    }

    /// The trim with its ASCII shortcut is `str::trim` on texts of letters,
    /// ASCII and Unicode spaces, tabs, line breaks and controls.
    #[test]
    fn trimming_is_str_trim() {
        let parts = [
            "a", " ", "\t", "\n", "\u{a0}", "\u{2003}", "ж", "!", "~", "\u{7f}", "\u{1}",
        ];
        for a in parts {
            for b in parts {
                for c in parts {
                    let text = format!("{a}{b}{c}");
                    assert_eq!(trim(&text), text.trim(), "{text:?}");
                }
            }
        }
        assert_eq!(trim(""), "");
        // Every character alone, first and last, between spaces.
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            for text in [
                format!("{c}"),
                format!("{c}x"),
                format!("x{c}"),
                format!("{c}ж{c}"),
                format!(" {c}\u{3000}"),
            ] {
                assert_eq!(trim(&text), text.trim(), "{text:?}");
            }
        }
    }
}
