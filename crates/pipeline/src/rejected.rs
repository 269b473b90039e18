//! A source that loses too many rows to rejects fails the run: by default
//! when every one of its rows is rejected, or beyond its `max_rejected`
//! fraction (`[source]`, cohortflow-ingest's `SourceConfig`).

use crate::error::{Error, LocatedProblem};
use cohortflow_core::ledger::{Ledger, Outcome};
use cohortflow_ingest::Source;

/// `max_rejected` must be a fraction from 0 to 1. Checked before any data is
/// read.
pub(crate) fn check_config(sources: &[Source]) -> Result<(), Error> {
    let problems: Vec<LocatedProblem> = sources
        .iter()
        .filter_map(|s| {
            let limit = s.config.max_rejected.as_ref()?;
            let value = *limit.get_ref();
            if (0.0..=1.0).contains(&value) {
                return None;
            }
            Some(LocatedProblem {
                file: s.file.clone(),
                line: Some(s.line_of(limit.span().start) as usize),
                column: None,
                key: "source.max_rejected".into(),
                message: format!("{value} is not a fraction of the rows"),
                expected: "a number from 0 to 1, e.g. 0.05 (5 % of the rows)".into(),
            })
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Config(problems))
    }
}

/// Checks every source against its limit, from the ledger of the stages that
/// reject (ingest, clean, derive). Names counts and reasons, never values.
///
/// Rows set aside by the linkage (`not_errors`: the same patient is kept
/// from another source) are not data errors and do not count: a small
/// export whose patients are all linked to another centre is not broken.
pub(crate) fn check(sources: &[Source], ledger: &Ledger, not_errors: &[&str]) -> Result<(), Error> {
    for source in sources {
        let name = &source.config.name;
        let accounts: Vec<_> = ledger
            .accounts()
            .iter()
            .filter(|a| &a.source == name)
            .collect();
        let Some(read) = accounts
            .iter()
            .find(|a| a.stage == "ingest")
            .map(|a| a.rows_in)
        else {
            continue;
        };
        let mut by_stage: Vec<(String, u64)> = Vec::new();
        let mut reasons: Vec<(String, u64)> = Vec::new();
        for a in &accounts {
            let counts = |o: &Outcome, reason: &str| {
                *o == Outcome::Rejected && !not_errors.contains(&reason)
            };
            let n: u64 = a
                .outcomes
                .iter()
                .filter(|(o, r, _)| counts(o, r))
                .map(|(_, _, n)| n)
                .sum();
            if n > 0 {
                by_stage.push((a.stage.clone(), n));
            }
            for (o, reason, n) in &a.outcomes {
                if counts(o, reason) && *n > 0 {
                    reasons.push((format!("{}: {reason}", a.stage), *n));
                }
            }
        }
        let rejected: u64 = by_stage.iter().map(|(_, n)| n).sum();
        if read == 0 {
            continue;
        }
        let limit = source.config.max_rejected.as_ref();
        let too_many = match limit {
            Some(f) => rejected as f64 > *f.get_ref() * read as f64,
            None => rejected == read,
        };
        if !too_many {
            continue;
        }
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let shown: Vec<String> = reasons
            .iter()
            .take(3)
            .map(|(r, n)| format!("{r} ({n})"))
            .collect();
        let more = if reasons.len() > 3 {
            format!(" and {} more", reasons.len() - 3)
        } else {
            String::new()
        };
        let stages: Vec<String> = by_stage.iter().map(|(s, n)| format!("{s} {n}")).collect();
        let file = source.file.display();
        let (rule, key_line) = match limit {
            Some(f) => (
                format!(
                    "more than its max_rejected = {} allows ({}:{})",
                    f.get_ref(),
                    file,
                    source.line_of(f.span().start)
                ),
                "raise `max_rejected`",
            ),
            None => (
                "every row of the export was rejected, which fails the run unless \
                 `max_rejected` says otherwise"
                    .to_string(),
                "declare `max_rejected` (a fraction from 0 to 1)",
            ),
        };
        return Err(Error::Rejected {
            source: name.clone(),
            message: format!(
                "{rejected} of its {read} rows were rejected ({}), {rule}. Most frequent \
                 reasons: {}{more}. Fix the export or the source file {file}; if the rejects \
                 are expected, {key_line} under [source] in {file} (max_rejected = 1 accepts \
                 any number, and writes them to rejects.csv for you to read)",
                stages.join(", "),
                shown.join("; "),
            ),
        });
    }
    Ok(())
}
