//! Wording helpers shared by the checks and the messages: quoted lists,
//! unit names, and the closest name to a typo (`cohortflow_core::problem`).

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

pub(crate) use cohortflow_core::problem::closest;
