//! How numbers are written in the report: fixed, few decimals, and words
//! where a number does not exist ("not reached").

/// A p-value: 3 decimals, `< 0.001` and `> 0.999` at the ends.
pub fn p(p: f64) -> String {
    if p.is_nan() {
        "NA".into()
    } else if p < 0.001 {
        "< 0.001".into()
    } else if p > 0.999 {
        "> 0.999".into()
    } else {
        format!("{p:.3}")
    }
}

/// `p = 0.087` or `p < 0.001`.
pub fn p_eq(v: f64) -> String {
    let s = p(v);
    if s.starts_with('<') || s.starts_with('>') {
        format!("p {s}")
    } else {
        format!("p = {s}")
    }
}

/// The significance of a test against alpha, in words that never overstate:
/// "not significant at α = 0.05 (p = 0.087)".
pub fn significance(pv: f64, alpha: f64) -> String {
    let verdict = if pv < alpha {
        "significant"
    } else {
        "not significant"
    };
    format!("{verdict} at α = {} ({})", num(alpha), p_eq(pv))
}

/// A number with `d` decimals; `–` when absent.
pub fn dec(v: Option<f64>, d: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.d$}"),
        _ => "–".into(),
    }
}

/// A time (median, limit): one decimal, "not reached" when absent.
pub fn time(v: Option<f64>) -> String {
    match v {
        Some(x) => format!("{x:.1}"),
        None => "not reached".into(),
    }
}

/// `78.0 [18.9, not reached]`.
pub fn median_ci(est: Option<f64>, lo: Option<f64>, hi: Option<f64>) -> String {
    match est {
        None => format!("not reached [{}, {}]", time(lo), time(hi)),
        Some(_) => format!("{} [{}, {}]", time(est), time(lo), time(hi)),
    }
}

/// A number as short as it reads (`0.05`, `12`, `0.95`).
pub fn num(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('e') {
        format!("{v:.4}")
    } else {
        s
    }
}

/// Text with each R call `name(...)` of `names` set as code (`` `glm(...)` ``),
/// so that a formula's column names read as code, not as prose.
pub fn code_calls(text: &str, names: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for name in names {
            let open = format!("{name}(");
            if rest.starts_with(&open) {
                let mut depth = 0usize;
                for (i, c) in rest.char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                out.push('`');
                                out.push_str(&rest[..=i]);
                                out.push('`');
                                rest = &rest[i + 1..];
                                continue 'outer;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A percentage with one decimal.
pub fn pct(v: f64) -> String {
    format!("{v:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording() {
        assert_eq!(
            significance(0.0871, 0.05),
            "not significant at α = 0.05 (p = 0.087)"
        );
        assert_eq!(
            significance(0.028, 0.05),
            "significant at α = 0.05 (p = 0.028)"
        );
        assert_eq!(
            significance(0.0004, 0.05),
            "significant at α = 0.05 (p < 0.001)"
        );
        assert_eq!(p(0.99999), "> 0.999");
        assert_eq!(
            code_calls("a glm(y ~ f(x), family = binomial) on rows", &["glm"]),
            "a `glm(y ~ f(x), family = binomial)` on rows"
        );
        assert_eq!(
            median_ci(Some(78.0), Some(18.9), None),
            "78.0 [18.9, not reached]"
        );
        assert_eq!(
            median_ci(None, Some(20.0), None),
            "not reached [20.0, not reached]"
        );
    }
}
