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
