# Reference values for a Cox model with missing covariates: R's coxph drops
# every row with an NA in a model variable (na.action = na.omit). Read by
# crates/pipeline/tests/real_studies.rs, which declares the same study in
# TOML (missing = "exclude") and compares the fitted model and the counts the
# ledger gives for the rows left out: each under the first covariate it
# misses, in the model's order.
#
# Data: lung (fixtures/real/lung.csv): arms by sex (1 = male, the reference;
# 2 = female), covariates ph.ecog, ph.karno, meal.cal, wt.loss.
#
#   Rscript conformance/missing.R   (writes conformance/missing.json)
suppressPackageStartupMessages(library(survival))
source("conformance/common.R")

lung <- read.csv("fixtures/real/lung.csv", na.strings = c("NA", ""))
covariates <- c("ph.ecog", "ph.karno", "meal.cal", "wt.loss")
lung$female <- as.numeric(lung$sex == 2)
fit <- coxph(as.formula(paste("Surv(time, status == 2) ~ female +",
                              paste(covariates, collapse = " + "))),
             data = lung, ties = "efron")
s <- summary(fit)
# Rows left out, each under the first covariate it misses.
counted <- rep(FALSE, nrow(lung))
by <- list()
for (v in covariates) {
  m <- is.na(lung[[v]]) & !counted
  counted <- counted | m
  if (sum(m) > 0) by[[length(by) + 1]] <- list(column = v, rows = sum(m))
}
out <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  data = "fixtures/real/lung.csv",
  model = "coxph(Surv(time, status == 2) ~ female + ph.ecog + ph.karno + meal.cal + wt.loss), na.omit",
  rows = nrow(lung),
  n = fit$n, events = fit$nevent,
  left_out = length(fit$na.action),
  missing_by_covariate = by,
  coef = arr(unname(coef(fit))), se = arr(unname(sqrt(diag(fit$var)))),
  p_value = arr(unname(s$coefficients[, "Pr(>|z|)"])),
  loglik = fit$loglik[2]
)
writeLines(to_json(out), "conformance/missing.json")
