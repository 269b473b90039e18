//! `cox_ph` and `cox_zph` against R's coxph, summary.coxph and cox.zph, from
//! `conformance/cox.json` (written by `conformance/cox.R`). Tolerance: see
//! `common/mod.rs` (1e-9 relative, 1e-12 absolute near zero), for every
//! value, p-values included.

mod common;

use cohortflow_stats::{
    CoxData, CoxOptions, CoxVariance, StatsError, Test, Ties, ZphTransform, cox_ph, cox_ph_zph,
    cox_zph,
};
use common::{Checker, bools, f64s, load, num, usizes};
use serde_json::Value;

struct Input {
    start: Option<Vec<f64>>,
    stop: Vec<f64>,
    event: Vec<bool>,
    covariates: Vec<Vec<f64>>,
    strata: Option<Vec<usize>>,
}

impl Input {
    fn read(v: &Value) -> Input {
        Input {
            start: (!v["start"].is_null()).then(|| f64s(&v["start"])),
            stop: f64s(&v["stop"]),
            event: bools(&v["event"]),
            covariates: v["covariates"]
                .as_array()
                .unwrap()
                .iter()
                .map(f64s)
                .collect(),
            strata: (!v["strata"].is_null()).then(|| usizes(&v["strata"])),
        }
    }
}

fn with_data<T>(input: &Input, f: impl FnOnce(&CoxData) -> T) -> T {
    let cols: Vec<&[f64]> = input.covariates.iter().map(|c| c.as_slice()).collect();
    let data = CoxData {
        start: input.start.as_deref(),
        stop: &input.stop,
        event: &input.event,
        covariates: &cols,
        strata: input.strata.as_deref(),
    };
    f(&data)
}

fn check_test(ck: &mut Checker, ctx: &str, ours: &Test, r: &Value) {
    ck.num(
        &format!("{ctx} statistic"),
        ours.statistic,
        num(&r["statistic"]),
    );
    ck.num(&format!("{ctx} df"), ours.df as f64, num(&r["df"]));
    ck.num(&format!("{ctx} p"), ours.p_value, num(&r["p_value"]));
}

fn check_vec(ck: &mut Checker, ctx: &str, ours: &[f64], r: &Value) {
    let r = f64s(r);
    if r.len() != ours.len() {
        ck.failures
            .push(format!("{ctx}: length {} vs R {}", ours.len(), r.len()));
        return;
    }
    for (i, (&a, &e)) in ours.iter().zip(&r).enumerate() {
        ck.num(&format!("{ctx}[{i}]"), a, Some(e));
    }
}

fn transform(name: &str) -> ZphTransform {
    match name {
        "Km" => ZphTransform::Km,
        "Identity" => ZphTransform::Identity,
        "Rank" => ZphTransform::Rank,
        "Log" => ZphTransform::Log,
        other => panic!("unknown transform {other}"),
    }
}

#[test]
fn cox_ph_and_cox_zph_match_r() {
    let doc = load("cox.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 29, "cox.json has {} cases", cases.len());
    let mut ck = Checker::default();
    let mut zph_compared = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = Input::read(&case["input"]);
        let opts = CoxOptions {
            ties: match case["ties"].as_str().unwrap() {
                "Efron" => Ties::Efron,
                "Breslow" => Ties::Breslow,
                t => panic!("{name}: ties {t}"),
            },
            ..CoxOptions::default()
        };
        let (fit, zphs) = with_data(&input, |data| {
            let fit = cox_ph(data, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
            let zphs: Vec<_> = case["zph"]
                .as_array()
                .unwrap()
                .iter()
                .map(|z| {
                    let tr = z["transform"].as_str().unwrap();
                    let ours = cox_zph(&fit, data, transform(tr))
                        .unwrap_or_else(|e| panic!("{name} zph {tr}: {e}"));
                    // The fit and its test on one preparation: the same bits.
                    let (both_fit, both_zph) =
                        cox_ph_zph(data, CoxVariance::Naive, &opts, transform(tr))
                            .unwrap_or_else(|e| panic!("{name} cox_ph_zph {tr}: {e}"));
                    assert_eq!(format!("{both_fit:?}"), format!("{fit:?}"), "{name} {tr}");
                    assert_eq!(
                        format!("{:?}", both_zph.expect("the test")),
                        format!("{ours:?}"),
                        "{name} {tr}"
                    );
                    (tr.to_string(), ours, z.clone())
                })
                .collect();
            (fit, zphs)
        });

        for (field, r) in [
            ("n", fit.n as f64),
            ("events", fit.events as f64),
            ("iterations", fit.iterations as f64),
        ] {
            ck.num(&format!("{name} {field}"), r, num(&case[field]));
        }
        check_vec(&mut ck, &format!("{name} coef"), &fit.coef, &case["coef"]);
        check_vec(&mut ck, &format!("{name} se"), &fit.se, &case["se"]);
        check_vec(
            &mut ck,
            &format!("{name} hazard_ratio"),
            &fit.hazard_ratio,
            &case["hazard_ratio"],
        );
        check_vec(
            &mut ck,
            &format!("{name} hr_lower"),
            &fit.hr_lower,
            &case["hr_lower"],
        );
        check_vec(
            &mut ck,
            &format!("{name} hr_upper"),
            &fit.hr_upper,
            &case["hr_upper"],
        );
        check_vec(&mut ck, &format!("{name} z"), &fit.z, &case["z"]);
        check_vec(
            &mut ck,
            &format!("{name} p_value"),
            &fit.p_value,
            &case["p_value"],
        );
        let rvar = case["variance"].as_array().unwrap();
        assert_eq!(rvar.len(), fit.variance.len(), "{name}: variance rows");
        for (i, row) in fit.variance.iter().enumerate() {
            check_vec(&mut ck, &format!("{name} variance[{i}]"), row, &rvar[i]);
        }
        ck.num(
            &format!("{name} loglik_null"),
            fit.loglik_null,
            num(&case["loglik_null"]),
        );
        ck.num(&format!("{name} loglik"), fit.loglik, num(&case["loglik"]));
        check_test(
            &mut ck,
            &format!("{name} LR"),
            &fit.likelihood_ratio,
            &case["likelihood_ratio"],
        );
        check_test(&mut ck, &format!("{name} Wald"), &fit.wald, &case["wald"]);
        check_test(
            &mut ck,
            &format!("{name} score"),
            &fit.score,
            &case["score"],
        );

        for (tr, ours, r) in &zphs {
            let terms = &r["terms"];
            let stat = f64s(&terms["statistic"]);
            let df = f64s(&terms["df"]);
            let p = f64s(&terms["p_value"]);
            assert_eq!(stat.len(), ours.terms.len(), "{name} zph {tr}: terms");
            for (j, t) in ours.terms.iter().enumerate() {
                let ctx = format!("{name} zph {tr} term {j}");
                ck.num(&format!("{ctx} chisq"), t.statistic, Some(stat[j]));
                ck.num(&format!("{ctx} df"), t.df as f64, Some(df[j]));
                ck.num(&format!("{ctx} p"), t.p_value, Some(p[j]));
            }
            check_test(
                &mut ck,
                &format!("{name} zph {tr} GLOBAL"),
                &ours.global,
                &r["global"],
            );
            zph_compared += 1;
        }
    }
    assert!(
        zph_compared >= 40,
        "only {zph_compared} cox.zph tables compared"
    );
    ck.finish("cox_ph + cox_zph vs R", 1600);
}

/// Where R returns NA coefficients or warns that a coefficient may be
/// infinite, `cox_ph` returns the matching error.
#[test]
fn cox_ph_errors_where_r_warns_or_gives_na() {
    let doc = load("cox.json");
    let cases = doc["error_cases"].as_array().expect("error_cases");
    assert!(cases.len() >= 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = Input::read(&case["input"]);
        let err = with_data(&input, |data| cox_ph(data, &CoxOptions::default()))
            .err()
            .unwrap_or_else(|| panic!("{name}: cox_ph succeeded where R did not"));
        let r_na: Vec<usize> = case["r_coef"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_null())
            .map(|(i, _)| i)
            .collect();
        let warnings: Vec<&str> = case["r_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        if let Some(&first_na) = r_na.first() {
            assert_eq!(
                err,
                StatsError::Collinear {
                    what: "cox_ph",
                    covariate: first_na
                },
                "{name}"
            );
        } else {
            assert!(
                warnings.iter().any(|w| w.contains("infinite")),
                "{name}: R gave neither NA nor an infinite-coefficient warning"
            );
            assert!(
                matches!(err, StatsError::InfiniteCoefficient { covariate: 0, .. }),
                "{name}: {err:?}"
            );
        }
    }
}
