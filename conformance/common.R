# Shared helpers of the conformance scripts: a tiny JSON writer that keeps
# 17 significant digits (sprintf("%.17g")), so that every double read back in
# Rust is the exact double R computed.
#
# Encoding: NA -> null, NaN -> "NaN", Inf -> "Inf", -Inf -> "-Inf".
# Atomic vectors of length 1 are written as scalars unless wrapped in arr().

arr <- function(x) structure(x, class = c("json_array", class(x)))

json_num <- function(v) {
  if (is.na(v) && !is.nan(v)) return("null")
  if (is.nan(v)) return("\"NaN\"")
  if (is.infinite(v)) return(if (v > 0) "\"Inf\"" else "\"-Inf\"")
  sprintf("%.17g", v)
}

json_str <- function(s) {
  s <- gsub("\\\\", "\\\\\\\\", s)
  s <- gsub("\"", "\\\\\"", s)
  paste0("\"", s, "\"")
}

to_json <- function(x, indent = 0) {
  pad <- strrep(" ", indent + 2)
  end <- strrep(" ", indent)
  if (is.null(x)) return("null")
  if (is.list(x) && !inherits(x, "json_array")) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    items <- vapply(x, to_json, "", indent = indent + 2)
    if (!is.null(names(x))) {
      items <- paste0(json_str(names(x)), ": ", items)
      return(paste0("{\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, "}"))
    }
    return(paste0("[\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, "]"))
  }
  is_arr <- inherits(x, "json_array")
  x <- unclass(x)
  if (is.factor(x)) x <- as.character(x)
  one <- function(v) {
    if (is.character(v)) { if (is.na(v)) "null" else json_str(v) }
    else if (is.logical(v)) { if (is.na(v)) "null" else if (v) "true" else "false" }
    else json_num(as.double(v))
  }
  vals <- vapply(seq_along(x), function(i) one(x[[i]]), "")
  if (length(x) == 1 && !is_arr) return(vals)
  paste0("[", paste(vals, collapse = ", "), "]")
}

write_json <- function(x, path) {
  writeLines(to_json(x), path, useBytes = TRUE)
  message("wrote ", path)
}

provenance <- function(script) {
  list(
    generated_by = script,
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    note = "numbers are sprintf('%.17g'); NA -> null, NaN -> \"NaN\", Inf -> \"Inf\""
  )
}

# Paths are relative to the repository root (regenerate.sh cd's there).
read_real <- function(name) read.csv(file.path("fixtures", "real", paste0(name, ".csv")))
