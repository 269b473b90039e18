//! Every invalid input gives a typed error, never a panic or a NaN.

use cohortflow_stats::{KmOptions, StatsError, aeq_times, kaplan_meier, log_rank};

#[test]
fn kaplan_meier_errors() {
    let o = KmOptions::default();
    assert!(matches!(
        kaplan_meier(&[], &[], &o),
        Err(StatsError::EmptyInput { .. })
    ));
    assert!(matches!(
        kaplan_meier(&[1.0, 2.0], &[true], &o),
        Err(StatsError::LengthMismatch {
            left_len: 2,
            right_len: 1,
            ..
        })
    ));
    for bad in [f64::NAN, -1.0, f64::INFINITY] {
        let r = kaplan_meier(&[1.0, bad], &[true, false], &o);
        assert!(
            matches!(r, Err(StatsError::InvalidTime { index: 1, .. })),
            "{bad}: {r:?}"
        );
    }
    for level in [0.0, 1.0, f64::NAN, 1.5] {
        let o = KmOptions {
            conf_level: level,
            ..KmOptions::default()
        };
        assert!(matches!(
            kaplan_meier(&[1.0], &[true], &o),
            Err(StatsError::InvalidParameter {
                name: "conf_level",
                ..
            })
        ));
    }
    let fit = kaplan_meier(&[1.0, 2.0], &[true, false], &o).unwrap();
    assert!(fit.try_quantile(1.5).is_err());
    assert!(fit.try_quantile(f64::NAN).is_err());
    assert_eq!(fit.quantile(-0.1).estimate, None);
}

#[test]
fn log_rank_errors() {
    let t = [1.0, 2.0, 3.0, 4.0];
    let e = [true, false, true, true];
    assert!(matches!(
        log_rank(&[], &[], &[], None, 0.0),
        Err(StatsError::EmptyInput { .. })
    ));
    assert!(matches!(
        log_rank(&t, &e, &[0, 1, 0], None, 0.0),
        Err(StatsError::LengthMismatch { right: "group", .. })
    ));
    assert!(matches!(
        log_rank(&t, &e[..3], &[0, 1, 0, 1], None, 0.0),
        Err(StatsError::LengthMismatch { right: "event", .. })
    ));
    assert!(matches!(
        log_rank(&t, &e, &[0, 1, 0, 1], Some(&[0, 0, 0]), 0.0),
        Err(StatsError::LengthMismatch {
            right: "strata",
            ..
        })
    ));
    assert!(matches!(
        log_rank(&[1.0, f64::NAN], &[true, true], &[0, 1], None, 0.0),
        Err(StatsError::InvalidTime { index: 1, .. })
    ));
    assert!(matches!(
        log_rank(&t, &e, &[0, 0, 0, 0], None, 0.0),
        Err(StatsError::TooFewGroups { groups: 1, .. })
    ));
    assert!(matches!(
        log_rank(&t, &e, &[0, 2, 0, 2], None, 0.0),
        Err(StatsError::EmptyGroup { group: 1, .. })
    ));
    assert!(matches!(
        log_rank(&t, &[false; 4], &[0, 1, 0, 1], None, 0.0),
        Err(StatsError::NoEvents { .. })
    ));
    assert!(matches!(
        log_rank(&t, &e, &[0, 1, 0, 1], None, f64::NAN),
        Err(StatsError::NonFinite { name: "rho", .. })
    ));
    // group 1 is censored before the only event: expected 0 for group 1
    assert!(matches!(
        log_rank(
            &[1.0, 5.0, 6.0],
            &[false, true, false],
            &[1, 0, 0],
            None,
            0.0
        ),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(aeq_times(&[f64::INFINITY]).is_err());
}

#[test]
fn error_messages_name_the_problem() {
    let e = log_rank(&[1.0, 2.0], &[true, true], &[0, 2], None, 0.0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "log_rank: group 1 has no rows (groups must be numbered 0..k with every number used)"
    );
}

#[test]
fn fisher_exact_errors() {
    use cohortflow_stats::fisher_exact;
    let empty: [Vec<u64>; 0] = [];
    assert!(matches!(
        fisher_exact(&empty),
        Err(StatsError::EmptyInput { .. })
    ));
    assert!(matches!(
        fisher_exact(&[vec![1, 2], vec![3]]),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        fisher_exact(&[vec![1, 2, 3]]),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        fisher_exact(&[vec![0, 0], vec![0, 0]]),
        Err(StatsError::Degenerate { .. })
    ));
    // 6 x 6 with 600 subjects: far beyond the enumeration limit
    let big = vec![vec![17u64; 6]; 6];
    assert!(matches!(
        fisher_exact(&big),
        Err(StatsError::TooLarge { .. })
    ));
}

#[test]
fn chi_square_test_errors() {
    use cohortflow_stats::chi_square_test;
    assert!(matches!(
        chi_square_test(&[vec![1u64, 2], vec![0, 0]], true),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        chi_square_test(&[vec![1u64, 0], vec![3, 0]], true),
        Err(StatsError::Degenerate { .. })
    ));
    assert!(matches!(
        chi_square_test(&[vec![1u64, 2]], true),
        Err(StatsError::Degenerate { .. })
    ));
}

#[test]
fn kaplan_meier_by_group_errors() {
    use cohortflow_stats::kaplan_meier_by_group;
    let o = KmOptions::default();
    let t = [1.0, 2.0, 3.0];
    let e = [true, false, true];
    assert!(matches!(
        kaplan_meier_by_group(&t, &e, &[0, 1], &o),
        Err(StatsError::LengthMismatch { right: "group", .. })
    ));
    assert!(matches!(
        kaplan_meier_by_group(&t, &e, &[0, 2, 0], &o),
        Err(StatsError::EmptyGroup { group: 1, .. })
    ));
    assert!(matches!(
        kaplan_meier_by_group(&[], &[], &[], &o),
        Err(StatsError::EmptyInput { .. })
    ));
    let fits = kaplan_meier_by_group(&t, &e, &[1, 0, 1], &o).unwrap();
    assert_eq!(fits.len(), 2);
    assert_eq!(fits[0].n(), 1);
    assert_eq!(fits[1].n(), 2);
}
