# Reference values for cohortflow_stats::logistic_regression:
# glm(y ~ x, family = binomial) and summary.glm.
# Run from the repository root: Rscript conformance/logistic.R  (see regenerate.sh)
source(file.path("conformance", "common.R"))

# One case: the design matrix without its intercept column (as the Rust API
# takes it), R's fit, and what R warned about. `expect_error` names the kind of
# error cohortflow must return instead of R's warning / NA coefficient.
glm_case <- function(name, source, y, X, maxit = 25, expect_error = NULL) {
  X <- as.matrix(X)
  warns <- character(0)
  fit <- withCallingHandlers(
    glm(y ~ X, family = binomial, control = glm.control(maxit = maxit)),
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  s <- summary(fit)
  out <- list(
    name = name, source = source,
    input = list(y = arr(as.logical(y)),
                 columns = as.list(setNames(lapply(seq_len(ncol(X)), function(j) arr(X[, j])), colnames(X))),
                 maxit = maxit),
    column_names = arr(colnames(X)),
    r_warnings = arr(warns),
    r_na_coefficients = arr(which(is.na(coef(fit))) - 2L),  # 0-based covariate index
    expect_error = expect_error
  )
  if (is.null(expect_error)) {
    stopifnot(length(warns) == 0, !anyNA(coef(fit)))
    cf <- s$coefficients
    out$fit <- list(
      coef = arr(unname(cf[, 1])), se = arr(unname(cf[, 2])), z = arr(unname(cf[, 3])),
      p_value = arr(unname(cf[, 4])), fitted = arr(unname(fitted(fit))),
      linear_predictor = arr(unname(fit$linear.predictors)),
      deviance = fit$deviance, null_deviance = fit$null.deviance, aic = fit$aic,
      iterations = fit$iter)
  }
  out
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- glm_case(...)

lalonde <- read_real("lalonde")
lalonde$race <- factor(lalonde$race, levels = c("black", "hispan", "white"))
# the propensity-score model of MatchIt's documentation; race by treatment
# contrasts -> racehispan, racewhite (model.matrix, intercept dropped)
X <- model.matrix(~ age + educ + race + married + nodegree + re74 + re75, lalonde)[, -1]
add("lalonde_ps", "fixtures/real/lalonde.csv: treat ~ age + educ + race + married + nodegree + re74 + re75",
    lalonde$treat, X)
add("lalonde_age_only", "fixtures/real/lalonde.csv: treat ~ age (one covariate)",
    lalonde$treat, cbind(age = lalonde$age))
add("lalonde_re78", "fixtures/real/lalonde.csv: treat ~ re74 + re75 + re78 (dollar scale)",
    lalonde$treat, cbind(re74 = lalonde$re74, re75 = lalonde$re75, re78 = lalonde$re78))

gbsg <- read_real("gbsg")
add("gbsg_status", "fixtures/real/gbsg.csv: status ~ age + meno + size + grade + nodes + pgr + er + hormon",
    gbsg$status, gbsg[, c("age", "meno", "size", "grade", "nodes", "pgr", "er", "hormon")])
add("gbsg_hormon_ps", "fixtures/real/gbsg.csv: hormon ~ age + meno + size + grade + nodes + pgr + er",
    gbsg$hormon, gbsg[, c("age", "meno", "size", "grade", "nodes", "pgr", "er")])

lung <- read_real("lung")
lc <- lung[complete.cases(lung[, c("status", "age", "sex", "ph.ecog", "ph.karno", "wt.loss")]), ]
add("lung_death", "fixtures/real/lung.csv complete cases: status == 2 ~ age + sex + ph.ecog + ph.karno + wt.loss",
    lc$status == 2, lc[, c("age", "sex", "ph.ecog", "ph.karno", "wt.loss")])
add("lung_sex_ps", "fixtures/real/lung.csv complete cases: sex == 2 ~ age + ph.ecog + wt.loss",
    lc$sex == 2, lc[, c("age", "ph.ecog", "wt.loss")])

veteran <- read_real("veteran")
add("veteran_trt", "fixtures/real/veteran.csv: trt == 2 ~ karno + diagtime + age + prior",
    veteran$trt == 2, veteran[, c("karno", "diagtime", "age", "prior")])

# hand-made edge cases
add("balanced_null", "hand-made: 50/50 outcome, covariate symmetric in both outcomes (coefficients 0)",
    rep(c(1, 0), each = 6), cbind(x = rep(c(-2, -1, 0, 0, 1, 2), 2)))
add("one_covariate_small", "hand-made: 8 rows, one covariate",
    c(0, 0, 1, 0, 1, 1, 0, 1), cbind(x = c(1, 2, 3, 4, 5, 6, 7, 8)))
add("overlap_one_row", "hand-made: nearly separated (one overlapping pair), many iterations",
    c(0, 0, 0, 0, 1, 0, 1, 1, 1, 1), cbind(x = 1:10))

# errors: R warns or gives NA, cohortflow returns an error
add("complete_separation", "hand-made: x separates y completely",
    c(0, 0, 0, 0, 1, 1, 1, 1), cbind(x = 1:8), expect_error = "separation")
add("quasi_separation", "hand-made: x separates y except at one tied value",
    c(0, 0, 0, 0, 1, 1, 1, 1, 1), cbind(x = c(1, 2, 3, 4, 4, 5, 6, 7, 8)), expect_error = "separation")
add("collinear_column", "hand-made: x2 = 2 * x1 + 1",
    c(0, 1, 0, 1, 1, 0, 1, 0), cbind(x1 = c(1, 2, 3, 4, 5, 6, 7, 8), x2 = 2 * c(1, 2, 3, 4, 5, 6, 7, 8) + 1,
                                     x3 = c(3, 1, 4, 1, 5, 9, 2, 6)), expect_error = "collinear")
add("constant_column", "hand-made: a constant covariate",
    c(0, 1, 0, 1, 1, 0, 1, 0), cbind(x1 = c(1, 2, 3, 4, 5, 6, 7, 8), k = rep(3, 8)), expect_error = "constant")
add("not_converged", "fixtures/real/lalonde.csv PS model with maxit = 2",
    lalonde$treat, X, maxit = 2, expect_error = "did not converge")

p <- provenance("conformance/logistic.R")
write_json(c(p, list(cases = cases)), file.path("conformance", "logistic.json"))
