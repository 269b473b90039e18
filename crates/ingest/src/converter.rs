//! The per-source converter: turns rows of raw cells into typed columns,
//! rejects and the ledger account.

use crate::builder::{Builder, Texts};
use crate::cell::RawCell;
use crate::config::{OnError, Source};
use crate::error::IngestError;
use crate::plan::{Conv, Plan, plans};
use crate::reasons::*;
use cohortflow_core::ledger::{LineAccount, Outcome, StageAccount};
use cohortflow_core::rejects::Reject;
use cohortflow_core::schema::Schema;
use rayon::prelude::*;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::PathBuf;

/// Turns rows of raw cells into typed columns, rejects and the ledger count.
pub(crate) struct Converter {
    pub plans: Vec<Plan>,
    /// For each plan, the index of its column in the source's fields.
    pub fields: Vec<usize>,
    /// The columns of the rows pushed here since the last [`Converter::seal`].
    builders: Vec<Builder>,
    /// Earlier runs of rows, in file order, each with its row count: the
    /// builders of each chunk a parallel read absorbed, kept apart (no copy)
    /// until `finish` turns each into polars chunks on all cores.
    parts: Vec<(usize, Vec<Builder>)>,
    /// Rows held in `parts`.
    sealed: usize,
    rows: Vec<i64>,
    rejects: Vec<Reject>,
    counts: [u64; REASONS.len()],
    read: u64,
    on_error: OnError,
    source: String,
    data_file: PathBuf,
    /// The declared unique key (`unique`): indices into `plans`.
    unique: Vec<usize>,
    /// For each kept row, its key as text (None when a key value is empty).
    /// (the key's values as text, each after its length: [`key_parts`]).
    keys: Texts,
    /// The key of the row being read, reused from row to row.
    key_buf: String,
    /// First line of each key seen (`on_error = "fail"`).
    seen: HashMap<String, i64>,
    /// Records set aside because a quote runs over their lines: reason
    /// (naming the lines) and the rows (physical lines) it covers.
    spans: Vec<(String, u64)>,
    /// A text export's line account, set by its reader.
    pub lines: Option<LineAccount>,
    /// `--show-values`: errors name the value that failed. Off by default;
    /// messages are written without values whatever this says, and the
    /// value is only ever attached here.
    show_values: bool,
}

impl Converter {
    pub fn new(source: &Source, schema: &Schema, show_values: bool) -> Self {
        let plans = plans(source, schema);
        let builders = plans.iter().map(Builder::new).collect();
        let unique = source
            .config
            .unique
            .get_ref()
            .iter()
            .filter_map(|name| plans.iter().position(|p| &p.canonical == name))
            .collect();
        Self {
            unique,
            keys: Texts::default(),
            key_buf: String::new(),
            seen: HashMap::new(),
            fields: Vec::new(),
            plans,
            builders,
            parts: Vec::new(),
            sealed: 0,
            rows: Vec::new(),
            rejects: Vec::new(),
            counts: [0; REASONS.len()],
            read: 0,
            on_error: source.config.on_error,
            source: source.config.name.clone(),
            data_file: source.data_path(),
            spans: Vec::new(),
            lines: None,
            show_values,
        }
    }

    /// An empty converter for the same source, columns and fields: one per
    /// chunk of a file read in parallel, [`Converter::absorb`]ed in file
    /// order.
    pub fn fork(&self) -> Converter {
        Converter {
            plans: self.plans.clone(),
            fields: self.fields.clone(),
            builders: self.plans.iter().map(Builder::new).collect(),
            parts: Vec::new(),
            sealed: 0,
            rows: Vec::new(),
            rejects: Vec::new(),
            counts: [0; REASONS.len()],
            read: 0,
            on_error: self.on_error,
            source: self.source.clone(),
            data_file: self.data_file.clone(),
            unique: self.unique.clone(),
            keys: Texts::default(),
            key_buf: String::new(),
            seen: HashMap::new(),
            spans: Vec::new(),
            lines: None,
            show_values: self.show_values,
        }
    }

    /// [`Converter::fork`] that takes over the keys this one has seen
    /// (`on_error = "fail"`): a piece of the file read after the rows
    /// absorbed here stops at a key they hold, as one pass would. The keys
    /// are moved, not copied (on a registry-size export the map is the
    /// largest thing a failing run holds); [`Converter::absorb_seen`] gives
    /// them back.
    pub fn fork_seen(&mut self) -> Converter {
        let mut fork = self.fork();
        fork.seen = std::mem::take(&mut self.seen);
        fork
    }

    /// Absorbs a fork of [`Converter::fork_seen`] that read its rows without
    /// a problem: the keys it took, and its own, come back with them.
    pub fn absorb_seen(&mut self, mut fork: Converter) {
        self.seen = std::mem::take(&mut fork.seen);
        self.append(fork);
    }

    /// With `on_error = "fail"` and a unique key: whether a key of `forks`
    /// (in file order, each clean within itself) is one this converter has
    /// seen or one an earlier fork holds. Nothing is absorbed: the forks
    /// are then read again in one pass ([`Converter::fork_seen`]), which
    /// names the first problem in file order.
    pub fn collides<'a>(&self, forks: impl Iterator<Item = &'a Converter>) -> bool {
        let mut wave: std::collections::HashSet<&str> = std::collections::HashSet::new();
        forks
            .flat_map(|f| f.keys.iter().flatten())
            .any(|key| self.seen.contains_key(key) || !wave.insert(key))
    }

    /// Room for the row numbers and keys of `forks`, absorbed next: each
    /// list grows once instead of doubling (every new page costs a fault and
    /// its zeroing). Their columns are not copied (`absorb`).
    pub fn reserve_for<'a>(&mut self, forks: impl Iterator<Item = &'a Converter> + Clone) {
        let rows: usize = forks.clone().map(|f| f.rows.len()).sum();
        self.rows.reserve(rows);
        let (keys, bytes) = forks.fold((0, 0), |(n, b), f| {
            (n + f.keys.len(), b + f.keys.bytes_len())
        });
        self.keys.reserve(keys, bytes);
    }

    /// Closes the run of rows in `builders` (if any) as a part of its own;
    /// the rows pushed next go to fresh builders.
    fn seal(&mut self) {
        let n = self.rows.len() - self.sealed;
        if n > 0 {
            let fresh = self.plans.iter().map(Builder::new).collect();
            let run = std::mem::replace(&mut self.builders, fresh);
            self.parts.push((n, run));
            self.sealed += n;
        }
    }

    /// Appends the rows, rejects and counts of `next`, a fork that read the
    /// records after this one's. With `on_error = "fail"` and a unique key,
    /// `false` when a key of `next` is one this converter has seen: the
    /// run must then be read in one piece to name the first problem.
    pub fn absorb(&mut self, next: Converter) -> bool {
        let mut clean = true;
        if self.on_error == OnError::Fail && !self.unique.is_empty() {
            for (i, row) in next.rows.iter().enumerate() {
                if let Some(key) = next.keys.get(i) {
                    if self.seen.contains_key(key) {
                        clean = false;
                        break;
                    }
                    self.seen.insert(key.to_string(), *row);
                }
            }
        }
        self.append(next);
        clean
    }

    /// Appends the rows, rejects and counts of `next` (see `absorb`), without
    /// looking at its keys.
    fn append(&mut self, mut next: Converter) {
        // The columns move as whole parts: no value is copied here.
        self.seal();
        next.seal();
        self.parts.append(&mut next.parts);
        self.sealed += next.sealed;
        self.rows.extend(next.rows);
        self.keys.append(next.keys);
        self.rejects.extend(next.rejects);
        for (c, n) in self.counts.iter_mut().zip(next.counts) {
            *c += n;
        }
        self.read += next.read;
        self.spans.extend(next.spans);
    }

    /// Whether the run stops at the first problem.
    pub fn fails_fast(&self) -> bool {
        self.on_error == OnError::Fail
    }

    /// Whether a unique key is declared.
    pub fn has_unique_key(&self) -> bool {
        !self.unique.is_empty()
    }

    /// The value of a cell for an error, only with `--show-values`.
    fn shown(&self, value: impl FnOnce() -> String) -> Option<String> {
        self.show_values.then(value)
    }

    /// Whether values may appear in messages (`--show-values`).
    pub fn show_values(&self) -> bool {
        self.show_values
    }

    /// A record whose quotes run over physical lines `first..=last` and
    /// could have swallowed records (see `csv_source`): every line of it is
    /// set aside as a row of its own, so that no record it may hold is lost
    /// without a trace, with a reason naming the lines; or, with
    /// `on_error = "fail"`, the run stops naming them.
    pub fn reject_span(
        &mut self,
        first: i64,
        last: i64,
        message: String,
        fix: String,
    ) -> Result<(), IngestError> {
        if self.on_error == OnError::Fail {
            return Err(self.error(message, fix).at(first as u64));
        }
        let reason = format!("quote over lines {first}-{last}");
        for line in first..=last {
            self.read += 1;
            self.rejects.push(Reject {
                source: self.source.clone(),
                source_row: line,
                stage: "ingest".into(),
                rule: reason.clone(),
                columns: String::new(),
                values: String::new(),
            });
        }
        self.spans.push((reason, (last - first + 1) as u64));
        Ok(())
    }

    /// Rows read so far (kept, rejected and blank).
    pub fn rows_read(&self) -> u64 {
        self.read
    }

    pub fn error(&self, message: impl Into<String>, fix: impl Into<String>) -> IngestError {
        IngestError::new(&self.data_file, message, fix)
    }

    fn count(&mut self, reason: &'static str) {
        if let Some(i) = REASONS.iter().position(|r| *r == reason) {
            self.counts[i] += 1;
        }
    }

    /// A record that is blank in every field: set aside, never an error.
    pub fn blank_row(&mut self, row: i64) {
        self.read += 1;
        self.count(REASON_BLANK);
        self.rejects.push(Reject {
            source: self.source.clone(),
            source_row: row,
            stage: "ingest".into(),
            rule: REASON_BLANK.into(),
            columns: String::new(),
            values: String::new(),
        });
    }

    /// A record that cannot be read as a row at all (wrong field count).
    pub fn bad_record(
        &mut self,
        row: i64,
        reason: &'static str,
        message: String,
        fix: String,
        values: String,
    ) -> Result<(), IngestError> {
        self.read += 1;
        if self.on_error == OnError::Fail {
            return Err(self.error(message, fix).at(row as u64));
        }
        self.count(reason);
        self.rejects.push(Reject {
            source: self.source.clone(),
            source_row: row,
            stage: "ingest".into(),
            rule: reason.into(),
            columns: String::new(),
            values,
        });
        Ok(())
    }

    /// Converts one row. `cell(i)` gives the raw cell of source field `i`.
    /// Whether field `field` of a record may hold a line break: it feeds no
    /// column, or a text (`string`) column that `multiline` lists. A line
    /// break in a number, date, code or yes/no field is never data, nor in
    /// an identifier or any text not declared to hold one: it is the mark
    /// of a stray quote that joined lines.
    pub fn may_hold_line_break(
        &self,
        field: usize,
        multiline: &crate::config::MultilineFields,
    ) -> bool {
        self.fields.iter().zip(&self.plans).all(|(&f, p)| {
            f != field
                || (p.kind == cohortflow_core::schema::ColumnType::String
                    && multiline.allows(&p.canonical))
        })
    }

    pub fn push_row<'a>(
        &mut self,
        row: i64,
        cell: impl Fn(usize) -> RawCell<'a>,
    ) -> Result<(), IngestError> {
        self.push_row_checked(row, false, cell)
    }

    /// [`Converter::push_row`] of a record whose text has been found free
    /// of characters that are not text (`clean`: [`crate::cell::clean_text`]
    /// of the whole line), so that no cell is checked again for them.
    pub fn push_row_checked<'a>(
        &mut self,
        row: i64,
        clean: bool,
        cell: impl Fn(usize) -> RawCell<'a>,
    ) -> Result<(), IngestError> {
        self.read += 1;
        // Rows in `builders` (the rows before are sealed in `parts`).
        let kept = self.rows.len() - self.sealed;
        let mut first: Option<&'static str> = None;
        let mut columns = Vec::new();
        let mut values = Vec::new();
        // The row's key, in the buffer kept from the last row (no allocation
        // per row); `has_key`: no key value is empty.
        let mut key = std::mem::take(&mut self.key_buf);
        key.clear();
        let mut has_key = !self.unique.is_empty();
        for (k, plan) in self.plans.iter().enumerate() {
            let raw = cell(self.fields[k]);
            let fast = match &raw {
                RawCell::Text(s) => plan.read_text(s, clean),
                _ => None,
            };
            debug_assert!(
                fast.as_ref()
                    .is_none_or(|c| matches!(plan.read(&raw), Ok(r) if r == *c)),
                "the text path converts as `read`"
            );
            // Each path keeps its cell on its own: one value merged from
            // both went through memory and stalled the loop (perf: a store
            // not forwarded to the load after it, a fifth of this loop).
            // Pushed even after a problem: the row's values are truncated
            // away below when it is rejected.
            let key_column = !self.unique.is_empty() && self.unique.contains(&k);
            if let Some(c) = fast {
                keep_cell(
                    &c,
                    plan,
                    key_column,
                    &mut key,
                    &mut has_key,
                    &mut self.builders[k],
                );
                continue;
            }
            match plan.read(&raw) {
                Ok(c) => keep_cell(
                    &c,
                    plan,
                    key_column,
                    &mut key,
                    &mut has_key,
                    &mut self.builders[k],
                ),
                Err(p) => {
                    if self.on_error == OnError::Fail {
                        let mut e = IngestError::new(&self.data_file, p.message, p.fix)
                            .at(row as u64)
                            .column(plan.header.clone());
                        e.value = self.shown(|| raw.display());
                        return Err(e);
                    }
                    first.get_or_insert(p.reason);
                    columns.push(plan.header.clone());
                    values.push(format!("{}={}", plan.header, raw.display()));
                }
            }
        }
        match first {
            None => {
                if has_key {
                    if let Some(&line) = self.seen.get(key.as_str()) {
                        if self.on_error == OnError::Fail {
                            let (names, headers, shown) = self.key_text(row, &cell);
                            let mut e = IngestError::new(
                                &self.data_file,
                                format!(
                                    "the {names} of this record is also that of line {line}, but \
                                     the source declares it unique"
                                ),
                                format!(
                                    "correct the record in the export, or remove one of the two; \
                                     with on_error = \"reject\" every record with the same \
                                     {names} is set aside"
                                ),
                            )
                            .at(row as u64)
                            .column(headers);
                            e.value = self.shown(|| shown);
                            return Err(e);
                        }
                    } else if self.on_error == OnError::Fail {
                        // Only a failing run needs the first line of a key
                        // now; a rejecting one finds duplicates at the end.
                        self.seen.insert(key.clone(), row);
                    }
                }
                self.rows.push(row);
                self.keys.push(has_key.then_some(key.as_str()));
            }
            Some(reason) => {
                for b in &mut self.builders {
                    b.truncate(kept);
                }
                self.count(reason);
                self.rejects.push(Reject {
                    source: self.source.clone(),
                    source_row: row,
                    stage: "ingest".into(),
                    rule: reason.into(),
                    columns: columns.join("; "),
                    values: values.join("; "),
                });
            }
        }
        self.key_buf = key;
        Ok(())
    }

    /// The unique key's canonical names, source headers and values of a row.
    fn key_text<'a>(
        &self,
        _row: i64,
        cell: &impl Fn(usize) -> RawCell<'a>,
    ) -> (String, String, String) {
        let names: Vec<&str> = self
            .unique
            .iter()
            .map(|&k| self.plans[k].canonical.as_str())
            .collect();
        let headers: Vec<&str> = self
            .unique
            .iter()
            .map(|&k| self.plans[k].header.as_str())
            .collect();
        let shown: Vec<String> = self
            .unique
            .iter()
            .map(|&k| cell(self.fields[k]).display().trim().to_string())
            .collect();
        (names.join(", "), headers.join(", "), shown.join(", "))
    }

    /// With `on_error = "reject"`: every kept row whose unique key another
    /// kept row shares leaves, into the rejects, naming all their lines.
    fn reject_duplicates(&mut self) -> u64 {
        if self.unique.is_empty() {
            return 0;
        }
        let n = self.rows.len();
        let dup = duplicated(&self.keys);
        // The lines of each shared key, in file order.
        let mut lines: HashMap<&str, Vec<i64>> = HashMap::new();
        for &i in &dup {
            if let Some(key) = self.keys.get(i) {
                lines.entry(key).or_default().push(self.rows[i]);
            }
        }
        if dup.is_empty() {
            return 0;
        }
        let reason = self.duplicate_reason();
        let names: Vec<String> = self
            .unique
            .iter()
            .map(|&k| self.plans[k].header.clone())
            .collect();
        let mut keep = vec![true; n];
        for &i in &dup {
            keep[i] = false;
            let key = self.keys.get(i).unwrap_or_default();
            let all: Vec<String> = lines[key].iter().map(|r| r.to_string()).collect();
            self.rejects.push(Reject {
                source: self.source.clone(),
                source_row: self.rows[i],
                stage: "ingest".into(),
                rule: reason.clone(),
                columns: names.join("; "),
                values: format!(
                    "{}={}; same on lines {}",
                    names.join(", "),
                    key_parts(key).join(", "),
                    all.join(", ")
                ),
            });
        }
        let count = dup.len() as u64;
        drop(lines);
        self.seal();
        let mut at = 0;
        for (n, builders) in &mut self.parts {
            let part = &keep[at..at + *n];
            at += *n;
            builders.par_iter_mut().for_each(|b| b.retain(part));
            *n = part.iter().filter(|k| **k).count();
        }
        self.sealed = self.parts.iter().map(|(n, _)| n).sum();
        let mut i = 0;
        self.rows.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        count
    }

    /// The reject reason of a duplicated unique key: `duplicate patient_id`.
    fn duplicate_reason(&self) -> String {
        let names: Vec<&str> = self
            .unique
            .iter()
            .map(|&k| self.plans[k].canonical.as_str())
            .collect();
        format!("duplicate {}", names.join(", "))
    }

    /// The rows kept (their columns not yet a polars frame: [`crate::assemble`]),
    /// the rejects and the ledger account.
    pub fn finish(mut self) -> crate::SourceRead {
        let duplicates = self.reject_duplicates();
        let duplicate_reason = self.duplicate_reason();
        let height = self.rows.len();
        self.seal();
        let columns = crate::Columns {
            source: self.source.clone(),
            data_file: self.data_file.clone(),
            rows: std::mem::take(&mut self.rows),
            names: self.plans.iter().map(|p| p.canonical.clone()).collect(),
            parts: std::mem::take(&mut self.parts)
                .into_iter()
                .map(|(_, builders)| builders)
                .collect(),
        };
        let mut account = StageAccount::new("ingest", &self.source, self.read);
        for (reason, n) in REASONS.iter().zip(self.counts) {
            if n > 0 {
                account.add(Outcome::Rejected, reason, n);
            }
        }
        if duplicates > 0 {
            account.add(Outcome::Rejected, &duplicate_reason, duplicates);
        }
        for (reason, n) in &self.spans {
            account.add(Outcome::Rejected, reason, *n);
        }
        account.lines = self.lines;
        debug_assert_eq!(account.rows_out, height as u64);
        tracing::info!(
            source = %self.source,
            read = self.read,
            kept = height,
            rejected = self.rejects.len(),
            "ingested {}",
            self.data_file.display()
        );
        crate::SourceRead {
            columns,
            rejects: self.rejects,
            account,
            database: None,
        }
    }
}

/// A converted cell kept: pushed to its column's builder and, for a column
/// of the unique key (`key_column`), added to the row's key (`has_key`
/// false: a key value is missing).
#[inline(always)]
fn keep_cell(
    c: &Conv<'_>,
    plan: &Plan,
    key_column: bool,
    key: &mut String,
    has_key: &mut bool,
    builder: &mut Builder,
) {
    if key_column {
        match c {
            Conv::Null => *has_key = false,
            Conv::Str(s) => key_part(key, s),
            c => {
                if let Some(v) = plan.value(c) {
                    key_part(key, &v.text());
                }
            }
        }
    }
    builder.push(c, plan)
}

/// The rows (indices into `keys`, ascending) whose key another row shares;
/// rows without a key (`None`) share none.
///
/// Found on all cores: the keys are read in order, block by block, and each
/// key's 64-bit hash sends it (row and hash) to one of a fixed number of
/// shards; each shard then counts its rows by hash in a map of its own, so
/// no two cores touch one map and a key's text is read again only when its
/// hash was met before (a repeated key, or two keys of one hash, which are
/// then told apart by their text). Which rows come out does not depend on
/// the number of cores or shards.
fn duplicated(keys: &Texts) -> Vec<usize> {
    use std::hash::BuildHasher;
    let hasher = foldhash::fast::FixedState::default();
    duplicated_by(keys, |key| hasher.hash_one(key))
}

/// [`duplicated`] with the keys' hash given (tests give one that collides).
fn duplicated_by(keys: &Texts, hash: impl Fn(&str) -> u64 + Sync) -> Vec<usize> {
    const SHARDS: usize = 64;
    const BLOCK: usize = 1 << 16;
    let n = keys.len();
    // Each block of rows dealt into shards (rows ascending within each), on
    // all cores; a shard's rows are then its blocks' in order.
    let blocks: Vec<Vec<Vec<(usize, u64)>>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut shards = vec![Vec::new(); SHARDS];
            for i in b * BLOCK..n.min((b + 1) * BLOCK) {
                if let Some(key) = keys.get(i) {
                    // Bits the maps' own use of the hash leaves alone
                    // (hashbrown: the low bits place, the top 7 tag).
                    let h = hash(key);
                    shards[(h >> 32) as usize % SHARDS].push((i, h));
                }
            }
            shards
        })
        .collect();
    // A row already met, and whether it is marked a duplicate yet: a row
    // meeting it marks both.
    fn meet(first: &mut (usize, bool), i: usize, out: &mut Vec<usize>) {
        if !first.1 {
            out.push(first.0);
            first.1 = true;
        }
        out.push(i);
    }
    let mut dup: Vec<usize> = (0..SHARDS)
        .into_par_iter()
        .flat_map_iter(|s| {
            let size = blocks.iter().map(|b| b[s].len()).sum();
            let mut by_hash: HashMap<u64, (usize, bool), std::hash::BuildHasherDefault<Hashed>> =
                HashMap::with_capacity_and_hasher(size, Default::default());
            // Keys whose hash a key of another text has: by their text.
            let mut by_text: HashMap<&str, (usize, bool)> = HashMap::new();
            let mut out = Vec::new();
            for &(i, h) in blocks.iter().flat_map(|b| &b[s]) {
                match by_hash.entry(h) {
                    Entry::Vacant(v) => {
                        v.insert((i, false));
                    }
                    Entry::Occupied(mut o) if keys.get(o.get().0) == keys.get(i) => {
                        meet(o.get_mut(), i, &mut out);
                    }
                    Entry::Occupied(_) => match by_text.entry(keys.get(i).unwrap_or_default()) {
                        Entry::Vacant(v) => {
                            v.insert((i, false));
                        }
                        Entry::Occupied(mut o) => meet(o.get_mut(), i, &mut out),
                    },
                }
            }
            out
        })
        .collect();
    dup.sort_unstable();
    dup
}

/// A hasher for keys that are hashes already (foldhash's, well mixed): the
/// key is its own hash.
#[derive(Default)]
struct Hashed(u64);

impl std::hash::Hasher for Hashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with it; any other input is folded in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Appends one value of a unique key to its text: its length (as one
/// character, code point length + 1; or NUL, the length in digits and `:`
/// for a value of 55,294 bytes or more), then the value, so that keys of
/// several values cannot run together.
fn key_part(key: &mut String, value: &str) {
    match u32::try_from(value.len() + 1).ok().and_then(char::from_u32) {
        Some(c) if (c as u32) < 0xD800 => key.push(c),
        _ => {
            key.push('\0');
            key.push_str(&value.len().to_string());
            key.push(':');
        }
    }
    key.push_str(value);
}

/// The values of a key written by [`key_part`].
fn key_parts(mut key: &str) -> Vec<&str> {
    let mut out = Vec::new();
    while let Some(c) = key.chars().next() {
        let rest = &key[c.len_utf8()..];
        let (len, rest) = if c == '\0' {
            let (digits, rest) = rest.split_once(':').unwrap_or((rest, ""));
            (digits.parse::<usize>().unwrap_or(rest.len()), rest)
        } else {
            (c as usize - 1, rest)
        };
        let len = len.min(rest.len());
        out.push(&rest[..len]);
        key = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows `duplicated` finds on all cores are those a plain count of
    /// every key finds: random keys (few distinct, so that many repeat, and
    /// some rows without a key) over more rows than one block.
    #[test]
    fn duplicated_rows_are_those_whose_key_is_shared() {
        let mut rng = cohortflow_stats::rng::SplitMix64::new(0x2545_f491_4f6c_dd1d);
        let mut next = move || rng.next_u64();
        for (rows, distinct) in [(0, 1), (1, 1), (10, 3), (200_000, 150_000), (70_000, 50)] {
            let mut keys = Texts::default();
            let mut plain: Vec<Option<String>> = Vec::new();
            for _ in 0..rows {
                let v = next();
                let key = (v % 17 != 0).then(|| format!("P-{}", (v >> 8) % distinct));
                keys.push(key.as_deref());
                plain.push(key);
            }
            let mut count: HashMap<&str, usize> = HashMap::new();
            for k in plain.iter().flatten() {
                *count.entry(k).or_default() += 1;
            }
            let expected: Vec<usize> = (0..rows)
                .filter(|&i| plain[i].as_deref().is_some_and(|k| count[k] > 1))
                .collect();
            assert_eq!(duplicated(&keys), expected, "{rows} rows, {distinct} keys");
            // A hash that gives many keys one value: told apart by text.
            let poor = |k: &str| ((k.len() as u64 % 3) << 32) | (k.len() as u64 % 2);
            assert_eq!(
                duplicated_by(&keys, poor),
                expected,
                "{rows} rows, colliding"
            );
        }
    }

    #[test]
    fn key_values_come_back_as_written() {
        let long = "x".repeat(60_000);
        for parts in [
            vec!["P-1"],
            vec!["", "x"],
            vec!["a:b", "12:3", ""],
            vec!["Пол", "3"],
            vec![long.as_str(), "y", long.as_str()],
        ] {
            let mut key = String::new();
            for p in &parts {
                key_part(&mut key, p);
            }
            assert_eq!(key_parts(&key), parts);
        }
        let (mut a, mut b) = (String::new(), String::new());
        key_part(&mut a, "1");
        key_part(&mut a, "23");
        key_part(&mut b, "12");
        key_part(&mut b, "3");
        assert_ne!(a, b);
    }
}
