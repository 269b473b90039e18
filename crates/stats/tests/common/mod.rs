//! Helpers shared by the conformance tests: reading the JSON files written by
//! `conformance/*.R` and comparing numbers.
//!
//! Tolerance: a value passes when `|actual - expected| <= 1e-9 * |expected|`
//! (relative) or `|actual - expected| <= 1e-12` (absolute, for values at or
//! near 0, where a relative test is meaningless). R's `NA` (JSON `null`) must
//! be matched by `None` (so must R's `NaN` in a confidence limit, see
//! `Checker::limit`), any other R `NaN` (JSON `"NaN"`) by NaN, `Inf` by infinity.
#![allow(dead_code)]

use serde_json::Value;

pub const REL_TOL: f64 = 1e-9;
pub const ABS_TOL: f64 = 1e-12;

pub fn load(file: &str) -> Value {
    let path = format!("{}/../../conformance/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// A JSON number or R special as `Option<f64>`: null -> None.
pub fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::Number(n) => Some(n.as_f64().expect("f64")),
        Value::String(s) if s == "NaN" => Some(f64::NAN),
        Value::String(s) if s == "Inf" => Some(f64::INFINITY),
        Value::String(s) if s == "-Inf" => Some(f64::NEG_INFINITY),
        other => panic!("not a number: {other}"),
    }
}

pub fn nums(v: &Value) -> Vec<Option<f64>> {
    v.as_array().expect("array").iter().map(num).collect()
}

pub fn f64s(v: &Value) -> Vec<f64> {
    nums(v).into_iter().map(|x| x.expect("non-null")).collect()
}

pub fn bools(v: &Value) -> Vec<bool> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|b| b.as_bool().expect("bool"))
        .collect()
}

pub fn usizes(v: &Value) -> Vec<usize> {
    f64s(v).into_iter().map(|x| x as usize).collect()
}

pub fn close(actual: f64, expected: f64) -> bool {
    if expected.is_nan() {
        return actual.is_nan();
    }
    if expected.is_infinite() {
        return actual == expected;
    }
    let d = (actual - expected).abs();
    d <= REL_TOL * expected.abs() || d <= ABS_TOL
}

/// Counts comparisons and collects failures so one run reports all of them.
#[derive(Default)]
pub struct Checker {
    pub compared: usize,
    pub failures: Vec<String>,
    /// Largest relative difference from R among the values compared beyond
    /// the absolute tolerance, and where (reported by `finish`).
    pub worst: (f64, String),
}

impl Checker {
    pub fn num(&mut self, ctx: &str, actual: f64, expected: Option<f64>) {
        self.opt(ctx, Some(actual), expected);
    }

    pub fn opt(&mut self, ctx: &str, actual: Option<f64>, expected: Option<f64>) {
        self.compared += 1;
        let ok = match (actual, expected) {
            (None, None) => true,
            (Some(a), Some(e)) => {
                let d = (a - e).abs();
                if e.is_finite() && e != 0.0 && d > ABS_TOL && d / e.abs() > self.worst.0 {
                    self.worst = (d / e.abs(), ctx.to_string());
                }
                close(a, e)
            }
            _ => false,
        };
        if !ok {
            self.failures
                .push(format!("{ctx}: actual {actual:?}, R {expected:?}"));
        }
    }

    /// A confidence limit: the API has `None` for both R's `NA` and R's `NaN`
    /// (R gives NaN for the plain interval where S = 0).
    pub fn limit(&mut self, ctx: &str, actual: Option<f64>, expected: Option<f64>) {
        self.opt(ctx, actual, expected.filter(|e| !e.is_nan()));
    }

    pub fn finish(self, what: &str, min_compared: usize) {
        assert!(
            self.failures.is_empty(),
            "{what}: {} of {} values differ from R:\n{}",
            self.failures.len(),
            self.compared,
            self.failures.join("\n")
        );
        assert!(
            self.compared >= min_compared,
            "{what}: only {} values compared, expected at least {min_compared}",
            self.compared
        );
        eprintln!("{what}: {} values match R", self.compared);
        if !self.worst.1.is_empty() {
            eprintln!(
                "{what}: worst relative difference {:.2e} ({})",
                self.worst.0, self.worst.1
            );
        }
    }
}
