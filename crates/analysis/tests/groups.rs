//! Studies of one, three and four groups against R (`conformance/groups.R`
//! → `conformance/groups.json`): Kaplan–Meier per group, the curve at
//! declared times, median follow-up by reverse Kaplan–Meier, the log-rank
//! test between all groups (none for one group), and pairwise log-rank tests
//! with every `p.adjust` method. The analysis stage runs on the same real
//! data (veteran, gbsg, and mgus2 in months) as R did; every value must
//! agree to 1e-9 relative.

use cohortflow_analysis::{AnalysisConfig, ArmInfo, EndpointColumns, analyse};
use cohortflow_core::time::TimeUnit;
use polars::prelude::*;
use serde_json::Value;
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A column of a fixtures/real CSV file, as text (quotes stripped).
fn column(file: &str, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("fixtures/real").join(file)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let k = header
        .iter()
        .position(|h| h.trim_matches('"') == name)
        .unwrap_or_else(|| panic!("{file}: no column {name}"));
    lines
        .map(|l| l.split(',').nth(k).unwrap().trim_matches('"').to_string())
        .collect()
}

fn close(got: Option<f64>, want: &Value, what: &str) {
    if want.as_str() == Some("NaN") {
        assert!(
            got.is_some_and(f64::is_nan),
            "{what}: cohortflow {got:?}, R NaN"
        );
        return;
    }
    match (got, want.as_f64()) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            let tol = 1e-9 * w.abs().max(1e-3);
            assert!((g - w).abs() <= tol, "{what}: cohortflow {g}, R {w}");
        }
        (g, _) => panic!("{what}: cohortflow {g:?}, R {want}"),
    }
}

#[test]
fn one_three_and_four_group_studies_equal_r() {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("conformance/groups.json")).unwrap(),
    )
    .unwrap();
    let methods = ["holm", "hochberg", "bonferroni", "BH", "BY"];
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let file = match name.split('_').next() {
            Some("veteran") => "veteran.csv",
            Some("mgus2") => "mgus2.csv",
            _ => "gbsg.csv",
        };
        let time: Vec<f64> = column(file, case["time"].as_str().unwrap())
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        let status: Vec<f64> = column(file, case["status"].as_str().unwrap())
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        let max = status.iter().cloned().fold(f64::MIN, f64::max);
        let event: Vec<bool> = status.iter().map(|s| *s == max).collect();
        let group = case["group"].as_str().unwrap();
        let arm: Vec<String> = if group.is_empty() {
            vec!["cohort".into(); time.len()]
        } else {
            column(file, group)
        };
        let levels: Vec<String> = case["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let arms: Vec<ArmInfo> = levels
            .iter()
            .map(|l| ArmInfo {
                name: l.clone(),
                label: l.clone(),
            })
            .collect();
        let frame = DataFrame::new_infer_height(vec![
            Column::new("os_time".into(), &time),
            Column::new("os_event".into(), &event),
            Column::new("arm".into(), &arm),
        ])
        .unwrap();
        let at: Vec<String> = case["at"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        for method in methods {
            let cfg: AnalysisConfig = toml::from_str(&format!(
                "endpoints = [\"os\"]\nat = [{}]\npairwise = \"{method}\"\n",
                at.join(", ")
            ))
            .unwrap();
            let endpoint = EndpointColumns {
                name: "os".into(),
                label: "Overall survival".into(),
                unit: if name.ends_with("_months") {
                    TimeUnit::Months
                } else {
                    TimeUnit::Days
                },
                time: "os_time".into(),
                event: "os_event".into(),
                origin: None,
                competing: None,
            };
            let a = analyse(&cfg, &arms, &[endpoint], "arm", &frame, Some(&frame)).unwrap();
            let ep = &a.results.endpoints[0];
            let groups = case["groups"].as_array().unwrap();
            assert_eq!(ep.by_arm.len(), groups.len(), "{name}: groups");
            for (s, r) in ep.by_arm.iter().zip(groups) {
                let what = |f: &str| format!("{name} {}: {f}", s.arm);
                assert_eq!(s.arm, r["group"].as_str().unwrap());
                assert_eq!(s.n, r["n"].as_u64().unwrap(), "{}", what("n"));
                close(Some(s.events), &r["events"], &what("events"));
                close(s.median.estimate, &r["median"], &what("median"));
                close(s.median.lower, &r["median_lower"], &what("median lower"));
                close(s.median.upper, &r["median_upper"], &what("median upper"));
                close(
                    s.median_follow_up.estimate,
                    &r["follow_up"],
                    &what("follow-up"),
                );
                close(
                    s.median_follow_up.lower,
                    &r["follow_up_lower"],
                    &what("follow-up lower"),
                );
                close(
                    s.median_follow_up.upper,
                    &r["follow_up_upper"],
                    &what("follow-up upper"),
                );
                for (k, at) in s.survival_at.iter().enumerate() {
                    let w = |f: &str| format!("{} at {}", what(f), at.time);
                    close(Some(at.surv), &r["surv"][k], &w("surv"));
                    close(at.lower, &r["lower"][k], &w("lower"));
                    close(at.upper, &r["upper"][k], &w("upper"));
                    close(Some(at.std_err), &r["std_err"][k], &w("std.err"));
                    close(Some(at.n_risk), &r["n_risk"][k], &w("n.risk"));
                    checked += 5;
                }
                checked += 7;
            }
            match (&ep.log_rank, case.get("log_rank")) {
                (None, None) => assert!(ep.pairwise.is_empty()),
                (Some(l), Some(r)) => {
                    close(Some(l.chisq), &r["chisq"], &format!("{name}: chisq"));
                    close(Some(l.p_value), &r["p_value"], &format!("{name}: p"));
                    assert_eq!(l.df as u64, r["df"].as_u64().unwrap());
                    let pairs = case["pairwise"].as_array().unwrap();
                    assert_eq!(ep.pairwise.len(), pairs.len());
                    for (p, r) in ep.pairwise.iter().zip(pairs) {
                        let w = format!("{name}: {} vs {}", p.a, p.b);
                        assert_eq!(
                            (p.a.as_str(), p.b.as_str()),
                            (r["a"].as_str().unwrap(), r["b"].as_str().unwrap())
                        );
                        close(Some(p.chisq), &r["chisq"], &format!("{w} chisq"));
                        close(Some(p.p_value), &r["p_value"], &format!("{w} p"));
                        close(
                            Some(p.p_adjusted),
                            &r[format!("p_{method}")],
                            &format!("{w} p {method}"),
                        );
                        checked += 3;
                    }
                    checked += 2;
                }
                (l, r) => panic!("{name}: log-rank {l:?} vs R {r:?}"),
            }
        }
    }
    assert!(checked > 500, "only {checked} values checked");
}

#[test]
fn an_empty_arm_is_counted_and_left_out_of_the_comparison() {
    let time = [5.0, 8.0, 12.0, 3.0, 9.0];
    let event = [true, false, true, true, true];
    let arm = ["A", "A", "A", "B", "B"];
    let frame = DataFrame::new_infer_height(vec![
        Column::new("os_time".into(), &time),
        Column::new("os_event".into(), &event),
        Column::new("arm".into(), &arm),
    ])
    .unwrap();
    let arms: Vec<ArmInfo> = ["A", "B", "C"]
        .iter()
        .map(|a| ArmInfo {
            name: a.to_string(),
            label: a.to_string(),
        })
        .collect();
    let cfg: AnalysisConfig = toml::from_str("endpoints = [\"os\"]").unwrap();
    let endpoint = EndpointColumns {
        name: "os".into(),
        label: "OS".into(),
        unit: TimeUnit::Months,
        time: "os_time".into(),
        event: "os_event".into(),
        origin: None,
        competing: None,
    };
    let a = analyse(&cfg, &arms, &[endpoint], "arm", &frame, Some(&frame)).unwrap();
    let counts: Vec<u64> = a.results.arms.iter().map(|a| a.n).collect();
    assert_eq!(counts, [3, 2, 0]);
    let ep = &a.results.endpoints[0];
    assert_eq!(ep.by_arm.len(), 2);
    assert_eq!(ep.log_rank.as_ref().unwrap().arms, ["A", "B"]);
    assert!(
        a.results
            .warnings
            .iter()
            .any(|w| w.contains("arm C has no patients"))
    );
}
