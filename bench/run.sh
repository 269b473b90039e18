#!/bin/sh
# cohortflow-stats against R's survival on 1,000,000 rows.
#
# On a fresh machine: installs R and survival from Debian if missing (needs
# root and network), builds the bench in release (bench/target), writes the
# data set with a fixed seed to bench/out/data.csv, times R on it
# (bench/bench.R -> bench/out/r-results.tsv), then times cohortflow on the
# same file and prints one table of both, plus the agreement of the numbers.
# The table is also saved to bench/out/table.md. Takes a few minutes.
#
# Usage: bench/run.sh
set -eu
cd "$(dirname "$0")"

if ! command -v Rscript >/dev/null 2>&1 ||
   ! Rscript -e 'library(survival)' >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update
    $SUDO apt-get install -y r-base-core r-cran-survival
fi

echo "== build (release)"
cargo build --release --manifest-path Cargo.toml
BIN=target/release/cohortflow-bench

mkdir -p out
echo "== data"
"$BIN" gen out/data.csv

echo "== load before: $(uptime)"
echo "== R (5 runs of each estimator)"
Rscript bench.R out/data.csv out/r-results.tsv ../fixtures/real/lung.csv
echo "== cohortflow (5 runs of each estimator)"
status=0
"$BIN" run out/data.csv out/r-results.tsv ../fixtures/real/lung.csv >out/table.md || status=$?
cat out/table.md
echo "== load after: $(uptime)"
echo "== date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
exit $status
