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

month <- 30.4375
cutoff <- as.Date("2023-06-30")

# ---- centre A: cp1251, ';', dates dd.mm.yyyy --------------------------------
a_raw <- read.csv(file.path("fixtures", "mgist", "center_a.csv"), sep = ";",
                  fileEncoding = "CP1251", colClasses = "character",
                  check.names = FALSE, na.strings = character(0))
stopifnot(ncol(a_raw) == 16)
a_date <- function(x) as.Date(ifelse(x == "", NA, x), format = "%d.%m.%Y")
a_unparsed <- function(x) x != "" & is.na(a_date(x))
a_mets <- c("печень" = "liver", "брюшина" = "peritoneum", "печень+брюшина" = "both",
            "лёгкие" = "lung", "кости" = "bone")
a_resp <- c("ЧО" = "PR", "СЗ" = "SD", "ПБ" = "PD")
a <- data.frame(
  source = "center_a", row = seq_len(nrow(a_raw)) + 1,
  id = a_raw[[1]], snils = a_raw[[2]],
  mets = unname(a_mets[a_raw[[9]]]),
  im_line = as.integer(a_raw[[10]]),
  im_start = a_date(a_raw[[11]]),
  birth = a_date(a_raw[[4]]),
  best_response = unname(a_resp[a_raw[[12]]]),
  diagnosis = a_date(a_raw[[5]]),
  progression = a_date(a_raw[[13]]), surgery = a_date(a_raw[[14]]),
  death = a_date(a_raw[[15]]), last_followup = a_date(a_raw[[16]]),
  stringsAsFactors = FALSE)
a_bad <- Reduce(`|`, lapply(c(4, 5, 11, 13:16), function(j) a_unparsed(a_raw[[j]])))

# ---- centre B: sheet Patients, real date cells (a text cell is unreadable) --
b_raw <- read_excel(file.path("fixtures", "mgist", "center_b.xlsx"), sheet = "Patients",
                    col_types = "list")
b_cell_date <- function(col) {
  vapply(col, function(v) {
    if (inherits(v, "POSIXct")) as.numeric(as.Date(v)) else NA_real_
  }, 0)
}
b_date <- function(name) as.Date(b_cell_date(b_raw[[name]]), origin = "1970-01-01")
b_unparsed <- function(name) vapply(b_raw[[name]], function(v) is.character(v), TRUE)
b_text <- function(name) vapply(b_raw[[name]], function(v) if (is.null(v) || all(is.na(v))) NA_character_ else as.character(v), "")
b_mets <- c("liver" = "liver", "peritoneum" = "peritoneum", "liver, peritoneum" = "both",
            "lung" = "lung", "bone" = "bone")
date_cols <- c("Date of birth", "Diagnosis date", "Imatinib start", "Progression date",
               "Surgery date", "Death date", "Last follow-up")
b <- data.frame(
  source = "center_b", row = seq_len(nrow(b_raw)) + 1,
  id = b_text("Patient ID"), snils = b_text("SNILS"),
  mets = unname(b_mets[b_text("Metastatic sites")]),
  im_line = as.integer(vapply(b_raw[["Imatinib line"]], as.numeric, 0)),
  im_start = b_date("Imatinib start"),
  birth = b_date("Date of birth"),
  best_response = b_text("Best response"),
  diagnosis = b_date("Diagnosis date"),
  progression = b_date("Progression date"), surgery = b_date("Surgery date"),
  death = b_date("Death date"), last_followup = b_date("Last follow-up"),
  stringsAsFactors = FALSE)
b_bad <- Reduce(`|`, lapply(date_cols, b_unparsed))

# ---- ingest, clean, linkage --------------------------------------------------
d <- rbind(a[!a_bad, ], b[!b_bad, ])
n_ingest_rejected <- sum(a_bad) + sum(b_bad)
clean_ok <- (is.na(d$surgery) | d$surgery >= d$im_start) &
  (is.na(d$death) | d$death >= d$diagnosis) &
  (is.na(d$progression) | is.na(d$death) | d$progression <= d$death)
n_clean_rejected <- sum(!clean_ok)
d <- d[clean_ok, ]
# Same SNILS (digits only) in both centres: keep the later last follow-up.
d$snils_digits <- gsub("[^0-9]", "", d$snils)
d <- d[order(d$snils_digits, -as.numeric(d$last_followup)), ]
n_linkage_dropped <- sum(duplicated(d$snils_digits))
d <- d[!duplicated(d$snils_digits), ]

# ---- criteria: the eligible population ---------------------------------------
d <- d[d$im_line == 1, ]
d <- d[d$best_response %in% c("PR", "SD"), ]
d <- d[d$mets %in% c("liver", "peritoneum", "both"), ]
d <- d[order(d$source, d$id), ]
rownames(d) <- NULL

# The pipeline's arms, only to check the counts against expected_rows.csv.
response_months <- as.numeric(pmin(d$progression, d$death, d$last_followup, na.rm = TRUE) -
                                 d$im_start) / month
arm <- ifelse(!is.na(d$surgery), "S", ifelse(response_months > 12, "NS", "(none)"))
expected <- read.csv(file.path("fixtures", "mgist", "expected_rows.csv"), stringsAsFactors = FALSE)
stopifnot(sum(arm == "S") == sum(expected$group == "study_S"),
          sum(arm == "NS") == sum(expected$group == "study_NS"),
          sum(arm == "(none)") == sum(expected$group == "short_response"),
          n_ingest_rejected == sum(expected$rejected_at == "ingest"),
          n_clean_rejected == sum(expected$rejected_at == "clean"),
          n_linkage_dropped == sum(expected$rejected_at == "linkage"))

# ---- endpoints from imatinib start (months), administrative cut-off ----------
endpoint <- function(events) {
  first <- do.call(pmin, c(lapply(events, function(e) d[[e]]), na.rm = TRUE))
  first[!is.na(first) & first > cutoff] <- NA
  end <- pmin(d$last_followup, cutoff)
  event <- !is.na(first)
  stop_date <- ifelse(event, first, end)
  list(time = as.numeric(stop_date - as.numeric(d$im_start)) / month, event = as.integer(event))
}
pfs <- endpoint(c("progression", "death"))
os <- endpoint(c("death"))
surgery_months <- as.numeric(d$surgery - d$im_start) / month
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
