//! What the derive stage decided about each row, as small codes: the first
//! reason a row cannot be kept, and the flags it collects.
//!
//! A row's verdict is a `u32` (0: kept; `k`: the `k`-th distinct reason)
//! and its flags are kept apart, as (row, flag) pairs in the order they
//! were raised: most rows have neither. Per row the stage holds 4 bytes, not
//! an `Option<(String, Vec<String>)>` and a `Vec<String>` (72 bytes, and an
//! allocation per reason or flag raised): 720 MB on ten million rows.

/// The reasons and flags of a frame's rows.
pub(crate) struct Verdicts {
    /// Per row: 0 kept, `k` rejected for `reasons[k - 1]`.
    code: Vec<u32>,
    /// Each distinct reason: its text and the columns it was judged on.
    reasons: Vec<(String, Vec<String>)>,
    /// (row, index into `flag_names`), in the order raised.
    flagged: Vec<(usize, u32)>,
    flag_names: Vec<String>,
}

impl Verdicts {
    /// Every one of `rows` rows kept, none flagged.
    pub(crate) fn new(rows: usize) -> Self {
        Self {
            code: vec![0; rows],
            reasons: Vec::new(),
            flagged: Vec::new(),
            flag_names: Vec::new(),
        }
    }

    /// Whether row `i` has no reason to be rejected (yet).
    pub(crate) fn kept(&self, i: usize) -> bool {
        self.code[i] == 0
    }

    /// Whether no row is rejected.
    pub(crate) fn all_kept(&self) -> bool {
        self.code.iter().all(|c| *c == 0)
    }

    /// Rejects row `i` for `why` (judged on `columns`), unless an earlier
    /// reason already did: a row keeps its first reason.
    pub(crate) fn reject(&mut self, i: usize, why: &str, columns: &[String]) {
        if self.code[i] != 0 {
            return;
        }
        let k = match self
            .reasons
            .iter()
            .position(|(w, c)| w == why && c == columns)
        {
            Some(k) => k,
            None => {
                self.reasons.push((why.to_string(), columns.to_vec()));
                self.reasons.len() - 1
            }
        };
        self.code[i] = k as u32 + 1;
    }

    /// Flags row `i` with `why`.
    pub(crate) fn flag(&mut self, i: usize, why: &str) {
        let k = match self.flag_names.iter().position(|w| w == why) {
            Some(k) => k,
            None => {
                self.flag_names.push(why.to_string());
                self.flag_names.len() - 1
            }
        };
        self.flagged.push((i, k as u32));
    }

    /// Row `i`'s reason and the columns it was judged on, if rejected.
    pub(crate) fn reason(&self, i: usize) -> Option<&(String, Vec<String>)> {
        match self.code[i] {
            0 => None,
            k => Some(&self.reasons[k as usize - 1]),
        }
    }

    /// The distinct reason texts, sorted.
    pub(crate) fn reason_texts(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.reasons.iter().map(|(w, _)| w.as_str()).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Per row: rejected with the reason text `why`.
    pub(crate) fn rejected_for(&self, why: &str) -> Vec<bool> {
        let codes: Vec<u32> = (0..self.reasons.len())
            .filter(|&k| self.reasons[k].0 == why)
            .map(|k| k as u32 + 1)
            .collect();
        self.code.iter().map(|c| codes.contains(c)).collect()
    }

    /// Per row: kept.
    pub(crate) fn keep_mask(&self) -> Vec<bool> {
        self.code.iter().map(|c| *c == 0).collect()
    }

    /// The distinct flag texts, sorted.
    pub(crate) fn flag_texts(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.flag_names.iter().map(String::as_str).collect();
        all.sort_unstable();
        all
    }

    /// Per row: kept and flagged with `why`.
    pub(crate) fn kept_and_flagged(&self, why: &str) -> Vec<bool> {
        let mut mask = vec![false; self.code.len()];
        if let Some(k) = self.flag_names.iter().position(|w| w == why) {
            for &(i, f) in &self.flagged {
                if f as usize == k && self.code[i] == 0 {
                    mask[i] = true;
                }
            }
        }
        mask
    }

    /// Each flagged row with its flags in the order raised, rows ascending.
    pub(crate) fn flags_by_row(&self) -> Vec<(usize, Vec<&str>)> {
        let mut pairs = self.flagged.clone();
        // Stable: a row's flags stay in the order they were raised.
        pairs.sort_by_key(|(i, _)| *i);
        let mut out: Vec<(usize, Vec<&str>)> = Vec::new();
        for (i, f) in pairs {
            let name = self.flag_names[f as usize].as_str();
            match out.last_mut() {
                Some((row, names)) if *row == i => names.push(name),
                _ => out.push((i, vec![name])),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_keeps_its_first_reason_and_every_flag_in_order() {
        let mut v = Verdicts::new(4);
        let cols = vec!["a".to_string()];
        v.reject(1, "late", &cols);
        v.reject(1, "early", &cols);
        v.reject(2, "early", &[]);
        v.reject(3, "late", &cols);
        assert!(v.kept(0) && !v.kept(1) && !v.all_kept());
        assert_eq!(v.reason(1).unwrap().0, "late");
        assert_eq!(v.reason(2).unwrap(), &("early".to_string(), vec![]));
        assert_eq!(v.reason_texts(), ["early", "late"]);
        assert_eq!(v.rejected_for("late"), [false, true, false, true]);
        assert_eq!(v.keep_mask(), [true, false, false, false]);

        v.flag(3, "z");
        v.flag(0, "z");
        v.flag(0, "a");
        assert_eq!(v.flag_texts(), ["a", "z"]);
        // Row 3 is rejected: its flag is not counted.
        assert_eq!(v.kept_and_flagged("z"), [true, false, false, false]);
        assert_eq!(v.flags_by_row(), [(0, vec!["z", "a"]), (3, vec!["z"])]);
    }
}
