# Reference values for cohortflow_stats::cox_ph and cox_zph.
# Run from the repository root: Rscript conformance/cox.R  (see regenerate.sh)
#
# Each case stores its input (start, stop, event, covariates by column,
# strata codes) and what coxph + summary.coxph + cox.zph report. Cases that R
# fits with a warning or an NA coefficient are stored in `error_cases` with
# what R said, and the Rust tests check that cox_ph returns the matching
# error instead.
suppressPackageStartupMessages(library(survival))
source(file.path("conformance", "common.R"))

transforms <- c(km = "Km", identity = "Identity", rank = "Rank", log = "Log")

# Fit Surv([start,] stop, event) ~ x1 + ... + xp [+ strata(s)] on plain
# vectors, exactly the numbers written to the JSON.
fit_case <- function(stop, event, X, start = NULL, strata = NULL, ties = "efron",
                     zph = c("km")) {
  X <- as.matrix(X)
  p <- ncol(X)
  d <- data.frame(stop = stop, event = as.integer(event), X)
  names(d)[2 + seq_len(p)] <- paste0("x", seq_len(p))
  rhs <- paste0("x", seq_len(p), collapse = " + ")
  if (!is.null(strata)) { d$s <- factor(strata); rhs <- paste(rhs, "+ strata(s)") }
  lhs <- if (is.null(start)) "Surv(stop, event)" else { d$start <- start; "Surv(start, stop, event)" }
  f <- as.formula(paste(lhs, "~", rhs))
  fit <- coxph(f, data = d, ties = ties)
  fit$call$formula <- f   # so cox.zph can rebuild the model frame
  list(fit = fit, X = X)
}

test_json <- function(v) list(statistic = unname(v[["test"]]), df = unname(v[["df"]]),
                              p_value = unname(v[["pvalue"]]))

cox_case <- function(name, source, stop, event, X, start = NULL, strata = NULL,
                     ties = "efron", zph = "km") {
  ff <- fit_case(stop, event, X, start, strata, ties)
  fit <- ff$fit
  X <- ff$X
  sm <- summary(fit)
  co <- sm$coefficients
  ci <- sm$conf.int
  # summary.coxph rounds the printed Wald statistic; take it from the fit
  wald <- c(test = unname(fit$wald.test), df = length(coef(fit)),
            pvalue = pchisq(unname(fit$wald.test), length(coef(fit)), lower.tail = FALSE))
  zphs <- list()
  for (tr in zph) {
    z <- cox.zph(fit, transform = tr)$table
    k <- nrow(z)
    zphs[[length(zphs) + 1]] <- list(
      transform = transforms[[tr]],
      terms = list(statistic = arr(unname(z[-k, "chisq"])), df = arr(unname(z[-k, "df"])),
                   p_value = arr(unname(z[-k, "p"]))),
      global = list(statistic = unname(z[k, "chisq"]), df = unname(z[k, "df"]),
                    p_value = unname(z[k, "p"])))
  }
  list(
    name = name,
    source = source,
    ties = if (ties == "efron") "Efron" else "Breslow",
    input = list(
      start = if (is.null(start)) NULL else arr(start),
      stop = arr(stop), event = arr(as.logical(event)),
      covariates = lapply(seq_len(ncol(X)), function(j) arr(unname(X[, j]))),
      strata = if (is.null(strata)) NULL else arr(as.integer(factor(strata)) - 1L)
    ),
    n = fit$n, events = fit$nevent, iterations = fit$iter,
    coef = arr(unname(coef(fit))), se = arr(unname(co[, "se(coef)"])),
    hazard_ratio = arr(unname(ci[, "exp(coef)"])),
    hr_lower = arr(unname(ci[, "lower .95"])), hr_upper = arr(unname(ci[, "upper .95"])),
    z = arr(unname(co[, "z"])), p_value = arr(unname(co[, "Pr(>|z|)"])),
    variance = lapply(seq_len(nrow(fit$var)), function(i) arr(unname(fit$var[i, ]))),
    loglik_null = fit$loglik[1], loglik = fit$loglik[2],
    likelihood_ratio = test_json(sm$logtest), wald = test_json(wald),
    score = test_json(sm$sctest),
    zph = zphs
  )
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- cox_case(...)

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")

# --- lung: coxph(Surv(time, status) ~ age + sex + ph.ecog), complete cases
lc <- lung[complete.cases(lung[, c("time", "status", "age", "sex", "ph.ecog")]), ]
for (ties in c("efron", "breslow"))
  add(paste0("lung_age_sex_ecog_", ties),
      "fixtures/real/lung.csv: time, status == 2 ~ age + sex + ph.ecog (rows with NA in these dropped)",
      lc$time, lc$status == 2, lc[, c("age", "sex", "ph.ecog")], ties = ties,
      zph = if (ties == "efron") names(transforms) else "km")
add("lung_age_sex_ecog_karno", "fixtures/real/lung.csv ~ age + sex + ph.ecog + ph.karno (complete cases)",
    (function(d) d$time)(lung[complete.cases(lung[, c("age", "sex", "ph.ecog", "ph.karno")]), ]),
    (function(d) d$status == 2)(lung[complete.cases(lung[, c("age", "sex", "ph.ecog", "ph.karno")]), ]),
    lung[complete.cases(lung[, c("age", "sex", "ph.ecog", "ph.karno")]), c("age", "sex", "ph.ecog", "ph.karno")])
add("lung_sex", "fixtures/real/lung.csv ~ sex (all rows)", lung$time, lung$status == 2,
    lung[, "sex", drop = FALSE], zph = names(transforms))

# --- veteran: ~ trt + karno + strata(celltype)
for (ties in c("efron", "breslow"))
  add(paste0("veteran_trt_karno_strata_celltype_", ties),
      "fixtures/real/veteran.csv: time, status ~ trt + karno + strata(celltype)",
      veteran$time, veteran$status == 1, veteran[, c("trt", "karno")],
      strata = veteran$celltype, ties = ties, zph = c("km", "rank"))
add("veteran_all_covariates", "fixtures/real/veteran.csv ~ trt + karno + diagtime + age + prior",
    veteran$time, veteran$status == 1, veteran[, c("trt", "karno", "diagtime", "age", "prior")])

# --- gbsg: ~ hormon + age + size + nodes (+ strata(grade))
add("gbsg_hormon_age_size_nodes", "fixtures/real/gbsg.csv: rfstime, status ~ hormon + age + size + nodes",
    gbsg$rfstime, gbsg$status == 1, gbsg[, c("hormon", "age", "size", "nodes")],
    zph = c("km", "identity", "log"))
add("gbsg_strata_grade_breslow", "fixtures/real/gbsg.csv ~ hormon + age + size + nodes + pgr + strata(grade), Breslow",
    gbsg$rfstime, gbsg$status == 1, gbsg[, c("hormon", "age", "size", "nodes", "pgr")],
    strata = gbsg$grade, ties = "breslow")

# --- counting process: veteran split at 60 and 180 days (survSplit)
vs <- survSplit(Surv(time, status) ~ ., data = veteran, cut = c(60, 180), episode = "period")
add("veteran_split_trt_karno", "survSplit(veteran, cut = c(60, 180)): Surv(tstart, time, status) ~ trt + karno (same fit as unsplit)",
    vs$time, vs$status == 1, vs[, c("trt", "karno")], start = vs$tstart,
    zph = c("km", "identity", "rank"))
# a time-varying covariate: the effect of karno after day 60
vs$karno_late <- vs$karno * (vs$period >= 2)
for (ties in c("efron", "breslow"))
  add(paste0("veteran_split_tv_karno_late_", ties),
      "survSplit(veteran, cut = c(60, 180)) ~ trt + karno + karno * (tstart >= 60) (time-varying)",
      vs$time, vs$status == 1, vs[, c("trt", "karno", "karno_late")], start = vs$tstart,
      ties = ties)
add("veteran_split_strata_celltype", "survSplit(veteran, cut = c(60, 180)) ~ trt + karno + strata(celltype)",
    vs$time, vs$status == 1, vs[, c("trt", "karno")], start = vs$tstart, strata = vs$celltype)
# lung: time-varying "late" indicator of ECOG after day 200, delayed entry
# (lung codes status 1 = censored, 2 = dead; survSplit writes 0/1)
ls <- survSplit(Surv(time, status == 2) ~ ., data = lc, cut = c(100, 200, 400), episode = "period",
                event = "dead")
ls$ecog_late <- ls$ph.ecog * (ls$tstart >= 200)
add("lung_split_tv_ecog_late", "survSplit(lung complete cases, cut = c(100, 200, 400)) ~ age + sex + ph.ecog + ph.ecog * (tstart >= 200)",
    ls$time, ls$dead == 1, ls[, c("age", "sex", "ph.ecog", "ecog_late")], start = ls$tstart)

# --- small hand-made edge cases
set.seed(20261127)
n <- 60
ht <- sample(1:5, n, replace = TRUE)          # heavy ties: 5 distinct times
he <- rbinom(n, 1, 0.7) == 1
hx <- cbind(round(rnorm(n), 2), rbinom(n, 1, 0.5))
for (ties in c("efron", "breslow"))
  add(paste0("heavy_ties_", ties), "simulated: 60 rows on 5 distinct times", ht, he, hx, ties = ties,
      zph = c("km", "identity", "rank"))
add("one_covariate_binary", "simulated: one binary covariate, 30 rows",
    c(5, 8, 8, 12, 13, 15, 16, 20, 21, 22, 25, 26, 30, 31, 33, 35, 40, 41, 45, 50, 52, 55, 60, 61, 66, 70, 72, 80, 85, 90),
    c(1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1) == 1,
    cbind(c(1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1)))
# near-tied times: differences of 1e-10 that timefix merges
nt <- c(1, 1 + 1e-10, 2, 2 + 2e-12, 2 - 1e-11, 3, 4, 4 * (1 + 3e-9), 5, 6, 7, 7 + 1e-13, 8, 9, 10, 10, 11, 12)
ne <- c(1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0, 1) == 1
nx <- cbind(c(0.5, -1.2, 0.3, 2.1, -0.7, 1.1, 0.0, -0.4, 0.9, 1.5, -1.8, 0.2, 0.6, -0.3, 1.0, -1.1, 0.4, 0.8),
            c(1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0))
for (ties in c("efron", "breslow"))
  add(paste0("near_ties_timefix_", ties), "hand-made: times differing by 1e-10 .. 1e-13 (merged by aeqSurv)",
      nt, ne, nx, ties = ties)
# a stratum without events
st <- c(3, 5, 6, 8, 9, 11, 12, 14, 2, 4, 7, 10, 13, 15, 16, 1, 6, 9, 12)
se <- c(1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0) == 1
ss <- c(rep("a", 8), rep("b", 7), rep("c", 4))
sx <- cbind(c(1.2, 0.4, -0.3, 2.2, 0.0, -1.0, 0.7, 1.9, -0.2, 0.8, 1.4, -0.6, 0.3, 1.1, -1.3, 0.5, 0.9, -0.8, 0.1))
add("stratum_without_events", "hand-made: 3 strata, stratum c has no events", st, se, sx, strata = ss,
    zph = c("km", "identity"))
# counting process with delayed entry, gaps and an interval that ends at another's start
cs <- c(0, 0, 2, 1, 0, 3, 5, 0, 1, 4, 0, 2, 6, 0, 3)
cp <- c(4, 2, 7, 6, 3, 9, 8, 5, 7, 10, 6, 11, 12, 9, 8)
ce <- c(1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0) == 1
cx <- cbind(c(0.3, 1.2, -0.5, 0.8, -1.1, 0.0, 0.6, 1.7, -0.2, 0.9, -0.7, 0.4, 1.0, -1.4, 0.2),
            c(1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1))
for (ties in c("efron", "breslow"))
  add(paste0("counting_delayed_entry_", ties), "hand-made: (start, stop] with delayed entry and ties",
      cp, ce, cx, start = cs, ties = ties, zph = c("km", "identity"))

# data on which Newton-Raphson overshoots and R halves a step (found by
# searching seeds with agreg.fit's info["step halving"] > 0); fitted both as
# right-censored data (coxfit6.c) and as (0, t] (agfit4.c, whose halving and
# convergence rules differ)
for (seed in c(25, 481, 2033)) {
  set.seed(seed)
  n <- sample(15:40, 1)
  hx <- rnorm(n) * sample(c(1, 3, 6), 1)
  hz <- rbinom(n, 1, 0.5)
  ht <- round(rexp(n, exp(1.5 * hx + 2 * hz)), 2) + 0.01
  he <- rbinom(n, 1, 0.8) == 1
  add(paste0("step_halving_seed", seed), "simulated: strong effects, R halves a Newton step",
      ht, he, cbind(hx, hz), zph = c("km", "identity"))
  add(paste0("step_halving_seed", seed, "_counting"), "the same as Surv(0, t, event): agfit4 with step halving",
      ht, he, cbind(hx, hz), start = rep(0, n))
}
add("step_halving_seed25_breslow", "simulated (seed 25), Breslow",
    (function() { set.seed(25); n <- sample(15:40, 1); hx <- rnorm(n) * sample(c(1, 3, 6), 1);
      hz <- rbinom(n, 1, 0.5); round(rexp(n, exp(1.5 * hx + 2 * hz)), 2) + 0.01 })(),
    (function() { set.seed(25); n <- sample(15:40, 1); hx <- rnorm(n) * sample(c(1, 3, 6), 1);
      hz <- rbinom(n, 1, 0.5); ht <- rexp(n, exp(1.5 * hx + 2 * hz)); rbinom(n, 1, 0.8) == 1 })(),
    (function() { set.seed(25); n <- sample(15:40, 1); hx <- rnorm(n) * sample(c(1, 3, 6), 1);
      hz <- rbinom(n, 1, 0.5); cbind(hx, hz) })(),
    ties = "breslow")

# --- inputs on which R warns or gives NA: cox_ph must return an error
error_cases <- list()
add_error <- function(name, source, stop, event, X, start = NULL, strata = NULL) {
  warn <- character(0)
  ff <- withCallingHandlers(fit_case(stop, event, X, start, strata),
                            warning = function(w) { warn <<- c(warn, conditionMessage(w)); invokeRestart("muffleWarning") })
  X <- as.matrix(X)
  error_cases[[length(error_cases) + 1]] <<- list(
    name = name, source = source,
    input = list(start = if (is.null(start)) NULL else arr(start),
                 stop = arr(stop), event = arr(as.logical(event)),
                 covariates = lapply(seq_len(ncol(X)), function(j) arr(unname(X[, j]))),
                 strata = if (is.null(strata)) NULL else arr(as.integer(factor(strata)) - 1L)),
    r_coef = arr(unname(coef(ff$fit))),
    r_warnings = arr(warn))
}
add_error("collinear_third_covariate", "lung complete cases ~ age + sex + I(age + 2 * sex): R gives NA for the third",
          lc$time, lc$status == 2, cbind(lc$age, lc$sex, lc$age + 2 * lc$sex))
add_error("constant_covariate", "lung complete cases ~ age + 1 (a constant column): R gives NA",
          lc$time, lc$status == 2, cbind(lc$age, rep(1, nrow(lc))))
add_error("monotone_likelihood", "hand-made: x = 1 exactly for the earliest events, R warns 'coefficient may be infinite'",
          c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), c(1, 1, 1, 1, 0, 1, 0, 1, 0, 0) == 1,
          cbind(c(1, 1, 1, 1, 1, 0, 0, 0, 0, 0)))

write_json(c(provenance("conformance/cox.R"), list(cases = cases, error_cases = error_cases)),
           file.path("conformance", "cox.json"))
