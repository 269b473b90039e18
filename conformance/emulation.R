# Reference values for the target trial emulated by clone-censor-weight
# ([analysis.emulation] of pipelines/mgist-cytoreduction.toml), on the
# ELIGIBLE mgist patients (every patient passing the cohort criteria, before
# the arms), recomputed by R from the raw exports (fixtures/mgist/center_a.csv
# and center_b.xlsx) independently of cohortflow. The reading, cleaning,
# linkage, criteria and endpoints are those of mgist_eligible.R (copied, so
# that each script stands alone); age is the pipeline's derived column.
#
# Design (Maringe et al., Int J Epidemiol 2020; the emulation module's docs):
# time zero = imatinib start; grace G = 12 months; e = months to surgery,
# T = endpoint time. Exposed within grace: e <= G and e < T.
#   strategy "exposed": followed to T when exposed within grace or T <= G,
#     else artificially censored at G;
#   strategy "unexposed": artificially censored at e when exposed within
#     grace (left out when e = 0), else followed to T.
# Each clone split by survSplit at 3, 6, 9, 12 months (episode = interval;
# 5 = after the grace period). Per strategy, on the rows within the grace
# period of the intervals with at least one artificial censoring:
#   glm(censored ~ factor(interval) + age + best_response + mets_peritoneum,
#       family = binomial)
# (other intervals: probability 0). Weight of a row = prod over the clone's
# earlier intervals of (1 - q_k) / (1 - p_k), q_k the share censored among
# the strategy's rows of interval k (stabilised); then clamped to the 1% and
# 99% quantiles (type 7) of all rows. Then per strategy
#   survfit(Surv(tstart, tstop, event) ~ 1, weights = w, id = id, robust = TRUE)
# read at 12, 36, 60 months (summary(times, extend = TRUE)), the area under
# it to 60 months, and on both strategies
#   coxph(Surv(tstart, tstop, event) ~ exposed, weights = w, cluster = id).
# The bootstrap intervals cannot be reproduced in R (cohortflow's seeded
# SplitMix64); only point estimates are written.
#
# Run from the repository root: Rscript conformance/emulation.R
# (needs readxl: Debian's r-cran-readxl; see regenerate.sh)
suppressPackageStartupMessages({
  library(survival)
  library(readxl)
})
source(file.path("conformance", "common.R"))

source(file.path("conformance", "lib", "mgist_raw.R"))
age <- as.numeric(d$im_start - d$birth) / 365.25
stopifnot(all(age >= 18 & age <= 100))
mets_peritoneum <- d$mets %in% c("peritoneum", "both")

grace <- 12
cuts <- c(3, 6, 9, 12)
at <- c(12, 36, 60)
tau <- 60
K <- length(cuts)

emulate <- function(ep) {
  n <- nrow(d)
  e <- surgery_months
  tt <- ep$time
  ev <- ep$event
  exposed <- !is.na(e) & e <= grace & e < tt
  follow0 <- exposed | tt <= grace
  base <- data.frame(id = seq_len(n), age = age, best_response = d$best_response,
                     mets_peritoneum = mets_peritoneum)
  c0 <- cbind(base, arm = 0L, fu = ifelse(follow0, tt, grace),
              event = ifelse(follow0, ev, 0L), cens = as.integer(!follow0))
  c1 <- cbind(base, arm = 1L, fu = ifelse(exposed, e, tt),
              event = ifelse(exposed, 0L, ev), cens = as.integer(exposed))
  c1 <- c1[c1$fu > 0, ]
  clones <- rbind(c0, c1)
  clones$end <- clones$fu
  sp <- survSplit(Surv(end, event) ~ ., data = clones, cut = cuts, start = "tstart",
                  end = "tstop", episode = "interval")
  sp$censored <- as.integer(sp$cens == 1 & sp$tstop == sp$fu)
  sp <- sp[order(sp$arm, sp$id, sp$tstart), ]
  sp$w <- NA_real_
  model_rows <- c(0, 0)
  for (a in 0:1) {
    ra <- sp$arm == a
    within <- ra & sp$interval <= K
    active <- sort(unique(sp$interval[within & sp$censored == 1]))
    factor_row <- rep(1, nrow(sp))
    if (length(active) > 0) {
      fr <- within & sp$interval %in% active
      fd <- sp[fr, ]
      fd$fint <- factor(fd$interval, levels = active)
      # one active interval: its intercept is the model's
      m <- if (length(active) > 1)
        glm(censored ~ fint + age + best_response + mets_peritoneum,
            family = binomial, data = fd)
      else glm(censored ~ age + best_response + mets_peritoneum, family = binomial, data = fd)
      p <- rep(0, nrow(sp))
      p[fr] <- fitted(m)
      q <- rep(0, nrow(sp))
      share <- tapply(sp$censored[within], sp$interval[within], mean)
      q[fr] <- share[as.character(sp$interval[fr])]
      factor_row[within] <- (1 - q[within]) / (1 - p[within])
      model_rows[a + 1] <- sum(fr)
    }
    # weight = product over the clone's earlier rows
    idx <- which(ra)
    sp$w[idx] <- ave(factor_row[idx], sp$id[idx], FUN = function(f) c(1, cumprod(f)[-length(f)]))
  }
  untruncated <- sp$w
  bounds <- unname(quantile(sp$w, c(0.01, 0.99)))
  sp$w <- pmin(pmax(sp$w, bounds[1]), bounds[2])
  strategy <- function(a) {
    s <- sp[sp$arm == a, ]
    fit <- survfit(Surv(tstart, tstop, event) ~ 1, data = s, weights = w, id = id,
                   robust = TRUE, conf.type = "log")
    sm <- summary(fit, times = at, extend = TRUE)
    keep <- fit$time <= tau
    tt <- c(0, fit$time[keep], tau)
    area <- sum(diff(tt) * c(1, fit$surv[keep]))
    list(clones = length(unique(s$id)),
         artificially_censored = sum(s$censored),
         events = sum(s$w * s$event),
         weight_model_rows = model_rows[a + 1],
         weight_min = min(s$w), weight_max = max(s$w), weight_mean = mean(s$w),
         surv = arr(sm$surv), std_err = arr(sm$std.err),
         lower = arr(sm$lower), upper = arr(sm$upper),
         rmst = area,
         curve_time = arr(fit$time), curve_surv = arr(fit$surv),
         curve_std_err = arr(fit$std.err))
  }
  s0 <- strategy(0)
  s1 <- strategy(1)
  sp$exposed <- as.integer(sp$arm == 0)
  cox <- coxph(Surv(tstart, tstop, event) ~ exposed, data = sp, weights = w, cluster = id,
               ties = "efron")
  cs <- summary(cox)
  list(
    patients = n,
    truncated_at = arr(bounds),
    truncated_rows = sum(untruncated != sp$w),
    exposed = s0, unexposed = s1,
    risk_difference = arr((1 - s0$surv) - (1 - s1$surv)),
    rmst_difference = s0$rmst - s1$rmst,
    cox = list(rows = cox$n, events = cox$nevent,
               coef = unname(coef(cox)),
               naive_se = unname(sqrt(diag(cox$naive.var))),
               robust_se = unname(sqrt(diag(vcov(cox)))),
               hazard_ratio = unname(exp(coef(cox))),
               lower = unname(cs$conf.int[, "lower .95"]),
               upper = unname(cs$conf.int[, "upper .95"]),
               p_value = unname(cs$coefficients[, "Pr(>|z|)"])),
    # every row, for the row-by-row comparison of the weights
    patient = list(time = arr(tt), event = arr(ev), exposure = arr(e), age = arr(age),
                   best_response = arr(d$best_response),
                   mets_peritoneum = arr(mets_peritoneum)),
    rows = list(id = arr(sp$id), arm = arr(sp$arm), interval = arr(sp$interval),
                tstart = arr(sp$tstart), tstop = arr(sp$tstop), event = arr(sp$event),
                censored = arr(sp$censored), weight = arr(sp$w))
  )
}

out <- provenance("emulation.R")
out$readxl_version <- as.character(packageVersion("readxl"))
out$eligible <- nrow(d)
out$settings <- list(grace = grace, interval = 3, at = arr(at), rmst_tau = tau,
                     truncate = arr(c(0.01, 0.99)), stabilise = TRUE)
out$pfs <- emulate(pfs)
out$os <- emulate(os)
write_json(out, file.path("conformance", "emulation.json"))
