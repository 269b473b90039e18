# Reference values for cohortflow_stats::wilcoxon_rank_sum (R's wilcox.test).
# Run from the repository root: Rscript conformance/wilcox.R  (see regenerate.sh)
source(file.path("conformance", "common.R"))

cases <- list()
add <- function(name, source, x, y) {
  wt <- suppressWarnings(wilcox.test(x, y))
  cases[[length(cases) + 1]] <<- list(
    name = name, source = source, x = arr(x), y = arr(y),
    w = unname(wt$statistic), p_value = wt$p.value,
    exact = grepl("exact", wt$method), method = wt$method
  )
}
nona <- function(v) v[!is.na(v)]

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")

# normal approximation (ties and/or n >= 50)
add("lung_age_by_sex", "fixtures/real/lung.csv: age, sex 1 vs 2", lung$age[lung$sex == 1], lung$age[lung$sex == 2])
add("veteran_time_by_trt", "fixtures/real/veteran.csv: time, trt 1 vs 2",
    veteran$time[veteran$trt == 1], veteran$time[veteran$trt == 2])
add("gbsg_nodes_by_hormon", "fixtures/real/gbsg.csv: nodes, hormon 0 vs 1 (many ties)",
    gbsg$nodes[gbsg$hormon == 0], gbsg$nodes[gbsg$hormon == 1])
add("gbsg_pgr_by_meno", "fixtures/real/gbsg.csv: pgr, meno 0 vs 1",
    gbsg$pgr[gbsg$meno == 0], gbsg$pgr[gbsg$meno == 1])
add("lung_wtloss_by_sex_small_ties", "fixtures/real/lung.csv: wt.loss of the first 20 rows per sex (n < 50 with ties)",
    head(nona(lung$wt.loss[lung$sex == 1]), 20), head(nona(lung$wt.loss[lung$sex == 2]), 20))
add("no_ties_n_ge_50", "hand-made: no ties, 60 vs 55 values (normal approximation)",
    sqrt(1:60) * 3.1, log(2:56) * 4.7)
# exact
add("gbsg_rfstime_small_exact", "fixtures/real/gbsg.csv: rfstime of the first 12 / 15 rows by hormon (no ties)",
    head(gbsg$rfstime[gbsg$hormon == 0], 12), head(gbsg$rfstime[gbsg$hormon == 1], 15))
add("veteran_time_squamous_exact", "fixtures/real/veteran.csv: time of squamous patients by trt, first 9 / 8 distinct",
    c(72, 411, 228, 126, 118, 10, 82, 110, 314), c(999, 112, 87, 231, 242, 991, 111, 1))
add("small_with_ties", "hand-made: n < 50 but tied values, so the normal approximation", c(1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30),
    c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29))
add("exact_separated", "hand-made: complete separation, tiny p", 1:20, 21:45)
add("exact_middle", "hand-made: W at m n / 2, p = 1", c(1, 4), c(2, 3))
add("exact_one_each", "hand-made: n = 1 per group", 2, 5)
add("exact_49_49", "hand-made: largest exact sizes", (1:49) * 2, (1:49) * 2 + 1.5)

write_json(c(provenance("conformance/wilcox.R"), list(cases = cases)), file.path("conformance", "wilcox.json"))
