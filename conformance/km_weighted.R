# Reference values for cohortflow_stats::kaplan_meier_weighted: survfit with
# case weights, weighted Greenwood or infinitesimal-jackknife (robust)
# variance.
# Run from the repository root: Rscript conformance/km_weighted.R  (see regenerate.sh)
#
# Each case stores its input (time, event, weights, cluster labels), the
# variance asked for ("Greenwood": robust = FALSE, "Robust": robust = TRUE,
# each row its own cluster, "Cluster": id = cluster) and the survfit rows
# (weighted n.risk, n.event, n.censor, surv, the object's std.err and
# logse flag, summary.survfit's std.err, the confidence limits), the
# print.survfit median with its limits, quantile.survfit and
# summary(fit, times, extend = TRUE).
suppressPackageStartupMessages(library(survival))
source(file.path("conformance", "common.R"))

conf_names <- c(log = "Log", "log-log" = "LogLog", plain = "Plain")
probs <- c(0.1, 0.25, 0.5, 0.75, 0.9)

wkm_case <- function(name, source, time, event, weights,
                     variance = c("Greenwood", "Robust", "Cluster"), cluster = NULL,
                     conf.type = "log", conf.int = 0.95) {
  variance <- match.arg(variance)
  d <- data.frame(time = time, event = as.integer(event), w = weights)
  d$cl <- if (is.null(cluster)) seq_len(nrow(d)) else cluster
  fit <- switch(variance,
    Greenwood = survfit(Surv(time, event) ~ 1, data = d, weights = w, robust = FALSE,
                        conf.type = conf.type, conf.int = conf.int),
    Robust = survfit(Surv(time, event) ~ 1, data = d, weights = w, robust = TRUE,
                     conf.type = conf.type, conf.int = conf.int),
    Cluster = survfit(Surv(time, event) ~ 1, data = d, weights = w, id = cl, robust = TRUE,
                      conf.type = conf.type, conf.int = conf.int))
  stopifnot(fit$logse == (variance == "Greenwood"))
  sm <- summary(fit, censored = TRUE)
  tab <- summary(fit)$table
  q <- quantile(fit, probs = probs)
  ft <- fit$time
  mids <- if (length(ft) > 1) (ft[-1] + ft[-length(ft)]) / 2 else numeric(0)
  grid <- sort(unique(c(ft, mids)))
  if (length(grid) > 40) grid <- grid[unique(round(seq(1, length(grid), length.out = 40)))]
  at <- sort(unique(c(0, min(ft) / 2, grid, max(ft), max(ft) + 1)))
  sa <- summary(fit, times = at, extend = TRUE)
  list(
    name = name, source = source,
    variance = variance, conf_type = conf_names[[conf.type]], conf_level = conf.int,
    input = list(time = arr(time), event = arr(as.logical(event)), weights = arr(weights),
                 cluster = if (variance == "Cluster") arr(as.integer(factor(cluster)) - 1L) else NULL),
    n = fit$n, events = sum(fit$n.event), logse = fit$logse,
    steps = list(
      time = arr(fit$time), n_risk = arr(fit$n.risk), n_event = arr(fit$n.event),
      n_censor = arr(fit$n.censor), surv = arr(fit$surv),
      std_err_summary = arr(sm$std.err), std_err_object = arr(fit$std.err),
      lower = arr(fit$lower), upper = arr(fit$upper)),
    median = list(estimate = unname(tab["median"]),
                  lower = unname(tab[paste0(conf.int, "LCL")]),
                  upper = unname(tab[paste0(conf.int, "UCL")])),
    quantiles = list(p = arr(probs), estimate = arr(unname(q$quantile)),
                     lower = arr(unname(q$lower)), upper = arr(unname(q$upper))),
    survival_at = list(time = arr(at), surv = arr(sa$surv), std_err = arr(sa$std.err),
                       lower = arr(sa$lower), upper = arr(sa$upper), n_risk = arr(sa$n.risk))
  )
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- wkm_case(...)

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")

set.seed(20261130)
lw <- round(runif(nrow(lung), 0.2, 3), 6)
for (ct in names(conf_names))
  add(paste0("lung_weighted_robust_", gsub("-", "", ct)),
      "fixtures/real/lung.csv: time, status == 2, weights runif(0.2, 3) seed 20261130 (R default: robust)",
      lung$time, lung$status == 2, lw, "Robust", conf.type = ct)
add("lung_weighted_greenwood", "lung, the same weights, robust = FALSE (weighted Greenwood)",
    lung$time, lung$status == 2, lw, "Greenwood")
li <- lung[!is.na(lung$inst), ]
add("lung_weighted_cluster_inst", "lung (rows with inst), the same kind of weights, id = inst",
    li$time, li$status == 2, lw[!is.na(lung$inst)], "Cluster", cluster = li$inst)
set.seed(7)
vw <- sample(1:3, nrow(veteran), replace = TRUE)
for (ct in c("log", "log-log"))
  add(paste0("veteran_integer_weights_greenwood_", gsub("-", "", ct)),
      "fixtures/real/veteran.csv: weights sample(1:3) seed 7 (R default: Greenwood)",
      veteran$time, veteran$status == 1, vw, "Greenwood", conf.type = ct)
add("veteran_integer_weights_robust", "veteran, integer weights, robust = TRUE",
    veteran$time, veteran$status == 1, vw, "Robust")
add("gbsg_unit_weights_robust", "fixtures/real/gbsg.csv: rfstime, status, weights 1, robust = TRUE (the jackknife alone)",
    gbsg$rfstime, gbsg$status == 1, rep(1, nrow(gbsg)), "Robust")
add("gbsg_unit_weights_greenwood", "gbsg, weights 1, robust = FALSE (equals the unweighted survfit)",
    gbsg$rfstime, gbsg$status == 1, rep(1, nrow(gbsg)), "Greenwood")
# hand-made: ties, a zero weight, an event time whose events all have
# weight 0, a last time where everyone left dies (S = 0)
ht <- c(1, 1, 2, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9)
he <- c(1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1) == 1
hw <- c(0.5, 1.5, 2, 0, 1, 0, 1.2, 0.7, 1, 2.5, 0.3, 1, 1, 0.4, 2)
for (v in c("Greenwood", "Robust"))
  for (ct in names(conf_names))
    add(paste0("handmade_ties_zero_weights_", tolower(v), "_", gsub("-", "", ct)),
        "hand-made: ties, zero weights, an event time of weight 0, S = 0 at the end",
        ht, he, hw, v, conf.type = ct)
add("handmade_cluster", "hand-made: the same, 5 clusters",
    ht, he, hw, "Cluster", cluster = c(1, 2, 3, 1, 2, 3, 4, 5, 4, 5, 1, 2, 3, 4, 5))

write_json(c(provenance("conformance/km_weighted.R"), list(cases = cases)),
           file.path("conformance", "km_weighted.json"))
