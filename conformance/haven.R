# Reference values for cohortflow-ingest's statistical-file readers (SPSS
# .sav/.zsav, Stata .dta, SAS transport .xpt v5/v8, SAS7BDAT): R's haven
# (ReadStat) writes test files from the real data sets in fixtures/real/,
# with value labels, user-missing codes (SPSS discrete values and ranges,
# also on a Cyrillic string column), Stata extended missing (.a, .b), SAS
# special missing (.A), dates before and after 1970, datetimes and Cyrillic
# strings, into fixtures/statfiles/; then reads every file back with haven
# and dumps the values into conformance/haven.json. The Rust test
# (crates/ingest/tests/statfiles) reads the same files and compares value by
# value: numbers exactly (written as "%.17g" text), strings exactly, dates as days since 1970-01-01
# (datetimes: the day they fall on), missing vs not, value labels.
#
# Also dumps haven's reading of iris.sas7bdat, the SAS7BDAT file written by
# SAS 9.4 (header "9.0401M2X64_8PRO") that haven ships in examples/ (MIT,
# r-cran-haven); it is copied into fixtures/statfiles/ (README.md there).
#
# Run from the repository root: Rscript conformance/haven.R (regenerate.sh).
# Needs r-cran-haven. The written files carry their creation time (ReadStat
# stamps it), so they differ byte-wise between runs; their values do not.
suppressPackageStartupMessages({
  library(haven)
  library(survival)
})
source(file.path("conformance", "common.R"))

out <- file.path("fixtures", "statfiles")
dir.create(out, showWarnings = FALSE)

# ---- the data sets, with labels, missing codes, dates and strings -------

lung <- read_real("lung")
n <- nrow(lung)
i <- seq_len(n)
ecog <- ifelse(is.na(lung$ph.ecog), 9, lung$ph.ecog)
meal <- ifelse(is.na(lung$meal.cal), 9999, lung$meal.cal)
dx <- as.Date("1965-06-15") + (i - 1) * 37
lung_df <- data.frame(
  inst = lung$inst,
  time = lung$time,
  status = labelled(lung$status, c(censored = 1, dead = 2)),
  age = lung$age,
  sex = labelled(lung$sex, c(Male = 1, Female = 2)),
  # 9 = not assessed: a user-missing code with a label.
  ph_ecog = labelled_spss(ecog, c(asymptomatic = 0, symptomatic = 1, "in bed <50%" = 2,
                                  "in bed >50%" = 3, "not assessed" = 9), na_values = 9),
  ph_karno = lung$ph.karno,
  # 9000-9999: a user-missing range.
  meal_cal = labelled_spss(meal, na_range = c(9000, 9999)),
  wt_loss = lung$wt.loss,
  dx_date = dx,
  last_date = dx + lung$time,
  dx_time = as.POSIXct(dx, tz = "UTC") + 13 * 3600 + 45 * 60 + 30 + (i %% 3) * 0.25,
  centre = ifelse(is.na(lung$inst), "", paste0("Центр №", lung$inst)),
  # "н/д" (no data) is declared missing on a string column.
  note = labelled_spss(ifelse(i %% 5 == 0, "н/д", ifelse(i %% 2 == 0, "ok", "Ёж")),
                       na_values = "н/д"),
  stringsAsFactors = FALSE
)
write_sav(lung_df, file.path(out, "lung.sav"))
write_sav(lung_df, file.path(out, "lung.zsav"), compress = "zsav")
write_sav(lung_df, file.path(out, "lung_uncompressed.sav"), compress = "none")

mel <- read_real("melanoma")
m <- nrow(mel)
j <- seq_len(m)
thick <- mel$thickness
thick[j %% 11 == 0] <- tagged_na("a")
thick[j %% 23 == 0] <- tagged_na("b")
op <- as.Date(paste0(mel$year, "-01-01")) + (j * 17) %% 365
mel_df <- data.frame(
  time = as.integer(mel$time),
  status = labelled(as.integer(mel$status),
                    c("died of melanoma" = 1L, alive = 2L, "died of other causes" = 3L)),
  sex = labelled(as.integer(mel$sex), c(female = 0L, male = 1L)),
  age = as.integer(mel$age),
  year = as.integer(mel$year),
  thickness = thick,
  ulcer = labelled(as.integer(mel$ulcer), c(absent = 0L, present = 1L)),
  op_date = op,
  op_time = as.POSIXct(op, tz = "UTC") + 8 * 3600 + (j %% 60) * 60,
  ward = ifelse(j %% 3 == 0, "Хирургия", ifelse(j %% 3 == 1, "Онкология", "")),
  stringsAsFactors = FALSE
)
write_dta(mel_df, file.path(out, "melanoma.dta"), version = 15)
write_dta(mel_df[, setdiff(names(mel_df), "ward")], file.path(out, "melanoma_v13.dta"),
          version = 13)

mg <- read_real("mgus2")
hgb <- mg$hgb
hgb[is.na(hgb)] <- tagged_na("A")  # SAS: .A-.Z
mg_df <- data.frame(
  id = mg$id,
  age = mg$age,
  sex = mg$sex,
  dxyr = mg$dxyr,
  hgb = hgb,
  creat = mg$creat,
  mspike = mg$mspike,
  ptime = mg$ptime,
  pstat = mg$pstat,
  futime = mg$futime,
  death = mg$death,
  dxdate = as.Date(paste0(mg$dxyr, "-07-01")) + (mg$id %% 90),
  stringsAsFactors = FALSE
)
write_xpt(mg_df, file.path(out, "mgus2.xpt"), version = 5, name = "MGUS2")
mg8 <- mg_df
names(mg8)[names(mg8) == "ptime"] <- "progression_months"
mg8$diagnosed <- ifelse(mg8$sex == "F", "Женщина", "Мужчина")
# ReadStat refuses tagged missing values in version 8 ("tag value outside the
# range"): plain missing there.
mg8$hgb <- mg$hgb
write_xpt(mg8, file.path(out, "mgus2_v8.xpt"), version = 8, name = "MGUS2")

lung_sas <- lung_df[, c("inst", "time", "age", "wt_loss", "dx_date", "dx_time")]
lung_sas$status <- as.numeric(lung_df$status)
lung_sas$sex <- ifelse(lung$sex == 1, "M", "F")
write_sas(lung_sas, file.path(out, "lung.sas7bdat"))

file.copy(system.file("examples", "iris.sas7bdat", package = "haven"),
          file.path(out, "iris.sas7bdat"), overwrite = TRUE)

# ---- read back with haven and dump --------------------------------------

column_json <- function(name, x) {
  labels <- attr(x, "labels", exact = TRUE)
  if (inherits(x, "POSIXct")) {
    kind <- "datetime"
    values <- floor(as.numeric(x) / 86400)
  } else if (inherits(x, "Date")) {
    kind <- "date"
    values <- as.numeric(x)
  } else if (is.character(x)) {
    kind <- "string"
    values <- as.character(zap_labels(x))
  } else {
    # As text ("%.17g"): Rust parses it with str::parse, correctly rounded,
    # so the test compares the exact doubles.
    kind <- "number"
    v <- as.double(zap_labels(x))
    values <- ifelse(is.na(v), NA_character_, sprintf("%.17g", v))
  }
  col <- list(name = name, kind = kind, values = arr(values))
  if (!is.null(labels)) {
    codes <- if (is.character(labels)) unname(labels) else
      vapply(unname(labels), function(v) sprintf("%.17g", v), "")
    col$labels <- as.list(setNames(names(labels), codes))
  }
  col
}

file_json <- function(file, data) {
  list(
    file = file,
    rows = nrow(data),
    columns = lapply(names(data), function(nm) column_json(nm, data[[nm]]))
  )
}

read_back <- function(file) {
  path <- file.path(out, file)
  data <- switch(tools::file_ext(file),
    sav = , zsav = read_sav(path, user_na = FALSE),
    dta = read_dta(path),
    xpt = read_xpt(path),
    sas7bdat = read_sas(path)
  )
  file_json(file, data)
}

files <- c("lung.sav", "lung.zsav", "lung_uncompressed.sav", "melanoma.dta",
           "melanoma_v13.dta", "mgus2.xpt", "mgus2_v8.xpt", "lung.sas7bdat", "iris.sas7bdat")
res <- provenance("conformance/haven.R")
res$haven_version <- as.character(packageVersion("haven"))
res$files <- lapply(files, read_back)
write_json(res, file.path("conformance", "haven.json"))
