//! Problems found in a configuration file before any data is read.

use std::ops::Range;

/// One thing wrong with a configuration file. The span (bytes in the file
/// the configuration came from) lets the pipeline crate name the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key path, e.g. `clean.rule[2].check`.
    pub key: String,
    /// Byte range of the offending value in its file, when known.
    pub span: Option<Range<usize>>,
    /// What is wrong.
    pub message: String,
    /// What was expected, or how to fix it.
    pub expected: String,
}

impl ConfigProblem {
    pub fn new(
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            span,
            message: message.into(),
            expected: expected.into(),
        }
    }
}

/// The candidate closest to `name` (edit distance, case-insensitive), if it
/// is close enough to be a plausible typo: at most a third of the longer
/// name's characters (at least one) differ. For "did you mean" in messages.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .map(|c| (levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(name.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `; did you mean 'x'?` when a candidate is close to `name`, else empty.
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    closest(name, candidates).map_or_else(String::new, |c| format!("; did you mean '{c}'?"))
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod closest_tests {
    use super::*;

    #[test]
    fn closest_finds_typos_only() {
        let names = ["sex", "primary_site", "tumour_size"];
        assert_eq!(closest("sexx", names.iter().copied()), Some("sex"));
        assert_eq!(
            closest("primary_sit", names.iter().copied()),
            Some("primary_site")
        );
        assert_eq!(closest("weight", names.iter().copied()), None);
        assert_eq!(
            did_you_mean("tumor_size", names.iter().copied()),
            "; did you mean 'tumour_size'?"
        );
    }
}
