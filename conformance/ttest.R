# Reference values for cohortflow_stats::welch_t_test (R's t.test, Welch).
# Run from the repository root: Rscript conformance/ttest.R  (see regenerate.sh)
source(file.path("conformance", "common.R"))

cases <- list()
add <- function(name, source, x, y, conf.level = 0.95) {
  tt <- t.test(x, y, conf.level = conf.level)
  cases[[length(cases) + 1]] <<- list(
    name = name, source = source, x = arr(x), y = arr(y), conf_level = conf.level,
    t = unname(tt$statistic), df = unname(tt$parameter), p_value = tt$p.value,
    mean_x = unname(tt$estimate[1]), mean_y = unname(tt$estimate[2]),
    std_err = tt$stderr, conf_low = tt$conf.int[1], conf_high = tt$conf.int[2]
  )
}
nona <- function(v) v[!is.na(v)]

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")

add("lung_age_by_sex", "fixtures/real/lung.csv: age, sex 1 vs 2", lung$age[lung$sex == 1], lung$age[lung$sex == 2])
add("lung_wtloss_by_sex", "fixtures/real/lung.csv: wt.loss (NA dropped), sex 1 vs 2",
    nona(lung$wt.loss[lung$sex == 1]), nona(lung$wt.loss[lung$sex == 2]))
add("lung_mealcal_by_sex_90", "fixtures/real/lung.csv: meal.cal (NA dropped), conf.level 0.90",
    nona(lung$meal.cal[lung$sex == 1]), nona(lung$meal.cal[lung$sex == 2]), conf.level = 0.90)
add("veteran_karno_by_trt", "fixtures/real/veteran.csv: karno, trt 1 vs 2",
    veteran$karno[veteran$trt == 1], veteran$karno[veteran$trt == 2])
add("veteran_age_by_trt_99", "fixtures/real/veteran.csv: age, conf.level 0.99",
    veteran$age[veteran$trt == 1], veteran$age[veteran$trt == 2], conf.level = 0.99)
add("gbsg_size_by_hormon", "fixtures/real/gbsg.csv: size, hormon 0 vs 1",
    gbsg$size[gbsg$hormon == 0], gbsg$size[gbsg$hormon == 1])
add("gbsg_age_by_hormon", "fixtures/real/gbsg.csv: age, hormon 0 vs 1",
    gbsg$age[gbsg$hormon == 0], gbsg$age[gbsg$hormon == 1])
add("gbsg_age_by_meno", "fixtures/real/gbsg.csv: age, meno 0 vs 1 (tiny p)",
    gbsg$age[gbsg$meno == 0], gbsg$age[gbsg$meno == 1])
add("two_each", "hand-made: n = 2 per group", c(1, 3), c(2, 7))
add("unequal_variances", "hand-made", c(10.1, 9.8, 10.3, 10.0, 9.9), c(5, 15, 8, 20, 1, 12, 9))
add("large_means_small_spread", "hand-made: cancellation", c(1e6 + 0.1, 1e6 + 0.3, 1e6 + 0.2), c(1e6 + 0.5, 1e6 + 0.4, 1e6 + 0.8))

write_json(c(provenance("conformance/ttest.R"), list(cases = cases)), file.path("conformance", "ttest.json"))
