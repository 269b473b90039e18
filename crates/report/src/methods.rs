//! The Methods section and the patient-flow table, written from the
//! pipeline's declarations ([`Study`]) and the run's results: what a
//! journal asks for (data, population, endpoints, follow-up, statistics,
//! missing data, software), nothing typed by hand.

use crate::doc::{Block, Cell, Row};
use crate::{Input, fmt};
use cohortflow_analysis::TiesName;
use cohortflow_core::ledger::{Ledger, Outcome};

/// What the pipeline declares about the study, in plain data: the report
/// turns it into the Methods and the flow table.
#[derive(Debug, Clone, Default)]
pub struct Study {
    /// (source name, centre), in the pipeline's order.
    pub sources: Vec<(String, String)>,
    /// The canonical schema's name.
    pub schema: String,
    /// (name, SQL check, `reject` or `flag`), in order.
    pub clean_rules: Vec<(String, String, String)>,
    /// Patients linked across sources: the key columns, which record is
    /// kept and by which column, how keys are compared.
    pub linkage: Option<LinkageDef>,
    pub endpoints: Vec<EndpointDef>,
    /// (name, SQL condition), in order.
    pub criteria: Vec<(String, String)>,
    /// (name, label, SQL condition), in order.
    pub arms: Vec<(String, String, String)>,
    /// The latest date of follow-up among the analysed patients (the
    /// latest event or censoring date of the endpoints' columns),
    /// `YYYY-MM-DD`.
    pub latest_date: Option<String>,
    /// The cohort stage's attrition, per criterion, source and arm (as
    /// `attrition.csv`).
    pub attrition: Vec<AttritionLine>,
    /// The run's ledger (rows per stage and source).
    pub ledger: Ledger,
    /// The column the log-rank tests and Cox models are stratified by
    /// (`[analysis] strata`; `source` is the centre).
    pub strata: Option<String>,
    /// Analysed patients per source and arm after matching: (source, arm,
    /// n); empty without matching.
    pub matched_by_source: Vec<(String, String, u64)>,
}

#[derive(Debug, Clone, Default)]
pub struct LinkageDef {
    pub name: String,
    pub key: Vec<String>,
    /// `latest` / `earliest` / `first` as declared.
    pub keep: String,
    pub by: Option<String>,
    /// How key values are compared (`digits`), when declared.
    pub normalize: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EndpointDef {
    pub name: String,
    pub label: String,
    pub origin: Option<String>,
    /// Event date columns (of every cause, for a competing-risks endpoint).
    pub events: Vec<String>,
    /// Competing causes with their date columns or conditions.
    pub causes: Vec<(String, String)>,
    pub censor: Option<String>,
    /// Time-and-status form: the time column and the event condition.
    pub time: Option<String>,
    pub event: Option<String>,
    pub admin_censor: Option<String>,
    pub max_followup: Option<f64>,
}

/// One line of `attrition.csv`.
#[derive(Debug, Clone)]
pub struct AttritionLine {
    pub step: usize,
    pub criterion: String,
    /// A source name, or `all`.
    pub source: String,
    /// An arm name, `(none)` or `all`.
    pub arm: String,
    pub before: u64,
    pub removed: u64,
    pub after: u64,
}

/// The step of the attrition that removes the patients in no arm (the
/// cohort stage's name for it).
pub const NO_ARM: &str = "in no arm";

/// R and survival versions the statistics are checked against, as the
/// conformance values record them (`conformance/km.json`).
fn r_versions() -> (String, String) {
    const KM: &str = include_str!("../../../conformance/km.json");
    let field = |key: &str| {
        let pat = format!("\"{key}\": \"");
        KM.find(&pat)
            .and_then(|i| {
                let rest = &KM[i + pat.len()..];
                rest.find('"').map(|j| rest[..j].to_string())
            })
            .unwrap_or_else(|| "(not recorded)".into())
    };
    (field("r_version"), field("survival_version"))
}

/// `name` as a reader reads it, with the column in code: `Death (`death_date`)`.
fn col(input: &Input, name: &str) -> String {
    let label = input.results.labels.label(name);
    if label == name {
        format!("`{name}`")
    } else {
        format!("{label} (`{name}`)")
    }
}

fn or_list(items: &[String], word: &str) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} {word} {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

/// The Methods section.
pub fn blocks(input: &Input, study: &Study) -> Vec<Block> {
    let r = input.results;
    let c = &r.conventions;
    let level = fmt::num(c.conf_level * 100.0);
    let mut out = vec![Block::Heading(2, "Methods".into())];

    // Data.
    out.push(Block::Heading(3, "Data".into()));
    let centres: Vec<String> = study
        .sources
        .iter()
        .map(|(name, centre)| format!("{centre} (`{name}`)"))
        .collect();
    let mut data = format!(
        "Records of {} {} were read into one schema (`{}`); each value was converted to the schema's unit and codes, and a record with a value that could not be read, or outside the schema's plausible range, was rejected with its reason (rejects.csv).",
        study.sources.len(),
        if study.sources.len() == 1 {
            "source"
        } else {
            "sources"
        },
        study.schema
    );
    if !centres.is_empty() {
        data = format!("{} Sources: {}.", data, centres.join(", "));
    }
    let rules: Vec<String> = study
        .clean_rules
        .iter()
        .map(|(name, _, action)| {
            format!(
                "{name} ({})",
                if action == "flag" {
                    "flagged, kept"
                } else {
                    "rejected"
                }
            )
        })
        .collect();
    if !rules.is_empty() {
        data.push_str(&format!(
            " Records were checked by the cleaning rules: {}.",
            rules.join("; ")
        ));
    }
    if let Some(l) = &study.linkage {
        let key: Vec<String> = l.key.iter().map(|k| col(input, k)).collect();
        data.push_str(&format!(
            " Records of one patient in more than one source were linked by {}{} and one record kept per patient ({}{}), so that each analysed row is one patient.",
            key.join(" and "),
            l.normalize
                .as_ref()
                .map_or(String::new(), |n| format!(" (compared as {n})")),
            l.keep,
            l.by
                .as_ref()
                .map_or(String::new(), |b| format!(" {}", col(input, b)))
        ));
    } else {
        data.push_str(
            " No linkage across sources is declared: each record is counted as a patient.",
        );
    }
    out.push(Block::Para(data));

    // Population.
    out.push(Block::Heading(3, "Study population and groups".into()));
    let criteria: Vec<String> = study
        .criteria
        .iter()
        .map(|(name, cond)| format!("{name} (`{cond}`)"))
        .collect();
    out.push(Block::Para(format!(
        "Patients were included when they met, in this order, {}. Each included patient was assigned to one arm: {}. A patient meeting the criteria but no arm's condition is in no arm and not analysed in the comparison of the arms (flow table, row \"in no arm\").",
        if criteria.is_empty() {
            "no criterion (every patient)".to_string()
        } else {
            criteria.join("; ")
        },
        study
            .arms
            .iter()
            .map(|(n, l, cond)| format!("{n} = {l} (`{cond}`)"))
            .collect::<Vec<_>>()
            .join("; ")
    )));
    if let Some(m) = &r.matching {
        let mut covs: Vec<String> = Vec::new();
        for t in m.model_terms.iter().filter(|t| *t != "(Intercept)") {
            let column = t.split_once(" = ").map_or(t.as_str(), |(c, _)| c);
            let label = r.labels.label(column);
            if !covs.contains(&label) {
                covs.push(label);
            }
        }
        out.push(Block::Para(format!(
            "The arms were matched ({} against {}): {}; 1:{}, {}, m.order = {}; the propensity score's covariates: {}; missing covariates: {}. The matched patients are the analysed arms.",
            m.treated,
            m.control,
            m.method,
            m.ratio,
            m.caliper_sd.map_or("no caliper".to_string(), |c| format!(
                "caliper {} SD of the score",
                fmt::num(c)
            )),
            m.m_order.name(),
            covs.join(", "),
            m.missing.name()
        )));
    }

    // Endpoints.
    out.push(Block::Heading(3, "Endpoints and follow-up".into()));
    let mut items = Vec::new();
    for ep in &study.endpoints {
        let Some(res) = r.endpoints.iter().find(|e| e.name == ep.name) else {
            continue;
        };
        let mut text = format!("**{}** (`{}`): ", ep.label, ep.name);
        match (&ep.origin, &ep.time) {
            (Some(origin), _) => {
                let events: Vec<String> = ep.events.iter().map(|e| col(input, e)).collect();
                text.push_str(&format!(
                    "time from {} to the first of {}",
                    col(input, origin),
                    or_list(&events, "or")
                ));
            }
            (None, Some(time)) => {
                text.push_str(&format!("the follow-up time as recorded in `{time}`"));
                if let Some(e) = &ep.event {
                    text.push_str(&format!(", an event when `{e}`"));
                }
            }
            (None, None) => {}
        }
        if !ep.causes.is_empty() {
            let causes: Vec<String> = ep
                .causes
                .iter()
                .map(|(name, what)| format!("{name} (`{what}`)"))
                .collect();
            text.push_str(&format!(
                "; competing causes: {}, the event of the first one counting",
                causes.join(", ")
            ));
        }
        if let Some(censor) = &ep.censor {
            text.push_str(&format!(
                "; a patient without an event is censored at {}",
                col(input, censor)
            ));
        }
        if let Some(cut) = &ep.admin_censor {
            text.push_str(&format!(
                "; data cut-off {cut}: events after it are not counted and follow-up ends at it"
            ));
        }
        if let Some(m) = ep.max_followup {
            text.push_str(&format!(
                "; follow-up longer than {} {} is censored at it",
                fmt::num(m),
                res.unit
            ));
        }
        let fu: Vec<String> = res
            .by_arm
            .iter()
            .map(|s| {
                let m = &s.median_follow_up;
                format!("{} {}", s.arm, fmt::median_ci(m.estimate, m.lower, m.upper))
            })
            .collect();
        text.push_str(&format!(
            ". Time in {}{}. Median follow-up (reverse Kaplan–Meier: censoring as the event), {} [{level}% CI]: {}.",
            res.unit,
            if res.unit.name() == "months" {
                format!(" of {} days", fmt::num(c.month_days))
            } else {
                String::new()
            },
            res.unit,
            fu.join("; ")
        ));
        items.push(text);
    }
    out.push(Block::List(items));
    if let Some(d) = &study.latest_date {
        out.push(Block::Para(format!(
            "The latest date of follow-up (event or censoring) among the analysed patients is {d}."
        )));
    }

    // Statistics.
    out.push(Block::Heading(3, "Statistical analysis".into()));
    let mut stats = Vec::new();
    stats.push(format!(
        "Survival was estimated by the Kaplan–Meier method with {} variance and {level}% pointwise confidence intervals on the {} scale (R's conf.type = \"{}\"); the median and other quantiles with their confidence intervals as R's quantile.survfit; tied times as R's timefix.",
        c.variance,
        crate::conf_type(input),
        crate::conf_type(input)
    ));
    let stratified = study.strata.as_ref().map(|s| {
        format!(
            "stratified by {}",
            if s == "source" {
                "centre".to_string()
            } else {
                r.labels.label(s)
            }
        )
    });
    stats.push(format!(
        "Arms were compared by the log-rank test{} (R's survdiff){}.",
        stratified
            .as_ref()
            .map_or(String::new(), |s| format!(", {s}")),
        if r.endpoints.iter().any(|e| !e.pairwise.is_empty()) {
            format!(
                "; pairs of arms by pairwise log-rank tests with p-values adjusted by {}",
                c.pairwise_adjust.as_deref().unwrap_or("none")
            )
        } else {
            String::new()
        }
    ));
    if let Some(cox) = r.endpoints.iter().find_map(|e| e.cox.as_ref()) {
        let ties = match cox.unadjusted.ties {
            TiesName::Efron => "Efron",
            TiesName::Breslow => "Breslow",
        };
        let adjusted = cox.adjusted.as_ref().map(|m| {
            m.terms
                .iter()
                .skip(r.arms.len().saturating_sub(1))
                .map(|t| crate::term_label(&r.labels, &t.term))
                .collect::<Vec<_>>()
        });
        stats.push(format!(
            "Hazard ratios of each arm against the reference arm were estimated by Cox proportional-hazards models ({ties} ties{}; Wald {level}% confidence intervals), unadjusted{}; proportional hazards were tested by cox.zph (Kaplan–Meier transform), and where rejected the hazard ratio is reported with that caveat beside the restricted mean survival times.",
            stratified
                .as_ref()
                .map_or(String::new(), |s| format!(", {s}")),
            adjusted.map_or(String::new(), |a| format!(
                " and adjusted for {}",
                a.join(", ")
            ))
        ));
    }
    if let Some(tau) = r
        .endpoints
        .iter()
        .flat_map(|e| &e.by_arm)
        .find_map(|s| s.rmst.as_ref().map(|m| m.tau))
    {
        stats.push(format!(
            "Restricted mean survival time to {} (each endpoint's unit) with its standard error, as R's print(survfit, rmean = tau).",
            fmt::num(tau)
        ));
    }
    if let Some(l) = &r.landmark {
        stats.push(format!(
            "Landmark analysis at {} {}: {}.",
            fmt::num(l.time),
            l.unit,
            c.landmark
        ));
    }
    if let Some(tv) = &r.time_varying {
        stats.push(format!(
            "{} as a time-varying covariate ({}).",
            r.labels.label(&tv.exposure),
            c.time_varying
        ));
    }
    if let Some(e) = &r.emulation {
        stats.push(format!(
            "The target trial was emulated by clone–censor–weight (section Emulated target trial): {} eligible patients cloned into \"{}\" and \"{}\", grace period {} (the endpoints' unit); inverse-probability-of-censoring weights: {}; covariates of the weight model: {}; percentile bootstrap ({} replicates, seed {}).",
            e.population_n,
            e.strategies[0].label,
            e.strategies.get(1).map_or("", |s| s.label.as_str()),
            fmt::num(e.grace),
            fmt::code_calls(&e.weight_model, &["glm"]),
            e.covariates
                .iter()
                .map(|v| r.labels.label(v))
                .collect::<Vec<_>>()
                .join(", "),
            e.bootstrap,
            e.seed
        ));
    }
    if r.endpoints.iter().any(|e| e.competing.is_some()) {
        stats.push("Competing risks: the cumulative incidence of each cause by the Aalen–Johansen estimator, compared by Gray's test; cause-specific Cox models censor the other causes.".into());
    }
    stats.push(format!(
        "Baseline characteristics (Table 1) were compared by Fisher's exact test when an expected count was under 5, else Pearson's chi-squared test (Yates' correction for 2 x 2), and continuous variables by {}; standardized mean differences as R's tableone.",
        c.continuous_test.description()
    ));
    stats.push(format!(
        "Tests are two-sided at α = {}, without adjustment for multiple comparisons; a p-value at or above α is reported as not significant.",
        fmt::num(input.alpha())
    ));
    out.push(Block::List(stats));

    // Missing data.
    out.push(Block::Heading(3, "Missing data".into()));
    let mut missing = vec![
        "A required column of the schema may not be empty: a record without it is rejected (rejects.csv). Other values may be missing.".to_string(),
        "Table 1 gives the percentages of the patients with a known value and counts the unknown ones on their own line.".into(),
    ];
    let left_out: Vec<String> = r
        .endpoints
        .iter()
        .filter_map(|e| {
            let m = e.cox.as_ref()?.adjusted.as_ref()?;
            Some(format!(
                "{}: {} of {} patients left out",
                e.label,
                m.excluded_missing,
                m.n + m.excluded_missing
            ))
        })
        .collect();
    if !left_out.is_empty() {
        missing.push(format!(
            "The adjusted Cox models use the patients with every covariate known (complete cases; {}).",
            left_out.join("; ")
        ));
    }
    if let Some(m) = &r.matching {
        missing.push(format!(
            "Matching: missing covariates handled as `{}`.",
            m.missing.name()
        ));
    }
    if let Some(e) = &r.emulation {
        missing.push(format!(
            "Emulation: {} patients left out for a missing covariate of the weight model.",
            e.excluded_missing
        ));
    }
    missing.push("No value is imputed.".into());
    out.push(Block::List(missing));

    // Software.
    out.push(Block::Heading(3, "Software and reproducibility".into()));
    let (r_version, survival) = r_versions();
    out.push(Block::Para(format!(
        "Analysed with cohortflow {} from the pipeline file `{}`; every estimate is checked against {r_version} with the survival package {survival} (conformance tests of the cohortflow source, conformance/*.json). The run's date and time, and the SHA-256 of every input and output, are in manifest.json (`created`); this report carries no date, so that a rerun on the same inputs gives byte-identical report files.",
        env!("CARGO_PKG_VERSION"),
        input.name
    )));
    out
}

/// The patient flow as a table: per centre and in total, the records read,
/// what removed records, the patients, each criterion's exclusions (split
/// by the arm the patient would otherwise be in), the patients in no arm,
/// and the analysed arms.
pub fn flow_table(input: &Input, study: &Study) -> Option<Block> {
    if study.sources.is_empty() {
        return None;
    }
    let sources = &study.sources;
    let arms: Vec<&String> = study.arms.iter().map(|a| &a.0).collect();
    let mut header: Vec<Cell> = vec!["".into()];
    header.extend(sources.iter().map(|(_, c)| Cell::from(c.as_str())));
    header.push("Total".into());
    header.extend(arms.iter().map(|a| Cell::from(format!("of which {a}"))));
    header.push("of which in no arm".into());
    let width = header.len();
    let mut rows = Vec::new();
    let blank = |n: usize| vec![Cell::from(""); n];
    let group = |text: &str| Row {
        cells: {
            let mut c = vec![Cell::from(text)];
            c.extend(vec![Cell::from(""); width - 1]);
            c
        },
        group: true,
    };
    let ledger = &study.ledger;
    let per_source = |stage: &str, f: &dyn Fn(&cohortflow_core::ledger::StageAccount) -> u64| {
        let counts: Vec<u64> = sources
            .iter()
            .map(|(s, _)| {
                ledger
                    .accounts()
                    .iter()
                    .filter(|a| a.stage == stage && &a.source == s)
                    .map(f)
                    .sum()
            })
            .collect();
        counts
    };
    let line = |label: String, counts: Vec<u64>| -> Row {
        let mut c = vec![Cell::from(label)];
        let total: u64 = counts.iter().sum();
        c.extend(counts.iter().map(|n| Cell::from(n.to_string())));
        c.push(Cell::from(total.to_string()));
        c.extend(blank(arms.len() + 1));
        Row::new(c)
    };
    rows.push(group("Records"));
    rows.push(line(
        "Records read from the exports".into(),
        per_source("ingest", &|a| a.rows_in),
    ));
    // Every removal before the cohort, by its reason (zero counts left out).
    let linkage_name = study.linkage.as_ref().map(|l| l.name.as_str());
    for stage in ["ingest", "clean", "derive"] {
        let mut reasons: Vec<String> = Vec::new();
        for a in ledger.accounts().iter().filter(|a| a.stage == stage) {
            for (o, reason, n) in &a.outcomes {
                if *o != Outcome::Flagged && *n > 0 && !reasons.contains(reason) {
                    reasons.push(reason.clone());
                }
            }
        }
        for reason in reasons {
            let counts = per_source(stage, &|a| {
                a.outcomes
                    .iter()
                    .filter(|(o, r, _)| *o != Outcome::Flagged && r == &reason)
                    .map(|(_, _, n)| n)
                    .sum()
            });
            let label = if Some(reason.as_str()) == linkage_name {
                format!("− duplicate record of a patient in another source ({reason})")
            } else {
                format!("− rejected: {reason}")
            };
            rows.push(line(label, counts));
        }
    }
    let patients = per_source("cohort", &|a| a.rows_in);
    rows.push(line(
        if study.linkage.is_some() {
            "Patients (one record each after linkage)".into()
        } else {
            "Patients (records; no linkage declared)".into()
        },
        patients,
    ));
    rows.push(group(
        "Exclusions, in order (split by the arm the patient would otherwise be in)",
    ));
    let mut steps: Vec<(usize, String)> = Vec::new();
    for a in &study.attrition {
        if !steps.iter().any(|(s, _)| *s == a.step) {
            steps.push((a.step, a.criterion.clone()));
        }
    }
    let removed = |step: usize, source: &str, arm: &str| -> u64 {
        study
            .attrition
            .iter()
            .filter(|a| a.step == step && a.source == source && a.arm == arm)
            .map(|a| a.removed)
            .sum()
    };
    for (step, criterion) in &steps {
        let label = if criterion == NO_ARM {
            format!(
                "− in no arm: met the criteria but no arm's condition ({})",
                study
                    .arms
                    .iter()
                    .map(|(n, _, cond)| format!("not {n}: `{cond}`"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        } else {
            let cond = study
                .criteria
                .iter()
                .find(|(n, _)| n == criterion)
                .map_or(String::new(), |(_, c)| format!(" (`{c}`)"));
            format!("− not meeting: {criterion}{cond}")
        };
        let mut c = vec![Cell::from(label)];
        for (s, _) in sources {
            c.push(Cell::from(removed(*step, s, "all").to_string()));
        }
        c.push(Cell::from(removed(*step, "all", "all").to_string()));
        for a in &arms {
            c.push(Cell::from(removed(*step, "all", a).to_string()));
        }
        c.push(Cell::from(removed(*step, "all", "(none)").to_string()));
        rows.push(Row::new(c));
    }
    rows.push(group("Analysed"));
    let last = steps.last().map(|(s, _)| *s);
    for (name, label, _) in &study.arms {
        let after = |source: &str| -> u64 {
            study
                .attrition
                .iter()
                .filter(|a| Some(a.step) == last && a.source == source && &a.arm == name)
                .map(|a| a.after)
                .sum()
        };
        let counts: Vec<u64> = sources.iter().map(|(s, _)| after(s)).collect();
        rows.push(line(format!("{name}: {label}"), counts));
    }
    if let Some(m) = &input.results.matching {
        rows.push(group("Matching"));
        for cnt in &m.counts {
            let mut c = vec![Cell::from(format!("− {}: not matched", cnt.arm))];
            c.extend(blank(sources.len()));
            c.push(Cell::from(cnt.unmatched.to_string()));
            c.extend(blank(arms.len() + 1));
            rows.push(Row::new(c));
        }
        for (name, label, _) in &study.arms {
            if !m.counts.iter().any(|c| &c.arm == name) {
                continue;
            }
            let counts: Vec<u64> = sources
                .iter()
                .map(|(s, _)| {
                    study
                        .matched_by_source
                        .iter()
                        .filter(|(src, arm, _)| src == s && arm == name)
                        .map(|(_, _, n)| n)
                        .sum()
                })
                .collect();
            rows.push(line(format!("{name}: {label}, matched"), counts));
        }
    }
    Some(Block::Table {
        caption: "Patient flow by centre and arm".into(),
        header,
        rows,
        notes: vec![
            "From the ledger (ledger.csv, rejects.csv) and the cohort attrition (attrition.csv); every record read is in exactly one row. Before the cohort criteria the counts are records; a patient exported by two centres is counted once after linkage, in the centre whose record was kept.".into(),
            "The exclusions are applied in order, each to the patients left by the previous one; \"of which\" splits a row by the arm whose condition the patient meets.".into(),
        ],
        class: "numbers",
    })
}
