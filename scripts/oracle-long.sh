#!/bin/sh
# The oracle's long mode: many more damaged exports than `cargo test` runs.
#
#   scripts/oracle-long.sh [CASES] [FIRST_SEED]
#
# CASES defaults to 100000, FIRST_SEED to 1000000 (past the bounded run's
# seeds 1..1100, so a long run tries exports the bounded run never saw).
# Runs tests/oracle.rs in the release profile (ORACLE_PROFILE=dev for a
# debug build), printing progress every ORACLE_PROGRESS cases (default 1000)
# and, at the end, the summary per damage kind and per failure class with
# the first failing seeds; the summary is also written to ORACLE_REPORT
# (default target/oracle-long-report.txt). Exits non-zero when a case failed.
# ORACLE_THREADS sets the worker threads (default 2). See docs/oracle.md.
set -eu
cd "$(dirname "$0")/.."

cases="${1:-100000}"
seed="${2:-1000000}"
profile="${ORACLE_PROFILE:-release}"
report="${ORACLE_REPORT:-target/oracle-long-report.txt}"
mkdir -p "$(dirname "$report")"
case "$report" in /*) ;; *) report="$(pwd)/$report" ;; esac

if [ "$profile" = release ]; then
    flags="--release"
else
    flags="--profile $profile"
fi
echo "oracle: $cases cases from seed $seed, profile $profile, started $(date -u '+%Y-%m-%d %H:%M:%S') UTC" >&2
start=$(date +%s)
status=0
# shellcheck disable=SC2086
RUST_BACKTRACE=0 ORACLE_CASES="$cases" ORACLE_SEED="$seed" ORACLE_PROGRESS="${ORACLE_PROGRESS:-1000}" \
    ORACLE_REPORT="$report" \
    cargo test $flags --workspace --test oracle -- --nocapture 2>&1 |
    grep -a -v -e '^running 1 test' -e '^test result' -e '^$' || true
[ -f "$report" ] && head -n 1 "$report" | grep -q ' 0 failed$' || status=1
elapsed=$(( $(date +%s) - start ))
echo "oracle: ran ${elapsed} s ($(( elapsed / 3600 )) h $(( elapsed % 3600 / 60 )) min); report in $report; exit status $status" >&2
exit $status
