#!/usr/bin/env bash
# Pipeline-level benchmark: `cohortflow run` against the same work in R
# (bench/pipeline.R: data.table, survival, MatchIt) on synthetic exports of
# the mgist study written by `cohortflow synth` with a fixed seed. See
# bench/README.md ("Pipeline benchmark").
#
# Usage:
#   bench/pipeline.sh                       # 100k, 1M, 10M rows; 3 repetitions
#   bench/pipeline.sh --sizes "100000 1000000" --reps 5
#   bench/pipeline.sh --rows 100000000      # cohortflow alone on 100M rows
#   bench/pipeline.sh --sizes 1000000 --centre-b xlsx   # centre B as a workbook
#
# Centre B is written as CSV at every size by default, so that the work per
# row is the same from 100k to 10M (a sheet holds at most 1,048,576 rows);
# `--centre-b xlsx` writes it as the workbook the fixtures have, where it
# fits (the data then go to bench/out/data/mgist-N-xlsx).
#
# Per size, interleaved (cohortflow, R, cohortflow full study; repeated),
# each a whole process timed by /usr/bin/time -f '%e %M' (wall seconds, peak
# RSS): (a) bench/pipelines/mgist-r-work.toml vs `pipeline.R r-work`, whose
# key numbers are checked against cohortflow's results.json at 1e-9
# relative; (b) the bundled study, pipelines/mgist-cytoreduction.toml,
# without its [analysis.emulation] sections (mgist-full.toml); and on
# 100k rows the matched study vs `pipeline.R matched` (MatchIt). Medians of
# the repetitions go into one table with the targets, printed and saved to
# bench/out/pipeline.md. Exports are kept in bench/out/data/ and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

SEED=20260301
SIZES="100000 1000000 10000000"
REPS=3
ROWS=""
MATCHED_ROWS=100000
CENTRE_B=csv
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) SIZES="$2"; shift 2 ;;
        --reps) REPS="$2"; shift 2 ;;
        --rows) ROWS="$2"; shift 2 ;;
        --no-matched) MATCHED_ROWS=""; shift ;;
        --centre-b) CENTRE_B="$2"; shift 2 ;;
        *) echo "unknown argument: $1 (see the head of $0)" >&2; exit 2 ;;
    esac
done

OUT=bench/out
DATA=$OUT/data
RUNS=$OUT/runs
LOGS=$OUT/logs
mkdir -p "$DATA" "$RUNS" "$LOGS"
export LC_ALL=C.UTF-8

# ---- what R needs, from Debian ---------------------------------------------
need=()
command -v Rscript >/dev/null 2>&1 || need+=(r-base-core)
[ -x /usr/bin/time ] || need+=(time)
if command -v Rscript >/dev/null 2>&1; then
    for p in survival:r-cran-survival data.table:r-cran-data.table \
             MatchIt:r-cran-matchit readxl:r-cran-readxl jsonlite:r-cran-jsonlite; do
        Rscript -e "suppressPackageStartupMessages(library(${p%%:*}))" >/dev/null 2>&1 ||
            need+=("${p#*:}")
    done
else
    need+=(r-cran-survival r-cran-data.table r-cran-matchit r-cran-readxl r-cran-jsonlite)
fi
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "== installing ${need[*]}"
    $SUDO apt-get update
    $SUDO apt-get install -y "${need[@]}"
fi

echo "== build (release)"
cargo build --release --bin cohortflow
BIN=target/release/cohortflow

# measure LOG CMD...: runs CMD with its output in LOG; prints "wall rss_kb"
# (or "FAIL" when the command failed; with CHECKED=1, a failure is printed
# as "wall rss_kb FAIL": R's run that timed fine but found a difference).
measure() {
    local log=$1
    shift
    local t
    t=$(mktemp)
    if /usr/bin/time -f '%e %M' -o "$t" "$@" >"$log" 2>&1; then
        tail -n 1 "$t"
    elif [ "${CHECKED:-0}" = 1 ]; then
        echo "$(tail -n 1 "$t") FAIL"
    else
        echo FAIL
    fi
    rm -f "$t"
}

case "$CENTRE_B" in
    csv) SUFFIX="" ;;
    xlsx) SUFFIX="-xlsx" ;;
    *) echo "--centre-b is csv or xlsx, not $CENTRE_B" >&2; exit 2 ;;
esac

# synth N: the exports of N rows in $DATA/mgist-N (written once, then
# reused); centre B as CSV, or with --centre-b xlsx as a workbook unless it
# would not fit a sheet.
synth() {
    local n=$1 dir=$DATA/mgist-$1$SUFFIX
    if [ ! -f "$dir/.synth-$SEED-$CENTRE_B" ]; then
        rm -rf "$dir"
        local m
        m=$(measure "$LOGS/synth-$n.log" "$BIN" synth mgist --patients "$n" --seed "$SEED" --out "$dir" \
            --centre-b-format "$CENTRE_B")
        if [ "$m" = FAIL ] && grep -q -- "--centre-b-format csv" "$LOGS/synth-$n.log"; then
            m=$(measure "$LOGS/synth-$n.log" "$BIN" synth mgist --patients "$n" --seed "$SEED" \
                --out "$dir" --centre-b-format csv)
        fi
        [ "$m" != FAIL ] || { cat "$LOGS/synth-$n.log"; exit 1; }
        echo "$m" >"$dir/.synth-$SEED-$CENTRE_B"
    fi
    cp bench/pipelines/mgist-r-work.toml "$dir/"
    # The full study without its target-trial emulation: the emulation's
    # 200-replicate bootstrap is of another order of cost (bench/README.md).
    awk '/^\[analysis\.emulation/ { skip = 1; next } /^\[/ { skip = 0 } !skip' \
        "$dir/mgist-cytoreduction.toml" |
        sed 's/^name = "mgist-cytoreduction"$/name = "mgist-full"/' >"$dir/mgist-full.toml"
    echo "$dir"
}

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "NA"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
mb() { awk -v k="$1" 'BEGIN { if (k=="NA") print "NA"; else printf "%.0f", k/1024 }'; }
fmt_rows() { awk -v n="$1" 'BEGIN { if (n>=1e6) printf "%gM", n/1e6; else printf "%gk", n/1e3 }'; }

LOAD_BEFORE=$(uptime)
echo "== load before: $LOAD_BEFORE"

# ---- --rows N: cohortflow alone ----------------------------------------------
if [ -n "$ROWS" ]; then
    dir=$(synth "$ROWS")
    echo "== synth $ROWS rows: $(cat "$dir/.synth-$SEED-$CENTRE_B") (wall s, peak KB); $(du -sh "$dir" | cut -f1) on disk"
    m=$(measure "$LOGS/cf-r-work-$ROWS.log" "$BIN" run "$dir/mgist-r-work.toml" --out "$RUNS/r-work-$ROWS")
    if [ "$m" = FAIL ]; then
        echo "cohortflow run mgist-r-work on $ROWS rows: FAILED (log: $LOGS/cf-r-work-$ROWS.log)"
        tail -n 5 "$LOGS/cf-r-work-$ROWS.log"
        exit 1
    fi
    read -r wall rss <<<"$m"
    echo "cohortflow run mgist-r-work on $ROWS rows: completed in $wall s, peak RSS $(mb "$rss") MB"
    grep -E "ledger:" "$LOGS/cf-r-work-$ROWS.log" || true
    echo "== load after: $(uptime)"
    exit 0
fi

# ---- the sizes -----------------------------------------------------------------
declare -A CF_RW_T CF_RW_M R_T R_M CF_FULL_T CF_FULL_M CHECK SYN R_FAILED
# R runs with its address space capped at 80 % of the memory, so that a size
# R cannot hold fails R's run (reported) instead of the machine.
R_CAP_KB=${R_CAP_KB:-$(awk '/^MemTotal:/ { printf "%d", $2 * 0.8 }' /proc/meminfo)}
RSCRIPT_CAPPED=(bash -c 'ulimit -v "$0" && exec Rscript "$@"' "$R_CAP_KB")
for n in $SIZES; do
    dir=$(synth "$n")
    SYN[$n]=$(cat "$dir/.synth-$SEED-$CENTRE_B")
    echo "== $(fmt_rows "$n") rows ($dir; synth: ${SYN[$n]} wall s / peak KB)"
    cf_t="" cf_m="" r_t="" r_m="" f_t="" f_m=""
    for rep in $(seq 1 "$REPS"); do
        # Every rep starts as the first: without the run folders an earlier
        # rep wrote (on this VM a run writing its 1.3 GB cohort.csv beside
        # an earlier run's took 0.5-1.5 s longer at 10M; bench/README.md,
        # "Results"). cohortflow still replaces a folder it finds.
        rm -rf "$RUNS/r-work-$n" "$RUNS/full-$n"
        m=$(measure "$LOGS/cf-r-work-$n.log" "$BIN" run "$dir/mgist-r-work.toml" --out "$RUNS/r-work-$n")
        [ "$m" != FAIL ] || { tail -n 20 "$LOGS/cf-r-work-$n.log"; exit 1; }
        cf_t+=" ${m% *}"; cf_m+=" ${m#* }"
        echo "   rep $rep cohortflow r-work: $m"
        if [ -z "${R_FAILED[$n]:-}" ]; then
            m=$(CHECKED=1 measure "$LOGS/r-r-work-$n.log" "${RSCRIPT_CAPPED[@]}" bench/pipeline.R r-work "$dir" \
                "$RUNS/r-work-$n/results.json")
            if [ "${m##* }" = FAIL ] && ! grep -q "^checks:" "$LOGS/r-r-work-$n.log"; then
                # R stopped before its checks (out of memory under the cap,
                # or an error): no R time at this size; the log says why.
                R_FAILED[$n]="R failed: $(grep -m1 -i "error\|cannot allocate" "$LOGS/r-r-work-$n.log" || tail -n 1 "$LOGS/r-r-work-$n.log")"
                echo "   rep $rep R r-work:          ${R_FAILED[$n]} (log: $LOGS/r-r-work-$n.log)"
            else
                read -r wall rss _ <<<"$m"
                r_t+=" $wall"; r_m+=" $rss"
                echo "   rep $rep R r-work:          $m"
            fi
        fi
        m=$(measure "$LOGS/cf-full-$n.log" "$BIN" run "$dir/mgist-full.toml" --out "$RUNS/full-$n")
        [ "$m" != FAIL ] || { tail -n 20 "$LOGS/cf-full-$n.log"; exit 1; }
        f_t+=" ${m% *}"; f_m+=" ${m#* }"
        echo "   rep $rep cohortflow full:   $m"
    done
    CF_RW_T[$n]=$(echo "$cf_t" | median); CF_RW_M[$n]=$(echo "$cf_m" | median)
    R_T[$n]=$(echo "$r_t" | median); R_M[$n]=$(echo "$r_m" | median)
    CF_FULL_T[$n]=$(echo "$f_t" | median); CF_FULL_M[$n]=$(echo "$f_m" | median)
    grep "^check" "$LOGS/r-r-work-$n.log" >"$OUT/checks-$n.txt" || true
    CHECK[$n]=$(grep "^checks:" "$LOGS/r-r-work-$n.log" || echo "checks: none printed (${R_FAILED[$n]:-})")
    echo "   ${CHECK[$n]}"
done

# A run's fixed cost: R's work on 1,000 rows (the process, the pipeline
# files, two figures in three formats, the report, the manifest, the
# commit), so that the per-million rates can also be read above it.
FLOOR_ROWS=1000
dir=$(synth "$FLOOR_ROWS")
fl=""
for rep in $(seq 1 $((3 * REPS))); do
    rm -rf "$RUNS/r-work-$FLOOR_ROWS"
    m=$(measure "$LOGS/cf-r-work-$FLOOR_ROWS.log" "$BIN" run "$dir/mgist-r-work.toml" --out "$RUNS/r-work-$FLOOR_ROWS")
    [ "$m" != FAIL ] || { tail -n 20 "$LOGS/cf-r-work-$FLOOR_ROWS.log"; exit 1; }
    fl+=" ${m% *}"
done
FLOOR=$(echo "$fl" | median)
echo "== a run's fixed cost: R's work on $FLOOR_ROWS rows, median of $((3 * REPS)): $FLOOR s"

if [ -n "$MATCHED_ROWS" ]; then
    n=$MATCHED_ROWS
    dir=$(synth "$n")
    echo "== matched study, $(fmt_rows "$n") rows"
    mt="" mm="" rt="" rm_=""
    for rep in $(seq 1 "$REPS"); do
        m=$(measure "$LOGS/cf-matched-$n.log" "$BIN" run "$dir/mgist-cytoreduction-matched.toml" --out "$RUNS/matched-$n")
        [ "$m" != FAIL ] || { tail -n 20 "$LOGS/cf-matched-$n.log"; exit 1; }
        mt+=" ${m% *}"; mm+=" ${m#* }"
        echo "   rep $rep cohortflow matched: $m"
        m=$(measure "$LOGS/r-matched-$n.log" Rscript bench/pipeline.R matched "$dir" "$RUNS/matched-$n/results.json")
        [ "$m" != FAIL ] || { tail -n 20 "$LOGS/r-matched-$n.log"; exit 1; }
        rt+=" ${m% *}"; rm_+=" ${m#* }"
        echo "   rep $rep R matched:          $m"
    done
    M_CF_T=$(echo "$mt" | median); M_CF_M=$(echo "$mm" | median)
    M_R_T=$(echo "$rt" | median); M_R_M=$(echo "$rm_" | median)
fi
LOAD_AFTER=$(uptime)

# ---- the table -------------------------------------------------------------------
yes_no() { awk "BEGIN { print (($1) ? \"yes\" : \"no\") }"; }
{
    echo "Pipeline benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "seed $SEED; median of $REPS interleaved runs; whole processes, /usr/bin/time -f '%e %M' (wall, peak RSS)"
    echo "$(Rscript -e 'cat(R.version.string, "/ data.table", format(packageVersion("data.table")), "/ survival", format(packageVersion("survival")), "/ MatchIt", format(packageVersion("MatchIt")))' 2>/dev/null)"
    echo "load before: $LOAD_BEFORE"
    echo "load after:  $LOAD_AFTER"
    echo
    echo "| rows | pipeline | cohortflow wall (s) | cohortflow peak RSS (MB) | R wall (s) | R peak RSS (MB) | R / cohortflow | cohortflow s per M rows | target | met? |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---|---|"
    for n in $SIZES; do
        t=${CF_RW_T[$n]} m=${CF_RW_M[$n]} rt=${R_T[$n]} rm=${R_M[$n]}
        ratio=$(awk -v a="$rt" -v b="$t" 'BEGIN { if (a == "NA") print "–"; else printf "%.1f×", a/b }')
        per=$(awk -v a="$t" -v n="$n" 'BEGIN { printf "%.3f", a/(n/1e6) }')
        target="" met=""
        if [ "$n" = 1000000 ]; then
            target="≤ 1.0 s, ≤ 400 MB, ≥ 6× R"
            if [ "$rt" = NA ]; then
                met="no (no R time)"
            else
                met=$(yes_no "$t <= 1.0 && $m <= 400*1024 && $rt >= 6*$t")
            fi
        elif [ "$n" = 10000000 ]; then
            target="≤ 10 s, ≤ 2.5 GB"
            met=$(yes_no "$t <= 10 && $m <= 2.5*1024*1024")
        fi
        [ "$rt" != NA ] || rt="failed (log)"
        echo "| $(fmt_rows "$n") | R's work (mgist-r-work) | $t | $(mb "$m") | $rt | $(mb "$rm") | $ratio | $per | $target | $met |"
        ft=${CF_FULL_T[$n]} fm=${CF_FULL_M[$n]}
        per=$(awk -v a="$ft" -v n="$n" 'BEGIN { printf "%.3f", a/(n/1e6) }')
        target="" met=""
        if [ "$n" = 1000000 ]; then target="≤ 2.0 s"; met=$(yes_no "$ft <= 2.0"); fi
        echo "| $(fmt_rows "$n") | full study without emulation (mgist-full) | $ft | $(mb "$fm") | – | – | – | $per | $target | $met |"
    done
    if [ -n "$MATCHED_ROWS" ]; then
        ratio=$(awk -v a="$M_R_T" -v b="$M_CF_T" 'BEGIN { printf "%.1f×", a/b }')
        echo "| $(fmt_rows "$MATCHED_ROWS") | matched study (mgist-cytoreduction-matched) vs R MatchIt | $M_CF_T | $(mb "$M_CF_M") | $M_R_T | $(mb "$M_R_M") | $ratio | – | ≤ 2 s | $(yes_no "$M_CF_T <= 2") |"
    fi
    echo
    # time per million rows of the R-work pipeline across the sizes
    pers=""
    for n in $SIZES; do pers+=" $(awk -v a="${CF_RW_T[$n]}" -v n="$n" 'BEGIN { print a/(n/1e6) }')"; done
    spread=$(echo "$pers" | tr ' ' '\n' | awk 'NF' | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END { printf "%.1f", (hi/lo-1)*100 }')
    echo "R's work, cohortflow seconds per million rows across $(echo $SIZES | tr ' ' ','): spread $spread % (target: within 15 %): $(yes_no "$spread <= 15")"
    # The same rates above a run's fixed cost (the target is the line above;
    # this one says whether the cost grows in proportion to the rows).
    above=""
    for n in $SIZES; do above+=" $(awk -v a="${CF_RW_T[$n]}" -v f="$FLOOR" -v n="$n" 'BEGIN { printf "%.3f", (a-f)/(n/1e6) }')"; done
    spread_above=$(echo "$above" | tr ' ' '\n' | awk 'NF' | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END { printf "%.1f", (hi/lo-1)*100 }')
    echo "R's work, a run's fixed cost (1,000 rows, median of $((3 * REPS))): $FLOOR s; seconds per million rows above it:$above (spread $spread_above %; not the target, which counts the fixed cost in)"
    for n in $SIZES; do
        echo "synth $(fmt_rows "$n"): $(echo "${SYN[$n]}" | awk '{ printf "%s s wall, %.0f MB peak", $1, $2/1024 }') (written once, reused; centre B $( [ -f "$DATA/mgist-$n$SUFFIX/center_b.xlsx" ] && echo XLSX || echo CSV))"
    done
    echo
    echo "agreement of R with cohortflow's results.json (relative, 1e-9):"
    for n in $SIZES; do echo "  $(fmt_rows "$n"): ${CHECK[$n]} (lines: bench/out/checks-$n.txt)"; done
    if [ -n "$MATCHED_ROWS" ]; then
        echo "  matched $(fmt_rows "$MATCHED_ROWS") (information: MatchIt's own matcher, see bench/README.md):"
        grep "^check n " "$LOGS/r-matched-$MATCHED_ROWS.log" | sed 's/^/    /' || true
    fi
} | tee "$OUT/pipeline.md"
