# The mgist study from its raw exports, by hand, for the R recomputations
# (conformance/mgist_eligible.R, conformance/emulation.R; sourced, not run by
# regenerate.sh): both centres read and checked against
# fixtures/mgist/expected_rows.csv, the clean rules and linkage applied, the
# cohort criteria; gives `d` (the eligible patients), the endpoints `pfs`
# and `os` in months from imatinib start with the data cut-off, and
# `surgery_months`. Needs readxl and survival loaded.
month <- 30.4375
cutoff <- as.Date("2023-06-30")

# ---- centre A: cp1251, ';', dates dd.mm.yyyy --------------------------------
a_raw <- read.csv(file.path("fixtures", "mgist", "center_a.csv"), sep = ";",
                  fileEncoding = "CP1251", colClasses = "character",
                  check.names = FALSE, na.strings = character(0))
stopifnot(ncol(a_raw) == 16)
a_date <- function(x) as.Date(ifelse(x == "", NA, x), format = "%d.%m.%Y")
a_unparsed <- function(x) x != "" & is.na(a_date(x))
a_mets <- c("печень" = "liver", "брюшина" = "peritoneum", "печень+брюшина" = "both",
            "лёгкие" = "lung", "кости" = "bone")
a_resp <- c("ЧО" = "PR", "СЗ" = "SD", "ПБ" = "PD")
a <- data.frame(
  source = "center_a", row = seq_len(nrow(a_raw)) + 1,
  id = a_raw[[1]], snils = a_raw[[2]],
  mets = unname(a_mets[a_raw[[9]]]),
  im_line = as.integer(a_raw[[10]]),
  im_start = a_date(a_raw[[11]]),
  birth = a_date(a_raw[[4]]),
  best_response = unname(a_resp[a_raw[[12]]]),
  diagnosis = a_date(a_raw[[5]]),
  progression = a_date(a_raw[[13]]), surgery = a_date(a_raw[[14]]),
  death = a_date(a_raw[[15]]), last_followup = a_date(a_raw[[16]]),
  stringsAsFactors = FALSE)
a_bad <- Reduce(`|`, lapply(c(4, 5, 11, 13:16), function(j) a_unparsed(a_raw[[j]])))

# ---- centre B: sheet Patients, real date cells (a text cell is unreadable) --
b_raw <- read_excel(file.path("fixtures", "mgist", "center_b.xlsx"), sheet = "Patients",
                    col_types = "list")
b_cell_date <- function(col) {
  vapply(col, function(v) {
    if (inherits(v, "POSIXct")) as.numeric(as.Date(v)) else NA_real_
  }, 0)
}
b_date <- function(name) as.Date(b_cell_date(b_raw[[name]]), origin = "1970-01-01")
b_unparsed <- function(name) vapply(b_raw[[name]], function(v) is.character(v), TRUE)
b_text <- function(name) vapply(b_raw[[name]], function(v) if (is.null(v) || all(is.na(v))) NA_character_ else as.character(v), "")
b_mets <- c("liver" = "liver", "peritoneum" = "peritoneum", "liver, peritoneum" = "both",
            "lung" = "lung", "bone" = "bone")
date_cols <- c("Date of birth", "Diagnosis date", "Imatinib start", "Progression date",
               "Surgery date", "Death date", "Last follow-up")
b <- data.frame(
  source = "center_b", row = seq_len(nrow(b_raw)) + 1,
  id = b_text("Patient ID"), snils = b_text("SNILS"),
  mets = unname(b_mets[b_text("Metastatic sites")]),
  im_line = as.integer(vapply(b_raw[["Imatinib line"]], as.numeric, 0)),
  im_start = b_date("Imatinib start"),
  birth = b_date("Date of birth"),
  best_response = b_text("Best response"),
  diagnosis = b_date("Diagnosis date"),
  progression = b_date("Progression date"), surgery = b_date("Surgery date"),
  death = b_date("Death date"), last_followup = b_date("Last follow-up"),
  stringsAsFactors = FALSE)
b_bad <- Reduce(`|`, lapply(date_cols, b_unparsed))

# ---- ingest, clean, linkage --------------------------------------------------
d <- rbind(a[!a_bad, ], b[!b_bad, ])
n_ingest_rejected <- sum(a_bad) + sum(b_bad)
clean_ok <- (is.na(d$surgery) | d$surgery >= d$im_start) &
  (is.na(d$death) | d$death >= d$diagnosis) &
  (is.na(d$progression) | is.na(d$death) | d$progression <= d$death)
n_clean_rejected <- sum(!clean_ok)
d <- d[clean_ok, ]
# Same SNILS (digits only) in both centres: keep the later last follow-up.
d$snils_digits <- gsub("[^0-9]", "", d$snils)
d <- d[order(d$snils_digits, -as.numeric(d$last_followup)), ]
n_linkage_dropped <- sum(duplicated(d$snils_digits))
d <- d[!duplicated(d$snils_digits), ]

# ---- criteria: the eligible population ---------------------------------------
d <- d[d$im_line == 1, ]
d <- d[d$best_response %in% c("PR", "SD"), ]
d <- d[d$mets %in% c("liver", "peritoneum", "both"), ]
d <- d[order(d$source, d$id), ]
rownames(d) <- NULL

# The pipeline's arms, only to check the counts against expected_rows.csv.
response_months <- as.numeric(pmin(d$progression, d$death, d$last_followup, na.rm = TRUE) -
                                 d$im_start) / month
arm <- ifelse(!is.na(d$surgery), "S", ifelse(response_months > 12, "NS", "(none)"))
expected <- read.csv(file.path("fixtures", "mgist", "expected_rows.csv"), stringsAsFactors = FALSE)
stopifnot(sum(arm == "S") == sum(expected$group == "study_S"),
          sum(arm == "NS") == sum(expected$group == "study_NS"),
          sum(arm == "(none)") == sum(expected$group == "short_response"),
          n_ingest_rejected == sum(expected$rejected_at == "ingest"),
          n_clean_rejected == sum(expected$rejected_at == "clean"),
          n_linkage_dropped == sum(expected$rejected_at == "linkage"))

# ---- endpoints from imatinib start (months), administrative cut-off ----------
endpoint <- function(events) {
  first <- do.call(pmin, c(lapply(events, function(e) d[[e]]), na.rm = TRUE))
  first[!is.na(first) & first > cutoff] <- NA
  end <- pmin(d$last_followup, cutoff)
  event <- !is.na(first)
  stop_date <- ifelse(event, first, end)
  list(time = as.numeric(stop_date - as.numeric(d$im_start)) / month, event = as.integer(event))
}
pfs <- endpoint(c("progression", "death"))
os <- endpoint(c("death"))
surgery_months <- as.numeric(d$surgery - d$im_start) / month
