use crate::common::*;
use cohortflow_core::ledger::Outcome;
use cohortflow_core::rejects::Reject;

#[test]
fn on_error_reject_quarantines_rows_and_balances_the_ledger() {
    let data = "id,sex,age,size,start,liver\n\
                p1,M,61,12.5,01.02.2020,true\n\
                p2,X,61,12.5,31.02.2020,true\n\
                p3,F,61,12.5,2020-01-01,yes\n\
                p4,F,61\n\
                ,F,61,1,01.02.2020,true\n\
                p6,F,1.5,\"7,5\",01.02.2020,true\n\
                p7,F,\"70\",\"1\",\"03.03.2021\",false\n";
    let src = BASIC.replace("date_formats", "on_error = \"reject\"\ndate_formats");
    let (_d, r) = run_csv(data, &src);
    let out = ok(r);
    assert_eq!(col(&out.frame, "patient_id"), s(&[Some("p1"), Some("p7")]));
    assert_eq!(rows(&out.frame), vec![2, 8]);
    let reject = |row: i64, rule: &str, columns: &str, values: &str| Reject {
        source: "center_a".into(),
        source_row: row,
        stage: "ingest".into(),
        rule: rule.into(),
        columns: columns.into(),
        values: values.into(),
    };
    assert_eq!(
        out.rejects,
        vec![
            // The first problem in column order names the reason; every problem cell is listed.
            reject(3, "not a level", "sex; start", "sex=X; start=31.02.2020"),
            reject(
                4,
                "unparseable date",
                "start; liver",
                "start=2020-01-01; liver=yes"
            ),
            reject(5, "wrong number of fields", "", "fields=3; expected=6"),
            reject(6, "missing required value", "id", "id="),
            reject(7, "not an integer", "age; size", "age=1.5; size=7,5"),
        ]
    );
    let a = &out.account;
    assert_eq!(
        (a.stage.as_str(), a.source.as_str()),
        ("ingest", "center_a")
    );
    assert_eq!(a.rows_in, 7);
    assert_eq!(a.rows_out, 2);
    let reasons: Vec<(Outcome, &str, u64)> = a
        .outcomes
        .iter()
        .map(|(o, r, n)| (*o, r.as_str(), *n))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (Outcome::Rejected, "wrong number of fields", 1),
            (Outcome::Rejected, "missing required value", 1),
            (Outcome::Rejected, "not a level", 1),
            (Outcome::Rejected, "not an integer", 1),
            (Outcome::Rejected, "unparseable date", 1),
        ]
    );
    let removed: u64 = a.outcomes.iter().map(|(_, _, n)| n).sum();
    assert_eq!(a.rows_in, a.rows_out + removed);
    // The frame keeps the canonical shape with only the kept rows.
    assert_eq!(
        out.frame.schema().as_ref(),
        &schema().polars_schema(&["center_a".to_string()])
    );
}

#[test]
fn on_error_fail_is_the_default() {
    let data = "id,sex,age,size,start,liver\np1,X,61,12.5,01.02.2020,true\n";
    let (_d, r) = run_csv(data, BASIC);
    assert_eq!(
        err(r).message,
        "the value is not a level of 'sex' (levels: \"M\", \"F\")"
    );
}

#[test]
fn all_rows_rejected_still_gives_a_typed_empty_frame() {
    let data = "id,sex,age,size,start,liver\np1,X,61,12.5,01.02.2020,true\n";
    let src = BASIC.replace("date_formats", "on_error = \"reject\"\ndate_formats");
    let (_d, r) = run_csv(data, &src);
    let out = ok(r);
    assert_eq!(out.frame.height(), 0);
    assert_eq!(
        out.frame.schema().as_ref(),
        &schema().polars_schema(&["center_a".to_string()])
    );
    assert_eq!((out.account.rows_in, out.account.rows_out), (1, 0));
}
