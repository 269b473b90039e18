# Reference values for the mgist-cytoreduction study itself: the Kaplan-Meier
# medians with their log CIs, the log-rank tests, the Cox models (S vs NS,
# unadjusted and adjusted for best response and peritoneal metastases, with
# cox.zph) and the time-varying surgery model that `cohortflow run
# mgist-cytoreduction` reports, computed by R from the study's endpoint times
# as the fixture generator wrote them (fixtures/mgist/study_endpoints.csv,
# independent of cohortflow's own ingest and derive stages).
# Run from the repository root: Rscript conformance/mgist.R  (see regenerate.sh)
suppressPackageStartupMessages(library(survival))
source(file.path("conformance", "common.R"))

d <- read.csv(file.path("fixtures", "mgist", "study_endpoints.csv"), stringsAsFactors = FALSE)
d$arm <- factor(d$arm, levels = c("S", "NS"))

endpoint <- function(time, event) {
  fit <- survfit(Surv(time, event) ~ arm, data = d, conf.type = "log")
  tab <- summary(fit)$table
  rm <- summary(fit, rmean = 60)$table
  q <- quantile(fit, probs = c(0.25, 0.75))
  lr <- survdiff(Surv(time, event) ~ arm, data = d)
  list(
    arms = arr(levels(d$arm)),
    n = arr(unname(tab[, "records"])),
    events = arr(unname(tab[, "events"])),
    median = arr(unname(tab[, "median"])),
    lower = arr(unname(tab[, "0.95LCL"])),
    upper = arr(unname(tab[, "0.95UCL"])),
    rmst = arr(unname(rm[, "rmean"])),
    q25 = arr(unname(q$quantile[, 1])), q25_lower = arr(unname(q$lower[, 1])), q25_upper = arr(unname(q$upper[, 1])),
    q75 = arr(unname(q$quantile[, 2])), q75_lower = arr(unname(q$lower[, 2])), q75_upper = arr(unname(q$upper[, 2])),
    rmst_se = arr(unname(rm[, "se(rmean)"])),
    observed = arr(unname(lr$obs)),
    expected = arr(unname(lr$exp)),
    chisq = lr$chisq,
    p_value = lr$pvalue
  )
}

d$arm_cox <- relevel(d$arm, ref = "NS")
d$best_response <- factor(d$best_response, levels = c("PR", "SD"))
d$mets_peritoneum <- d$metastases %in% c("peritoneum", "both")

cox <- function(f) {
  fit <- coxph(f, data = d, ties = "efron")
  s <- summary(fit)
  z <- cox.zph(fit, transform = "km")$table
  list(
    coef = arr(unname(coef(fit))),
    se = arr(unname(sqrt(diag(vcov(fit))))),
    hr_lower = arr(unname(s$conf.int[, "lower .95"])),
    hr_upper = arr(unname(s$conf.int[, "upper .95"])),
    p_value = arr(unname(s$coefficients[, "Pr(>|z|)"])),
    loglik = fit$loglik[2],
    lr = unname(s$logtest["test"]),
    wald = unname(fit$wald.test),
    score = unname(fit$score),
    zph_p = arr(unname(z[, "p"]))
  )
}

# Surgery as a time-varying covariate: split each S patient at surgery.
split_at_surgery <- function(time, event) {
  rows <- lapply(seq_len(nrow(d)), function(i) {
    s <- d$months_to_surgery[i]
    if (is.na(s) || s >= time[i]) data.frame(start = 0, stop = time[i], event = event[i], surgery = 0)
    else if (s <= 0) data.frame(start = 0, stop = time[i], event = event[i], surgery = 1)
    else data.frame(start = c(0, s), stop = c(s, time[i]), event = c(0, event[i]), surgery = c(0, 1))
  })
  do.call(rbind, rows)
}

time_varying <- function(time, event) {
  sp <- split_at_surgery(time, event)
  fit <- coxph(Surv(start, stop, event) ~ surgery, data = sp, ties = "efron")
  s <- summary(fit)
  list(coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))),
       p_value = unname(s$coefficients[, "Pr(>|z|)"]))
}

# Stratified by centre (record numbers of centre B start with "B").
d$centre <- ifelse(startsWith(d$id, "B"), "center_b", "center_a")
stratified <- function(time, event) {
  lr <- survdiff(Surv(time, event) ~ arm + strata(centre), data = d)
  fit <- coxph(Surv(time, event) ~ arm_cox + strata(centre), data = d, ties = "efron")
  list(chisq = lr$chisq, p_value = lr$pvalue,
       coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))))
}

out <- provenance("mgist.R")
out$pfs <- endpoint(d$pfs_months, d$pfs_event)
out$os <- endpoint(d$os_months, d$os_event)
out$pfs$cox_unadjusted <- cox(Surv(pfs_months, pfs_event) ~ arm_cox)
out$pfs$cox_adjusted <- cox(Surv(pfs_months, pfs_event) ~ arm_cox + best_response + mets_peritoneum)
out$pfs$time_varying <- time_varying(d$pfs_months, d$pfs_event)
out$os$cox_unadjusted <- cox(Surv(os_months, os_event) ~ arm_cox)
out$os$cox_adjusted <- cox(Surv(os_months, os_event) ~ arm_cox + best_response + mets_peritoneum)
out$os$time_varying <- time_varying(d$os_months, d$os_event)
out$pfs$by_centre <- stratified(d$pfs_months, d$pfs_event)
out$os$by_centre <- stratified(d$os_months, d$os_event)
write_json(out, file.path("conformance", "mgist.json"))
