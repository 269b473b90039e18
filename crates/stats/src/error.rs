//! The one error type of the crate.

/// Why a statistic could not be computed.
///
/// Every variant names the function (`what`) and the offending input, so a
/// message can be shown to a user as is. The crate never panics on bad input
/// and never returns NaN in place of an error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// An input slice had no elements.
    #[error("{what}: the input is empty (no observations)")]
    EmptyInput {
        /// The function that was called.
        what: &'static str,
    },
    /// Two slices that must be parallel have different lengths.
    #[error(
        "{what}: length mismatch: `{left}` has {left_len} values but `{right}` has {right_len}"
    )]
    LengthMismatch {
        /// The function that was called.
        what: &'static str,
        /// Name of the first argument.
        left: &'static str,
        /// Its length.
        left_len: usize,
        /// Name of the second argument.
        right: &'static str,
        /// Its length.
        right_len: usize,
    },
    /// A time is NaN, infinite or negative.
    #[error("{what}: time[{index}] = {value} is not a finite non-negative number")]
    InvalidTime {
        /// The function that was called.
        what: &'static str,
        /// Position of the value in the input.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("{what}: `{name}`[{index}] = {value} is not a finite number")]
    NonFinite {
        /// The function that was called.
        what: &'static str,
        /// Name of the argument.
        name: &'static str,
        /// Position of the value in the input.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Groups are numbered `0..k` and one of those numbers has no rows.
    #[error(
        "{what}: group {group} has no rows (groups must be numbered 0..k with every number used)"
    )]
    EmptyGroup {
        /// The function that was called.
        what: &'static str,
        /// The group index without rows.
        group: usize,
    },
    /// A comparison needs at least two groups.
    #[error("{what}: {groups} group(s) given; at least 2 are needed")]
    TooFewGroups {
        /// The function that was called.
        what: &'static str,
        /// Number of groups found.
        groups: usize,
    },
    /// There are no events at all, so the test or estimate does not exist.
    #[error("{what}: there are no events, so the test is undefined")]
    NoEvents {
        /// The function that was called.
        what: &'static str,
    },
    /// A model has fewer events than parameters to estimate.
    #[error(
        "{what}: {events} event(s) for {parameters} parameter(s); at least one event per parameter is needed"
    )]
    TooFewEvents {
        /// The function that was called.
        what: &'static str,
        /// Number of events.
        events: usize,
        /// Number of parameters.
        parameters: usize,
    },
    /// A covariate is constant or a linear combination of the covariates
    /// before it (R's `toler.chol` drops it and reports its coefficient as
    /// `NA`).
    #[error(
        "{what}: covariate {covariate} (0-based) is constant or collinear with the covariates before it; remove it"
    )]
    Collinear {
        /// The function that was called.
        what: &'static str,
        /// Index of the covariate (0-based, in the order given).
        covariate: usize,
    },
    /// An iterative fit did not converge within the allowed iterations.
    #[error(
        "{what}: did not converge in {iterations} iterations (R warns \"Ran out of iterations and did not converge\"); raise max_iter or check the data"
    )]
    NotConverged {
        /// The function that was called.
        what: &'static str,
        /// Iterations performed.
        iterations: usize,
    },
    /// A coefficient diverges to infinity (monotone likelihood, e.g. a
    /// covariate that separates events from non-events).
    #[error(
        "{what}: the coefficient of covariate {covariate} (0-based) is infinite (monotone likelihood); R warns \"coefficient may be infinite\""
    )]
    InfiniteCoefficient {
        /// The function that was called.
        what: &'static str,
        /// Index of the covariate (0-based, in the order given).
        covariate: usize,
    },
    /// A counting-process interval `(start, stop]` is empty: `start >= stop`,
    /// or the two became equal when near-tied times were merged.
    #[error(
        "{what}: row {index} has start = {start} and stop = {stop}; an interval (start, stop] needs start < stop"
    )]
    EmptyInterval {
        /// The function that was called.
        what: &'static str,
        /// Row of the interval.
        index: usize,
        /// Its start time.
        start: f64,
        /// Its stop time.
        stop: f64,
    },
    /// A scalar parameter is out of its range.
    #[error("{what}: `{name}` = {value} is invalid; expected {expected}")]
    InvalidParameter {
        /// The function that was called.
        what: &'static str,
        /// Name of the parameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The valid range, in words.
        expected: &'static str,
    },
    /// The data do not allow the statistic (e.g. only one group has any
    /// expected events); `reason` says why.
    #[error("{what}: {reason}")]
    Degenerate {
        /// The function that was called.
        what: &'static str,
        /// Explanation.
        reason: String,
    },
    /// The exact computation would take too long; `reason` says why.
    #[error("{what}: {reason}")]
    TooLarge {
        /// The function that was called.
        what: &'static str,
        /// Explanation.
        reason: String,
    },
}
