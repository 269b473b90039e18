# Reference values for cohortflow_stats::cumulative_incidence_by_group
# (R's multi-state survfit: Aalen–Johansen with infinitesimal-jackknife
# standard errors) and cohortflow_stats::gray_test (cmprsk::cuminc's Tests).
# Run from the repository root: Rscript conformance/competing.R  (see regenerate.sh)
#
# Also writes the two real data sets it uses, unchanged, to fixtures/real/:
# mgus2.csv (survival) and melanoma.csv (MASS::Melanoma); see
# fixtures/real/README.md.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(MASS)
})
source(file.path("conformance", "common.R"))

write.csv(survival::mgus2, file.path("fixtures", "real", "mgus2.csv"), row.names = FALSE, na = "")
write.csv(MASS::Melanoma, file.path("fixtures", "real", "melanoma.csv"), row.names = FALSE, na = "")

conf_names <- c(log = "Log", "log-log" = "LogLog", plain = "Plain")

# One curve of a survfitms object (one stratum): every row, and
# summary(times = at, extend = TRUE).
curve_json <- function(fit, k) {
  ft <- fit$time
  mids <- if (length(ft) > 1) (ft[-1] + ft[-length(ft)]) / 2 else numeric(0)
  grid <- sort(unique(c(ft, mids)))
  if (length(grid) > 60) grid <- grid[unique(round(seq(1, length(grid), length.out = 60)))]
  at <- sort(unique(c(-1, 0, min(ft) / 2, grid, max(ft), max(ft) + 1)))
  sa <- summary(fit, times = at, extend = TRUE)
  cols <- function(m) lapply(seq_len(ncol(m)), function(j) arr(m[, j]))
  list(
    n = fit$n,
    steps = list(
      time = arr(fit$time), n_risk = arr(fit$n.risk[, 1]),
      n_event = cols(fit$n.event[, -1, drop = FALSE]), n_censor = arr(fit$n.censor),
      pstate = cols(fit$pstate), std_err = cols(fit$std.err),
      lower = cols(fit$lower), upper = cols(fit$upper)
    ),
    at = list(
      time = arr(at), n_risk = arr(sa$n.risk[, 1]),
      pstate = cols(sa$pstate), std_err = cols(sa$std.err),
      lower = cols(sa$lower), upper = cols(sa$upper),
      beyond_last_time = arr(at > max(fit$time))
    )
  )
}

# cause: 0 censored, 1..K; group: 0..k-1 (every code used).
cr_case <- function(name, source, time, cause, group, conf.type = "log", conf.int = 0.95) {
  k_causes <- max(cause)
  ev <- factor(cause, levels = 0:k_causes)
  g <- factor(group, levels = 0:max(group))
  fit <- survfit(Surv(time, ev) ~ g, conf.type = conf.type, conf.int = conf.int)
  stopifnot(identical(fit$states, c("(s0)", as.character(1:k_causes))))
  curves <- lapply(seq_along(levels(g)), function(i) curve_json(fit[i, ], k_causes))
  gray <- NULL
  if (nlevels(g) > 1) {
    ci <- cuminc(time, cause, group, cencode = 0)
    tests <- ci$Tests
    gray <- lapply(rownames(tests), function(r) list(
      cause = as.numeric(r), statistic = unname(tests[r, "stat"]),
      p_value = unname(tests[r, "pv"]), df = unname(tests[r, "df"])))
  }
  # cause-specific Cox (other causes censored) of group 1 against group 0,
  # for the pipeline's real-data studies (crates/pipeline/tests/real_competing.rs)
  cs_cox <- NULL
  if (nlevels(g) == 2 && grepl("^(mgus2|melanoma)", name)) {
    cs_cox <- lapply(1:k_causes, function(j) {
      f <- summary(coxph(Surv(time, cause == j) ~ g, ties = "efron"))
      list(cause = j, coef = unname(f$coefficients[1, "coef"]),
           se = unname(f$coefficients[1, "se(coef)"]),
           p_value = unname(f$coefficients[1, "Pr(>|z|)"]))
    })
  }
  # Fine-Gray subdistribution hazard of each cause, group 1 against group 0:
  # coxph on finegray() data, with R's default (robust) variance for it
  fg_cox <- NULL
  if (nlevels(g) == 2 && grepl("^(mgus2|melanoma)", name)) {
    d <- data.frame(time = time, ev = ev, g = g)
    fg_cox <- lapply(1:k_causes, function(j) {
      fg <- finegray(Surv(time, ev) ~ g, data = d, etype = as.character(j))
      f <- coxph(Surv(fgstart, fgstop, fgstatus) ~ g, weights = fgwt, data = fg,
                 ties = "efron")
      s <- summary(f)$coefficients
      list(cause = j, coef = unname(s[1, "coef"]), se = unname(s[1, "se(coef)"]),
           robust_se = unname(s[1, "robust se"]), p_value = unname(s[1, "Pr(>|z|)"]),
           n_rows = nrow(fg), events = f$nevent)
    })
  }
  list(
    name = name, source = source,
    input = list(time = arr(time), cause = arr(cause), group = arr(group)),
    cause_specific_cox = cs_cox,
    fine_gray = fg_cox,
    n_causes = k_causes,
    conf_type = conf_names[[conf.type]], conf_level = conf.int,
    curves = curves,
    gray = gray
  )
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- cr_case(...)

mgus2 <- read_real("mgus2")
melanoma <- read_real("melanoma")

# mgus2, as the survival "compete" vignette: the first of progression to a
# plasma cell malignancy (pstat = 1, at ptime) and death (at futime).
etime <- with(mgus2, ifelse(pstat == 0, futime, ptime))
ecause <- with(mgus2, ifelse(pstat == 0, 2 * death, 1))
msex <- ifelse(mgus2$sex == "M", 1, 0)
for (ct in names(conf_names)) {
  add(paste0("mgus2_sex_", ct),
      "fixtures/real/mgus2.csv: time ifelse(pstat == 0, futime, ptime); cause 1 progression (pstat), 2 death; group sex (F = 0, M = 1)",
      etime, ecause, msex, conf.type = ct)
}
add("mgus2_all", "fixtures/real/mgus2.csv: as mgus2_sex_log, one group",
    etime, ecause, rep(0, nrow(mgus2)))
agegrp <- as.numeric(cut(mgus2$age, c(-Inf, 65, 75, Inf))) - 1
add("mgus2_age3", "fixtures/real/mgus2.csv: as mgus2_sex_log, group age <= 65, (65, 75], > 75 (3 groups)",
    etime, ecause, agegrp)
add("mgus2_sex_level90", "fixtures/real/mgus2.csv: as mgus2_sex_log, conf.int = 0.9",
    etime, ecause, msex, conf.int = 0.9)

# MASS::Melanoma: status 1 died of melanoma, 2 alive (censored), 3 died of
# other causes; time in days.
mcause <- c(1, 0, 2)[melanoma$status]
add("melanoma_ulcer", "fixtures/real/melanoma.csv: time; cause 1 melanoma (status 1), 2 other (status 3), status 2 censored; group ulcer (0/1)",
    melanoma$time, mcause, melanoma$ulcer)
add("melanoma_sex", "fixtures/real/melanoma.csv: as melanoma_ulcer, group sex (0/1)",
    melanoma$time, mcause, melanoma$sex)
thick <- as.numeric(cut(melanoma$thickness, c(-Inf, 1, 4, Inf))) - 1
add("melanoma_thickness3", "fixtures/real/melanoma.csv: as melanoma_ulcer, group thickness <= 1, (1, 4], > 4 mm (3 groups)",
    melanoma$time, mcause, thick)
add("melanoma_ulcer_loglog", "fixtures/real/melanoma.csv: as melanoma_ulcer, conf.type log-log",
    melanoma$time, mcause, melanoma$ulcer, conf.type = "log-log")

# Edge cases: ties of causes and censorings at one time, a time 0, a cause
# absent from one group, near-tied times merged by timefix, three causes.
add("ties_and_zero", "hand-made: ties across causes and censoring, a time 0",
    c(0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8, 8),
    c(1, 1, 2, 0, 2, 0, 1, 1, 2, 0, 1, 2, 0, 2, 1, 0),
    c(0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0))
add("cause_absent_in_group", "hand-made: cause 2 only in group 0",
    c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
    c(1, 2, 0, 1, 2, 1, 1, 0, 1, 1, 0, 1),
    c(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1))
add("timefix_near_ties", "hand-made: times differing by 1e-10 merge (timefix) across groups",
    c(1, 1 + 1e-10, 2, 2 + 2e-10, 3, 4, 4, 5, 6, 7),
    c(1, 2, 1, 0, 2, 1, 0, 2, 1, 0),
    c(0, 1, 1, 0, 0, 1, 0, 1, 0, 1))
add("three_causes", "hand-made: three causes, two groups, last time an event",
    c(2, 3, 3, 5, 6, 6, 7, 9, 10, 11, 12, 13, 14, 15, 15, 16),
    c(1, 2, 3, 0, 1, 3, 2, 0, 1, 2, 3, 1, 0, 2, 1, 3),
    c(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0))

out <- c(provenance("conformance/competing.R"),
         list(cmprsk_version = as.character(packageVersion("cmprsk")),
              mass_version = as.character(packageVersion("MASS")),
              cases = cases))
write_json(out, file.path("conformance", "competing.json"))
