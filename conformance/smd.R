# Reference values for cohortflow_stats::smd_continuous / smd_categorical.
#
# tableone is not packaged in Debian, so this script transcribes its formulas
# (tableone 0.13, R/smdModules.R: StdDiff, StdDiffMulti, LstMeansFromFullTable,
# StdDiffFromLstMeans, MultinomialVar), using MASS::ginv as tableone does.
# Run from the repository root: Rscript conformance/smd.R  (see regenerate.sh)
source(file.path("conformance", "common.R"))

# tableone StdDiff(variable, group) for two groups, na.rm = TRUE
std_diff <- function(x, y) {
  means <- c(mean(x), mean(y)); vars <- c(var(x), var(y))
  abs((means[1] - means[2]) / sqrt((vars[1] + vars[2]) / 2))
}
multinomial_var <- function(p) { covs <- -outer(p, p); diag(covs) <- p * (1 - p); drop(covs) }
# tableone StdDiffMulti from a 2 x levels table of counts
std_diff_multi <- function(counts) {
  prop <- prop.table(counts, margin = 1)
  if (ncol(prop) > 1) prop <- prop[, -1, drop = FALSE]
  m1 <- prop[1, ]; m2 <- prop[2, ]
  cov_mean <- (multinomial_var(m1) + multinomial_var(m2)) / 2
  d <- m1 - m2
  sqrt(drop(t(d) %*% MASS::ginv(cov_mean) %*% t(t(d))))
}

cont <- list(); cat_cases <- list()
add_cont <- function(name, source, x, y)
  cont[[length(cont) + 1]] <<- list(name = name, source = source, x = arr(x), y = arr(y), smd = std_diff(x, y))
add_cat <- function(name, source, counts) {
  counts <- as.matrix(counts); storage.mode(counts) <- "double"
  cat_cases[[length(cat_cases) + 1]] <<- list(name = name, source = source,
    counts_x = arr(unname(counts[1, ])), counts_y = arr(unname(counts[2, ])), smd = std_diff_multi(counts))
}
nona <- function(v) v[!is.na(v)]
tab <- function(g, v) { t <- table(g, v); matrix(as.vector(t), nrow(t)) }

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")

add_cont("lung_age_by_sex", "fixtures/real/lung.csv: age, sex 1 vs 2", lung$age[lung$sex == 1], lung$age[lung$sex == 2])
add_cont("lung_wtloss_by_sex", "fixtures/real/lung.csv: wt.loss (NA dropped)",
         nona(lung$wt.loss[lung$sex == 1]), nona(lung$wt.loss[lung$sex == 2]))
add_cont("veteran_karno_by_trt", "fixtures/real/veteran.csv: karno, trt 1 vs 2",
         veteran$karno[veteran$trt == 1], veteran$karno[veteran$trt == 2])
add_cont("gbsg_size_by_hormon", "fixtures/real/gbsg.csv: size, hormon 0 vs 1",
         gbsg$size[gbsg$hormon == 0], gbsg$size[gbsg$hormon == 1])
add_cont("gbsg_age_by_meno", "fixtures/real/gbsg.csv: age, meno 0 vs 1",
         gbsg$age[gbsg$meno == 0], gbsg$age[gbsg$meno == 1])
add_cont("two_each", "hand-made", c(1, 3), c(2, 7))
add_cont("one_group_constant", "hand-made: zero variance in one group", c(5, 5, 5), c(4, 6, 9))

add_cat("lung_ecog_by_sex", "fixtures/real/lung.csv: ph.ecog levels 0-3 by sex", tab(lung$sex, lung$ph.ecog))
add_cat("lung_status_by_sex", "fixtures/real/lung.csv: status (binary) by sex", tab(lung$sex, lung$status))
add_cat("veteran_celltype_by_trt", "fixtures/real/veteran.csv: celltype by trt", tab(veteran$trt, veteran$celltype))
add_cat("gbsg_grade_by_hormon", "fixtures/real/gbsg.csv: grade by hormon", tab(gbsg$hormon, gbsg$grade))
add_cat("gbsg_meno_by_hormon", "fixtures/real/gbsg.csv: meno by hormon", tab(gbsg$hormon, gbsg$meno))
add_cat("level_absent_in_both", "hand-made: a level with no observations (singular S)", matrix(c(5, 3, 0, 0, 7, 9), 2))
add_cat("first_level_absent", "hand-made: first level empty (S singular along 1)", matrix(c(0, 0, 4, 6, 5, 2, 3, 3), 2))
add_cat("each_group_one_level", "hand-made: S = 0, tableone gives 0", matrix(c(6, 0, 0, 4), 2))
add_cat("single_level", "hand-made: one level only", matrix(c(6, 4), 2))
add_cat("three_levels", "hand-made", matrix(c(10, 4, 7, 9, 3, 8), 2))

write_json(c(provenance("conformance/smd.R"), list(continuous = cont, categorical = cat_cases)),
           file.path("conformance", "smd.json"))
