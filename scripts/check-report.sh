#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium and fails if the page
# does not render cleanly.
#
#   scripts/check-report.sh [PIPELINE] [OUT_DIR]
#
# PIPELINE defaults to mgist-cytoreduction; the run folder runs/PIPELINE must
# exist (cohortflow run PIPELINE). Writes OUT_DIR/report.png (a full-page
# screenshot, default: runs/PIPELINE/) and fails when
#   - Chromium logs a console error, a failed request or a JavaScript error;
#   - the rendered DOM lacks the report's parts (title, Table 1, one inline
#     SVG per figure, the numbers-at-risk tables) or shows a resource from
#     the network (the file must be self-contained);
#   - the screenshot is missing or empty.
# Installs Debian's chromium when it is missing (apt-get, needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

pipeline=${1:-mgist-cytoreduction}
run="runs/$pipeline"
out=${2:-$run}
html="$run/report.html"
[[ -f $html ]] || { echo "check-report: $html not found; run: cohortflow run $pipeline" >&2; exit 1; }
mkdir -p "$out"

if ! command -v chromium >/dev/null 2>&1; then
    echo "check-report: installing chromium" >&2
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

fail() { echo "check-report: FAIL: $*" >&2; exit 1; }

# Self-contained: no external scripts, styles, fonts or images.
if grep -Eqi '<script|<link |@import|url\([^#)]|src="|href="https?:' "$html"; then
    fail "$html refers to an external resource or contains a script"
fi

profile=$(mktemp -d)
logdir=$(mktemp -d)
trap 'rm -rf "$profile" "$logdir"' EXIT
url="file://$(realpath "$html")"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --hide-scrollbars --force-device-scale-factor=1)

# 1. The DOM after rendering, with the console on stderr.
chromium "${flags[@]}" --user-data-dir="$profile" --enable-logging=stderr --v=0 \
    --virtual-time-budget=5000 --dump-dom "$url" >"$logdir/dom.html" 2>"$logdir/console.log" || \
    fail "chromium could not render $html (see its log below)"$'\n'"$(tail -20 "$logdir/console.log")"

if grep -E 'CONSOLE|Uncaught|ERR_|Failed to load|net::' "$logdir/console.log" \
    | grep -Ev 'dbus|DevTools|gcm|GCM|sandbox|Fontconfig|bus.cc|fontconfig' >"$logdir/errors.log"; then
    cat "$logdir/errors.log" >&2
    fail "the page logged errors"
fi

dom="$logdir/dom.html"
need() { grep -q -- "$1" "$dom" || fail "rendered page lacks $2"; }
need '<h1>' "a title"
need 'Table 1' "Table 1"
need 'Number at risk' "a numbers-at-risk table"
need 'Patient flow' "the flow diagram section"
figures=$(grep -c '<figure' "$dom" || true)
svgs=$(grep -o '<svg' "$dom" | wc -l)
(( figures >= 2 )) || fail "expected figures, found $figures"
(( svgs >= figures )) || fail "$figures figures but $svgs inline SVGs"

# 2. A screenshot of the whole page: the CLI cannot size the window to the
# page, so the window is as tall as a report with this many figures gets
# (blank space below the end is harmless); CHECK_REPORT_HEIGHT overrides.
height=${CHECK_REPORT_HEIGHT:-$(( 3000 + 1600 * figures ))}
chromium "${flags[@]}" --user-data-dir="$profile" --virtual-time-budget=5000 \
    --screenshot="$out/report.png" --window-size=1280,"$height" "$url" \
    >"$logdir/shot.log" 2>&1 || fail "screenshot failed: $(tail -5 "$logdir/shot.log")"
[[ -s $out/report.png ]] || fail "empty screenshot"

echo "check-report: OK: $html renders ($figures figures, $svgs inline SVGs, no console errors); screenshot $out/report.png (1280x$height)"
