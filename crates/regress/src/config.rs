//! The `[regression]` section of a pipeline file: how far each kind of
//! output may move before `cohortflow check` and `cohortflow diff` call it a
//! change.

use serde::{Deserialize, Serialize};

/// `[regression]`: tolerances per kind of field. Counts are compared
/// absolutely (default 0: exact), estimates relatively (default 1e-9),
/// p-values absolutely (default 1e-9). Text (test names, labels, Table 1
/// cells) is always compared exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegressionConfig {
    /// Largest allowed absolute change of a count (patients, events, rows,
    /// degrees of freedom).
    #[serde(default)]
    pub counts_absolute: Tolerance,
    /// Largest allowed relative change of an estimate: |new - old| <=
    /// tolerance * max(|old|, |new|).
    #[serde(default = "default_relative")]
    pub estimates_relative: Tolerance,
    /// Largest allowed absolute change of a p-value.
    #[serde(default = "default_p_values")]
    pub p_values_absolute: Tolerance,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        RegressionConfig {
            counts_absolute: Tolerance(0.0),
            estimates_relative: default_relative(),
            p_values_absolute: default_p_values(),
        }
    }
}

fn default_relative() -> Tolerance {
    Tolerance(1e-9)
}

fn default_p_values() -> Tolerance {
    Tolerance(1e-9)
}

/// A tolerance: a finite number, zero or more. A negative or non-finite
/// value is refused when the pipeline file is read, with its line.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Tolerance(pub f64);

impl TryFrom<f64> for Tolerance {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if v.is_finite() && v >= 0.0 {
            Ok(Tolerance(v))
        } else {
            Err(format!(
                "a tolerance must be a finite number, 0 or more (got {v}); 0 means exact"
            ))
        }
    }
}

impl From<Tolerance> for f64 {
    fn from(t: Tolerance) -> f64 {
        t.0
    }
}

impl RegressionConfig {
    /// One line for people: what the tolerances are.
    pub fn describe(&self) -> String {
        let counts = if self.counts_absolute.0 == 0.0 {
            "counts exact".to_string()
        } else {
            format!("counts ±{}", self.counts_absolute.0)
        };
        format!(
            "{counts}, estimates {:e} relative, p-values {:e} absolute",
            self.estimates_relative.0, self.p_values_absolute.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_json_round_trip() {
        let c: RegressionConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, RegressionConfig::default());
        let c: RegressionConfig =
            serde_json::from_str(r#"{"estimates_relative": 0.01, "counts_absolute": 1}"#).unwrap();
        assert_eq!(c.estimates_relative.0, 0.01);
        assert_eq!(c.counts_absolute.0, 1.0);
        assert_eq!(
            c.describe(),
            "counts ±1, estimates 1e-2 relative, p-values 1e-9 absolute"
        );
    }

    #[test]
    fn negative_tolerance_and_unknown_keys_are_refused() {
        let e = serde_json::from_str::<RegressionConfig>(r#"{"p_values_absolute": -1}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("0 or more"), "{e}");
        let e = serde_json::from_str::<RegressionConfig>(r#"{"estimates": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
    }
}
