# Reference values for the mgist-cytoreduction study itself: the Kaplan-Meier
# medians with their log CIs and the log-rank tests that `cohortflow run
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
  lr <- survdiff(Surv(time, event) ~ arm, data = d)
  list(
    arms = arr(levels(d$arm)),
    n = arr(unname(tab[, "records"])),
    events = arr(unname(tab[, "events"])),
    median = arr(unname(tab[, "median"])),
    lower = arr(unname(tab[, "0.95LCL"])),
    upper = arr(unname(tab[, "0.95UCL"])),
    observed = arr(unname(lr$obs)),
    expected = arr(unname(lr$exp)),
    chisq = lr$chisq,
    p_value = lr$pvalue
  )
}

out <- provenance("mgist.R")
out$pfs <- endpoint(d$pfs_months, d$pfs_event)
out$os <- endpoint(d$os_months, d$os_event)
write_json(out, file.path("conformance", "mgist.json"))
