# Reference values for cohortflow_stats::fine_gray_expand and the Fine-Gray
# model fitted on its output with cox_ph_weighted.
# Run from the repository root: Rscript conformance/finegray.R  (see regenerate.sh)
#
# Reads the competing-risk fixtures fixtures/real/mgus2.csv (survival) and
# fixtures/real/melanoma.csv (MASS), which conformance/competing.R writes
# unchanged from their packages (it runs first in regenerate.sh), and stores for each case the input (time, status code, cause,
# covariates, strata), the rows of finegray() (row, fgstart, fgstop,
# fgstatus, fgwt, count) and coxph(Surv(fgstart, fgstop, fgstatus) ~ x,
# weights = fgwt) as R fits it by default (robust variance, each expanded row
# its own cluster) and with cluster = id (the subject).
suppressPackageStartupMessages({ library(survival); library(MASS) })
source(file.path("conformance", "common.R"))

mgus2 <- read_real("mgus2")
melanoma <- read_real("melanoma")

test_json <- function(v) list(statistic = unname(v[["test"]]), df = unname(v[["df"]]),
                              p_value = unname(v[["pvalue"]]))
mat <- function(m) lapply(seq_len(nrow(m)), function(i) arr(unname(m[i, ])))

cox_json <- function(fit) {
  sm <- summary(fit)
  co <- sm$coefficients
  ci <- sm$conf.int
  wald <- c(test = unname(fit$wald.test), df = length(coef(fit)),
            pvalue = pchisq(unname(fit$wald.test), length(coef(fit)), lower.tail = FALSE))
  list(n = fit$n, events = fit$nevent, iterations = fit$iter,
       coef = arr(unname(coef(fit))), se = arr(unname(co[, "se(coef)"])),
       robust_se = arr(unname(co[, "robust se"])),
       variance_naive = mat(fit$naive.var), variance_robust = mat(fit$var),
       hazard_ratio = arr(unname(ci[, "exp(coef)"])),
       hr_lower = arr(unname(ci[, "lower .95"])), hr_upper = arr(unname(ci[, "upper .95"])),
       z = arr(unname(co[, "z"])), p_value = arr(unname(co[, "Pr(>|z|)"])),
       loglik_null = fit$loglik[1], loglik = fit$loglik[2],
       likelihood_ratio = test_json(sm$logtest), wald = test_json(wald),
       score = test_json(sm$sctest), robust_score = test_json(sm$robscore))
}

fg_case <- function(name, source, time, status, cause, X, strata = NULL, ties = "efron") {
  X <- as.matrix(X)
  p <- ncol(X)
  states <- c("censor", paste0("cause", seq_len(max(status))))
  d <- data.frame(time = time, ev = factor(status, 0:max(status), labels = states), X)
  names(d)[2 + seq_len(p)] <- paste0("x", seq_len(p))
  d$id <- seq_len(nrow(d))
  rhs <- "."
  if (!is.null(strata)) { d$s <- factor(strata); rhs <- ". + strata(s)" }
  fg <- finegray(as.formula(paste("Surv(time, ev) ~", rhs)), data = d,
                 etype = paste0("cause", cause), count = "fgcount")
  xr <- paste0("x", seq_len(p), collapse = " + ")
  if (!is.null(strata)) xr <- paste(xr, "+ strata(s)")
  f <- as.formula(paste("Surv(fgstart, fgstop, fgstatus) ~", xr))
  fit_rows <- coxph(f, data = fg, weights = fgwt, ties = ties)
  fit_id <- coxph(f, data = fg, weights = fgwt, ties = ties, cluster = id)
  stopifnot(!is.null(fit_rows$naive.var), !is.null(fit_id$naive.var))
  list(
    name = name, source = source,
    ties = if (ties == "efron") "Efron" else "Breslow",
    input = list(time = arr(time), status = arr(as.integer(status)), cause = cause,
                 covariates = lapply(seq_len(p), function(j) arr(unname(X[, j]))),
                 strata = if (is.null(strata)) NULL else arr(as.integer(factor(strata)) - 1L)),
    expanded = list(row = arr(fg$id - 1L), start = arr(fg$fgstart), stop = arr(fg$fgstop),
                    event = arr(fg$fgstatus == 1), weight = arr(fg$fgwt),
                    count = arr(as.integer(fg$fgcount))),
    fit_robust_rows = cox_json(fit_rows),
    fit_cluster_id = cox_json(fit_id)
  )
}

cases <- list()
add <- function(...) cases[[length(cases) + 1]] <<- fg_case(...)

# mgus2: progression to plasma-cell malignancy (cause 1) vs death without
# progression (cause 2), time in months (the survival "compete" vignette)
m_time <- with(mgus2, ifelse(pstat == 0, futime, ptime))
m_status <- with(mgus2, ifelse(pstat == 0, 2 * death, 1))
m_male <- as.integer(mgus2$sex == "M")
add("mgus2_pcm_age_sex", "fixtures/real/mgus2.csv: etime = ptime if pstat else futime; 1 = PCM, 2 = death; PCM ~ age + male",
    m_time, m_status, 1, cbind(mgus2$age, m_male))
add("mgus2_death_male", "fixtures/real/mgus2.csv: death before PCM (cause 2) ~ male",
    m_time, m_status, 2, cbind(m_male))

# Melanoma (MASS): status 1 = died of melanoma, 2 = alive, 3 = other death;
# recoded 0 = alive (censored), 1 = melanoma, 2 = other cause; time in days
mel_status <- c(1, 0, 2)[melanoma$status]
add("melanoma_thickness_ulcer", "fixtures/real/melanoma.csv: death from melanoma (1) vs other causes (2) ~ thickness + ulcer",
    melanoma$time, mel_status, 1, cbind(melanoma$thickness, melanoma$ulcer))
add("melanoma_sex", "fixtures/real/melanoma.csv: death from melanoma ~ sex",
    melanoma$time, mel_status, 1, cbind(melanoma$sex))
add("melanoma_thickness_ulcer_breslow", "fixtures/real/melanoma.csv: melanoma ~ thickness + ulcer, Breslow",
    melanoma$time, mel_status, 1, cbind(melanoma$thickness, melanoma$ulcer), ties = "breslow")
add("melanoma_other_age", "fixtures/real/melanoma.csv: death from other causes (2) ~ age",
    melanoma$time, mel_status, 2, cbind(melanoma$age))
add("melanoma_thickness_strata_sex", "fixtures/real/melanoma.csv: melanoma ~ thickness + strata(sex) (finegray's censoring curve per stratum)",
    melanoma$time, mel_status, 1, cbind(melanoma$thickness), strata = melanoma$sex)

write_json(c(provenance("conformance/finegray.R"),
             list(mass_version = as.character(packageVersion("MASS")), cases = cases)),
           file.path("conformance", "finegray.json"))
