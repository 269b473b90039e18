# Reference values for cohortflow_stats::cox_ph_weighted: coxph with case
# weights and/or a robust (sandwich) variance, cluster = id or robust = TRUE.
# Run from the repository root: Rscript conformance/cox_weighted.R  (see regenerate.sh)
#
# Each case stores its input (start, stop, event, covariates by column,
# strata codes, case weights, cluster labels), how the variance is asked for
# ("Naive", "Robust": each row its own cluster, "Cluster") and what coxph +
# summary.coxph report: naive and robust variance and SE, z, p, the
# confidence limits (from the robust SE when robust, as summary.coxph), the
# likelihood-ratio, Wald (robust when robust) and score tests and the robust
# score test.
suppressPackageStartupMessages(library(survival))
source(file.path("conformance", "common.R"))

test_json <- function(v) list(statistic = unname(v[["test"]]), df = unname(v[["df"]]),
                              p_value = unname(v[["pvalue"]]))

wcox_case <- function(name, source, stop, event, X, start = NULL, strata = NULL,
                      weights = NULL, variance = c("Naive", "Robust", "Cluster"),
                      cluster = NULL, ties = "efron") {
  variance <- match.arg(variance)
  X <- as.matrix(X)
  p <- ncol(X)
  d <- data.frame(stop = stop, event = as.integer(event), X)
  names(d)[2 + seq_len(p)] <- paste0("x", seq_len(p))
  rhs <- paste0("x", seq_len(p), collapse = " + ")
  if (!is.null(strata)) { d$s <- factor(strata); rhs <- paste(rhs, "+ strata(s)") }
  lhs <- if (is.null(start)) "Surv(stop, event)" else { d$start <- start; "Surv(start, stop, event)" }
  f <- as.formula(paste(lhs, "~", rhs))
  d$w <- if (is.null(weights)) rep(1, nrow(d)) else weights
  d$cl <- if (is.null(cluster)) seq_len(nrow(d)) else cluster
  fit <- switch(variance,
    Naive = if (is.null(weights)) coxph(f, data = d, ties = ties, robust = FALSE)
            else coxph(f, data = d, ties = ties, weights = w, robust = FALSE),
    Robust = if (is.null(weights)) coxph(f, data = d, ties = ties, robust = TRUE)
             else coxph(f, data = d, ties = ties, weights = w, robust = TRUE),
    Cluster = if (is.null(weights)) coxph(f, data = d, ties = ties, cluster = cl)
              else coxph(f, data = d, ties = ties, weights = w, cluster = cl))
  robust <- variance != "Naive"
  stopifnot(robust == !is.null(fit$naive.var))
  sm <- summary(fit)
  co <- sm$coefficients
  ci <- sm$conf.int
  nvar <- if (robust) fit$naive.var else fit$var
  wald <- c(test = unname(fit$wald.test), df = length(coef(fit)),
            pvalue = pchisq(unname(fit$wald.test), length(coef(fit)), lower.tail = FALSE))
  mat <- function(m) lapply(seq_len(nrow(m)), function(i) arr(unname(m[i, ])))
  list(
    name = name,
    source = source,
    ties = if (ties == "efron") "Efron" else "Breslow",
    variance = variance,
    input = list(
      start = if (is.null(start)) NULL else arr(start),
      stop = arr(stop), event = arr(as.logical(event)),
      covariates = lapply(seq_len(ncol(X)), function(j) arr(unname(X[, j]))),
      strata = if (is.null(strata)) NULL else arr(as.integer(factor(strata)) - 1L),
      weights = if (is.null(weights)) NULL else arr(weights),
      cluster = if (variance == "Cluster") arr(as.integer(factor(cluster)) - 1L) else NULL
    ),
    n = fit$n, events = fit$nevent, iterations = fit$iter,
    coef = arr(unname(coef(fit))),
    se = arr(unname(co[, "se(coef)"])),
    variance_naive = mat(nvar),
    robust_se = if (robust) arr(unname(co[, "robust se"])) else NULL,
    variance_robust = if (robust) mat(fit$var) else NULL,
    robust_score = if (robust) test_json(sm$robscore) else NULL,
    hazard_ratio = arr(unname(ci[, "exp(coef)"])),
    hr_lower = arr(unname(ci[, "lower .95"])), hr_upper = arr(unname(ci[, "upper .95"])),
    z = arr(unname(co[, "z"])), p_value = arr(unname(co[, "Pr(>|z|)"])),
    loglik_null = fit$loglik[1], loglik = fit$loglik[2],
    likelihood_ratio = test_json(sm$logtest), wald = test_json(wald),
    score = test_json(sm$sctest)
  )
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- wcox_case(...)

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")

# --- lung, complete cases in age, sex, ph.ecog and inst
lc <- lung[complete.cases(lung[, c("inst", "time", "status", "age", "sex", "ph.ecog")]), ]
set.seed(20261130)
lw <- round(runif(nrow(lc), 0.2, 3), 6)   # seeded positive non-integer weights
for (ties in c("efron", "breslow")) {
  add(paste0("lung_weighted_robust_", ties),
      "fixtures/real/lung.csv (complete cases incl. inst) ~ age + sex + ph.ecog, weights = runif(0.2, 3) seed 20261130 (R default robust = TRUE)",
      lc$time, lc$status == 2, lc[, c("age", "sex", "ph.ecog")], weights = lw,
      variance = "Robust", ties = ties)
  add(paste0("lung_cluster_inst_", ties),
      "fixtures/real/lung.csv ~ age + sex + ph.ecog, cluster = inst (unweighted)",
      lc$time, lc$status == 2, lc[, c("age", "sex", "ph.ecog")], variance = "Cluster",
      cluster = lc$inst, ties = ties)
}
add("lung_weighted_naive", "lung ~ age + sex + ph.ecog, the same weights, robust = FALSE",
    lc$time, lc$status == 2, lc[, c("age", "sex", "ph.ecog")], weights = lw, variance = "Naive")
add("lung_weighted_cluster_inst_strata_sex", "lung ~ age + ph.ecog + strata(sex), weights, cluster = inst",
    lc$time, lc$status == 2, lc[, c("age", "ph.ecog")], strata = lc$sex, weights = lw,
    variance = "Cluster", cluster = lc$inst)
add("lung_robust_unweighted", "lung ~ age + sex + ph.ecog, robust = TRUE (each row its own cluster)",
    lc$time, lc$status == 2, lc[, c("age", "sex", "ph.ecog")], variance = "Robust")

# --- veteran ~ trt + karno + strata(celltype)
set.seed(7)
vw <- sample(1:3, nrow(veteran), replace = TRUE)   # integer weights: naive by default
for (ties in c("efron", "breslow"))
  add(paste0("veteran_integer_weights_strata_", ties),
      "fixtures/real/veteran.csv ~ trt + karno + strata(celltype), weights = sample(1:3) seed 7 (R default robust = FALSE)",
      veteran$time, veteran$status == 1, veteran[, c("trt", "karno")], strata = veteran$celltype,
      weights = vw, variance = "Naive", ties = ties)
set.seed(11)
vw2 <- round(rexp(nrow(veteran)) + 0.1, 6)
add("veteran_weighted_robust_strata_breslow",
    "veteran ~ trt + karno + age + strata(celltype), weights = rexp + 0.1 seed 11, robust, Breslow",
    veteran$time, veteran$status == 1, veteran[, c("trt", "karno", "age")], strata = veteran$celltype,
    weights = vw2, variance = "Robust", ties = "breslow")

# --- counting process: veteran split at 60 and 180 days, cluster = subject
vet <- veteran
vet$id <- seq_len(nrow(vet))
vet$w <- vw2
vs <- survSplit(Surv(time, status) ~ ., data = vet, cut = c(60, 180), episode = "period")
vs$karno_late <- vs$karno * (vs$period >= 2)
for (ties in c("efron", "breslow"))
  add(paste0("veteran_split_weighted_cluster_id_", ties),
      "survSplit(veteran, cut = c(60, 180)) ~ trt + karno + karno * (tstart >= 60), weights per subject, cluster = id",
      vs$time, vs$status == 1, vs[, c("trt", "karno", "karno_late")], start = vs$tstart,
      weights = vs$w, variance = "Cluster", cluster = vs$id, ties = ties)
add("veteran_split_cluster_id_unweighted", "survSplit(veteran) ~ trt + karno, cluster = id (equals the unsplit robust fit)",
    vs$time, vs$status == 1, vs[, c("trt", "karno")], start = vs$tstart,
    variance = "Cluster", cluster = vs$id)

# --- gbsg: weights, cluster on grade (3 large clusters)
set.seed(5)
gw <- round(runif(nrow(gbsg), 0.5, 1.5), 4)
add("gbsg_weighted_cluster_grade", "fixtures/real/gbsg.csv ~ hormon + age + size + nodes, weights runif(0.5, 1.5) seed 5, cluster = grade",
    gbsg$rfstime, gbsg$status == 1, gbsg[, c("hormon", "age", "size", "nodes")], weights = gw,
    variance = "Cluster", cluster = gbsg$grade)

# --- hand-made: heavy ties with weights (Efron's weighted steps)
set.seed(20261127)
n <- 60
ht <- sample(1:5, n, replace = TRUE)
he <- rbinom(n, 1, 0.7) == 1
hx <- cbind(round(rnorm(n), 2), rbinom(n, 1, 0.5))
hw <- round(runif(n, 0.1, 4), 3)
hc <- sample(1:12, n, replace = TRUE)
for (ties in c("efron", "breslow"))
  add(paste0("heavy_ties_weighted_cluster_", ties), "simulated: 60 rows on 5 distinct times, weights, 12 clusters",
      ht, he, hx, weights = hw, variance = "Cluster", cluster = hc, ties = ties)

write_json(c(provenance("conformance/cox_weighted.R"), list(cases = cases)),
           file.path("conformance", "cox_weighted.json"))
