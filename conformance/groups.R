# Reference values for studies of any number of groups (one, three, four):
# Kaplan-Meier per group (median and CI, survival at given times with CI and
# numbers at risk), median follow-up by the reverse Kaplan-Meier method, the
# log-rank test between all groups, and pairwise log-rank tests with
# p.adjust. Read by crates/analysis/tests/groups.rs, which runs the analysis
# stage on the same data and compares value by value.
#
# Data: veteran (celltype, 4 groups; and the whole cohort as one group),
# gbsg (grade, 3 groups) and mgus2 (death by sex, times in months) from
# fixtures/real/.
#
#   Rscript conformance/groups.R   (writes conformance/groups.json)
suppressPackageStartupMessages(library(survival))
source("conformance/common.R")

quant <- function(fit) {
  q <- quantile(fit, probs = 0.5, conf.int = TRUE)
  list(estimate = arr(unname(q$quantile)), lower = arr(unname(q$lower)),
       upper = arr(unname(q$upper)))
}

one_case <- function(name, data, time, status, group, levels, at) {
  d <- data.frame(t = data[[time]], e = data[[status]] == max(data[[status]]))
  if (is.null(group)) {
    d$g <- factor(rep("cohort", nrow(d)))
    levels <- "cohort"
  } else {
    d$g <- factor(as.character(data[[group]]), levels = levels)
  }
  out <- list(name = name, time = time, status = status,
              group = if (is.null(group)) "" else group,
              levels = arr(levels), at = arr(at))
  groups <- list()
  for (lv in levels) {
    s <- d[d$g == lv, ]
    fit <- survfit(Surv(t, e) ~ 1, data = s, conf.type = "log")
    rev <- survfit(Surv(t, !e) ~ 1, data = s, conf.type = "log")
    sa <- summary(fit, times = at, extend = TRUE)
    m <- quantile(fit, probs = 0.5, conf.int = TRUE)
    r <- quantile(rev, probs = 0.5, conf.int = TRUE)
    groups[[length(groups) + 1]] <- list(
      group = lv, n = nrow(s), events = sum(s$e),
      median = unname(m$quantile), median_lower = unname(m$lower),
      median_upper = unname(m$upper),
      follow_up = unname(r$quantile), follow_up_lower = unname(r$lower),
      follow_up_upper = unname(r$upper),
      surv = arr(sa$surv), lower = arr(sa$lower), upper = arr(sa$upper),
      std_err = arr(sa$std.err), n_risk = arr(sa$n.risk))
  }
  out$groups <- groups
  if (length(levels) >= 2) {
    sd <- survdiff(Surv(t, e) ~ g, data = d)
    out$log_rank <- list(chisq = sd$chisq, df = length(levels) - 1,
                         p_value = pchisq(sd$chisq, length(levels) - 1, lower.tail = FALSE))
    pairs <- list()
    p <- c()
    for (i in 1:(length(levels) - 1)) for (j in (i + 1):length(levels)) {
      s <- d[d$g %in% levels[c(i, j)], ]
      s$g <- droplevels(s$g)
      sd <- survdiff(Surv(t, e) ~ g, data = s)
      pv <- pchisq(sd$chisq, 1, lower.tail = FALSE)
      p <- c(p, pv)
      pairs[[length(pairs) + 1]] <- list(a = levels[i], b = levels[j],
                                         chisq = sd$chisq, p_value = pv)
    }
    for (method in c("holm", "hochberg", "bonferroni", "BH", "BY")) {
      adj <- p.adjust(p, method = method)
      for (k in seq_along(pairs)) pairs[[k]][[paste0("p_", method)]] <- adj[k]
    }
    out$pairwise <- pairs
  }
  out
}

vet <- read.csv("fixtures/real/veteran.csv")
gbsg <- read.csv("fixtures/real/gbsg.csv")
mgus2 <- read.csv("fixtures/real/mgus2.csv")
cases <- list(
  one_case("veteran_whole_cohort", vet, "time", "status", NULL, NULL, c(30, 90, 180, 365)),
  one_case("veteran_celltype", vet, "time", "status", "celltype",
           c("squamous", "smallcell", "adeno", "large"), c(30, 90, 180, 365)),
  one_case("gbsg_grade", gbsg, "rfstime", "status", "grade", c("1", "2", "3"),
           c(365.25, 1095.75, 1826.25, 3000)),
  # times in months (mgus2's futime): read in their own unit
  one_case("mgus2_death_by_sex_months", mgus2, "futime", "death", "sex", c("F", "M"),
           c(12, 60, 120, 240))
)
doc <- list(r_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            cases = cases)
writeLines(to_json(doc), "conformance/groups.json")
