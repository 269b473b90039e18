#!/usr/bin/env bash
# Installs what scripts/check-report.sh needs to render the report in a real
# browser, each only when missing:
#   - Debian's chromium (/usr/bin/chromium);
#   - poppler-utils (pdfinfo, pdftotext: the printed PDF's pages);
#   - playwright-core, from the npm registry, at the version pinned in
#     scripts/browser/package-lock.json, into scripts/browser/node_modules
#     (not committed). It drives /usr/bin/chromium; it downloads no browser.
# apt-get needs root (CI and the developers' machines run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdfinfo >/dev/null 2>&1 || missing+=(poppler-utils)
if (( ${#missing[@]} )); then
    echo "chromium.sh: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v node >/dev/null 2>&1 || { echo "chromium.sh: node is needed (Node.js 18 or later)" >&2; exit 1; }

if [[ ! -d scripts/browser/node_modules/playwright-core ]]; then
    echo "chromium.sh: installing playwright-core (npm ci)" >&2
    (cd scripts/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo "chromium.sh: $(chromium --version 2>/dev/null | head -1); playwright-core $(node -p "require('./scripts/browser/node_modules/playwright-core/package.json').version")"
