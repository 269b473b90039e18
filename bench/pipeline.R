# R side of the pipeline benchmark (bench/pipeline.sh): the study's work as
# an R user writes it with data.table and survival, on the same files
# `cohortflow synth mgist` wrote, timed as a whole process by the caller.
#
# Usage: Rscript bench/pipeline.R r-work  <data dir> [<cohortflow results.json>]
#        Rscript bench/pipeline.R matched <data dir> [<cohortflow results.json>]
#
# r-work (= bench/pipelines/mgist-r-work.toml): read both exports
# (data.table::fread for CSV, readxl for the workbook, every column as text),
# parse as the source files declare (value maps, missing codes, decimal
# comma, cm -> mm, dd.mm.yyyy / dd/mm/yyyy or Excel date cells; a cell that
# does not parse, a missing required value or a repeated record number
# rejects its row), the schema's plausible ranges, one cleaning rule
# (surgery before imatinib start), age (18-100), the PFS and OS endpoints
# with the pipeline's date checks and the 2023-06-30 cut-off, three criteria,
# two arms; per endpoint survfit (log CI) with survival at 12/36/60 months and
# the reverse-KM median follow-up, survdiff, coxph(~ arm, efron) and
# cox.zph; Table 1 (age, sex, mutation, tumour size, best response,
# peritoneal metastases: mean/SD/median/quartiles/range per arm,
# wilcox.test for numbers, chisq.test or fisher.test (any expected count
# under 5) for categories, as the pipeline chooses).
#
# matched (the matching part of pipelines/mgist-cytoreduction-matched.toml):
# the same parsing, all three cleaning rules and the linkage on SNILS digits
# (keep the later last follow-up), then MatchIt::matchit(method = "nearest",
# distance = "glm", caliper = 0.2, m.order = "largest", ratio = 1) on age,
# sex, primary site, mutation (missing as its own level), liver and
# peritoneal metastases and best response, and on the matched sample per
# endpoint survfit, survdiff and coxph(~ arm, weights, cluster = subclass).
#
# With a results.json, prints one line per compared number (relative
# difference, tolerance 1e-9) and exits 1 if one disagrees (r-work); the
# matched mode prints the matched counts of both for information.
suppressPackageStartupMessages({
  library(data.table)
  library(survival)
})
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) >= 2, args[1] %in% c("r-work", "matched"))
mode <- args[1]
dir <- args[2]
results_path <- if (length(args) >= 3) args[3] else NA

DPM <- 30.4375
CUTOFF <- as.integer(as.IDate("2023-06-30"))
MIN_DATE <- as.integer(as.IDate("1900-01-01"))
COLS <- c("patient_id", "national_id", "sex", "birth_date", "diagnosis_date",
          "primary_site", "mutation", "tumour_size", "mets_site", "im_line",
          "im_start", "best_response", "progression_date", "surgery_date",
          "death_date", "last_followup")
DATES <- c("birth_date", "diagnosis_date", "im_start", "progression_date",
           "surgery_date", "death_date", "last_followup")
REQUIRED <- c("patient_id", "sex", "birth_date", "diagnosis_date", "mets_site",
              "im_line", "im_start", "best_response", "last_followup")

# f applied once per distinct value (codes and dates repeat a lot)
by_unique <- function(x, f) {
  u <- unique(x)
  f(u)[match(x, u)]
}
blank <- function(x) is.na(x) | x == ""

# The value maps of pipelines/sources/center_{a,b}.toml.
MAPS <- list(
  a = list(
    sex = c("М" = "M", "Ж" = "F"),
    primary_site = c("желудок" = "stomach", "тонкая кишка" = "small_bowel",
                     "прямая кишка" = "rectum", "другое" = "other"),
    mutation = c("KIT 11" = "KIT11", "KIT 9" = "KIT9", "PDGFRA" = "PDGFRA",
                 "дикий тип" = "wild_type"),
    mets_site = c("печень" = "liver", "брюшина" = "peritoneum",
                  "печень+брюшина" = "liver+peritoneum", "лёгкие" = "lung",
                  "кости" = "bone"),
    best_response = c("ЧО" = "PR", "СЗ" = "SD", "ПБ" = "PD")),
  b = list(
    sex = c(male = "M", female = "F"),
    primary_site = c(Stomach = "stomach", "Small bowel" = "small_bowel",
                     Rectum = "rectum", Other = "other"),
    mutation = c("KIT exon 11" = "KIT11", "KIT exon 9" = "KIT9",
                 PDGFRA = "PDGFRA", "Wild type" = "wild_type"),
    mets_site = c(liver = "liver", peritoneum = "peritoneum",
                  "liver, peritoneum" = "liver+peritoneum", lung = "lung",
                  bone = "bone"),
    best_response = c(PR = "PR", SD = "SD", PD = "PD")))
MISSING <- list(a = c(mutation = "н/д"), b = c(mutation = "Not tested"))

# One export -> canonical columns, with `bad` = the row is rejected at ingest.
parse_export <- function(raw, centre, date_format, cp1251, xlsx) {
  setnames(raw, COLS)
  n <- nrow(raw)
  bad <- logical(n)
  out <- data.table(source = centre, source_row = seq_len(n),
                    patient_id = raw$patient_id, national_id = raw$national_id)
  for (col in names(MAPS[[centre]])) {
    map <- MAPS[[centre]][[col]]
    miss <- MISSING[[centre]][col]
    x <- raw[[col]]
    v <- by_unique(x, function(u) {
      k <- if (cp1251) iconv(u, "CP1251", "UTF-8") else u
      r <- unname(map[k])
      r[blank(u)] <- NA
      if (!is.na(miss)) r[!blank(u) & k == miss] <- NA
      # an unmapped code: flagged by "" (rejected below)
      r[!blank(u) & is.na(r) & (is.na(miss) | k != miss)] <- ""
      r
    })
    bad <- bad | (!is.na(v) & v == "")
    v[!is.na(v) & v == ""] <- NA
    set(out, j = col, value = v)
  }
  for (col in DATES) {
    x <- raw[[col]]
    d <- by_unique(x, function(u) {
      r <- as.integer(as.IDate(u, format = date_format))
      if (xlsx) {
        serial <- grepl("^[0-9]+(\\.[0-9]+)?$", u)
        r[serial] <- as.integer(floor(as.numeric(u[serial]))) - 25569L
      }
      r
    })
    bad <- bad | (!blank(x) & is.na(d))
    set(out, j = col, value = d)
  }
  size <- by_unique(raw$tumour_size, function(u) {
    as.numeric(if (cp1251) sub(",", ".", u, fixed = TRUE) else u) *
      (if (cp1251) 10 else 1)
  })
  bad <- bad | (!blank(raw$tumour_size) & is.na(size))
  out[, tumour_size := size]
  line <- by_unique(raw$im_line, function(u) suppressWarnings(as.integer(u)))
  bad <- bad | (!blank(raw$im_line) & is.na(line))
  out[, im_line := line]
  for (col in REQUIRED) bad <- bad | is.na(out[[col]]) |
    (is.character(out[[col]]) & out[[col]] == "")
  # unique = ["patient_id"]: a repeated record number rejects every copy
  dup <- out$patient_id %in% out$patient_id[duplicated(out$patient_id)]
  out[!(bad | dup)]
}

read_csv_text <- function(path, sep) {
  fread(path, sep = sep, colClasses = "character", encoding = "unknown",
        na.strings = NULL, showProgress = FALSE)
}
a <- parse_export(read_csv_text(file.path(dir, "center_a.csv"), ";"), "a",
                  "%d.%m.%Y", cp1251 = TRUE, xlsx = FALSE)
if (file.exists(file.path(dir, "center_b.xlsx"))) {
  suppressPackageStartupMessages(library(readxl))
  raw_b <- as.data.table(read_excel(file.path(dir, "center_b.xlsx"),
                                    sheet = "Patients", col_types = "text"))
  b <- parse_export(raw_b, "b", "%d/%m/%Y", cp1251 = FALSE, xlsx = TRUE)
} else {
  b <- parse_export(read_csv_text(file.path(dir, "center_b.csv"), ","), "b",
                    "%d/%m/%Y", cp1251 = FALSE, xlsx = FALSE)
}
d <- rbindlist(list(a, b))
rm(a, b)

# ---- clean: the schema's ranges, the rules --------------------------------
ok <- rep(TRUE, nrow(d))
for (col in DATES) {
  x <- d[[col]]
  ok <- ok & (is.na(x) | (x >= MIN_DATE & x <= CUTOFF))
}
ok <- ok & (is.na(d$tumour_size) | (d$tumour_size >= 1 & d$tumour_size <= 500))
ok <- ok & d$im_line >= 1 & d$im_line <= 10
ok <- ok & (is.na(d$surgery_date) | d$surgery_date >= d$im_start)
if (mode == "matched") {
  ok <- ok & (is.na(d$death_date) | d$death_date >= d$diagnosis_date)
  ok <- ok & (is.na(d$progression_date) | is.na(d$death_date) |
                d$progression_date <= d$death_date)
}
d <- d[ok]
if (mode == "matched") {
  # linkage: same SNILS digits -> keep the later last follow-up (ties: the
  # first source, then the first row)
  d[, snils := gsub("[^0-9]", "", national_id)]
  setorder(d, snils, -last_followup, source, source_row)
  d <- d[is.na(national_id) | national_id == "" | !duplicated(snils)]
}

# ---- derive ------------------------------------------------------------------
d[, age := (im_start - birth_date) / 365.25]
d <- d[age >= 18 & age <= 100]
d[, mets_liver := mets_site %in% c("liver", "liver+peritoneum")]
d[, mets_peritoneum := mets_site %in% c("peritoneum", "liver+peritoneum")]
d[, response_months := (fcoalesce(progression_date, death_date, last_followup) -
                          im_start) / DPM]
endpoint <- function(first_event) {
  o <- d$im_start
  c <- d$last_followup
  reject <- o > CUTOFF | (!is.na(first_event) & first_event < o) |
    (!is.na(first_event) & first_event > c) | (is.na(first_event) & c < o)
  days <- fifelse(is.na(first_event), c - o, first_event - o)
  event <- !is.na(first_event)
  late <- o + days > CUTOFF
  days[late] <- CUTOFF - o[late]
  event[late] <- FALSE
  list(time = days / DPM, event = event, reject = reject)
}
pfs <- endpoint(pmin(d$progression_date, d$death_date, na.rm = TRUE))
os <- endpoint(d$death_date)
d[, `:=`(pfs_time = pfs$time, pfs_event = pfs$event, os_time = os$time,
         os_event = os$event)]
d <- d[!(pfs$reject | os$reject)]

# ---- cohort --------------------------------------------------------------------
d <- d[im_line == 1 & best_response %in% c("PR", "SD") &
         (mets_liver | mets_peritoneum)]
d[, arm := fifelse(!is.na(surgery_date), "S",
                   fifelse(is.na(surgery_date) & response_months > 12, "NS",
                           NA_character_))]
d <- d[!is.na(arm)]
d[, arm := factor(arm, levels = c("NS", "S"))]

num <- function(x) sprintf("%.17g", x)
checks <- list()
check <- function(name, r, cf) {
  checks[[length(checks) + 1]] <<- list(name = name, r = r, cf = cf)
}

# ---- analysis --------------------------------------------------------------------
survival_work <- function(data, matched = FALSE) {
  out <- list()
  for (ep in c("pfs", "os")) {
    f <- as.formula(sprintf("Surv(%s_time, %s_event) ~ arm", ep, ep))
    km <- survfit(f, data = data, conf.type = "log")
    tab <- summary(km)$table
    at <- summary(km, times = c(12, 36, 60), extend = TRUE)
    fu <- survfit(as.formula(sprintf("Surv(%s_time, !%s_event) ~ arm", ep, ep)),
                  data = data, conf.type = "log")
    lr <- survdiff(f, data = data)
    cx <- if (!matched) {
      coxph(f, data = data, ties = "efron")
    } else {
      # match.data's columns `weights` and `subclass`
      coxph(f, data = data, ties = "efron", weights = weights,
            cluster = subclass)
    }
    zph <- if (!matched) cox.zph(cx) else NULL
    out[[ep]] <- list(tab = tab, lr = lr, cx = cx, at = at, fu = fu, zph = zph)
  }
  out
}

if (mode == "r-work") {
  surv <- survival_work(d)
  # Table 1
  arms <- c("S", "NS")
  t1 <- list()
  for (v in c("age", "tumour_size")) {
    x <- split(d[[v]], d$arm)
    summ <- lapply(arms, function(a) {
      y <- x[[a]]
      y <- y[!is.na(y)]
      c(n = length(y), mean = mean(y), sd = sd(y), median = median(y),
        quantile(y, c(0.25, 0.75), type = 7), min = min(y), max = max(y))
    })
    t1[[v]] <- list(summary = summ, test = wilcox.test(x[["S"]], x[["NS"]]))
  }
  for (v in c("sex", "mutation", "best_response", "mets_peritoneum")) {
    tab <- table(factor(d$arm, levels = arms), d[[v]])
    tab <- tab[, colSums(tab) > 0, drop = FALSE]
    expected <- outer(rowSums(tab), colSums(tab)) / sum(tab)
    test <- if (any(expected < 5)) fisher.test(tab) else chisq.test(tab)
    t1[[v]] <- list(table = tab, test = test)
  }
} else {
  suppressPackageStartupMessages(library(MatchIt))
  d[, treat := as.integer(arm == "S")]
  d[, mutation_m := factor(fifelse(is.na(mutation), "(missing)", mutation))]
  # row order = the pipeline's row_key (source, patient_id)
  setorder(d, source, patient_id)
  m <- matchit(treat ~ age + sex + primary_site + mutation_m + mets_liver +
                 mets_peritoneum + best_response, data = d, method = "nearest",
               distance = "glm", caliper = 0.2, m.order = "largest", ratio = 1)
  md <- as.data.table(match.data(m))
  md[, arm := factor(fifelse(treat == 1L, "S", "NS"), levels = c("NS", "S"))]
  surv <- survival_work(md, matched = TRUE)
}

if (!is.na(results_path)) {
  res <- jsonlite::fromJSON(results_path, simplifyVector = FALSE)
  cf_arm <- function(name) {
    for (a in res$arms) if (a$name == name) return(a$n)
    NA
  }
  data_arm <- if (mode == "r-work") d$arm else md$arm
  for (a in c("S", "NS")) check(sprintf("n %s", a), sum(data_arm == a), cf_arm(a))
  for (e in res$endpoints) {
    ep <- e$name
    s <- surv[[ep]]
    for (b in e$by_arm) {
      row <- sprintf("arm=%s", b$arm)
      check(sprintf("%s events %s", ep, b$arm), s$tab[row, "events"], b$events)
      check(sprintf("%s median %s", ep, b$arm), s$tab[row, "median"],
            b$median$estimate)
      check(sprintf("%s median 0.95LCL %s", ep, b$arm), s$tab[row, "0.95LCL"],
            b$median$lower)
      check(sprintf("%s median 0.95UCL %s", ep, b$arm), s$tab[row, "0.95UCL"],
            b$median$upper)
    }
    check(sprintf("%s log-rank chi-square", ep), s$lr$chisq, e$log_rank$chisq)
    term <- e$cox$unadjusted$terms[[1]]
    check(sprintf("%s Cox coef (S vs NS)", ep), unname(coef(s$cx)[1]), term$coef)
    check(sprintf("%s Cox se", ep), unname(sqrt(diag(vcov(s$cx)))[1]), term$se)
  }
  if (mode == "r-work") {
    for (row in res$baseline) {
      v <- row$variable
      if (!is.null(t1[[v]]) && !is.null(row$statistic)) {
        check(sprintf("Table 1 %s statistic", v),
              unname(t1[[v]]$test$statistic), row$statistic)
        check(sprintf("Table 1 %s p", v), t1[[v]]$test$p.value, row$p_value)
      }
    }
  }
  worst <- 0
  for (c in checks) {
    cf <- if (is.null(c$cf)) NA else c$cf
    # both not reached (NA) agree; one NA does not
    rel <- if (is.na(cf) && is.na(c$r)) 0 else if (is.na(cf) || is.na(c$r)) NA else
      if (cf == c$r) 0 else abs(c$r - cf) / abs(cf)
    agree <- !is.na(rel) && rel <= 1e-9
    if (mode == "r-work") worst <- max(worst, if (is.na(rel)) Inf else rel)
    cat(sprintf("check %-45s cohortflow %-24s R %-24s rel %-8s %s\n", c$name,
                num(cf), num(c$r),
                if (is.na(rel)) "NA" else sprintf("%.1e", rel),
                if (mode == "matched") "(information)" else if (agree) "agree"
                else "DIFFER"))
  }
  if (mode == "r-work") {
    cat(sprintf("checks: %d, worst relative difference %.1e, all agree to 1e-9: %s\n",
                length(checks), worst, if (worst <= 1e-9) "yes" else "no"))
    if (worst > 1e-9) quit(status = 1)
  }
}
