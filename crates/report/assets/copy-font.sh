#!/usr/bin/env bash
# Copies the font the report's figures embed (DejaVu Sans, from Debian's
# fonts-dejavu-core) and its license into this folder. Run by hand when the
# font should change; the build and the run never need the package, only the
# committed copy (crates/report/src/plot.rs include_bytes! it).
set -euo pipefail
cd "$(dirname "$0")"
pkg=fonts-dejavu-core
if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    apt-get update && apt-get install -y "$pkg"
fi
cp /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf .
cp /usr/share/doc/$pkg/copyright DejaVuSans.LICENSE
dpkg-query -W -f='${Package} ${Version}\n' "$pkg" > DejaVuSans.SOURCE
sha256sum DejaVuSans.ttf >> DejaVuSans.SOURCE
