# Reference values for cohortflow_stats::chi_square_test (R's chisq.test).
# Run from the repository root: Rscript conformance/chisq.R  (see regenerate.sh)
source(file.path("conformance", "common.R"))

cases <- list()
add <- function(name, source, x, correct = TRUE) {
  x <- as.matrix(x)
  storage.mode(x) <- "double"
  ct <- suppressWarnings(chisq.test(x, correct = correct))
  cases[[length(cases) + 1]] <<- list(
    name = name, source = source,
    table = lapply(seq_len(nrow(x)), function(i) arr(unname(x[i, ]))),
    correct = correct,
    statistic = unname(ct$statistic), df = unname(ct$parameter), p_value = ct$p.value,
    yates = grepl("Yates", ct$method),
    expected = lapply(seq_len(nrow(x)), function(i) arr(unname(ct$expected[i, ])))
  )
}
tab <- function(a, b) { t <- table(a, b); matrix(as.vector(t), nrow(t)) }

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")

add("lung_sex_by_status_yates", "fixtures/real/lung.csv: table(sex, status)", tab(lung$sex, lung$status))
add("lung_sex_by_status_uncorrected", "fixtures/real/lung.csv: table(sex, status), correct = FALSE",
    tab(lung$sex, lung$status), correct = FALSE)
add("lung_ecog_by_sex", "fixtures/real/lung.csv: table(ph.ecog, sex) (4 x 2)", tab(lung$ph.ecog, lung$sex))
add("veteran_celltype_by_trt", "fixtures/real/veteran.csv: table(celltype, trt)", tab(veteran$celltype, veteran$trt))
add("veteran_prior_by_trt", "fixtures/real/veteran.csv: table(prior, trt)", tab(veteran$prior, veteran$trt))
add("gbsg_grade_by_hormon", "fixtures/real/gbsg.csv: table(grade, hormon)", tab(gbsg$grade, gbsg$hormon))
add("gbsg_meno_by_grade", "fixtures/real/gbsg.csv: table(meno, grade)", tab(gbsg$meno, gbsg$grade))
add("gbsg_meno_by_hormon", "fixtures/real/gbsg.csv: table(meno, hormon)", tab(gbsg$meno, gbsg$hormon))
add("yates_half", "hand-made: min |O - E| = 1, correction 0.5", matrix(c(5, 3, 3, 5), 2))
add("yates_exactly_half", "hand-made: |O - E| = 0.5, statistic 0", matrix(c(2, 3, 3, 2), 2))
add("yates_below_half", "hand-made: min |O - E| = 5/17 < 0.5", matrix(c(3, 5, 4, 5), 2))
add("yates_zero", "hand-made: O = E, so no correction", matrix(c(4, 4, 4, 4), 2))
add("small_expected", "hand-made: expected counts below 5", matrix(c(1, 4, 6, 2), 2))
add("three_by_three", "hand-made", matrix(c(12, 5, 7, 3, 9, 8, 4, 6, 15), 3))
add("two_by_three_uncorrected_flag", "hand-made: correct only matters for 2 x 2", matrix(c(3, 8, 6, 2, 5, 5), 2), correct = TRUE)

write_json(c(provenance("conformance/chisq.R"), list(cases = cases)), file.path("conformance", "chisq.json"))
