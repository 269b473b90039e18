#!/usr/bin/env bash
# Renders runs' report.html in a real browser (Debian's Chromium, driven by
# playwright-core: scripts/browser/) and fails when a reader would see a
# broken page.
#
#   scripts/check-report.sh [PIPELINE...]
#
# PIPELINE defaults to every bundled pipeline (pipelines/*.toml); the run
# folder runs/PIPELINE must exist (cohortflow run PIPELINE). For each,
# writes runs/PIPELINE/browser/ (not committed; CHECK_REPORT_OUT=DIR puts
# them in DIR/PIPELINE/ instead):
#   report-1280.png, report-420.png  full-page screenshots at 1280 and
#                                    420 px wide;
#   report.pdf                       the page printed on A4 by the browser;
# and fails when
#   - report.html refers to anything outside itself or holds a script;
#   - it lacks the report's parts (title, Table 1, the figures, the
#     numbers-at-risk tables);
#   - Chromium logs a console error, a page error or a request;
#   - at 420 px (and at 1280 px, and printed at the A4 text width) the page
#     is wider than the window, an element sticks out of it (outside a box
#     that scrolls), a figure has no size or does not fit, an image does not
#     load, or a table hides a column (scripts/browser/check.mjs);
#   - the printed PDF has fewer than 3 or more than 80 pages, or a page ends
#     with a heading (the heading stranded from what it heads).
# Installs what it needs when missing (scripts/chromium.sh: chromium,
# poppler-utils, playwright-core; apt-get needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-report: FAIL: $*" >&2; exit 1; }

scripts/chromium.sh >&2

if (( $# == 0 )); then
    set -- $(for p in pipelines/*.toml; do basename "$p" .toml; done)
fi

for pipeline in "$@"; do
    run="runs/$pipeline"
    html="$run/report.html"
    [[ -f $html ]] || fail "$html not found; run: cohortflow run $pipeline"
    out="${CHECK_REPORT_OUT:+$CHECK_REPORT_OUT/$pipeline}"
    out="${out:-$run/browser}"
    mkdir -p "$out"
    echo "check-report: $html"

    # Self-contained: no external scripts, styles, fonts or images.
    if grep -Eqi '<script|<link |@import|url\([^#)]|src="|href="https?:' "$html"; then
        fail "$html refers to an external resource or contains a script"
    fi
    need() { grep -q -- "$1" "$html" || fail "$html lacks $2"; }
    need '<h1>' "a title"
    need 'Table 1' "Table 1"
    need 'Number at risk' "a numbers-at-risk table"
    need 'Patient flow' "the flow diagram section"
    figures=$(grep -c '<figure' "$html" || true)
    (( figures >= 2 )) || fail "expected figures, found $figures"

    node scripts/browser/check.mjs "$html" "$out" || fail "$html: the browser checks above failed"

    # The printed PDF: a sane number of pages, no page ending on a heading.
    pages=$(pdfinfo "$out/report.pdf" | awk '/^Pages:/ {print $2}')
    (( pages >= 3 && pages <= 80 )) || fail "$out/report.pdf has $pages pages"
    pdftotext -layout "$out/report.pdf" "$out/report.txt"
    # pdftotext ends every page with a form feed: one awk record per page.
    stranded=$(awk -v headings="$out/headings.txt" '
        BEGIN {
            while ((getline h < headings) > 0) { gsub(/^ +| +$/, "", h); if (h != "") head[h] = 1 }
            RS = "\f"
        }
        {
            n = split($0, lines, "\n"); last = ""
            for (i = n; i >= 1; i--) { l = lines[i]; gsub(/^ +| +$/, "", l); if (l != "") { last = l; break } }
            if (last in head) printf "page %d ends with \"%s\"; ", NR, last
        }' "$out/report.txt")
    [[ -z $stranded ]] || fail "$out/report.pdf: a heading is stranded at the bottom of a page: $stranded"
    echo "check-report: OK: $html ($figures figures; printed on $pages A4 pages, no page ends with a heading); screenshots $out/report-1280.png, $out/report-420.png"
done
