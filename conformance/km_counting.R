# Reference values for cohortflow_stats::kaplan_meier_weighted_counting:
# survfit(Surv(start, stop, event) ~ 1, weights = w, id = id, robust = TRUE)
# on counting-process rows whose weights change within a subject (the
# curves of inverse-probability-of-censoring weighted data): late entry,
# gaps in a subject's follow-up, tied times, a zero weight, weights that are
# not integers. survival 3.5.3 (survfitkm.c: a row of the curve at every
# distinct stop time).
# Run from the repository root: Rscript conformance/km_counting.R
suppressPackageStartupMessages(library(survival))
source(file.path("conformance", "common.R"))

case <- function(name, d, conf_type = "log") {
  fit <- survfit(Surv(start, stop, event) ~ 1, data = d, weights = w, id = id,
                 robust = TRUE, conf.type = conf_type)
  at <- c(0.5, 2, 4.5, 7, 100)
  s <- summary(fit, times = at, extend = TRUE)
  list(name = name, conf_type = conf_type,
       start = arr(d$start), stop = arr(d$stop), event = arr(d$event == 1),
       weight = arr(d$w), id = arr(d$id),
       time = arr(fit$time), n_risk = arr(fit$n.risk), n_event = arr(fit$n.event),
       n_censor = arr(fit$n.censor), surv = arr(fit$surv), std_err = arr(fit$std.err),
       lower = arr(fit$lower), upper = arr(fit$upper),
       at = arr(at), at_surv = arr(s$surv), at_std_err = arr(s$std.err),
       at_lower = arr(s$lower), at_upper = arr(s$upper))
}

small <- data.frame(start = c(0, 0, 3, 0, 0, 3, 0, 0),
                    stop = c(1, 3, 5, 2, 3, 7, 4, 6),
                    event = c(1, 0, 1, 0, 0, 1, 1, 0),
                    id = c(1, 2, 2, 3, 4, 4, 5, 6),
                    w = c(1, 1, 1.5, 1, 1, 1.2, 1, 1))

# late entry, a gap (id 3: (0, 2] then (4, 6]), ties of events and
# censorings, a zero weight, weights changing at every split
set.seed(20240601)
n <- 40
rows <- list()
for (i in seq_len(n)) {
  entry <- if (i %% 5 == 0) round(runif(1, 0, 2), 1) else 0
  end <- entry + round(rexp(1, 1 / 4), 1) + 0.1
  ev <- rbinom(1, 1, 0.6)
  cuts <- c(1, 2, 3, 5)
  cuts <- cuts[cuts > entry & cuts < end]
  b <- c(entry, cuts, end)
  k <- length(b) - 1
  rows[[i]] <- data.frame(start = b[-length(b)], stop = b[-1],
                          event = c(rep(0, k - 1), ev), id = i,
                          w = round(runif(k, 0.5, 2), 3))
}
sim <- do.call(rbind, rows)
sim$w[3] <- 0
gap <- data.frame(start = c(0, 4), stop = c(2, 6), event = c(0, 1), id = 1000, w = c(1, 1.4))
sim <- rbind(sim, gap)

out <- provenance("km_counting.R")
out$cases <- list(case("small", small), case("small_loglog", small, "log-log"),
                  case("simulated", sim), case("simulated_plain", sim, "plain"))
write_json(out, file.path("conformance", "km_counting.json"))
