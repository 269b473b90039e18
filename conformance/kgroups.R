# Reference values for tests across k groups and the tests a pipeline can
# name per Table 1 variable: kruskal.test, summary(aov()), and on 2 x 2 /
# r x c tables chisq.test with and without correction and fisher.test.
# Read by crates/stats/tests/conformance_kgroups.rs; the group values are in
# the file, so the tests need no R.
#
#   Rscript conformance/kgroups.R   (writes conformance/kgroups.json)
source("conformance/common.R")

vet <- read.csv("fixtures/real/veteran.csv")
gbsg <- read.csv("fixtures/real/gbsg.csv")
lung <- read.csv("fixtures/real/lung.csv")

continuous <- function(name, x, g, levels) {
  keep <- !is.na(x) & !is.na(g)
  x <- x[keep]; g <- factor(as.character(g[keep]), levels = levels)
  groups <- lapply(levels, function(l) arr(x[g == l]))
  kw <- kruskal.test(x, g)
  av <- summary(aov(x ~ g))[[1]]
  list(name = name, groups = groups,
       kruskal = list(statistic = unname(kw$statistic), df = unname(kw$parameter),
                      p_value = kw$p.value),
       anova = list(f = av[["F value"]][1], df1 = av[["Df"]][1], df2 = av[["Df"]][2],
                    p_value = av[["Pr(>F)"]][1]))
}

counts <- function(name, x, g) {
  t <- table(x, g)
  rows <- lapply(seq_len(nrow(t)), function(i) arr(as.numeric(t[i, ])))
  c1 <- suppressWarnings(chisq.test(t, correct = FALSE))
  c2 <- suppressWarnings(chisq.test(t))
  f <- fisher.test(t, workspace = 2e7)
  list(name = name, table = rows,
       chisq = list(statistic = unname(c1$statistic), df = unname(c1$parameter), p_value = c1$p.value),
       chisq_yates = list(statistic = unname(c2$statistic), df = unname(c2$parameter), p_value = c2$p.value),
       fisher = list(p_value = f$p.value))
}

cells <- c("squamous", "smallcell", "adeno", "large")
doc <- list(
  r_version = R.version.string,
  continuous = list(
    continuous("veteran karno by celltype", vet$karno, vet$celltype, cells),
    continuous("veteran age by celltype", vet$age, vet$celltype, cells),
    continuous("veteran diagtime by trt", vet$diagtime, vet$trt, c("1", "2")),
    continuous("gbsg size by grade", gbsg$size, gbsg$grade, c("1", "2", "3")),
    continuous("gbsg pgr by grade", gbsg$pgr, gbsg$grade, c("1", "2", "3")),
    continuous("lung age by ph.ecog", lung$age, lung$ph.ecog, c("0", "1", "2", "3")),
    continuous("lung wt.loss by sex", lung$wt.loss, lung$sex, c("1", "2"))
  ),
  counts = list(
    counts("veteran prior by trt", vet$prior, vet$trt),
    counts("veteran celltype by trt", vet$celltype, vet$trt),
    counts("gbsg grade by hormon", gbsg$grade, gbsg$hormon),
    counts("gbsg meno by hormon", gbsg$meno, gbsg$hormon),
    counts("lung ph.ecog by sex", lung$ph.ecog, lung$sex)
  )
)
writeLines(to_json(doc), "conformance/kgroups.json")
