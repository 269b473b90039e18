//! Speed benchmark of cohortflow-stats against R's survival package.
//! Driven by `bench/run.sh`; see `bench/README.md`.
//!
//! * `cohortflow-bench gen <data.csv>` writes the data set (fixed seed).
//! * `cohortflow-bench run <data.csv> <r-results.tsv> [lung.csv]` reads the
//!   data set (not timed), times the three estimators (median of 5 runs
//!   each) and Fisher's exact test on lung's 18 x 2 institution by sex table
//!   (`fixtures/real/lung.csv`), reads
//!   the timings and results that `bench/bench.R` wrote, checks that both
//!   sides computed the same numbers and prints the table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use cohortflow_stats::rng::SplitMix64;
use cohortflow_stats::{
    CoxData, CoxOptions, KmOptions, QuantileEstimate, SurvTimes, aeq_times, cox_ph, fisher_exact,
    kaplan_meier_by_group, kaplan_meier_by_group_prepared, log_rank, log_rank_prepared,
};

/// Rows of the data set.
const N: usize = 1_000_000;
/// Seed of the generator: the data set is the same on every machine.
const SEED: u64 = 20_260_301;
/// Last day of follow-up: administrative censoring, so times are 1..=1200 days.
const HORIZON: f64 = 1200.0;
/// Timed runs per estimator; the median is reported.
const RUNS: usize = 5;
/// Agreement required between cohortflow and R (relative).
const REL_TOL: f64 = 1e-9;

// ---------------------------------------------------------------------------
// Data generation

/// xoshiro256** seeded by the project's SplitMix64
/// ([`cohortflow_stats::rng::SplitMix64`]): a small, fixed generator, so the
/// data set does not depend on a crate's version.
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        Rng([sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()])
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box–Muller, one value per call).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Covariates are multiples of 1/256 with few digits: their decimal text is
/// exact, so R's CSV reader and ours read bit-identical values.
fn quantize(v: f64) -> f64 {
    (v * 256.0).round() / 256.0
}

struct Data {
    time: Vec<f64>,
    event: Vec<bool>,
    group: Vec<usize>,
    x: [Vec<f64>; 3],
}

/// Times in whole days 1..=1200 (~1,200 distinct); exponential event times
/// with hazard `LAMBDA exp(0.5 x1 - 0.3 x2 + 0.2 x3 + 0.4 group)`, uniform
/// censoring on (0, CENSOR_MAX] days and administrative censoring at 1200.
fn generate() -> Data {
    const LAMBDA: f64 = 1.0 / 900.0;
    const CENSOR_MAX: f64 = 1740.0;
    let mut rng = Rng::new(SEED);
    let mut d = Data {
        time: Vec::with_capacity(N),
        event: Vec::with_capacity(N),
        group: Vec::with_capacity(N),
        x: [
            Vec::with_capacity(N),
            Vec::with_capacity(N),
            Vec::with_capacity(N),
        ],
    };
    for _ in 0..N {
        let g = usize::from(rng.uniform() < 0.5);
        let x1 = quantize(rng.normal());
        let x2 = quantize(rng.normal());
        let x3 = quantize(4.0 * rng.uniform());
        let eta = 0.5 * x1 - 0.3 * x2 + 0.2 * x3 + 0.4 * g as f64;
        let t_event = (-rng.uniform().ln() / (LAMBDA * eta.exp())).ceil().max(1.0);
        let t_censor = (rng.uniform() * CENSOR_MAX).ceil().min(HORIZON);
        d.time.push(t_event.min(t_censor));
        d.event.push(t_event <= t_censor);
        d.group.push(g);
        d.x[0].push(x1);
        d.x[1].push(x2);
        d.x[2].push(x3);
    }
    d
}

fn write_csv(d: &Data, path: &str) -> std::io::Result<()> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "time,status,group,x1,x2,x3")?;
    for i in 0..d.time.len() {
        writeln!(
            w,
            "{},{},{},{},{},{}",
            d.time[i],
            u8::from(d.event[i]),
            d.group[i],
            d.x[0][i],
            d.x[1][i],
            d.x[2][i]
        )?;
    }
    w.flush()
}

fn read_csv(path: &str) -> Result<Data, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut d = Data {
        time: Vec::with_capacity(N),
        event: Vec::with_capacity(N),
        group: Vec::with_capacity(N),
        x: [
            Vec::with_capacity(N),
            Vec::with_capacity(N),
            Vec::with_capacity(N),
        ],
    };
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("{path}: {e}"))?;
        if i == 0 {
            continue;
        }
        let bad = || format!("{path}:{}: bad row {line:?}", i + 1);
        let v: Vec<&str> = line.split(',').collect();
        if v.len() != 6 {
            return Err(bad());
        }
        let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
        d.time.push(num(v[0])?);
        d.event.push(v[1] == "1");
        d.group.push(v[2].parse::<usize>().map_err(|_| bad())?);
        for k in 0..3 {
            d.x[k].push(num(v[3 + k])?);
        }
    }
    Ok(d)
}

// ---------------------------------------------------------------------------
// Timing

/// Runs `f` `RUNS` times; returns the median and every time, in seconds,
/// and the last result.
fn time_runs<T>(mut f: impl FnMut() -> T) -> (f64, Vec<f64>, T) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let r = black_box(f());
        times.push(t0.elapsed().as_secs_f64());
        last = Some(r);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    (sorted[RUNS / 2], times, last.expect("RUNS > 0"))
}

// ---------------------------------------------------------------------------
// R's results

fn read_r(path: &str) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn r_num(r: &BTreeMap<String, String>, key: &str) -> Result<Option<f64>, String> {
    let v = r.get(key).ok_or_else(|| format!("R results: no {key:?}"))?;
    if v == "NA" {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| format!("R results: {key} = {v:?}"))
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "NA".to_string(), |x| format!("{x}"))
}

// ---------------------------------------------------------------------------

/// lung's institution by sex table, as R's `table(lung$inst, lung$sex)`:
/// rows the institutions present (sorted, NA left out), columns sex 1 and 2.
fn lung_table(path: &str) -> Result<Vec<Vec<u64>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or(format!("{path}: empty"))?
        .split(',')
        .map(|h| h.trim_matches('"'))
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("{path}: no column {name}"))
    };
    let (inst, sex) = (col("inst")?, col("sex")?);
    let mut counts: BTreeMap<u64, [u64; 2]> = BTreeMap::new();
    for (k, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let Ok(i) = f.get(inst).unwrap_or(&"").parse::<u64>() else {
            continue; // NA institution: left out, as table() does
        };
        let s: usize = match f.get(sex).copied() {
            Some("1") => 0,
            Some("2") => 1,
            _ => return Err(format!("{path}: line {}: sex is not 1 or 2", k + 2)),
        };
        counts.entry(i).or_default()[s] += 1;
    }
    Ok(counts.values().map(|c| c.to_vec()).collect())
}

fn run(data_path: &str, r_path: &str, lung_path: &str) -> Result<bool, String> {
    let lung = lung_table(lung_path)?;
    let (fisher_s, fisher_all, fisher) =
        time_runs(|| fisher_exact(&lung).expect("fisher_exact on lung"));
    let d = read_csv(data_path)?;
    let n = d.time.len();
    let censored = d.event.iter().filter(|&&e| !e).count();
    let distinct = {
        let mut t = d.time.clone();
        t.sort_by(f64::total_cmp);
        t.dedup();
        t.len()
    };
    let km_opts = KmOptions::default();
    let cox_opts = CoxOptions::default();
    let covariates: Vec<&[f64]> = d.x.iter().map(Vec::as_slice).collect();
    let cox_data = CoxData {
        start: None,
        stop: &d.time,
        event: &d.event,
        covariates: &covariates,
        strata: None,
    };

    // Each estimator as a user calls it: each call validates, timefixes
    // and ranks the times on its own (SurvTimes::new inside).
    let (km_s, km_all, km) = time_runs(|| {
        let fits = kaplan_meier_by_group(&d.time, &d.event, &d.group, &km_opts)
            .expect("kaplan_meier_by_group");
        let medians: Vec<QuantileEstimate> = fits.iter().map(|f| f.median()).collect();
        (fits, medians)
    });
    let (lr_s, lr_all, lr) =
        time_runs(|| log_rank(&d.time, &d.event, &d.group, None, 0.0).expect("log_rank"));
    let (cox_s, cox_all, cox) = time_runs(|| cox_ph(&cox_data, &cox_opts).expect("cox_ph"));
    // Shared: SurvTimes::new once, then KM (+ medians) and log-rank on it.
    let (shared_s, shared_all, shared) = time_runs(|| {
        let times = SurvTimes::new(&d.time, &d.event).expect("SurvTimes::new");
        let fits = kaplan_meier_by_group_prepared(&times, &d.group, &km_opts)
            .expect("kaplan_meier_by_group_prepared");
        let medians: Vec<QuantileEstimate> = fits.iter().map(|f| f.median()).collect();
        let lr = log_rank_prepared(&times, &d.group, None, 0.0).expect("log_rank_prepared");
        (fits, medians, lr)
    });
    // For reference (not in the table): the parts of the shared run.
    let (st_s, _, times) = time_runs(|| SurvTimes::new(&d.time, &d.event).expect("SurvTimes::new"));
    let (kmp_s, _, _) = time_runs(|| {
        let fits = kaplan_meier_by_group_prepared(&times, &d.group, &km_opts)
            .expect("kaplan_meier_by_group_prepared");
        fits.iter().map(|f| f.median()).collect::<Vec<_>>()
    });
    let (lrp_s, _, _) =
        time_runs(|| log_rank_prepared(&times, &d.group, None, 0.0).expect("log_rank_prepared"));
    let (aeq_s, _, _) = time_runs(|| aeq_times(&d.time).expect("aeq_times"));
    // The shared run must give the same numbers, bit for bit.
    let same_bits = shared.0 == km.0 && shared.1 == km.1 && shared.2 == lr;

    let r = read_r(r_path)?;
    let r_time = |key: &str| -> Result<f64, String> {
        r_num(&r, key)?.ok_or_else(|| format!("R results: {key} is NA"))
    };

    // --- speed table
    struct Row<'a> {
        name: &'a str,
        ours: f64,
        theirs: f64,
        target: f64,
        /// Required speed-up over R.
        speedup: f64,
    }
    let rows = [
        Row {
            name: "Kaplan–Meier by group + median and CI",
            ours: km_s,
            theirs: r_time("km_seconds")?,
            target: 0.05,
            speedup: 25.0,
        },
        Row {
            name: "log-rank (2 groups)",
            ours: lr_s,
            theirs: r_time("logrank_seconds")?,
            target: 0.05,
            speedup: 25.0,
        },
        Row {
            name: "shared: SurvTimes::new once + KM by group (+ median, CI) + log-rank",
            ours: shared_s,
            theirs: r_time("km_seconds")? + r_time("logrank_seconds")?,
            target: 0.1,
            speedup: 25.0,
        },
        Row {
            name: "Cox Efron, 3 covariates",
            ours: cox_s,
            theirs: r_time("cox_seconds")?,
            target: 0.3,
            speedup: 25.0,
        },
        Row {
            name: "Fisher's exact test, lung's 18 x 2 institution by sex table",
            ours: fisher_s,
            theirs: r_time("fisher_seconds")?,
            target: r_time("fisher_seconds")?,
            speedup: 1.0,
        },
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "data: {n} rows, {:.1}% censored, {distinct} distinct times, 2 groups, 3 covariates; \
         median of {RUNS} runs, in-process, file reading excluded",
        100.0 * censored as f64 / n as f64
    );
    let _ = writeln!(
        out,
        "R {} / survival {}\n",
        r.get("r_version").map_or("?", String::as_str),
        r.get("survival_version").map_or("?", String::as_str)
    );
    let _ = writeln!(
        out,
        "| estimator | cohortflow (s) | R (s) | speed-up | target | met? |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---|---|");
    let mut all_met = true;
    for row in &rows {
        let speedup = row.theirs / row.ours;
        let fast = speedup >= row.speedup;
        let met = row.ours <= row.target && fast;
        all_met &= met;
        let why = match (row.ours <= row.target, fast) {
            (true, true) => "yes",
            (false, true) => "no (time)",
            (true, false) => "no (speed-up)",
            (false, false) => "no (time, speed-up)",
        };
        let _ = writeln!(
            out,
            "| {} | {:.4} | {:.3} | {:.1}× | ≤ {:.3} s, ≥ {}× | {} |",
            row.name, row.ours, row.theirs, speedup, row.target, row.speedup, why
        );
    }
    let fmt_all = |v: &[f64]| {
        v.iter()
            .map(|t| format!("{t:.4}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(
        out,
        "\ncohortflow runs (s): KM {} | log-rank {} | shared {} | Cox {} | Fisher {}",
        fmt_all(&km_all),
        fmt_all(&lr_all),
        fmt_all(&shared_all),
        fmt_all(&cox_all),
        fmt_all(&fisher_all)
    );
    let _ = writeln!(
        out,
        "R runs (s):          KM {} | log-rank {} | Cox {} | Fisher {}",
        r.get("km_runs").map_or("?", String::as_str),
        r.get("logrank_runs").map_or("?", String::as_str),
        r.get("cox_runs").map_or("?", String::as_str),
        r.get("fisher_runs").map_or("?", String::as_str)
    );
    let _ = writeln!(
        out,
        "shared row: R column = R's KM + log-rank, target = the sum of their targets; \
         parts (medians of {RUNS}): SurvTimes::new {st_s:.4} s, KM prepared + medians \
         {kmp_s:.4} s, log-rank prepared {lrp_s:.4} s; aeq_times alone {aeq_s:.4} s; \
         shared results equal to the plain calls: {}",
        if same_bits { "yes" } else { "NO" }
    );

    // --- agreement
    let mut checks: Vec<(String, Option<f64>, Option<f64>)> = Vec::new();
    let (fits, medians) = &km;
    for (g, m) in medians.iter().enumerate() {
        checks.push((
            format!("median, group {g}"),
            m.estimate,
            r_num(&r, &format!("median_{g}"))?,
        ));
        checks.push((
            format!("median 0.95LCL, group {g}"),
            m.lower,
            r_num(&r, &format!("lcl_{g}"))?,
        ));
        checks.push((
            format!("median 0.95UCL, group {g}"),
            m.upper,
            r_num(&r, &format!("ucl_{g}"))?,
        ));
        checks.push((
            format!("events, group {g}"),
            Some(fits[g].events()),
            r_num(&r, &format!("events_{g}"))?,
        ));
    }
    checks.push((
        "log-rank chi-square".into(),
        Some(lr.chisq),
        r_num(&r, "chisq")?,
    ));
    for k in 0..3 {
        checks.push((
            format!("Cox coef x{}", k + 1),
            Some(cox.coef[k]),
            r_num(&r, &format!("coef_{}", k + 1))?,
        ));
    }
    for k in 0..3 {
        checks.push((
            format!("Cox se x{}", k + 1),
            Some(cox.se[k]),
            r_num(&r, &format!("se_{}", k + 1))?,
        ));
    }
    checks.push(("Cox loglik".into(), Some(cox.loglik), r_num(&r, "loglik")?));
    checks.push((
        "Fisher p, lung inst x sex".into(),
        Some(fisher.p_value),
        r_num(&r, "fisher_p")?,
    ));
    checks.push((
        "Cox iterations".into(),
        Some(cox.iterations as f64),
        r_num(&r, "iter")?,
    ));

    let _ = writeln!(
        out,
        "\nagreement with R (relative, tolerance {REL_TOL:e}):\n"
    );
    let _ = writeln!(out, "| quantity | cohortflow | R | rel. diff | agree? |");
    let _ = writeln!(out, "|---|---:|---:|---:|---|");
    let mut all_agree = true;
    let mut worst = 0.0f64;
    for (name, ours, theirs) in &checks {
        let (diff, ok) = match (ours, theirs) {
            (Some(a), Some(b)) => {
                let rel = if a == b {
                    0.0
                } else {
                    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
                };
                worst = worst.max(rel);
                (format!("{rel:.1e}"), rel <= REL_TOL)
            }
            (None, None) => ("both NA".to_string(), true),
            _ => ("NA on one side".to_string(), false),
        };
        all_agree &= ok;
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {diff} | {} |",
            fmt_opt(*ours),
            fmt_opt(*theirs),
            if ok { "yes" } else { "NO" }
        );
    }
    let _ = writeln!(
        out,
        "\nall {} values agree to {REL_TOL:e}: {} (worst {worst:.1e}); all targets met: {}",
        checks.len(),
        if all_agree { "yes" } else { "NO" },
        if all_met { "yes" } else { "no" }
    );
    print!("{out}");
    Ok(all_agree && same_bits)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("gen") if args.len() == 3 => {
            let d = generate();
            let censored = d.event.iter().filter(|&&e| !e).count();
            let mut t = d.time.clone();
            t.sort_by(f64::total_cmp);
            t.dedup();
            eprintln!(
                "generated {} rows (seed {SEED}): {:.2}% censored, {} distinct times",
                d.time.len(),
                100.0 * censored as f64 / d.time.len() as f64,
                t.len()
            );
            write_csv(&d, &args[2])
                .map(|()| true)
                .map_err(|e| format!("{}: {e}", args[2]))
        }
        Some("run") if args.len() == 4 || args.len() == 5 => run(
            &args[2],
            &args[3],
            args.get(4).map_or("../fixtures/real/lung.csv", String::as_str),
        ),
        _ => Err("usage: cohortflow-bench gen <data.csv> | run <data.csv> <r-results.tsv> \
                  [lung.csv]"
            .into()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("cohortflow-bench: cohortflow and R disagree (see the table)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cohortflow-bench: {e}");
            ExitCode::from(2)
        }
    }
}
