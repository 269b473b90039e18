# Reference values for cohortflow_stats::kaplan_meier and its methods.
# Run from the repository root: Rscript conformance/km.R  (see regenerate.sh)
suppressPackageStartupMessages(library(survival))
source(file.path("conformance", "common.R"))

conf_names <- c(log = "Log", "log-log" = "LogLog", plain = "Plain")
probs <- c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)

km_case <- function(name, source, time, event, conf.type = "log", conf.int = 0.95) {
  fit <- survfit(Surv(time, event) ~ 1, conf.type = conf.type, conf.int = conf.int)
  c(list(
    name = name,
    source = source,
    input = list(time = arr(time), event = arr(as.logical(event))),
    conf_type = conf_names[[conf.type]],
    conf_level = conf.int
  ), curve_json(fit, conf.int))
}

# survfit(Surv(time, event) ~ group): timefix is applied once to the pooled
# times, then one curve per group (cohortflow_stats::kaplan_meier_by_group).
km_group_case <- function(name, source, time, event, group, conf.type = "log", conf.int = 0.95) {
  g <- factor(group, levels = 0:max(group))
  fit <- survfit(Surv(time, event) ~ g, conf.type = conf.type, conf.int = conf.int)
  list(
    name = name,
    source = source,
    input = list(time = arr(time), event = arr(as.logical(event)), group = arr(group)),
    conf_type = conf_names[[conf.type]],
    conf_level = conf.int,
    curves = lapply(seq_along(levels(g)), function(i) curve_json(fit[i], conf.int))
  )
}

curve_json <- function(fit, conf.int) {
  sm <- summary(fit, censored = TRUE)
  tab <- summary(fit)$table
  q <- quantile(fit, probs = probs)
  # the times at which survival_at is checked: -1, 0, before the first time,
  # every step and the midpoints between steps (thinned to at most 60 points),
  # the last time and one beyond it.
  ft <- fit$time
  mids <- if (length(ft) > 1) (ft[-1] + ft[-length(ft)]) / 2 else numeric(0)
  grid <- sort(unique(c(ft, mids)))
  if (length(grid) > 60) grid <- grid[unique(round(seq(1, length(grid), length.out = 60)))]
  at <- sort(unique(c(-1, 0, min(ft) / 2, grid, max(ft), max(ft) + 1)))
  sa <- summary(fit, times = at, extend = TRUE)
  list(
    n = fit$n,
    events = sum(fit$n.event),
    steps = list(
      time = arr(fit$time), n_risk = arr(fit$n.risk), n_event = arr(fit$n.event),
      n_censor = arr(fit$n.censor), surv = arr(fit$surv),
      std_err = arr(sm$std.err),           # of S, as summary.survfit
      std_err_cumhaz = arr(fit$std.err),   # survfit's own std.err
      lower = arr(fit$lower), upper = arr(fit$upper)
    ),
    median = list(estimate = unname(tab["median"]),
                  lower = unname(tab[paste0(conf.int, "LCL")]),
                  upper = unname(tab[paste0(conf.int, "UCL")])),
    quantiles = list(p = arr(probs), estimate = arr(unname(q$quantile)),
                     lower = arr(unname(q$lower)), upper = arr(unname(q$upper))),
    survival_at = list(
      time = arr(at), surv = arr(sa$surv), std_err = arr(sa$std.err),
      lower = arr(sa$lower), upper = arr(sa$upper), n_risk = arr(sa$n.risk),
      beyond_last_time = arr(at > max(fit$time))
    )
  )
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- km_case(...)

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")

for (ct in names(conf_names)) {
  add(paste0("lung_all_", ct), "fixtures/real/lung.csv: time, status == 2",
      lung$time, lung$status == 2, conf.type = ct)
  for (s in 1:2)
    add(paste0("lung_sex", s, "_", ct), paste0("fixtures/real/lung.csv, sex == ", s),
        lung$time[lung$sex == s], lung$status[lung$sex == s] == 2, conf.type = ct)
  for (a in 1:2)
    add(paste0("veteran_trt", a, "_", ct), paste0("fixtures/real/veteran.csv, trt == ", a),
        veteran$time[veteran$trt == a], veteran$status[veteran$trt == a] == 1, conf.type = ct)
  for (h in 0:1)
    add(paste0("gbsg_hormon", h, "_", ct), paste0("fixtures/real/gbsg.csv: rfstime, status, hormon == ", h),
        gbsg$rfstime[gbsg$hormon == h], gbsg$status[gbsg$hormon == h] == 1, conf.type = ct)
}
add("lung_all_log_level90", "fixtures/real/lung.csv, conf.int = 0.90",
    lung$time, lung$status == 2, conf.type = "log", conf.int = 0.90)
add("veteran_all_loglog_level80", "fixtures/real/veteran.csv, conf.int = 0.80",
    veteran$time, veteran$status == 1, conf.type = "log-log", conf.int = 0.80)

edge <- list(
  all_censored = list(c(1, 2, 3, 4), c(0, 0, 0, 0)),
  one_event = list(c(1, 2, 3, 4, 5), c(0, 0, 1, 0, 0)),
  single_obs_event = list(3, 1),
  single_obs_censored = list(3, 0),
  all_tied_mixed = list(rep(5, 6), c(1, 1, 1, 0, 1, 0)),
  all_tied_all_events = list(rep(3, 4), c(1, 1, 1, 1)),
  event_at_zero = list(c(0, 0, 1, 2, 3, 5), c(1, 0, 1, 0, 1, 1)),
  last_is_event = list(c(1, 2, 2, 3, 3), c(1, 1, 0, 1, 1)),
  median_flat_at_half = list(c(1, 2, 3, 4), c(1, 1, 1, 1)),
  median_flat_over_censoring = list(1:6, c(1, 1, 1, 0, 1, 1)),
  curve_ends_flat_at_half = list(c(1, 2, 3, 4), c(1, 1, 0, 0)),
  median_not_reached = list(1:10, c(1, 0, 1, 0, 0, 0, 0, 0, 0, 0)),
  median_ucl_not_reached = list(1:6, c(1, 1, 1, 1, 0, 0)),
  median_not_reached_lcl_reached = list(1:12, c(1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0)),
  near_tied_timefix = list(c(1, 1 + 1e-10, 2, 2 * (1 + 1e-9), 3, 3 + 5e-9, 4, 5, 5 + 1e-6),
                           c(1, 1, 0, 1, 1, 0, 1, 1, 1)),
  ties_event_and_censor = list(c(2, 2, 2, 4, 4, 6, 6, 6, 8), c(1, 0, 1, 1, 0, 0, 1, 1, 0))
)
for (nm in names(edge)) for (ct in names(conf_names))
  add(paste0(nm, "_", ct), "hand-made edge case", edge[[nm]][[1]], edge[[nm]][[2]], conf.type = ct)

group_cases <- list()
add_group <- function(...) group_cases[[length(group_cases) + 1]] <<- km_group_case(...)
add_group("lung_by_sex", "fixtures/real/lung.csv: survfit(Surv(time, status == 2) ~ sex)",
          lung$time, lung$status == 2, lung$sex - 1L)
add_group("veteran_by_celltype_loglog", "fixtures/real/veteran.csv: ~ celltype (alphabetical codes), log-log",
          veteran$time, veteran$status == 1, as.integer(factor(veteran$celltype)) - 1L, conf.type = "log-log")
add_group("gbsg_by_hormon_plain", "fixtures/real/gbsg.csv: ~ hormon, plain",
          gbsg$rfstime, gbsg$status == 1, gbsg$hormon, conf.type = "plain")
# 1000 and 1000.00001 differ by 1e-8 relative to the pooled mean: merged when
# pooled, but group 1 alone has no near tie, so per-group timefix would keep
# 1000.00001.
add_group("near_tie_only_across_groups", "hand-made: a near tie that only pooled timefix sees",
          c(1000, 1500, 2000, 2500, 1000.00001, 3000, 3500),
          c(1, 1, 0, 1, 1, 1, 0), c(0, 0, 0, 0, 1, 1, 1))

write_json(c(provenance("conformance/km.R"), list(cases = cases, group_cases = group_cases)),
           file.path("conformance", "km.json"))
