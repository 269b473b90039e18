# Reference values for the Table 1 arithmetic of cohortflow_stats
# (summarize_continuous, compare_continuous, compare_categorical,
# min_expected_count): per-arm mean, sd, quantile(type 7) quartiles, min and
# max; wilcox.test / t.test between two arms; and the test choice of a
# clinical Table 1 -- fisher.test when any expected count is under 5, else
# chisq.test (Yates for 2 x 2) -- on the real data sets of fixtures/real.
# Run from the repository root: Rscript conformance/table1.R  (see regenerate.sh)
source(file.path("conformance", "common.R"))

summ <- function(v) list(
  values = arr(v), n = length(v), mean = mean(v), sd = if (length(v) > 1) sd(v) else NA,
  q1 = unname(quantile(v, 0.25)), median = unname(quantile(v, 0.5)), q3 = unname(quantile(v, 0.75)),
  min = min(v), max = max(v))

cont <- list(); cat_cases <- list()
add_cont <- function(name, source, x, y) {
  x <- x[!is.na(x)]; y <- y[!is.na(y)]
  w <- suppressWarnings(wilcox.test(x, y))
  t <- t.test(x, y)
  cont[[length(cont) + 1]] <<- list(name = name, source = source, x = summ(x), y = summ(y),
    wilcox_p = w$p.value, wilcox_exact = grepl("exact", w$method), welch_p = t$p.value)
}
add_cat <- function(name, source, tab) {
  tab <- as.matrix(tab); storage.mode(tab) <- "double"
  ex <- suppressWarnings(chisq.test(tab))$expected
  if (any(ex < 5)) {
    test <- "fisher"; p <- fisher.test(tab)$p.value; yates <- FALSE
  } else {
    ct <- chisq.test(tab); test <- "chisq"; p <- ct$p.value; yates <- grepl("Yates", ct$method)
  }
  cat_cases[[length(cat_cases) + 1]] <<- list(name = name, source = source,
    table = lapply(seq_len(nrow(tab)), function(i) arr(unname(tab[i, ]))),
    min_expected = min(ex), test = test, yates = yates, p_value = p)
}
# table(variable, arm): levels in rows, arms in columns
tab <- function(v, arm) { t <- table(v, arm); matrix(as.vector(t), nrow(t)) }

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")
lalonde <- read_real("lalonde")

add_cont("lung_age_by_sex", "fixtures/real/lung.csv: age, sex 1 vs 2", lung$age[lung$sex == 1], lung$age[lung$sex == 2])
add_cont("lung_wtloss_by_sex", "fixtures/real/lung.csv: wt.loss (NA dropped), sex 1 vs 2",
         lung$wt.loss[lung$sex == 1], lung$wt.loss[lung$sex == 2])
add_cont("lung_mealcal_by_status", "fixtures/real/lung.csv: meal.cal (NA dropped), status 1 vs 2",
         lung$meal.cal[lung$status == 1], lung$meal.cal[lung$status == 2])
add_cont("veteran_karno_by_trt", "fixtures/real/veteran.csv: karno, trt 1 vs 2",
         veteran$karno[veteran$trt == 1], veteran$karno[veteran$trt == 2])
add_cont("veteran_diagtime_by_trt", "fixtures/real/veteran.csv: diagtime, trt 1 vs 2",
         veteran$diagtime[veteran$trt == 1], veteran$diagtime[veteran$trt == 2])
add_cont("gbsg_size_by_hormon", "fixtures/real/gbsg.csv: size, hormon 0 vs 1",
         gbsg$size[gbsg$hormon == 0], gbsg$size[gbsg$hormon == 1])
add_cont("gbsg_pgr_by_hormon", "fixtures/real/gbsg.csv: pgr, hormon 0 vs 1",
         gbsg$pgr[gbsg$hormon == 0], gbsg$pgr[gbsg$hormon == 1])
add_cont("lalonde_re78_by_treat", "fixtures/real/lalonde.csv: re78, treat 1 vs 0",
         lalonde$re78[lalonde$treat == 1], lalonde$re78[lalonde$treat == 0])
add_cont("lung_age_inst1_by_sex", "fixtures/real/lung.csv: age for inst 1 (small arms, exact Wilcoxon when untied)",
         lung$age[lung$inst %in% 1 & lung$sex == 1], lung$age[lung$inst %in% 1 & lung$sex == 2])
add_cont("small_untied", "hand-made: exact Wilcoxon", c(1.5, 3.2, 4.8, 7.1), c(2.2, 5.5, 6.1, 8.0, 9.3))

add_cat("lung_ecog_by_sex", "fixtures/real/lung.csv: table(ph.ecog, sex) (an expected count < 5: Fisher)", tab(lung$ph.ecog, lung$sex))
add_cat("lung_status_by_sex", "fixtures/real/lung.csv: table(status, sex) (2 x 2: Yates)", tab(lung$status, lung$sex))
add_cat("veteran_celltype_by_trt", "fixtures/real/veteran.csv: table(celltype, trt)", tab(veteran$celltype, veteran$trt))
add_cat("veteran_prior_by_trt", "fixtures/real/veteran.csv: table(prior, trt)", tab(veteran$prior, veteran$trt))
add_cat("gbsg_grade_by_hormon", "fixtures/real/gbsg.csv: table(grade, hormon)", tab(gbsg$grade, gbsg$hormon))
add_cat("gbsg_meno_by_hormon", "fixtures/real/gbsg.csv: table(meno, hormon)", tab(gbsg$meno, gbsg$hormon))
add_cat("gbsg_hormon_by_grade", "fixtures/real/gbsg.csv: table(hormon, grade) (three arms)", tab(gbsg$hormon, gbsg$grade))
add_cat("lalonde_race_by_treat", "fixtures/real/lalonde.csv: table(race, treat)", tab(lalonde$race, lalonde$treat))
add_cat("lalonde_married_by_treat", "fixtures/real/lalonde.csv: table(married, treat)", tab(lalonde$married, lalonde$treat))
add_cat("veteran_celltype_by_trt_prior10", "fixtures/real/veteran.csv: table(celltype, trt) for prior == 10 (small: Fisher)",
        tab(veteran$celltype[veteran$prior == 10], veteran$trt[veteran$prior == 10]))
add_cat("small_2x2", "hand-made: expected counts below 5 (Fisher 2 x 2)", matrix(c(1, 4, 6, 2), 2))

write_json(c(provenance("conformance/table1.R"), list(continuous = cont, categorical = cat_cases)),
           file.path("conformance", "table1.json"))
