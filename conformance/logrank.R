# Reference values for cohortflow_stats::log_rank (R's survdiff).
# Run from the repository root: Rscript conformance/logrank.R  (see regenerate.sh)
suppressPackageStartupMessages(library(survival))
source(file.path("conformance", "common.R"))

# group: integer codes 0..k-1 (as the Rust API); strata: integer labels or NULL
lr_case <- function(name, source, time, event, group, strata = NULL, rho = 0) {
  k <- max(group) + 1
  g <- factor(group, levels = 0:(k - 1))
  fit <- if (is.null(strata)) survdiff(Surv(time, event) ~ g, rho = rho)
         else survdiff(Surv(time, event) ~ g + strata(strata), rho = rho)
  obs <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  exp <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  list(
    name = name,
    source = source,
    input = list(time = arr(time), event = arr(as.logical(event)), group = arr(group),
                 strata = if (is.null(strata)) NULL else arr(strata)),
    rho = rho,
    n = arr(as.vector(fit$n)),
    observed = arr(unname(obs)),
    expected = arr(unname(exp)),
    variance = arr(as.vector(t(fit$var))),   # row-major k x k
    chisq = fit$chisq,
    df = sum(exp > 0) - 1,
    p_value = fit$pvalue
  )
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- lr_case(...)

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")
cell <- as.integer(factor(veteran$celltype)) - 1L

for (rho in c(0, 1)) {
  add(paste0("lung_sex_rho", rho), "fixtures/real/lung.csv: time, status == 2, group sex - 1",
      lung$time, lung$status == 2, lung$sex - 1L, rho = rho)
  add(paste0("veteran_trt_strata_celltype_rho", rho),
      "fixtures/real/veteran.csv: group trt - 1, strata celltype (alphabetical codes)",
      veteran$time, veteran$status == 1, veteran$trt - 1L, cell, rho = rho)
  add(paste0("veteran_celltype_rho", rho), "fixtures/real/veteran.csv: 4 groups celltype",
      veteran$time, veteran$status == 1, cell, rho = rho)
  add(paste0("gbsg_hormon_rho", rho), "fixtures/real/gbsg.csv: rfstime, status, group hormon",
      gbsg$rfstime, gbsg$status == 1, gbsg$hormon, rho = rho)
  add(paste0("gbsg_grade_strata_meno_rho", rho),
      "fixtures/real/gbsg.csv: 3 groups grade - 1, strata meno",
      gbsg$rfstime, gbsg$status == 1, gbsg$grade - 1L, gbsg$meno, rho = rho)
}
add("veteran_trt_rho0.5", "fixtures/real/veteran.csv: group trt - 1, rho = 0.5",
    veteran$time, veteran$status == 1, veteran$trt - 1L, rho = 0.5)
add("lung_sex_strata_ecog_rho0", "fixtures/real/lung.csv: group sex - 1, strata ph.ecog (NA rows dropped)",
    lung$time[!is.na(lung$ph.ecog)], lung$status[!is.na(lung$ph.ecog)] == 2,
    lung$sex[!is.na(lung$ph.ecog)] - 1L, lung$ph.ecog[!is.na(lung$ph.ecog)])

for (rho in c(0, 1)) {
  add(paste0("group_without_events_rho", rho), "hand-made: group 1 has no events",
      1:8, c(1, 0, 1, 0, 1, 0, 0, 0), c(0, 0, 0, 0, 0, 1, 1, 1), rho = rho)
  add(paste0("tied_times_across_groups_rho", rho), "hand-made: every time shared by both groups",
      c(1, 1, 1, 2, 2, 2, 3, 3, 3, 4), c(1, 1, 0, 1, 0, 1, 1, 1, 0, 1),
      c(0, 1, 1, 0, 1, 0, 1, 0, 1, 0), rho = rho)
  add(paste0("zero_expected_group_rho", rho),
      "hand-made: group 2 is censored before the first event (expected 0, df drops to 1)",
      c(0.5, 0.7, 1, 2, 3, 4, 5, 6, 7, 8), c(0, 0, 1, 1, 0, 1, 1, 0, 1, 1),
      c(2, 2, 0, 1, 0, 1, 0, 1, 0, 1), rho = rho)
  add(paste0("near_tied_timefix_rho", rho), "hand-made: times that timefix merges",
      c(1, 1 + 1e-10, 2, 2 * (1 + 1e-9), 3, 3 + 5e-9, 4, 5, 5 + 1e-6, 6),
      c(1, 1, 0, 1, 1, 1, 1, 1, 1, 0), c(0, 1, 0, 1, 1, 0, 0, 1, 0, 1), rho = rho)
  add(paste0("event_at_zero_rho", rho), "hand-made: events at time 0",
      c(0, 0, 0, 1, 2, 3, 4, 5), c(1, 1, 0, 1, 1, 0, 1, 1), c(0, 1, 0, 1, 0, 1, 0, 1), rho = rho)
  add(paste0("stratum_without_events_rho", rho), "hand-made: stratum 7 has no events",
      c(1, 2, 3, 4, 5, 6, 1, 2, 3, 4), c(1, 1, 0, 1, 1, 0, 0, 0, 0, 0),
      c(0, 1, 0, 1, 0, 1, 0, 1, 0, 1), c(3, 3, 3, 3, 3, 3, 7, 7, 7, 7), rho = rho)
  add(paste0("three_groups_small_rho", rho), "hand-made: 3 groups with ties",
      c(2, 3, 3, 5, 6, 6, 7, 9, 9, 10, 11, 12), c(1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1),
      c(0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2), rho = rho)
}
add("rho_half_small", "hand-made: rho = 0.5",
    c(2, 3, 3, 5, 6, 6, 7, 9, 9, 10), c(1, 1, 1, 0, 1, 1, 1, 0, 1, 1),
    c(0, 1, 0, 1, 0, 1, 0, 1, 0, 1), rho = 0.5)

write_json(c(provenance("conformance/logrank.R"), list(cases = cases)), file.path("conformance", "logrank.json"))
