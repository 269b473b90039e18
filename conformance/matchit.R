# Reference values for cohortflow_stats::nearest_neighbor_match and
# cohortflow_stats::balance, from MatchIt (4.5.1 in Debian 12).
# Run from the repository root: Rscript conformance/matchit.R  (see regenerate.sh)
#
# Two kinds of cases:
#
# * `cases`: matchit(method = "nearest") exactly as the installed MatchIt runs
#   it with a propensity score (`nn_matchC_vec`). MatchIt 4.5.1-4.5.3 call C's
#   integer abs() on the distance differences there (MatchIt issue #163:
#   "Caliper not working as intended on versions 4.5.1 - 4.5.3"): the caliper
#   is ignored for differences below 1, and of the nearest available control
#   below and above the treated unit's score the lower one is always taken.
#   cohortflow reproduces this only under `MatchItCompat::V4_5_1`.
# * `intended_cases`: the same matching done by MatchIt's general matcher
#   (`nn_matchC`, used for distance matrices), which applies the caliper and
#   takes the nearest available control (ties: first in data order). This is
#   what cohortflow does by default. m.order is obtained by putting the treated
#   rows in that order (a distance matrix only allows m.order = "data").
#
# Balance: summary(m, un = TRUE)$sum.all / $sum.matched for `cases`;
# MatchIt:::bal1var (the function summary.matchit calls per row) for
# `intended_cases`.
suppressPackageStartupMessages(library(MatchIt))
source(file.path("conformance", "common.R"))

m_orders <- c(largest = "Largest", smallest = "Smallest", data = "Data")

bal_rows <- function(tab) {
  list(variable = arr(rownames(tab)),
       mean_treated = arr(unname(tab[, "Means Treated"])),
       mean_control = arr(unname(tab[, "Means Control"])),
       std_mean_diff = arr(unname(tab[, "Std. Mean Diff."])),
       var_ratio = arr(unname(tab[, "Var. Ratio"])),
       ecdf_mean = arr(unname(tab[, "eCDF Mean"])),
       ecdf_max = arr(unname(tab[, "eCDF Max"])))
}

# the covariate matrix summary.matchit balances (factors: one column per level)
covs_of <- function(f, data) MatchIt:::get.covs.matrix(f, data = data)

dataset_json <- function(f, data) {
  X <- covs_of(f, data)
  list(n = nrow(data),
       covariate_names = arr(colnames(X)),
       covariates = setNames(lapply(seq_len(ncol(X)), function(j) arr(unname(X[, j]))), colnames(X)))
}

# 0-based row indices (in `data`) of the controls matched to each treated
# unit, treated units in data order; NA -> null
mm_rows <- function(mm, data) {
  treated <- rownames(data)[rownames(data) %in% rownames(mm)]
  mm <- mm[treated, , drop = FALSE]
  idx <- matrix(match(mm, rownames(data)) - 1L, nrow = nrow(mm))
  list(treated_rows = arr(match(treated, rownames(data)) - 1L),
       match_matrix = lapply(seq_len(nrow(idx)), function(i) arr(idx[i, ])))
}

match_case <- function(name, dataset, source, f, data, ratio, caliper, m.order, distance = NULL,
                       exact = NULL) {
  args <- list(f, data = data, method = "nearest", ratio = ratio, m.order = m.order)
  if (!is.null(caliper)) args$caliper <- caliper
  if (!is.null(distance)) args$distance <- distance
  if (!is.null(exact)) args$exact <- reformulate(exact)
  m <- suppressWarnings(do.call(matchit, args))
  s <- summary(m, un = TRUE)
  c(list(
    name = name, dataset = dataset, source = source,
    call = paste(deparse(m$call, width.cutoff = 500), collapse = " "),
    input = c(list(distance = arr(unname(m$distance)), treated = arr(m$treat == 1), ratio = ratio,
                   caliper = caliper, m_order = m_orders[[m.order]]),
              if (is.null(exact)) NULL else list(exact = arr(as.integer(data[[exact]])))),
    caliper_distance = if (is.null(m$caliper)) NULL else unname(m$caliper[[1]])),
    mm_rows(m$match.matrix, data),
    list(weights = arr(unname(m$weights)),
         sum_all = bal_rows(s$sum.all), sum_matched = bal_rows(s$sum.matched)))
}

intended_case <- function(name, dataset, source, f, data, ps, ratio, caliper, m.order,
                          exact = NULL) {
  treat <- model.response(model.frame(f, data))
  t1 <- which(treat == 1)
  t1 <- switch(m.order, largest = t1[order(ps[t1], decreasing = TRUE)],
               smallest = t1[order(ps[t1])], data = t1)
  perm <- c(t1, which(treat == 0))
  d2 <- data[perm, ]
  D <- abs(outer(ps[perm][treat[perm] == 1], ps[perm][treat[perm] == 0], "-"))
  cal <- if (is.null(caliper)) NULL else caliper * sd(ps)
  args <- list(f, data = d2, method = "nearest", distance = D, ratio = ratio, m.order = "data")
  if (!is.null(cal)) { args$caliper <- cal; args$std.caliper <- FALSE }
  if (!is.null(exact)) args$exact <- reformulate(exact)
  m <- suppressWarnings(do.call(matchit, args))
  w <- unname(m$weights[rownames(data)])
  X <- cbind(distance = ps, covs_of(f, data))
  bal <- function(ww) {
    tab <- t(vapply(seq_len(ncol(X)), function(j)
      MatchIt:::bal1var(X[, j], tt = treat, ww = ww, s.weights = rep(1, length(treat)),
                        standardize = TRUE, s.d.denom = "treated", compute.pair.dist = FALSE),
      numeric(7)))
    dimnames(tab) <- list(colnames(X), c("Means Treated", "Means Control", "Std. Mean Diff.",
                                         "Var. Ratio", "eCDF Mean", "eCDF Max", "Std. Pair Dist."))
    tab
  }
  c(list(
    name = name, dataset = dataset, source = source,
    input = c(list(distance = arr(unname(ps)), treated = arr(treat == 1), ratio = ratio,
                   caliper = caliper, m_order = m_orders[[m.order]]),
              if (is.null(exact)) NULL else list(exact = arr(as.integer(data[[exact]])))),
    caliper_distance = cal),
    mm_rows(m$match.matrix, data),
    list(weights = arr(w), sum_all = bal_rows(bal(NULL)), sum_matched = bal_rows(bal(w))))
}

lalonde <- read_real("lalonde")
rownames(lalonde) <- lalonde$X
lalonde$X <- NULL
lalonde$race <- factor(lalonde$race, levels = c("black", "hispan", "white"))
fl <- treat ~ age + educ + race + married + nodegree + re74 + re75
ps_l <- unname(glm(fl, data = lalonde, family = binomial)$fitted.values)
gbsg <- read_real("gbsg")
rownames(gbsg) <- paste0("gbsg", seq_len(nrow(gbsg)))
fg <- hormon ~ age + meno + size + grade + nodes + pgr + er
ps_g <- unname(glm(fg, data = gbsg, family = binomial)$fitted.values)
Xl <- model.matrix(update(fl, NULL ~ .), lalonde)[, -1]

# raw columns, so that the Rust test builds the propensity-score design
# itself (race -> racehispan, racewhite) and checks it against model.matrix
raw_l <- list(age = arr(lalonde$age), educ = arr(lalonde$educ), race = arr(as.character(lalonde$race)),
              married = arr(lalonde$married), nodegree = arr(lalonde$nodegree),
              re74 = arr(lalonde$re74), re75 = arr(lalonde$re75))
datasets <- list(lalonde = c(dataset_json(fl, lalonde),
                             list(raw = raw_l,
                                  ps_design = list(names = arr(colnames(Xl)),
                                                   columns = lapply(seq_len(ncol(Xl)), function(j) arr(unname(Xl[, j])))))),
                 gbsg = dataset_json(fg, gbsg))
sl <- "fixtures/real/lalonde.csv: treat ~ age + educ + race + married + nodegree + re74 + re75"
sg <- "fixtures/real/gbsg.csv: hormon ~ age + meno + size + grade + nodes + pgr + er"

configs <- list(
  # name,          data,     ratio, caliper, m.order
  list("cal02_r1_largest", 1, 0.2, "largest"),   # the configurations the study pipelines use
  list("cal02_r2_largest", 2, 0.2, "largest"),
  list("cal02_r1_smallest", 1, 0.2, "smallest"),
  list("nocal_r1_largest", 1, NULL, "largest"),
  list("cal005_r3_largest", 3, 0.05, "largest"),
  list("cal001_r2_smallest", 2, 0.01, "smallest"),
  list("cal01_r1_data", 1, 0.1, "data"))

cases <- list()
intended_cases <- list()
for (cf in configs) {
  cases[[length(cases) + 1]] <- match_case(paste0("lalonde_", cf[[1]]), "lalonde", sl, fl, lalonde, cf[[2]], cf[[3]], cf[[4]])
  intended_cases[[length(intended_cases) + 1]] <- intended_case(paste0("lalonde_", cf[[1]]), "lalonde", sl, fl, lalonde, ps_l, cf[[2]], cf[[3]], cf[[4]])
}
for (cf in configs[c(1, 2, 3, 5)]) {
  cases[[length(cases) + 1]] <- match_case(paste0("gbsg_", cf[[1]]), "gbsg", sg, fg, gbsg, cf[[2]], cf[[3]], cf[[4]])
  intended_cases[[length(intended_cases) + 1]] <- intended_case(paste0("gbsg_", cf[[1]]), "gbsg", sg, fg, gbsg, ps_g, cf[[2]], cf[[3]], cf[[4]])
}
# tied distances: the propensity score rounded to 2 decimals
tied <- round(ps_l, 2)
cases[[length(cases) + 1]] <- match_case("lalonde_tied_ps_r2_largest", "lalonde", paste(sl, "; distance = round(ps, 2)"),
                                         fl, lalonde, 2, NULL, "largest", distance = tied)
cases[[length(cases) + 1]] <- match_case("lalonde_tied_ps_r1_smallest", "lalonde", paste(sl, "; distance = round(ps, 2)"),
                                         fl, lalonde, 1, NULL, "smallest", distance = tied)
intended_cases[[length(intended_cases) + 1]] <- intended_case("lalonde_tied_ps_cal02_r2_largest", "lalonde",
    paste(sl, "; distance = round(ps, 2)"), fl, lalonde, tied, 2, 0.2, "largest")
intended_cases[[length(intended_cases) + 1]] <- intended_case("lalonde_tied_ps_r1_smallest", "lalonde",
    paste(sl, "; distance = round(ps, 2)"), fl, lalonde, tied, 1, NULL, "smallest")

# exact matching on a variable plus a caliper: the caliper is sized on the
# whole sample, a stratum without a control in reach leaves its treated
# unmatched (not an error). lalonde: married (0/1) and nodegree (0/1).
for (ex in list(list("married", 1, 0.2, "largest"), list("nodegree", 2, 0.1, "smallest"),
                list("married", 1, 0.02, "largest"))) {
  nm <- sprintf("lalonde_exact_%s_cal%s_r%d_%s", ex[[1]], ex[[3]], ex[[2]], ex[[4]])
  cases[[length(cases) + 1]] <- match_case(nm, "lalonde", paste(sl, "; exact =", ex[[1]]),
                                           fl, lalonde, ex[[2]], ex[[3]], ex[[4]], exact = ex[[1]])
  intended_cases[[length(intended_cases) + 1]] <- intended_case(nm, "lalonde",
      paste(sl, "; exact =", ex[[1]]), fl, lalonde, ps_l, ex[[2]], ex[[3]], ex[[4]], exact = ex[[1]])
}

p <- provenance("conformance/matchit.R")
p$matchit_version <- as.character(packageVersion("MatchIt"))
write_json(c(p, list(datasets = datasets, cases = cases, intended_cases = intended_cases)),
           file.path("conformance", "matchit.json"))
