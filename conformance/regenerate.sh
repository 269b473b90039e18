#!/bin/sh
# Regenerate every reference file in conformance/ from R.
#
# Installs R and the packages from Debian (needs root and network), then runs
# each conformance/*.R script from the repository root. The scripts read the
# data in fixtures/real/ and write conformance/<name>.json; each JSON records
# R.version.string and packageVersion("survival") of the run (matchit.json
# also packageVersion("MatchIt"): 4.5.1 from r-cran-matchit; competing.json
# also cmprsk 2.2.11 from r-cran-cmprsk; mgist_eligible.R and emulation.R read the XLSX
# export with r-cran-readxl). competing.R writes fixtures/real/mgus2.csv and
# melanoma.csv from the survival and MASS (r-cran-mass) packages; finegray.R
# reads them. haven.R (r-cran-haven) writes the SPSS, Stata and SAS test
# files of fixtures/statfiles/ and haven's reading of them (haven.json). The
# committed
# files were produced with R 4.2.2 Patched and survival 3.5.3 (Debian 12).
#
# Usage: conformance/regenerate.sh            (install, then regenerate)
#        SKIP_INSTALL=1 conformance/regenerate.sh   (R already installed)
set -eu
cd "$(dirname "$0")/.."

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    apt-get update
    apt-get install -y r-base-core r-cran-survival r-cran-matchit r-cran-cmprsk r-cran-mass r-cran-readxl r-cran-haven
fi

for script in conformance/*.R; do
    case "$script" in
        conformance/common.R) continue ;;
    esac
    echo "== $script"
    Rscript "$script"
done
