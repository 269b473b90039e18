# Reference values for the landmark and time-varying analyses of the
# mgist-cytoreduction study on the ELIGIBLE population (every patient who
# passes the cohort criteria, before the arms; population = "eligible", the
# default of [analysis.landmark] and [analysis.time_varying]).
#
# Computed by R from the two raw exports (fixtures/mgist/center_a.csv and
# center_b.xlsx), independent of cohortflow's code: the exports are read and
# mapped to the schema here, the pipeline's cleaning rules, linkage, criteria
# and endpoints re-implemented in R, as fixtures/mgist/check_raw.py does in
# Python. The row counts are checked against fixtures/mgist/expected_rows.csv.
#
# Landmark at 12 months (12 x 30.4375 days): patients with an endpoint time
# after 12 months; exposed when surgery is on or before im_start + 12 months;
# time from the landmark; survfit (log CI), survdiff, coxph (exposed vs
# unexposed, Efron). Time-varying: each patient split at surgery,
# coxph(Surv(start, stop, event) ~ surgery).
# Run from the repository root: Rscript conformance/mgist_eligible.R
# (needs readxl: Debian's r-cran-readxl; see regenerate.sh)
suppressPackageStartupMessages({
  library(survival)
  library(readxl)
})
source(file.path("conformance", "common.R"))

source(file.path("conformance", "lib", "mgist_raw.R"))

landmark <- function(ep, at = 12) {
  keep <- ep$time > at
  lm <- data.frame(time = ep$time[keep] - at, event = ep$event[keep],
                   group = ifelse(!is.na(surgery_months[keep]) &
                                    as.numeric(d$surgery[keep] - d$im_start[keep]) <= at * month,
                                  "exposed", "unexposed"))
  lm$group <- factor(lm$group, levels = c("exposed", "unexposed"))
  fit <- survfit(Surv(time, event) ~ group, data = lm, conf.type = "log")
  tab <- summary(fit)$table
  lr <- survdiff(Surv(time, event) ~ group, data = lm)
  lm$group_cox <- relevel(lm$group, ref = "unexposed")
  cox <- coxph(Surv(time, event) ~ group_cox, data = lm, ties = "efron")
  s <- summary(cox)
  list(
    n_population = nrow(d),
    excluded_before_landmark = sum(!keep),
    groups = arr(levels(lm$group)),
    n = arr(unname(tab[, "records"])),
    events = arr(unname(tab[, "events"])),
    median = arr(unname(tab[, "median"])),
    lower = arr(unname(tab[, "0.95LCL"])),
    upper = arr(unname(tab[, "0.95UCL"])),
    observed = arr(unname(lr$obs)),
    expected = arr(unname(lr$exp)),
    chisq = lr$chisq,
    p_value = lr$pvalue,
    cox = list(
      coef = unname(coef(cox)),
      se = unname(sqrt(diag(vcov(cox)))),
      hazard_ratio = unname(exp(coef(cox))),
      hr_lower = unname(s$conf.int[, "lower .95"]),
      hr_upper = unname(s$conf.int[, "upper .95"]),
      p_value = unname(s$coefficients[, "Pr(>|z|)"]),
      loglik = cox$loglik[2]
    )
  )
}

time_varying <- function(ep) {
  rows <- lapply(seq_len(nrow(d)), function(i) {
    s <- surgery_months[i]
    t <- ep$time[i]
    e <- ep$event[i]
    if (is.na(s) || s >= t) data.frame(start = 0, stop = t, event = e, surgery = 0)
    else if (s <= 0) data.frame(start = 0, stop = t, event = e, surgery = 1)
    else data.frame(start = c(0, s), stop = c(s, t), event = c(0, e), surgery = c(0, 1))
  })
  sp <- do.call(rbind, rows)
  sp <- sp[sp$stop > sp$start, ]
  fit <- coxph(Surv(start, stop, event) ~ surgery, data = sp, ties = "efron")
  s <- summary(fit)
  list(patients = nrow(d), rows = nrow(sp), events = fit$nevent,
       coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))),
       hazard_ratio = unname(exp(coef(fit))),
       hr_lower = unname(s$conf.int[, "lower .95"]),
       hr_upper = unname(s$conf.int[, "upper .95"]),
       p_value = unname(s$coefficients[, "Pr(>|z|)"]),
       loglik = fit$loglik[2])
}

out <- provenance("mgist_eligible.R")
out$readxl_version <- as.character(packageVersion("readxl"))
out$eligible <- nrow(d)
out$pfs <- list(landmark = landmark(pfs), time_varying = time_varying(pfs))
out$os <- list(landmark = landmark(os), time_varying = time_varying(os))
write_json(out, file.path("conformance", "mgist_eligible.json"))
