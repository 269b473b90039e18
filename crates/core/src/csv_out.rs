//! The CSV text of a table, written by hand for the column types the
//! stages make (text, categories, integers, floats, dates, booleans), byte for byte as
//! polars' CSV writer writes them with the options [`crate::table::to_csv`]
//! uses (separator `,`, quote `"` where needed, `\n`, null as an empty
//! field, floats as [`crate::fixed`] writes them).
//!
//! Why by hand: on the benchmark's million-row registry `cohort.csv` (600,000
//! rows, 28 columns) polars' writer cost about 0.5 CPU-s: the float columns
//! had first to become text columns (polars' own float text is slower), and
//! then every cell went through polars' serializers batch by batch; on 10M
//! rows the run waited 3.6 s for it after the analysis. Here each block of
//! rows is written straight into its own buffer on a core of its own (the
//! floats by [`crate::fixed`], no text column in between) and the blocks
//! are written out in order, the next wave made while one is written. At
//! 1M that is about 0.15 CPU-s less. (Writing only the dates' text by hand
//! before polars' writer saved nothing measurable.) Polars' writer stays
//! the oracle (the tests compare the bytes on random tables) and the
//! fallback for any other column type.

use polars::prelude::*;
use rayon::prelude::*;
use std::io::Write;

/// Rows per block written on one core.
const BLOCK: usize = 16_384;

/// The polars (arrow) array of a chunk of type `T`.
type Arr<T> = <T as PolarsDataType>::Array;

/// One column's values, as the writer reads them.
enum Cells {
    Text(Arr<StringType>),
    /// A category (`Enum`): each row's level number, in the column's own
    /// width (not widened: the writer holds every column of the table
    /// while it writes), and each level's field made once.
    Category(Codes, Vec<String>),
    Int(Arr<Int64Type>),
    Float(Arr<Float64Type>),
    /// Days since 1970-01-01, all within chrono's dates.
    Date(Arr<Int32Type>),
    Bool(Arr<BooleanType>),
}

/// A category column's codes in their own width.
enum Codes {
    U8(Arr<UInt8Type>),
    U16(Arr<UInt16Type>),
    U32(Arr<UInt32Type>),
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01, as polars counts.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

impl Cells {
    /// The column's cells, or `None` for a type this writer leaves to
    /// polars (or a date chrono cannot show: polars' writer would panic).
    fn of(c: &Column) -> Option<Cells> {
        let s = c.as_materialized_series();
        Some(match s.dtype() {
            DataType::String => Cells::Text(s.str().ok()?.rechunk().downcast_as_array().clone()),
            DataType::Enum(levels, _) => {
                let fields = levels
                    .categories()
                    .values_iter()
                    .map(|level| {
                        let mut field = String::new();
                        push_text(&mut field, level);
                        field
                    })
                    .collect();
                let codes = match levels.physical() {
                    CategoricalPhysical::U8 => Codes::U8(
                        s.cat8()
                            .ok()?
                            .physical()
                            .rechunk()
                            .downcast_as_array()
                            .clone(),
                    ),
                    CategoricalPhysical::U16 => Codes::U16(
                        s.cat16()
                            .ok()?
                            .physical()
                            .rechunk()
                            .downcast_as_array()
                            .clone(),
                    ),
                    CategoricalPhysical::U32 => Codes::U32(
                        s.cat32()
                            .ok()?
                            .physical()
                            .rechunk()
                            .downcast_as_array()
                            .clone(),
                    ),
                };
                Cells::Category(codes, fields)
            }
            DataType::Categorical(_, _) => {
                let text = s.cast(&DataType::String).ok()?;
                Cells::Text(text.str().ok()?.rechunk().downcast_as_array().clone())
            }
            DataType::Int64 => Cells::Int(s.i64().ok()?.rechunk().downcast_as_array().clone()),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => {
                let wide = s.cast(&DataType::Int64).ok()?;
                Cells::Int(wide.i64().ok()?.rechunk().downcast_as_array().clone())
            }
            DataType::Float64 | DataType::Float32 => {
                let wide = s.cast(&DataType::Float64).ok()?;
                Cells::Float(wide.f64().ok()?.rechunk().downcast_as_array().clone())
            }
            DataType::Date => {
                let days = s.date().ok()?.physical().rechunk();
                let shown = |d: i32| {
                    EPOCH_DAYS_FROM_CE
                        .checked_add(d)
                        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
                        .is_some()
                };
                if let (Some(lo), Some(hi)) = (days.min(), days.max())
                    && !(shown(lo) && shown(hi))
                {
                    return None;
                }
                Cells::Date(days.downcast_as_array().clone())
            }
            DataType::Boolean => Cells::Bool(s.bool().ok()?.rechunk().downcast_as_array().clone()),
            _ => return None,
        })
    }

    /// Appends row `i`'s field (nothing for a null). Inlined into the
    /// row loop: the call per cell was a twentieth of the writing's time
    /// (`cohort.csv` of the 1M cohort into a sink, one core: 0.233-0.240 s
    /// to 0.221-0.230 s).
    #[inline(always)]
    fn push(&self, i: usize, p: usize, out: &mut String) {
        match self {
            Cells::Text(a) => {
                if let Some(v) = a.get(i) {
                    push_text(out, v);
                }
            }
            Cells::Category(codes, fields) => {
                let code = match codes {
                    Codes::U8(a) => a.get(i).map(usize::from),
                    Codes::U16(a) => a.get(i).map(usize::from),
                    Codes::U32(a) => a.get(i).map(|v| v as usize),
                };
                if let Some(v) = code {
                    out.push_str(&fields[v]);
                }
            }
            Cells::Int(a) => {
                if let Some(v) = a.get(i) {
                    out.push_str(itoa::Buffer::new().format(v));
                }
            }
            Cells::Float(a) => {
                if let Some(v) = a.get(i) {
                    crate::fixed::push_fixed(out, v, p);
                }
            }
            Cells::Date(a) => {
                if let Some(d) = a.get(i) {
                    push_date(out, d);
                }
            }
            Cells::Bool(a) => {
                if let Some(v) = a.get(i) {
                    out.push_str(if v { "true" } else { "false" });
                }
            }
        }
    }
}

/// A text field as polars writes it (`QuoteStyle::Necessary`): an empty
/// text as `""` (an empty field is null), a text holding the separator, a
/// line end or a quote in quotes with its quotes doubled, any other as it
/// is.
fn push_text(out: &mut String, v: &str) {
    if v.is_empty() {
        out.push_str("\"\"");
    } else if v.bytes().any(|b| matches!(b, b',' | b'\n' | b'\r' | b'"')) {
        out.push('"');
        for (k, part) in v.split('"').enumerate() {
            if k > 0 {
                out.push_str("\"\"");
            }
            out.push_str(part);
        }
        out.push('"');
    } else {
        out.push_str(v);
    }
}

/// A date as chrono shows it (`YYYY-MM-DD`; a year outside 0-9999 with
/// its sign and at least five digits), which is polars' CSV text for it.
/// `days` is within chrono's dates ([`Cells::of`] checks).
fn push_date(out: &mut String, days: i32) {
    if (FIRST_0000..=LAST_9999).contains(&days) {
        let (y, m, d) = civil(days);
        // Two digits at a time from a table ("00".."99").
        let pair = |n: u32| {
            let i = 2 * n as usize;
            [crate::fixed::PAIRS[i], crate::fixed::PAIRS[i + 1]]
        };
        let ([y0, y1], [y2, y3]) = (pair(y / 100), pair(y % 100));
        let ([m0, m1], [d0, d1]) = (pair(m), pair(d));
        let text = [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1];
        debug_assert!(text.is_ascii());
        // SAFETY: every byte is an ASCII digit from `PAIRS` (indexed by a
        // number below 100: y < 10,000, m ≤ 12, d ≤ 31) or `-`, so the
        // bytes are UTF-8.
        // Checked, the 10 bytes of each of a cohort's seven date columns
        // were 4 % of the CPU time spent writing `cohort.csv` (perf, 10M).
        out.push_str(unsafe { std::str::from_utf8_unchecked(&text) });
        return;
    }
    if let Some(date) = chrono::NaiveDate::from_num_days_from_ce_opt(EPOCH_DAYS_FROM_CE + days) {
        use std::fmt::Write as _;
        let _ = write!(out, "{date}");
    }
}

/// Days since 1970-01-01 of 0000-01-01 and of 9999-12-31: the dates
/// written as four-digit years.
const FIRST_0000: i32 = -719_528;
const LAST_9999: i32 = 2_932_896;

/// The proleptic Gregorian year, month and day of `days` since 1970-01-01
/// (between [`FIRST_0000`] and [`LAST_9999`]), by whole-number arithmetic
/// on 400-year eras (H. Hinnant's `civil_from_days`), chrono's calendar
/// without making a date.
fn civil(days: i32) -> (u32, u32, u32) {
    // Days since 0000-03-01: each era (400 years) starts on a 1 March, so a
    // leap day ends its year.
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u32, m as u32, d as u32)
}

/// Writes `df` as CSV into `w` if every column is of a type this writer
/// knows; `Ok(false)` (nothing written) otherwise.
pub(crate) fn write<W: Write + Send>(df: &DataFrame, p: usize, w: &mut W) -> PolarsResult<bool> {
    if df.width() == 0 {
        return Ok(false);
    }
    let mut header = String::new();
    for (j, c) in df.columns().iter().enumerate() {
        if j > 0 {
            header.push(',');
        }
        push_text(&mut header, c.name());
    }
    header.push('\n');
    let rows = df.height();
    if rows == 0 {
        // The header alone, whatever the columns' types.
        w.write_all(header.as_bytes())?;
        return Ok(true);
    }
    let Some(cells) = df
        .columns()
        .iter()
        .map(Cells::of)
        .collect::<Option<Vec<Cells>>>()
    else {
        return Ok(false);
    };
    w.write_all(header.as_bytes())?;
    let blocks = rows.div_ceil(BLOCK);
    // A few blocks per core at a time: the text waiting to be written
    // stays a few megabytes whatever the table's size.
    let wave = 4 * rayon::current_num_threads().max(1);
    let text_of = |first: usize| -> Vec<String> {
        let last = (first + wave).min(blocks);
        (first..last)
            .into_par_iter()
            .map(|b| {
                let (lo, hi) = (b * BLOCK, ((b + 1) * BLOCK).min(rows));
                let mut out = String::with_capacity((hi - lo) * 8 * cells.len());
                for i in lo..hi {
                    for (j, c) in cells.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        c.push(i, p, &mut out);
                    }
                    out.push('\n');
                }
                out
            })
            .collect()
    };
    // Each wave is written out (and hashed, by a hashing writer) while the
    // next one is made.
    let mut ready = text_of(0);
    let mut first = wave;
    loop {
        let more = first < blocks;
        let (written, next) = rayon::join(
            || ready.iter().try_for_each(|t| w.write_all(t.as_bytes())),
            || if more { text_of(first) } else { Vec::new() },
        );
        written?;
        if !more {
            break;
        }
        ready = next;
        first += wave;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::write_csv_polars;

    /// A date's text is chrono's for every day of years 1899-2101, every
    /// 17th day of years 0-9999, the first and last days of the four-digit
    /// years and the days beyond them (chrono's signed years).
    #[test]
    fn dates_are_written_as_chrono_shows_them() {
        let shown = |days: i32| {
            chrono::NaiveDate::from_num_days_from_ce_opt(EPOCH_DAYS_FROM_CE + days)
                .unwrap()
                .to_string()
        };
        let mut check = |days: i32| {
            let mut out = String::new();
            push_date(&mut out, days);
            assert_eq!(out, shown(days), "{days}");
        };
        (-25_568..=48_213).for_each(&mut check);
        (FIRST_0000..=LAST_9999).step_by(17).for_each(&mut check);
        for edge in [FIRST_0000, LAST_9999] {
            (edge - 400..=edge + 400).for_each(&mut check);
        }
        assert_eq!(shown(FIRST_0000), "0000-01-01");
        assert_eq!(shown(LAST_9999), "9999-12-31");
    }

    /// The project's seeded generator, with what the tables need.
    struct Rng(cohortflow_stats::rng::SplitMix64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0.next_u64()
        }
        fn below(&mut self, n: u64) -> u64 {
            self.0.below(n as usize) as u64
        }
        /// Null about one time in `n`.
        fn null(&mut self, n: u64) -> bool {
            self.below(n) == 0
        }
    }

    fn text(r: &mut Rng) -> String {
        const PARTS: [&str; 12] = [
            "a", "Б", ",", "\"", "\n", "\r", " ", "x y", "ñ", "12", ";", "\t",
        ];
        let n = r.below(5) as usize;
        (0..n)
            .map(|_| PARTS[r.below(PARTS.len() as u64) as usize])
            .collect()
    }

    fn float(r: &mut Rng) -> f64 {
        match r.below(12) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => -0.0,
            4 => f64::from_bits(r.next()),
            5 => (r.below(2_000_001) as f64 - 1e6) / 8.0,
            6 => 1e300 * (r.below(100) as f64),
            7 => 1e-300,
            _ => (r.next() as f64 / u64::MAX as f64 - 0.5) * 10f64.powi(r.below(12) as i32 - 4),
        }
    }

    fn day(r: &mut Rng) -> i32 {
        match r.below(6) {
            // Years before 0 and after 9999, within chrono's dates.
            0 => r.below(2 * 90_000_000) as i32 - 90_000_000,
            1 => r.below(2 * 4_000_000) as i32 - 4_000_000,
            _ => r.below(80_000) as i32 - 40_000,
        }
    }

    /// A table of every type the writer knows, `rows` rows, nulls in each.
    fn table(seed: u64, rows: usize) -> DataFrame {
        let mut r = Rng(cohortflow_stats::rng::SplitMix64::new(seed));
        let opt = |r: &mut Rng| !r.null(7);
        let texts: Vec<Option<String>> = (0..rows)
            .map(|_| opt(&mut r).then(|| text(&mut r)))
            .collect();
        let ints: Vec<Option<i64>> = (0..rows)
            .map(|_| {
                opt(&mut r).then(|| match r.below(4) {
                    0 => i64::MIN,
                    1 => i64::MAX,
                    _ => r.next() as i64 >> r.below(60),
                })
            })
            .collect();
        let small: Vec<Option<i32>> = (0..rows)
            .map(|_| opt(&mut r).then(|| r.next() as i32))
            .collect();
        let unsigned: Vec<Option<u32>> = (0..rows)
            .map(|_| opt(&mut r).then(|| r.next() as u32))
            .collect();
        let floats: Vec<Option<f64>> = (0..rows)
            .map(|_| opt(&mut r).then(|| float(&mut r)))
            .collect();
        let singles: Vec<Option<f32>> = (0..rows)
            .map(|_| opt(&mut r).then(|| float(&mut r) as f32))
            .collect();
        let days: Vec<Option<i32>> = (0..rows)
            .map(|_| opt(&mut r).then(|| day(&mut r)))
            .collect();
        let bools: Vec<Option<bool>> = (0..rows)
            .map(|_| opt(&mut r).then(|| r.below(2) == 0))
            .collect();
        // A category whose levels need quotes, doubled quotes or none.
        const LEVELS: [&str; 7] = ["a", "Б", "x,y", "q\"u", "l\nb", " s ", "c\rr"];
        let levels: Vec<String> = LEVELS.iter().map(|l| l.to_string()).collect();
        let categories: Vec<Option<&str>> = (0..rows)
            .map(|_| opt(&mut r).then(|| LEVELS[r.below(LEVELS.len() as u64) as usize]))
            .collect();
        let category = StringChunked::from_iter_options("category".into(), categories.into_iter())
            .into_column()
            .cast(&crate::schema::category_dtype(&levels).unwrap())
            .unwrap();
        // A category of 300 levels: two-byte codes.
        let many: Vec<String> = (0..300).map(|i| format!("w,{i}")).collect();
        let wide: Vec<Option<&str>> = (0..rows)
            .map(|_| opt(&mut r).then(|| many[r.below(300) as usize].as_str()))
            .collect();
        let wide = StringChunked::from_iter_options("wide".into(), wide.into_iter())
            .into_column()
            .cast(&crate::schema::category_dtype(&many).unwrap())
            .unwrap();
        DataFrame::new(
            rows,
            vec![
                StringChunked::from_iter_options("text".into(), texts.into_iter()).into_column(),
                Int64Chunked::from_iter_options("a,b".into(), ints.into_iter()).into_column(),
                Int32Chunked::from_iter_options("q\"uote".into(), small.into_iter()).into_column(),
                UInt32Chunked::from_iter_options("".into(), unsigned.into_iter()).into_column(),
                Float64Chunked::from_iter_options("float".into(), floats.into_iter()).into_column(),
                Float32Chunked::from_iter_options("single".into(), singles.into_iter())
                    .into_column(),
                Int32Chunked::from_iter_options("date".into(), days.into_iter())
                    .into_date()
                    .into_column(),
                BooleanChunked::from_iter_options("bool".into(), bools.into_iter()).into_column(),
                category,
                wide,
            ],
        )
        .unwrap()
    }

    fn both(df: &DataFrame, p: usize) -> (String, String) {
        let mut ours = Vec::new();
        assert!(write(df, p, &mut ours).unwrap(), "written by hand");
        let mut theirs = Vec::new();
        write_csv_polars(df, p, &mut theirs).unwrap();
        (
            String::from_utf8(ours).unwrap(),
            String::from_utf8(theirs).unwrap(),
        )
    }

    #[test]
    fn random_tables_are_written_as_polars_writes_them() {
        for (seed, rows, p) in [
            (1, 1, 6),
            (2, 100, 0),
            (3, 5_000, 6),
            (4, 40_000, 2),
            (5, 3, 12),
        ] {
            let df = table(seed, rows);
            let (ours, theirs) = both(&df, p);
            if ours != theirs {
                let line = ours
                    .lines()
                    .zip(theirs.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                panic!(
                    "seed {seed}: line {line} differs:\n{:?}\n{:?}",
                    ours.lines().nth(line),
                    theirs.lines().nth(line)
                );
            }
        }
    }

    #[test]
    fn a_table_in_several_chunks_is_written_as_one() {
        let mut df = table(7, 3_000);
        df.vstack_mut(&table(8, 20_000)).unwrap();
        df.vstack_mut(&table(9, 1)).unwrap();
        assert!(df.first_col_n_chunks() > 1);
        let (ours, theirs) = both(&df, 6);
        assert!(ours == theirs, "multi-chunk table differs");
    }

    #[test]
    fn an_empty_table_is_its_header() {
        let df = table(10, 0);
        let (ours, theirs) = both(&df, 6);
        assert_eq!(ours, theirs);
        assert_eq!(
            ours,
            "text,\"a,b\",\"q\"\"uote\",\"\",float,single,date,bool,category,wide\n"
        );
    }

    #[test]
    fn other_types_and_unshowable_dates_are_left_to_polars() {
        let times = Int64Chunked::from_vec("t".into(), vec![0, 86_400_000])
            .into_datetime(TimeUnit::Milliseconds, None)
            .into_column();
        let df = DataFrame::new(2, vec![times]).unwrap();
        assert!(!write(&df, 6, &mut Vec::new()).unwrap());
        let far = Int32Chunked::from_vec("d".into(), vec![0, i32::MAX])
            .into_date()
            .into_column();
        let df = DataFrame::new(2, vec![far]).unwrap();
        assert!(!write(&df, 6, &mut Vec::new()).unwrap());
        assert!(!write(&DataFrame::empty(), 6, &mut Vec::new()).unwrap());
    }
}
