# Reference values for cohortflow_stats::rmst: the restricted mean survival
# time and its standard error as print(survfit(...), rmean = tau) shows them
# (summary(fit, rmean = tau)$table, survival:::survmean).
# Run from the repository root: Rscript conformance/rmst.R  (see regenerate.sh)
suppressPackageStartupMessages(library(survival))
source(file.path("conformance", "common.R"))

rmst_case <- function(name, source, time, event, taus = NULL) {
  fit <- survfit(Surv(time, event) ~ 1)
  ft <- fit$time
  if (is.null(taus)) {
    # before the first time, at a few quantiles of the times, exactly at an
    # event time, at the last time and beyond it
    ev <- ft[fit$n.event > 0]
    taus <- c(min(ft) / 2, (ft[1] + ft[2]) / 2, quantile(ft, c(0.25, 0.5, 0.75), names = FALSE),
              if (length(ev)) ev[ceiling(length(ev) / 2)], max(ft), max(ft) * 1.5)
  }
  taus <- sort(unique(taus))
  # R refuses a horizon before the smallest time ("Truncation point for the
  # mean is < smallest survival"): NA here, an error in cohortflow
  tab <- t(vapply(taus, function(tau) {
    tb <- tryCatch(summary(fit, rmean = tau)$table, error = function(e) NULL)
    if (is.null(tb)) return(c(NA_real_, NA_real_))
    # print.survfit shows the same numbers (both call survival:::survmean)
    pr <- survival:::survmean(fit, scale = 1, rmean = tau)$matrix
    stopifnot(all.equal(unname(pr[c("rmean", "se(rmean)")]), unname(tb[c("rmean", "se(rmean)")]),
                        tolerance = 1e-14))
    c(tb[["rmean"]], tb[["se(rmean)"]])
  }, numeric(2)))
  list(name = name, source = source,
       input = list(time = arr(time), event = arr(as.logical(event))),
       tau = arr(taus), rmean = arr(tab[, 1]), se_rmean = arr(tab[, 2]))
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- rmst_case(...)

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")
add("lung_all", "fixtures/real/lung.csv: time, status == 2", lung$time, lung$status == 2,
    taus = c(0, 100, 365, 365.25, 500, 730, 1000, 1022, 2000))
for (s in 1:2)
  add(paste0("lung_sex", s), paste0("fixtures/real/lung.csv, sex == ", s),
      lung$time[lung$sex == s], lung$status[lung$sex == s] == 2)
for (a in 1:2)
  add(paste0("veteran_trt", a), paste0("fixtures/real/veteran.csv, trt == ", a),
      veteran$time[veteran$trt == a], veteran$status[veteran$trt == a] == 1)
add("veteran_all", "fixtures/real/veteran.csv", veteran$time, veteran$status == 1,
    taus = c(1, 3, 30, 90, 180, 365, 999, 1500))
for (h in 0:1)
  add(paste0("gbsg_hormon", h), paste0("fixtures/real/gbsg.csv: rfstime, status, hormon == ", h),
      gbsg$rfstime[gbsg$hormon == h], gbsg$status[gbsg$hormon == h] == 1)
add("gbsg_all", "fixtures/real/gbsg.csv: rfstime, status", gbsg$rfstime, gbsg$status == 1,
    taus = c(365.25, 730.5, 1826.25, 2659))

edge <- list(
  all_censored = list(c(1, 2, 3, 4), c(0, 0, 0, 0)),
  one_event = list(c(1, 2, 3, 4, 5), c(0, 0, 1, 0, 0)),
  first_times_censored = list(c(1, 1.5, 2, 4, 4, 7, 9), c(0, 0, 0, 1, 1, 0, 1)),
  single_obs_event = list(3, 1),
  all_tied_all_events = list(rep(3, 4), c(1, 1, 1, 1)),
  last_is_event = list(c(1, 2, 2, 3, 3), c(1, 1, 0, 1, 1)),
  event_at_zero = list(c(0, 0, 1, 2, 3, 5), c(1, 0, 1, 0, 1, 1)),
  ties_event_and_censor = list(c(2, 2, 2, 4, 4, 6, 6, 6, 8), c(1, 0, 1, 1, 0, 0, 1, 1, 0))
)
for (nm in names(edge)) {
  tt <- edge[[nm]][[1]]
  add(nm, "hand-made edge case", tt, edge[[nm]][[2]],
      taus = c(0, min(tt[tt > 0], 1) / 2, unique(tt), unique(tt) + 0.25, max(tt) + 2.5))
}

write_json(c(provenance("conformance/rmst.R"), list(cases = cases)), file.path("conformance", "rmst.json"))
