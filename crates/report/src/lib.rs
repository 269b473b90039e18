//! The report stage: figures and documents people read, made from numbers
//! the other stages already computed (it computes no statistic itself; it
//! formats `Results` and reads the Kaplan–Meier curves at given times).
//!
//! - [`flow`]: the CONSORT-style flow diagram of a run, from its ledger.
//! - [`love`]: the love plot of a matching (SMD before and after).
//! - [`build`]: the report of a run — `report.html` (one self-contained
//!   file), `report.md` (the same content, pinned by the snapshot tests),
//!   `table1.csv`, and per endpoint the Kaplan–Meier figures with their
//!   numbers-at-risk tables as SVG, PNG and PDF ([`plot`]); for a
//!   competing-risks endpoint, the cumulative incidence of each cause
//!   (table, tests, one figure per cause: `competing`); the emulated
//!   target trial's table and weighted curves (`emulation`).
//! - [`methods`]: the Methods section and the patient-flow table by centre
//!   and arm, written from the pipeline's declarations ([`methods::Study`]).
//! - [`ReportConfig`]: the pipeline file's optional `[report]` section
//!   (alpha, CI bands, a publication to compare with, Table 1's default
//!   summary, `[report.variables]` labels).
//!
//! Every column is named by its label from `Results.labels` (declared once:
//! schema and `[report.variables]`); [`term_label`] names a model term.
//!
//! Figures are drawn at print size (174 mm wide, 300 dpi, text 8–9 pt) and
//! written as SVG, PNG and vector PDF ([`plot`], `pdf`).
//!
//! Depends on cohortflow-core (the ledger), cohortflow-analysis and
//! cohortflow-stats (their result types only), serde, plotters without
//! default features (text with the embedded DejaVu Sans through `ab_glyph`;
//! no system libraries) and plotters-backend, ab_glyph (glyph outlines for
//! the PDF), pdf-writer, miniz_oxide and png (encoding), and rayon (the
//! figures drawn side by side). It receives plain
//! data and returns file names and bytes, so the pipeline crate decides
//! where files go. Everything it writes is deterministic: the same input
//! gives the same bytes.

mod competing;
mod doc;
mod emulation;
pub mod flow;
mod fmt;
pub mod love;
pub mod methods;
mod pdf;
pub mod plot;
mod published;
mod simplify;
mod survival;
mod table1;

use cohortflow_analysis::{AnalysisKind, CifCurve, Curve, Results};
use cohortflow_core::matching::MatchingSummary;
use cohortflow_core::schema::{Labels, Summary, VariableDecl};
use doc::{Block, Document};
pub use published::{Published, PublishedRow, Reference};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// The `[report]` section of a pipeline (all optional).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Significance level the report states tests against.
    #[serde(default = "default_alpha", deserialize_with = "alpha")]
    pub alpha: f64,
    /// Draw the pointwise confidence bands around the Kaplan–Meier curves.
    #[serde(default = "yes")]
    pub ci_bands: bool,
    /// A publication whose numbers are shown beside the run's.
    pub published: Option<Published>,
    /// Table 1's summary of a numeric variable without its own `summary`:
    /// `median` [IQR] (the default) or `mean` (SD).
    #[serde(default = "median")]
    pub summary: Summary,
    /// `[report.variables.<column>]`: label, unit, levels, level labels and
    /// summary of a column; for derived columns, and to override the
    /// schema's declarations in this study.
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            alpha: default_alpha(),
            ci_bands: true,
            published: None,
            summary: median(),
            variables: BTreeMap::new(),
        }
    }
}

fn default_alpha() -> f64 {
    0.05
}

fn median() -> Summary {
    Summary::Median
}

fn yes() -> bool {
    true
}

fn alpha<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let a = f64::deserialize(d)?;
    if a > 0.0 && a < 1.0 {
        Ok(a)
    } else {
        Err(serde::de::Error::custom(format!(
            "alpha = {a} is not between 0 and 1; expected a significance level such as 0.05"
        )))
    }
}

/// Everything the report is made from.
pub struct Input<'a> {
    /// The pipeline's name and one-line description.
    pub name: &'a str,
    pub description: &'a str,
    pub results: &'a Results,
    /// The Kaplan–Meier curves of the analysis (naive and landmark).
    pub curves: &'a [Curve],
    /// The cumulative-incidence curves of the competing-risks endpoints.
    pub cif_curves: &'a [CifCurve],
    /// The flow diagram (`flow.svg`), inlined in the HTML.
    pub flow_svg: &'a str,
    pub config: &'a ReportConfig,
    /// What the pipeline declares (sources, rules, criteria, arms,
    /// endpoints) and the run's ledger and attrition: the Methods and the
    /// flow table.
    pub study: &'a methods::Study,
}

impl Input<'_> {
    fn alpha(&self) -> f64 {
        self.config.alpha
    }
}

/// Why the report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A figure could not be drawn or encoded.
    #[error("drawing {figure}: {message}")]
    Figure { figure: String, message: String },
    /// A `[report.published]` row refers to a number the run does not have.
    #[error("[report.published]: {0}")]
    Published(String),
}

/// The report's files: (file name, bytes), in a fixed order.
pub fn build(input: &Input) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    files.push(("table1.csv".into(), table1::csv(input.results).into_bytes()));

    let mut blocks = Vec::new();
    if !input.description.is_empty() {
        blocks.push(Block::Para(input.description.to_string()));
    }
    blocks.push(Block::Para(format!(
        "Pipeline `{}`: {}. Significance is stated against α = {}; p-values are two-sided and not adjusted for multiple comparisons.",
        input.name,
        input
            .results
            .arms
            .iter()
            .map(|a| format!("{} = {} (n = {})", a.name, a.label, a.n))
            .collect::<Vec<_>>()
            .join("; "),
        fmt::num(input.alpha())
    )));
    design(input, &mut blocks);
    summary(input, &mut blocks);
    blocks.extend(methods::blocks(input, input.study));

    blocks.push(Block::Heading(2, "Patient flow".into()));
    blocks.push(Block::Figure {
        file: "flow.svg".into(),
        svg: input.flow_svg.to_string(),
        caption: "Every row read from the exports, what removed it, and the analysed arms (from the ledger: ledger.csv, rejects.csv, attrition.csv).".into(),
        alt: "Flow diagram of the rows read, rejected, excluded and analysed".into(),
    });
    blocks.extend(methods::flow_table(input, input.study));

    if let Some(m) = &input.results.matching {
        let love = matching(m, &input.results.labels, &mut blocks).map_err(|message| {
            ReportError::Figure {
                figure: "love".into(),
                message,
            }
        })?;
        files.push(("love.svg".into(), love.svg.into_bytes()));
        files.push(("love.png".into(), love.png));
        files.push(("love.pdf".into(), love.pdf));
    }

    blocks.push(Block::Heading(2, "Baseline characteristics".into()));
    if input.results.baseline.is_empty() {
        blocks.push(Block::Para(
            "No baseline columns are declared (analysis.baseline).".into(),
        ));
    }
    blocks.push(table1::block(input.results));

    blocks.push(Block::Heading(2, "Survival".into()));
    let mut figures = Figures::default();
    for k in 0..input.results.endpoints.len() {
        let ep = &input.results.endpoints[k];
        blocks.push(Block::Heading(3, format!("{} ({})", ep.label, ep.name)));
        blocks.push(survival::table(input, k));
        for a in survival::analyses(input, k) {
            let fig = survival::figure(input, &a);
            let stem = survival::stem(&a);
            figures.add(&stem, fig.chart(), &mut files, blocks.len());
            let names: Vec<String> = a
                .groups
                .iter()
                .map(|g| format!("{} = {}", g.0, g.1))
                .collect();
            blocks.push(Block::Figure {
                file: format!("{stem}.svg"),
                caption: format!(
                    "{}. Kaplan–Meier curves ({}), time from {}; {}short vertical ticks mark censored times; dashed lines mark the medians; numbers at risk (time >= tick) under the axis. Also {stem}.pdf (vector) and {stem}.png (300 dpi).",
                    fig.title,
                    names.join(", "),
                    a.time_from,
                    if fig.ci_bands {
                        format!(
                            "shaded: pointwise {}% confidence bands ({} scale); ",
                            fmt::num(input.results.conventions.conf_level * 100.0),
                            conf_type(input)
                        )
                    } else {
                        String::new()
                    },
                ),
                alt: format!("Kaplan–Meier plot: {}", fig.title),
                svg: String::new(),
            });
        }
        if let Some(comp) = &ep.competing {
            blocks.extend(competing::blocks(
                ep,
                comp,
                input.results.conventions.conf_level,
            ));
            let labels: Vec<(String, String)> = input
                .results
                .arms
                .iter()
                .map(|a| (a.name.clone(), a.label.clone()))
                .collect();
            let x_label =
                survival::axis_titles(&ep.label, ep.unit, &survival::origin_words(input, &ep.name))
                    .0;
            for (stem, fig) in competing::figures(
                ep,
                comp,
                input.cif_curves,
                &labels,
                &x_label,
                input.config.ci_bands,
            ) {
                figures.add(&stem, fig.chart(), &mut files, blocks.len());
                blocks.push(Block::Figure {
                    file: format!("{stem}.svg"),
                    caption: format!(
                        "{}. Aalen–Johansen cumulative incidence per arm, the other causes competing; {}numbers at risk (time >= tick) under the axis. Also {stem}.pdf (vector) and {stem}.png (300 dpi).",
                        fig.title,
                        if fig.ci_bands {
                            format!(
                                "shaded: pointwise {}% confidence bands; ",
                                fmt::num(input.results.conventions.conf_level * 100.0)
                            )
                        } else {
                            String::new()
                        }
                    ),
                    alt: format!("Cumulative incidence plot: {}", fig.title),
                    svg: String::new(),
                });
            }
        }
    }

    if let Some(e) = &input.results.emulation {
        blocks.extend(emulation::blocks(e, input.results.conventions.conf_level));
        for ep in &e.endpoints {
            let (stem, fig) = emulation::figure(e, ep, input.curves, input.config.ci_bands);
            figures.add(&stem, fig.chart(), &mut files, blocks.len());
            blocks.push(Block::Figure {
                file: format!("{stem}.svg"),
                caption: format!(
                    "{}. Weighted Kaplan–Meier curves of the two strategies (clones, inverse-probability-of-censoring weights), time from the origin; numbers at risk are the weighted numbers of clones. Also {stem}.pdf (vector) and {stem}.png (300 dpi).",
                    fig.title
                ),
                alt: format!("Kaplan–Meier plot: {}", fig.title),
                svg: String::new(),
            });
        }
    }
    // Every curve figure is drawn here, side by side, into the places kept
    // for it above; a figure that cannot be drawn is reported as it was
    // met, before any later part of the report.
    figures.draw(&mut files, &mut blocks)?;

    if let Some(p) = &input.config.published {
        blocks.extend(published::block(input, p).map_err(ReportError::Published)?);
    }
    conventions(input, &mut blocks);

    let doc = Document {
        title: format!("{}: study report", input.name),
        blocks,
    };
    files.push(("report.md".into(), doc::markdown(&doc).into_bytes()));
    files.push(("report.html".into(), doc::html(&doc).into_bytes()));
    Ok(files)
}

/// The curve figures of a report, drawn together once its blocks are laid
/// out: on a large cohort each takes tens of milliseconds and draws on one
/// core, so one after another they left the other idle at the end of a
/// run. Each figure is the same bytes as drawn alone.
#[derive(Default)]
struct Figures {
    pending: Vec<PendingFigure>,
}

/// A figure to draw and the places kept for it.
struct PendingFigure {
    stem: String,
    chart: plot::Chart,
    /// Its `.png` in the report's files; `.pdf` and `.svg` follow it.
    file: usize,
    /// Its `Block::Figure`, whose SVG is inlined in the HTML.
    block: usize,
}

impl Figures {
    /// Keeps the places of `stem`'s files (PNG, PDF, SVG, in that order)
    /// at the end of `files`; `block` is the index its `Block::Figure` is
    /// pushed at.
    fn add(
        &mut self,
        stem: &str,
        chart: plot::Chart,
        files: &mut Vec<(String, Vec<u8>)>,
        block: usize,
    ) {
        self.pending.push(PendingFigure {
            stem: stem.to_string(),
            chart,
            file: files.len(),
            block,
        });
        for ext in ["png", "pdf", "svg"] {
            files.push((format!("{stem}.{ext}"), Vec::new()));
        }
    }

    /// Draws every figure, on all cores, and puts each into its places;
    /// the first figure (in the report's order) that cannot be drawn is
    /// the error.
    fn draw(
        self,
        files: &mut [(String, Vec<u8>)],
        blocks: &mut [Block],
    ) -> Result<(), ReportError> {
        use rayon::prelude::*;
        let drawn: Vec<Result<plot::Rendered, String>> = self
            .pending
            .par_iter()
            .map(|p| plot::render(&p.chart))
            .collect();
        for (p, drawn) in self.pending.into_iter().zip(drawn) {
            let plot::Rendered { svg, png, pdf } =
                drawn.map_err(|message| ReportError::Figure {
                    figure: p.stem,
                    message,
                })?;
            files[p.file].1 = png;
            files[p.file + 1].1 = pdf;
            files[p.file + 2].1 = svg.clone().into_bytes();
            match &mut blocks[p.block] {
                Block::Figure { svg: inlined, .. } => *inlined = svg,
                _ => unreachable!("a figure's block is a Block::Figure"),
            }
        }
        Ok(())
    }
}

fn conf_type(input: &Input) -> &'static str {
    match input.results.conventions.conf_type {
        cohortflow_analysis::ConfTypeName::Log => "log",
        cohortflow_analysis::ConfTypeName::LogLog => "log-log",
        cohortflow_analysis::ConfTypeName::Plain => "plain",
    }
}

/// Warnings and the immortal-time remedy, before any result.
fn design(input: &Input, blocks: &mut Vec<Block>) {
    let r = input.results;
    blocks.push(Block::Heading(2, "Design".into()));
    for w in &r.warnings {
        blocks.push(Block::Warning(w.clone()));
    }
    // What each criterion and arm guarantees when it uses something known
    // after the origin: always shown; an acknowledged one with its reason.
    for w in &r.design_warnings {
        match &w.acknowledged {
            None => blocks.push(Block::Warning(w.text())),
            Some(reason) => blocks.push(Block::Para(format!(
                "**Design warning, acknowledged by the pipeline** ({reason}): {}",
                w.guarantee
            ))),
        }
    }
    let no_design_warning = r.warnings.is_empty() && r.design_warnings.is_empty();
    match &r.landmark {
        Some(l) => blocks.push(Block::Para(format!(
            "**Immortal-time bias: remedy used — landmark analysis at {time} {unit}.** It starts from {n} patients, {population}; of those, only patients alive, event-free and under follow-up at the landmark are analysed, grouped by whether {exposure} (`{exposure_column}`) was on or before it ({exposed} / {unexposed}), with time counted from the landmark. Its results are shown next to the naive comparison of the declared arms, which counts time from each endpoint's origin: if an arm is defined by something that happens after the origin (such as surgery), the naive comparison credits that arm with time in which its patients could not have had the event.",
            time = fmt::num(l.time),
            unit = l.unit,
            n = l.population_n,
            population = l.population.describe(),
            exposure = r.labels.label(&l.exposure),
            exposure_column = l.exposure,
            exposed = l.groups[0].label,
            unexposed = l.groups.get(1).map(|g| g.label.as_str()).unwrap_or("")
        ))),
        None if r.time_varying.is_some() => blocks.push(Block::Para(
            "**Immortal-time bias: remedy used — the exposure as a time-varying covariate** (Cox model, in the results tables). The other comparisons of the declared arms below count time from the origin and carry the bias when an arm is defined after it.".into(),
        )),
        None if no_design_warning => blocks.push(Block::Para(
            "Immortal-time bias: no landmark analysis is declared, and no criterion or arm was found to use a column known after an endpoint's origin.".into(),
        )),
        None => blocks.push(Block::Para(
            "**Immortal-time bias: no remedy is declared** (no landmark analysis); see the warning above. The comparisons below count time from the origin.".into(),
        )),
    }
    if let (Some(_), Some(tv)) = (&r.landmark, &r.time_varying) {
        blocks.push(Block::Para(format!(
            "A second remedy is also used: {} (`{}`) as a time-varying covariate in a Cox model (each patient unexposed until the exposure date, exposed after it), on {} patients, {}; its hazard ratio is in the results tables.",
            r.labels.label(&tv.exposure),
            tv.exposure,
            tv.population_n,
            tv.population.describe()
        )));
    }
    if let Some(e) = &r.emulation {
        blocks.push(Block::Para(format!(
            "The target trial is also emulated by clone–censor–weight on {} eligible patients: from the origin, each patient is cloned into \"{}\" and \"{}\", clones are censored when they leave their strategy and the censoring is weighted (section Emulated target trial).",
            e.population_n, e.strategies[0].label, e.strategies[1].label
        )));
    }
    if r.matching.is_some() {
        blocks.push(Block::Para(
            "**Matched cohort:** the arms below are the matched sets of the `[matching]` stage, not every eligible patient (balance before and after matching: section Matching, `balance.csv`).".into(),
        ));
    }
    if no_design_warning {
        blocks.push(Block::Para("Design warnings: none.".into()));
    }
}

/// The main results in words.
fn summary(input: &Input, blocks: &mut Vec<Block>) {
    let r = input.results;
    blocks.push(Block::Heading(2, "Main results".into()));
    let mut items = Vec::new();
    for (k, ep) in r.endpoints.iter().enumerate() {
        for a in survival::analyses(input, k) {
            let medians: Vec<String> = a
                .result
                .by_arm
                .iter()
                .zip(&a.groups)
                .map(|(s, g)| {
                    let name = if a.kind == AnalysisKind::Naive {
                        &g.0
                    } else {
                        &g.1
                    };
                    match s.median.estimate {
                        Some(m) => format!("{name} {m:.1} {}", ep.unit),
                        None => format!("{name} not reached"),
                    }
                })
                .collect();
            items.push(format!(
                "**{}**, {}: median {}{}{}.",
                ep.label,
                a.title.to_lowercase(),
                medians.join(" vs "),
                a.result
                    .log_rank
                    .as_ref()
                    .map_or(String::new(), |l| format!(
                        "; log-rank χ² = {:.2}, {} df: {}",
                        l.chisq,
                        l.df,
                        fmt::significance(l.p_value, input.alpha())
                    )),
                hazard_ratios(input, &a)
            ));
        }
        if let Some(tv) = &r.time_varying
            && let Some(e) = tv.endpoints.iter().find(|e| e.name == ep.name)
            && let Some(t) = e.model.terms.first()
        {
            items.push(format!(
                "**{}**, {} as a time-varying covariate ({}; no immortal time): hazard ratio {}{}.",
                ep.label,
                r.labels.label(&tv.exposure),
                tv.population.describe(),
                hr_text(t, r.conventions.conf_level, input.alpha()),
                match e.model.ph_test.last() {
                    Some((_, t)) if t.p_value < input.alpha() => format!(
                        " — **caution: proportional hazards rejected** (cox.zph global {})",
                        fmt::p_eq(t.p_value)
                    ),
                    _ => String::new(),
                }
            ));
        }
    }
    for ep in &r.endpoints {
        if let Some(comp) = &ep.competing {
            let tests: Vec<String> = comp
                .causes
                .iter()
                .map(|c| match &c.gray {
                    Some(g) => format!(
                        "{}: Gray's test {}",
                        c.cause,
                        fmt::significance(g.p_value, input.alpha())
                    ),
                    None => format!("{}: no Gray's test", c.cause),
                })
                .collect();
            items.push(format!(
                "**{}**, cumulative incidence by cause across the declared arms: {}.",
                ep.label,
                tests.join("; ")
            ));
        }
    }
    if let Some(e) = &r.emulation {
        items.extend(emulation::summary(e, input.alpha()));
    }
    blocks.push(Block::List(items));
    blocks.push(Block::Para(format!(
        "A p-value at or above α = {} means the data do not show a difference at that level; it does not show that the arms are equal, and a difference in medians with such a p-value is not a significantly longer survival.",
        fmt::num(input.alpha())
    )));
}

/// `0.50 [0.22, 1.12], not significant at α = 0.05 (p = 0.093)`.
fn hr_text(t: &cohortflow_analysis::CoxTerm, conf_level: f64, alpha: f64) -> String {
    format!(
        "{} [{}% CI {}, {}], {}",
        fmt::dec(Some(t.hazard_ratio), 2),
        fmt::num(conf_level * 100.0),
        fmt::dec(Some(t.lower), 2),
        fmt::dec(Some(t.upper), 2),
        fmt::significance(t.p_value, alpha)
    )
}

/// The hazard ratios of one analysis for "Main results": the arms'
/// unadjusted and adjusted Cox models (naive), the exposed against the
/// unexposed (landmark); with the proportional-hazards caveat when
/// cox.zph rejects it.
fn hazard_ratios(input: &Input, a: &survival::Analysis) -> String {
    let r = input.results;
    let Some(cox) = &a.result.cox else {
        return String::new();
    };
    let level = r.conventions.conf_level;
    let alpha = input.alpha();
    let terms = match a.kind {
        AnalysisKind::Naive => r.arms.len().saturating_sub(1),
        _ => 1,
    };
    let one = |m: &cohortflow_analysis::CoxModel| -> String {
        m.terms
            .iter()
            .take(terms)
            .map(|t| {
                let what = if a.kind == AnalysisKind::Naive {
                    format!("{} ", t.term)
                } else {
                    String::new()
                };
                format!("{what}{}", hr_text(t, level, alpha))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = format!("; Cox hazard ratio {}", one(&cox.unadjusted));
    if let Some(adj) = &cox.adjusted {
        out.push_str(&format!("; adjusted {}", one(adj)));
    }
    if let Some((_, t)) = cox.unadjusted.ph_test.last()
        && t.p_value < alpha
    {
        let rmst: Vec<String> = a
            .result
            .by_arm
            .iter()
            .filter_map(|s| {
                s.rmst.as_ref().map(|m| {
                    format!(
                        "{} {} {}",
                        s.arm,
                        fmt::dec(Some(m.estimate), 1),
                        a.result.unit
                    )
                })
            })
            .collect();
        out.push_str(&format!(
            " — **caution: proportional hazards rejected** (cox.zph global {}): the hazard ratio averages a ratio that changes over time; the restricted mean survival time{} and the curves describe the difference instead",
            fmt::p_eq(t.p_value),
            match a.result.by_arm.iter().find_map(|s| s.rmst.as_ref()) {
                Some(m) if !rmst.is_empty() => format!(
                    " to {} {} ({})",
                    fmt::num(m.tau),
                    a.result.unit,
                    rmst.join(" vs ")
                ),
                _ => String::new(),
            }
        ));
    }
    out
}

/// Every convention used, and what the report does not contain.
fn conventions(input: &Input, blocks: &mut Vec<Block>) {
    let c = &input.results.conventions;
    blocks.push(Block::Heading(2, "Conventions".into()));
    let mut tests: Vec<String> = input
        .results
        .baseline
        .iter()
        .filter_map(|b| b.test.clone())
        .collect();
    tests.sort();
    tests.dedup();
    let mut items = vec![
        format!(
            "Survival estimator: {}; variance: {}.",
            c.survival_estimator, c.variance
        ),
        format!(
            "Confidence intervals: {}% pointwise, computed on the {} scale (R's conf.type = \"{}\").",
            fmt::num(c.conf_level * 100.0),
            conf_type(input),
            conf_type(input)
        ),
        format!("Median and its confidence interval: {}.", c.median),
        format!("Survival comparison: {}.", c.comparison),
        format!("Tied times: {}.", c.tied_times),
        format!("Quantiles (Table 1): {}.", c.quantiles),
        format!(
            "Baseline tests used: {}; the rule: Fisher's exact test when any expected count is under 5, else Pearson's chi-squared test (Yates' correction for 2 x 2); {} for continuous variables.",
            if tests.is_empty() {
                "none".to_string()
            } else {
                tests.join("; ")
            },
            c.continuous_test.description()
        ),
        format!("A month is {} days.", fmt::num(c.month_days)),
        format!(
            "Significance level α = {} (the pipeline's [report] alpha); two-sided tests; no adjustment for multiple comparisons.",
            fmt::num(input.alpha())
        ),
    ];
    if input.results.landmark.is_some() {
        items.insert(7, format!("Landmark rule: {}.", c.landmark));
    }
    blocks.push(Block::List(items));
    blocks.push(Block::Para(
        "Files: `table1.csv` (Table 1), `km-<endpoint>.svg` / `.png` and `km-<endpoint>-landmark.svg` / `.png` (figures), `km.csv` (every curve step), `results.json` (every estimate), `flow.svg`, `report.md` and `report.html` (this report).".into(),
    ));
    if input
        .results
        .endpoints
        .iter()
        .any(|e| e.competing.is_some())
    {
        blocks.push(Block::Para(
            "Competing risks: the cumulative incidence of each cause is the Aalen–Johansen estimate (R's survfit with a multi-state status; infinitesimal-jackknife standard errors); Gray's test compares it across the arms (R's cmprsk::cuminc); the cause-specific Cox model censors the other causes. Files: `cif.csv` (every curve step, per cause), `cif-<endpoint>-<cause>.svg` / `.png` (figures). The Kaplan–Meier curves and log-rank test of such an endpoint treat an event of any cause as the event.".into(),
        ));
    }
}

/// A model term as a reader names it: `sex = F` is `Sex: Female`,
/// `mets_liver = true` is `Liver metastases: yes`, `distance` the
/// propensity score; labels as declared ([`Labels`]).
pub fn term_label(labels: &Labels, term: &str) -> String {
    if term == "distance" {
        return "Propensity score (distance)".into();
    }
    match term.split_once(" = ") {
        Some((column, level)) => {
            let level = match level {
                "(missing)" => "unknown".to_string(),
                "true" if labels.level(column, "true") == "true" => "yes".into(),
                "false" if labels.level(column, "false") == "false" => "no".into(),
                l => labels.level(column, l),
            };
            format!("{}: {level}", labels.label(column))
        }
        None => labels.titled(term),
    }
}

/// The matching section: counts, the balance table and the love plot.
/// Returns the love plot (`love.svg`, also inlined, `.png`, `.pdf`).
fn matching(
    m: &MatchingSummary,
    labels: &Labels,
    blocks: &mut Vec<Block>,
) -> Result<plot::Rendered, String> {
    use doc::{Cell, Row};
    blocks.push(Block::Heading(2, "Matching".into()));
    let counts: Vec<String> = m
        .counts
        .iter()
        .map(|c| {
            format!(
                "{}: {} of {} matched ({} unmatched)",
                c.arm, c.matched, c.before, c.unmatched
            )
        })
        .collect();
    let caliper = m.caliper_sd.map_or("no caliper".to_string(), |c| {
        format!("caliper {} SD of the score", fmt::num(c))
    });
    blocks.push(Block::Para(format!(
        "{}; 1:{}, {caliper}, m.order = {}, missing covariates: {}. {}.",
        m.method,
        m.ratio,
        m.m_order.name(),
        m.missing.name(),
        counts.join("; ")
    )));
    let smd = |v: Option<f64>| fmt::dec(v, 3);
    let mut rows = Vec::new();
    let mut love = Vec::new();
    for b in &m.balance {
        rows.push(Row::new(vec![
            Cell::from(term_label(labels, &b.term)),
            Cell::from(smd(b.before.std_mean_diff)),
            Cell::from(smd(b.after.std_mean_diff)),
            Cell::from(fmt::dec(b.after.var_ratio, 2)),
        ]));
        love.push((
            term_label(labels, &b.term),
            b.before.std_mean_diff,
            b.after.std_mean_diff,
        ));
    }
    blocks.push(Block::Table {
        caption: "Balance before and after matching".into(),
        header: vec![
            "Term".into(),
            "SMD before".into(),
            "SMD after".into(),
            "Variance ratio after".into(),
        ],
        rows,
        notes: vec![
            "SMD: standardized mean difference as MatchIt's summary (treated SD as denominator); a category appears once per level; distance = the propensity score. – where undefined.".into(),
        ],
        class: "numbers",
    });
    let plot = love::love_plot(&love, m.thresholds.smd)?;
    blocks.push(Block::Figure {
        file: "love.svg".into(),
        svg: plot.svg.clone(),
        caption: format!(
            "Love plot: absolute SMD of each term before (open orange) and after (filled blue) matching, sorted by the imbalance before matching; dashed line at the threshold |SMD| = {} ([matching.balance]).",
            m.thresholds.smd
        ),
        alt: "Love plot of standardized mean differences before and after matching".into(),
    });
    Ok(plot)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three different charts (titles, bands, curves cut at a time).
    fn charts() -> Vec<plot::Chart> {
        let (a, b) = plot::tests::curves();
        (0..3)
            .map(|k| {
                let mut fig = plot::tests::figure(&a, &b);
                fig.title = format!("Figure {k}");
                fig.ci_bands = k != 1;
                fig.x_max = (k == 2).then_some(40.0);
                fig.chart()
            })
            .collect()
    }

    /// Drawn together on two threads, each figure's PNG, PDF and SVG file
    /// and its inlined SVG are the bytes of that figure drawn alone, one
    /// after another on one thread, and land in its places among other
    /// files and blocks, which are left as they were.
    #[test]
    fn figures_drawn_together_are_those_drawn_alone_in_their_places() {
        let alone: Vec<plot::Rendered> = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| charts().iter().map(|c| plot::render(c).unwrap()).collect());
        let mut files = vec![("table1.csv".to_string(), b"t".to_vec())];
        let mut blocks = vec![Block::Para("before".into())];
        let mut figures = Figures::default();
        for (k, chart) in charts().into_iter().enumerate() {
            figures.add(&format!("fig-{k}"), chart, &mut files, blocks.len());
            blocks.push(Block::Figure {
                file: format!("fig-{k}.svg"),
                svg: String::new(),
                caption: format!("caption {k}"),
                alt: format!("alt {k}"),
            });
            files.push((format!("between-{k}.csv"), vec![k as u8]));
            blocks.push(Block::Para(format!("after {k}")));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| figures.draw(&mut files, &mut blocks))
            .unwrap();

        let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "table1.csv",
                "fig-0.png",
                "fig-0.pdf",
                "fig-0.svg",
                "between-0.csv",
                "fig-1.png",
                "fig-1.pdf",
                "fig-1.svg",
                "between-1.csv",
                "fig-2.png",
                "fig-2.pdf",
                "fig-2.svg",
                "between-2.csv",
            ]
        );
        let file = |name: &str| &files.iter().find(|f| f.0 == name).unwrap().1;
        assert_eq!(file("table1.csv"), b"t");
        for (k, one) in alone.iter().enumerate() {
            assert_eq!(file(&format!("fig-{k}.png")), &one.png, "fig-{k}.png");
            assert_eq!(file(&format!("fig-{k}.pdf")), &one.pdf, "fig-{k}.pdf");
            assert_eq!(
                file(&format!("fig-{k}.svg")),
                one.svg.as_bytes(),
                "fig-{k}.svg"
            );
            assert_eq!(file(&format!("between-{k}.csv")), &[k as u8]);
            match &blocks[1 + 2 * k] {
                Block::Figure { svg, file, .. } => {
                    assert_eq!(file, &format!("fig-{k}.svg"));
                    assert_eq!(svg, &one.svg, "block of fig-{k}");
                }
                _ => panic!("block {} is not a figure", 1 + 2 * k),
            }
            match &blocks[2 + 2 * k] {
                Block::Para(p) => assert_eq!(p, &format!("after {k}")),
                _ => panic!("block {} is not the paragraph after it", 2 + 2 * k),
            }
        }
        // The three figures differ, so a figure in another's place fails.
        assert_ne!(alone[0].png, alone[1].png);
        assert_ne!(alone[1].svg, alone[2].svg);
        assert_ne!(alone[0].pdf, alone[2].pdf);
    }
}
