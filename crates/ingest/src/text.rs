//! Wording helpers shared by the checks and the messages: quoted lists,
//! unit names, and the closest name to a typo.

pub(crate) fn unit_name(u: cohortflow_core::schema::Unit) -> String {
    format!("{u:?}").to_lowercase()
}

pub(crate) fn quoted<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate closest to `name` (edit distance, case-insensitive), if it
/// is close enough to be a plausible typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .map(|c| (levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(name.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
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
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_only() {
        let names = ["sex", "age", "primary_site"];
        assert_eq!(closest("sexx", names.iter().copied()), Some("sex"));
        assert_eq!(
            closest("primary_sit", names.iter().copied()),
            Some("primary_site")
        );
        assert_eq!(closest("weight", names.iter().copied()), None);
    }
}
