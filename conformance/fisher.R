# Reference values for cohortflow_stats::fisher_exact (R's fisher.test, two-sided).
# Run from the repository root: Rscript conformance/fisher.R  (see regenerate.sh)
source(file.path("conformance", "common.R"))

cases <- list()
add <- function(name, source, x) {
  x <- as.matrix(x)
  storage.mode(x) <- "double"
  ft <- fisher.test(x, workspace = 2e8)
  cases[[length(cases) + 1]] <<- list(
    name = name, source = source,
    table = lapply(seq_len(nrow(x)), function(i) arr(unname(x[i, ]))),
    p_value = ft$p.value
  )
}
tab <- function(a, b) { t <- table(a, b); matrix(as.vector(t), nrow(t)) }

lung <- read_real("lung")
veteran <- read_real("veteran")
gbsg <- read_real("gbsg")

add("lung_sex_by_status", "fixtures/real/lung.csv: table(sex, status)", tab(lung$sex, lung$status))
add("lung_ecog_by_sex", "fixtures/real/lung.csv: table(ph.ecog, sex), NA dropped (4 x 2)",
    tab(lung$ph.ecog, lung$sex))
add("veteran_celltype_by_trt", "fixtures/real/veteran.csv: table(celltype, trt) (4 x 2)",
    tab(veteran$celltype, veteran$trt))
add("veteran_prior_by_trt", "fixtures/real/veteran.csv: table(prior, trt) (2 x 2)",
    tab(veteran$prior, veteran$trt))
add("gbsg_grade_by_hormon", "fixtures/real/gbsg.csv: table(grade, hormon) (3 x 2)",
    tab(gbsg$grade, gbsg$hormon))
add("gbsg_meno_by_grade", "fixtures/real/gbsg.csv: table(meno, grade) (2 x 3)",
    tab(gbsg$meno, gbsg$grade))
add("gbsg_grade_by_hormon_first60", "fixtures/real/gbsg.csv rows 1-60: table(grade, hormon); only 2 grades occur, so 2 x 2",
    tab(gbsg$grade[1:60], gbsg$hormon[1:60]))
add("lung_ecog_by_inst_small", "fixtures/real/lung.csv, inst in 1, 3, 12: table(ph.ecog, inst) (3 x 3)",
    with(subset(lung, inst %in% c(1, 3, 12) & ph.ecog < 3), tab(ph.ecog, inst)))

add("lung_inst_by_sex", "fixtures/real/lung.csv: table(inst, sex), NA dropped (18 x 2)", tab(lung$inst, lung$sex))
add("lung_sex_by_inst", "fixtures/real/lung.csv: table(sex, inst) (2 x 18, the transpose)", tab(lung$sex, lung$inst))
add("veteran_karno_by_trt", "fixtures/real/veteran.csv: table(karno, trt) (12 x 2)", tab(veteran$karno, veteran$trt))
add("gbsg_nodes_capped_by_hormon", "fixtures/real/gbsg.csv: table(pmin(nodes, 5), hormon) (5 x 2; with 12 levels R itself runs out of FEXACT workspace)",
    tab(pmin(gbsg$nodes, 5), gbsg$hormon))
add("two_by_two_small", "hand-made", matrix(c(3, 1, 1, 3), 2))
add("two_by_two_symmetric_ties", "hand-made: probabilities tie across the mode", matrix(c(3, 3, 3, 3), 2))
add("two_by_two_zero_cell", "hand-made", matrix(c(0, 5, 6, 2), 2))
add("two_by_two_extreme", "hand-made: tiny p", matrix(c(40, 0, 0, 40), 2))
add("two_by_two_single_table", "hand-made: margins admit one table", matrix(c(5, 0, 0, 0), 2))
add("response3_by_arm", "hand-made: 3-level response by 2 arms", matrix(c(12, 5, 3, 6, 9, 8), 3))
add("response3_by_arm_sparse", "hand-made", matrix(c(2, 0, 1, 0, 3, 1), 3))
add("response3_by_arm_zero_row", "hand-made: a response level nobody has", matrix(c(7, 0, 4, 3, 0, 9), 3))
add("three_by_three", "hand-made", matrix(c(3, 1, 0, 1, 4, 2, 0, 2, 5), 3))
add("two_by_four", "hand-made", matrix(c(1, 4, 2, 2, 3, 1, 5, 0), 2))
add("four_by_three_symmetric", "hand-made: many tied probabilities", matrix(rep(2, 12), 4))

write_json(c(provenance("conformance/fisher.R"), list(cases = cases)), file.path("conformance", "fisher.json"))
