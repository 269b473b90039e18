//! The ledger: where every input row went.
//!
//! Each stage records, per source, the rows it received, the rows it removed
//! (rejected as bad data, excluded by a study criterion) with the reason, the
//! rows it flagged without removing, and the rows it passed on. The ledger
//! checks that each line balances (`in = out + removed`) and that each stage
//! received what the previous one passed on, so a lost row is an error of the
//! run, not a silent difference.

use crate::table::csv_field;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Why rows left (or were marked in) a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Bad data: the row is also in `rejects.csv`.
    Rejected,
    /// Removed by a study criterion (cohort attrition).
    Excluded,
    /// Kept, but marked by a rule with action `flag`.
    Flagged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Rejected => "rejected",
            Outcome::Excluded => "excluded",
            Outcome::Flagged => "flagged",
        }
    }
}

/// One stage's account for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageAccount {
    pub stage: String,
    pub source: String,
    pub rows_in: u64,
    /// (outcome, reason, rows), in the order the stage applied its rules;
    /// reasons that matched no row are kept with 0 so the ledger shows them.
    pub outcomes: Vec<(Outcome, String, u64)>,
    pub rows_out: u64,
    /// Ingest of a text export: where every physical line of the file went.
    pub lines: Option<LineAccount>,
}

/// The physical lines of a text export (stage `ingest`, CSV): the lines of
/// the file, counted from its line ends, and what the record reader made of
/// them. `read = before_header + header + records + blank`, or the ledger
/// does not balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineAccount {
    /// Physical lines of the file (`\r\n`, `\r` and `\n` each end one).
    pub read: u64,
    /// Lines skipped above the header (`header_row`).
    pub before_header: u64,
    /// Lines of the header record.
    pub header: u64,
    /// Lines of the records (a record over several lines counts each).
    pub records: u64,
    /// Empty lines between records and at the end, which hold no record.
    pub blank: u64,
}

impl LineAccount {
    /// The lines the reader accounted for.
    pub fn accounted(&self) -> u64 {
        self.before_header + self.header + self.records + self.blank
    }
}

impl StageAccount {
    pub fn new(stage: &str, source: &str, rows_in: u64) -> Self {
        Self {
            stage: stage.to_string(),
            source: source.to_string(),
            rows_in,
            outcomes: Vec::new(),
            rows_out: rows_in,
            lines: None,
        }
    }

    /// Records `rows` removed (rejected or excluded) or flagged for `reason`.
    pub fn add(&mut self, outcome: Outcome, reason: &str, rows: u64) {
        if outcome != Outcome::Flagged {
            self.rows_out = self.rows_out.saturating_sub(rows);
        }
        self.outcomes.push((outcome, reason.to_string(), rows));
    }

    fn removed(&self) -> u64 {
        self.outcomes
            .iter()
            .filter(|(o, _, _)| *o != Outcome::Flagged)
            .map(|(_, _, n)| n)
            .sum()
    }
}

/// One model's account: of the analysed patients it received, those it
/// left out for a missing covariate (`missing = "exclude"`), by covariate,
/// and those it used. `rows_in = rows_used + Σ left out`, and `rows_in`
/// must equal the patients the analysis received, or the ledger does not
/// balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelAccount {
    /// Which model: `<endpoint>: <formula>`.
    pub model: String,
    /// Patients the analysis had for this model.
    pub rows_in: u64,
    /// (covariate, patients left out because it is missing), each patient
    /// under the first covariate it misses.
    pub missing: Vec<(String, u64)>,
    /// Patients in the fitted model.
    pub rows_used: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    accounts: Vec<StageAccount>,
    models: Vec<ModelAccount>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, account: StageAccount) {
        self.accounts.push(account);
    }

    pub fn extend(&mut self, accounts: impl IntoIterator<Item = StageAccount>) {
        self.accounts.extend(accounts);
    }

    pub fn accounts(&self) -> &[StageAccount] {
        &self.accounts
    }

    /// Records a model that may leave patients out (a Cox model with
    /// covariates).
    pub fn push_model(&mut self, account: ModelAccount) {
        self.models.push(account);
    }

    pub fn models(&self) -> &[ModelAccount] {
        &self.models
    }

    /// Patients the last stage passed on, summed over sources: the rows the
    /// analysis receives.
    pub fn analysed(&self) -> u64 {
        let mut last: BTreeMap<&str, u64> = BTreeMap::new();
        for a in &self.accounts {
            last.insert(a.source.as_str(), a.rows_out);
        }
        last.values().sum()
    }

    /// Rows a stage passed on for a source (None if the stage did not record
    /// that source).
    pub fn rows_out(&self, stage: &str, source: &str) -> Option<u64> {
        self.accounts
            .iter()
            .find(|a| a.stage == stage && a.source == source)
            .map(|a| a.rows_out)
    }

    /// Every way in which the ledger does not balance: a line whose rows in
    /// differ from rows out plus rows removed (an account built with `add`
    /// always balances; one assembled by hand may not), or a stage that
    /// received for a source something else than the previous stage passed on.
    pub fn imbalances(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut last_out: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
        for a in &self.accounts {
            if a.rows_in != a.rows_out + a.removed() {
                out.push(format!(
                    "{} / {}: {} rows in, {} out, {} removed",
                    a.stage,
                    a.source,
                    a.rows_in,
                    a.rows_out,
                    a.removed()
                ));
            }
            if let Some(l) = &a.lines
                && l.read != l.accounted()
            {
                out.push(format!(
                    "{} / {}: {} lines in the file, but {} before the header + {} header + {} \
                     records + {} blank = {}",
                    a.stage,
                    a.source,
                    l.read,
                    l.before_header,
                    l.header,
                    l.records,
                    l.blank,
                    l.accounted()
                ));
            }
            if let Some((prev_stage, prev_out)) = last_out.get(a.source.as_str())
                && *prev_out != a.rows_in
            {
                out.push(format!(
                    "{} / {}: received {} rows but {} passed on {}",
                    a.stage, a.source, a.rows_in, prev_stage, prev_out
                ));
            }
            last_out.insert(a.source.as_str(), (a.stage.as_str(), a.rows_out));
        }
        let analysed = self.analysed();
        for m in &self.models {
            let left: u64 = m.missing.iter().map(|(_, n)| n).sum();
            if m.rows_in != m.rows_used + left {
                out.push(format!(
                    "model {}: {} patients in, {} used, {} left out for a missing covariate",
                    m.model, m.rows_in, m.rows_used, left
                ));
            }
            if m.rows_in != analysed {
                out.push(format!(
                    "model {}: received {} patients but the stages passed on {analysed}",
                    m.model, m.rows_in
                ));
            }
        }
        out
    }

    /// `ledger.csv`: one line per count, in stage order, then the models.
    /// Columns: stage, source, item, rows. Items are `in`, `out`, and
    /// `rejected: <reason>` / `excluded: <reason>` / `flagged: <reason>`;
    /// a CSV export's ingest account starts with its lines: `lines read`,
    /// then `lines: before header`, `lines: header`, `lines: records` and
    /// `lines: blank` (these count physical lines, not rows). A model that
    /// left patients out for a missing covariate follows as stage `model`,
    /// its `<endpoint>: <formula>` as source, items `in`, `left out:
    /// missing <covariate>` and `used`.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("stage,source,item,rows\n");
        for a in &self.accounts {
            if let Some(l) = &a.lines {
                let src = csv_field(&a.source);
                for (item, n) in [
                    ("lines read", l.read),
                    ("lines: before header", l.before_header),
                    ("lines: header", l.header),
                    ("lines: records", l.records),
                    ("lines: blank", l.blank),
                ] {
                    let _ = writeln!(s, "{},{src},{item},{n}", a.stage);
                }
            }
            let _ = writeln!(s, "{},{},in,{}", a.stage, csv_field(&a.source), a.rows_in);
            for (o, reason, n) in &a.outcomes {
                let item = format!("{}: {}", o.as_str(), reason);
                let _ = writeln!(
                    s,
                    "{},{},{},{}",
                    a.stage,
                    csv_field(&a.source),
                    csv_field(&item),
                    n
                );
            }
            let _ = writeln!(s, "{},{},out,{}", a.stage, csv_field(&a.source), a.rows_out);
        }
        for m in &self.models {
            let model = csv_field(&m.model);
            let _ = writeln!(s, "model,{model},in,{}", m.rows_in);
            for (column, n) in &m.missing {
                let item = csv_field(&format!("left out: missing {column}"));
                let _ = writeln!(s, "model,{model},{item},{n}");
            }
            let _ = writeln!(s, "model,{model},used,{}", m.rows_used);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_chain_has_no_imbalance() {
        let mut l = Ledger::new();
        let mut a = StageAccount::new("ingest", "a", 10);
        a.add(Outcome::Rejected, "bad date", 2);
        a.add(Outcome::Flagged, "odd size", 1);
        assert_eq!(a.rows_out, 8);
        l.push(a);
        let mut b = StageAccount::new("clean", "a", 8);
        b.add(Outcome::Rejected, "rule", 0);
        l.push(b);
        assert!(l.imbalances().is_empty(), "{:?}", l.imbalances());
        assert_eq!(
            l.to_csv(),
            "stage,source,item,rows\ningest,a,in,10\ningest,a,rejected: bad date,2\n\
             ingest,a,flagged: odd size,1\ningest,a,out,8\nclean,a,in,8\n\
             clean,a,rejected: rule,0\nclean,a,out,8\n"
        );
    }

    #[test]
    fn models_leaving_patients_out_are_in_the_ledger_and_must_add_up() {
        let mut l = Ledger::new();
        let mut a = StageAccount::new("cohort", "a", 10);
        a.add(Outcome::Excluded, "adults", 2);
        l.push(a);
        l.push(StageAccount::new("cohort", "b", 5));
        assert_eq!(l.analysed(), 13);
        let model = ModelAccount {
            model: "os: Surv(time, event) ~ arm + size".into(),
            rows_in: 13,
            missing: vec![("size".into(), 3)],
            rows_used: 10,
        };
        l.push_model(model.clone());
        assert!(l.imbalances().is_empty(), "{:?}", l.imbalances());
        assert!(l.to_csv().ends_with(
            "model,\"os: Surv(time, event) ~ arm + size\",in,13\n\
             model,\"os: Surv(time, event) ~ arm + size\",left out: missing size,3\n\
             model,\"os: Surv(time, event) ~ arm + size\",used,10\n"
        ));
        // A patient neither used nor left out, or a model on other patients.
        let mut lost = l.clone();
        lost.models.clear();
        lost.push_model(ModelAccount {
            rows_used: 9,
            ..model.clone()
        });
        lost.push_model(ModelAccount {
            rows_in: 12,
            rows_used: 9,
            ..model
        });
        assert_eq!(lost.imbalances().len(), 2, "{:?}", lost.imbalances());
    }

    #[test]
    fn lines_are_in_the_ledger_and_must_add_up() {
        let mut a = StageAccount::new("ingest", "a", 3);
        a.lines = Some(LineAccount {
            read: 6,
            before_header: 1,
            header: 1,
            records: 3,
            blank: 1,
        });
        let mut l = Ledger::new();
        l.push(a.clone());
        assert!(l.imbalances().is_empty(), "{:?}", l.imbalances());
        assert_eq!(
            l.to_csv(),
            "stage,source,item,rows\ningest,a,lines read,6\ningest,a,lines: before header,1\n\
             ingest,a,lines: header,1\ningest,a,lines: records,3\ningest,a,lines: blank,1\n\
             ingest,a,in,3\ningest,a,out,3\n"
        );
        a.lines.as_mut().unwrap().blank = 0;
        let mut l = Ledger::new();
        l.push(a);
        let problems = l.imbalances();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("6 lines in the file"), "{problems:?}");
    }

    #[test]
    fn lost_rows_are_reported() {
        let mut l = Ledger::new();
        l.push(StageAccount::new("ingest", "a", 10));
        let mut hand = StageAccount::new("clean", "a", 9);
        hand.rows_out = 7;
        l.push(hand);
        let problems = l.imbalances();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("9 rows in, 7 out, 0 removed"));
        assert!(problems[1].contains("received 9 rows but ingest passed on 10"));
    }
}
