//! Why a row is set aside at ingest: the reasons, in ledger order.

/// Reasons a row is rejected at ingest, in the order the ledger lists them.
pub const REASONS: [&str; 15] = [
    REASON_FIELDS,
    REASON_QUOTE,
    REASON_BLANK,
    REASON_CELL_ERROR,
    REASON_MERGED,
    REASON_FORMULA,
    REASON_CHARACTER,
    REASON_MISSING,
    REASON_UNKNOWN_CODE,
    REASON_LEVEL,
    REASON_NUMBER,
    REASON_INTEGER,
    REASON_BOOLEAN,
    REASON_DATE,
    REASON_DATE_RANGE,
];
pub const REASON_FIELDS: &str = "wrong number of fields";
pub const REASON_QUOTE: &str = "stray quote";
pub const REASON_BLANK: &str = "blank row";
pub const REASON_CELL_ERROR: &str = "cell error";
pub const REASON_MERGED: &str = "merged cell";
pub const REASON_FORMULA: &str = "formula without a value";
pub const REASON_CHARACTER: &str = "character that is not text";
pub const REASON_MISSING: &str = "missing required value";
pub const REASON_UNKNOWN_CODE: &str = "unknown code";
pub const REASON_LEVEL: &str = "not a level";
pub const REASON_NUMBER: &str = "not a number";
pub const REASON_INTEGER: &str = "not an integer";
pub const REASON_BOOLEAN: &str = "not a boolean";
pub const REASON_DATE: &str = "unparseable date";
pub const REASON_DATE_RANGE: &str = "date out of range";
