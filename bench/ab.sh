#!/usr/bin/env bash
# Interleaved A/B of two (or more) cohortflow binaries on the same exports:
# the measurement behind the "before / after" pairs in docs/performance.md.
#
# Usage: bench/ab.sh DIR REPS PIPELINE BINARY...
#   DIR       a folder `bench/pipeline.sh` (or `cohortflow synth`) wrote,
#             e.g. bench/out/data/mgist-1000000
#   REPS      rounds; each round runs every binary once, in the order given
#   PIPELINE  the pipeline file in DIR, e.g. mgist-r-work.toml
#   BINARY    paths of `cohortflow` binaries (copy each build aside first)
#
# Prints one line per run: the binary, the round, wall seconds, user and
# system CPU seconds and peak RSS (KB) from /usr/bin/time, then each stage's
# wall seconds, CPU seconds and peak MiB from the run's `stage cost` log
# lines. Run folders go to a temporary directory, removed at the end.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,16p' "$0"; exit 2; }
dir=$1 reps=$2 pipeline=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for r in $(seq 1 "$reps"); do
    k=0
    for bin in "$@"; do
        k=$((k + 1))
        rm -rf "$work/run-$k"
        /usr/bin/time -f "TIME %e %U %S %M" "$bin" run "$dir/$pipeline" --out "$work/run-$k" \
            >"$work/log-$k" 2>&1 || { echo "$bin failed:"; tail -5 "$work/log-$k"; exit 1; }
        t=$(grep '^TIME' "$work/log-$k" | cut -d' ' -f2-)
        stages=$(grep 'stage cost' "$work/log-$k" |
            sed -E 's/.*stage=([a-z]+) wall_s="([0-9.]+)" cpu_s="([0-9.]+)" peak_mib="([0-9]+)".*/\1 \2 \3 \4/' |
            paste -sd'|')
        echo "$(basename "$bin") r$r $t | $stages"
        # Each run starts as the first did: with no earlier run's outputs
        # still held (the second of a pair otherwise wrote its cohort.csv
        # beside the first's 1.3 GB and took 0.5-1.5 s longer at 10M).
        rm -rf "$work/run-$k"
    done
done
