# R side of the cohortflow benchmark (bench/run.sh). Reads the data set
# written by `cohortflow-bench gen` (not timed), times the same three
# estimators in-process (median of 5 runs of system.time's elapsed time,
# gc before each run as system.time does by default), and writes the timings
# and the results, one `key<TAB>value` per line, for `cohortflow-bench run`
# to compare.
#
# Usage: Rscript bench/bench.R <data.csv> <r-results.tsv> <lung.csv>
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 3)
d <- read.csv(args[1], colClasses = c("numeric", "integer", "integer",
                                      "numeric", "numeric", "numeric"))
stopifnot(nrow(d) == 1e6)

runs <- 5
timed <- function(f) {
  t <- numeric(runs)
  for (i in seq_len(runs)) t[i] <- system.time(r <- f())[["elapsed"]]
  list(median = median(t), all = t, result = r)
}

# (1) Kaplan-Meier per group with the median and its CI: what print(fit)
#     computes (survmean), here through summary(fit)$table.
km <- timed(function() {
  fit <- survfit(Surv(time, status) ~ group, data = d)
  summary(fit)$table
})
# (2) log-rank test
lr <- timed(function() survdiff(Surv(time, status) ~ group, data = d))
# (3) Cox, Efron ties, 3 covariates, to convergence
cx <- timed(function() coxph(Surv(time, status) ~ x1 + x2 + x3, data = d,
                             ties = "efron"))

# (4) Fisher's exact test on lung's 18 x 2 institution by sex table
lung <- read.csv(args[3])
# workspace = 2e8: with the default 2e5 R stops ("FEXACT error 7, LDSTP too
# small"), as conformance/fisher.R found
fi <- timed(function() fisher.test(table(lung$inst, lung$sex), workspace = 2e8)$p.value)

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
tab <- km$result
cox <- cx$result
out <- c(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  km_seconds = num(km$median), km_runs = paste(sprintf("%.3f", km$all), collapse = " "),
  logrank_seconds = num(lr$median), logrank_runs = paste(sprintf("%.3f", lr$all), collapse = " "),
  cox_seconds = num(cx$median), cox_runs = paste(sprintf("%.3f", cx$all), collapse = " "),
  median_0 = num(tab["group=0", "median"]),
  lcl_0 = num(tab["group=0", "0.95LCL"]),
  ucl_0 = num(tab["group=0", "0.95UCL"]),
  events_0 = num(tab["group=0", "events"]),
  median_1 = num(tab["group=1", "median"]),
  lcl_1 = num(tab["group=1", "0.95LCL"]),
  ucl_1 = num(tab["group=1", "0.95UCL"]),
  events_1 = num(tab["group=1", "events"]),
  chisq = num(lr$result$chisq),
  coef_1 = num(coef(cox)[["x1"]]),
  coef_2 = num(coef(cox)[["x2"]]),
  coef_3 = num(coef(cox)[["x3"]]),
  se_1 = num(sqrt(diag(vcov(cox)))[["x1"]]),
  se_2 = num(sqrt(diag(vcov(cox)))[["x2"]]),
  se_3 = num(sqrt(diag(vcov(cox)))[["x3"]]),
  loglik = num(cox$loglik[2]),
  iter = num(cox$iter),
  fisher_seconds = num(fi$median), fisher_runs = paste(sprintf("%.3f", fi$all), collapse = " "),
  fisher_p = num(fi$result)
)
writeLines(paste(names(out), out, sep = "\t"), args[2])
cat(sprintf("R: KM %.3f s, log-rank %.3f s, Cox %.3f s, Fisher %.3f s (median of %d)\n",
            km$median, lr$median, cx$median, fi$median, runs))
