//! Tests across k groups and the tests a pipeline can name per Table 1
//! variable, against R (`conformance/kgroups.R` → `conformance/kgroups.json`,
//! real data from veteran, gbsg and lung): `kruskal.test`,
//! `summary(aov())`, `chisq.test` with and without correction,
//! `fisher.test`. 1e-9 relative.

use cohortflow_stats::{
    ContinuousComparison, NamedTest, compare_categorical, compare_continuous_groups,
    kruskal_wallis, one_way_anova,
};
use serde_json::Value;

fn doc() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/kgroups.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(got: f64, want: &Value, what: &str) {
    let w = want
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: R gave {want}"));
    assert!(
        (got - w).abs() <= 1e-9 * w.abs().max(1e-300),
        "{what}: cohortflow {got}, R {w}"
    );
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn kruskal_wallis_and_anova_equal_r() {
    let doc = doc();
    let mut checked = 0;
    for case in doc["continuous"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let groups: Vec<Vec<f64>> = case["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(numbers)
            .collect();
        let slices: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
        let k = kruskal_wallis(&slices).unwrap();
        close(
            k.statistic,
            &case["kruskal"]["statistic"],
            &format!("{name}: H"),
        );
        close(k.df as f64, &case["kruskal"]["df"], &format!("{name}: df"));
        close(
            k.p_value,
            &case["kruskal"]["p_value"],
            &format!("{name}: p"),
        );
        let a = one_way_anova(&slices).unwrap();
        close(a.f, &case["anova"]["f"], &format!("{name}: F"));
        close(
            a.df_groups as f64,
            &case["anova"]["df1"],
            &format!("{name}: df1"),
        );
        close(
            a.df_residual as f64,
            &case["anova"]["df2"],
            &format!("{name}: df2"),
        );
        close(
            a.p_value,
            &case["anova"]["p_value"],
            &format!("{name}: F p"),
        );
        // Through the Table 1 entry point, by name and by the rule.
        let named = compare_continuous_groups(
            &slices,
            Some(NamedTest::KruskalWallis),
            ContinuousComparison::Wilcoxon,
        )
        .unwrap();
        close(
            named.p_value,
            &case["kruskal"]["p_value"],
            &format!("{name}: named"),
        );
        let rule = compare_continuous_groups(&slices, None, ContinuousComparison::Welch).unwrap();
        if groups.len() > 2 {
            close(
                rule.statistic.unwrap(),
                &case["anova"]["f"],
                &format!("{name}: rule"),
            );
        }
        checked += 9;
    }
    assert!(checked >= 60, "{checked}");
}

#[test]
fn named_tests_of_counts_equal_r() {
    let doc = doc();
    for case in doc["counts"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let table: Vec<Vec<u64>> = case["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| numbers(r).iter().map(|&x| x as u64).collect())
            .collect();
        for (test, key) in [
            (NamedTest::ChiSquare, "chisq"),
            (NamedTest::ChiSquareYates, "chisq_yates"),
        ] {
            let c = compare_categorical(&table, Some(test)).unwrap().unwrap();
            close(
                c.statistic.unwrap(),
                &case[key]["statistic"],
                &format!("{name}: {key} X2"),
            );
            close(
                c.df.unwrap(),
                &case[key]["df"],
                &format!("{name}: {key} df"),
            );
            close(
                c.p_value,
                &case[key]["p_value"],
                &format!("{name}: {key} p"),
            );
        }
        let f = compare_categorical(&table, Some(NamedTest::Fisher))
            .unwrap()
            .unwrap();
        close(
            f.p_value,
            &case["fisher"]["p_value"],
            &format!("{name}: fisher"),
        );
        assert!(f.statistic.is_none());
    }
}

#[test]
fn a_two_group_test_named_for_three_groups_is_refused() {
    let (a, b, c) = ([1.0, 2.0], [3.0, 4.0], [5.0, 6.0]);
    let groups: Vec<&[f64]> = vec![&a, &b, &c];
    assert!(
        compare_continuous_groups(
            &groups,
            Some(NamedTest::Wilcoxon),
            ContinuousComparison::Wilcoxon
        )
        .is_err()
    );
    assert!(kruskal_wallis(&[&a]).is_err());
    assert!(one_way_anova(&[&[1.0], &[2.0]]).is_err());
}
