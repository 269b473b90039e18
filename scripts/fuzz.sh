#!/bin/sh
# Runs one cargo-fuzz target of fuzz/ for a number of seconds.
#
#   scripts/fuzz.sh TARGET [SECONDS] [extra libFuzzer options...]
#   scripts/fuzz.sh list
#
# TARGET is one of: csv xlsx dates cells pipeline (see docs/fuzzing.md).
# SECONDS defaults to 600. New inputs go to fuzz/corpus/TARGET (git-ignored),
# seeded from the committed fuzz/seeds/TARGET; a crash is written to
# fuzz/artifacts/TARGET/ and makes the script exit non-zero.
#
# cargo-fuzz needs nightly compiler features; RUSTC_BOOTSTRAP=1 lets the
# stable toolchain use them. The build is `--dev` (see fuzz/Cargo.toml for
# why) without a sanitizer: the code under test is safe Rust, and the
# findings are panics, overflows (debug assertions are on), hangs and
# out-of-memory.
set -eu
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
FLAGS="--dev --sanitizer none"

target="${1:?usage: scripts/fuzz.sh TARGET [SECONDS] [libFuzzer options...] (or: list)}"
if [ "$target" = list ]; then
    exec cargo fuzz list
fi
seconds="${2:-600}"
[ $# -ge 2 ] && shift 2 || shift 1

mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
cargo fuzz build $FLAGS "$target"
start=$(date +%s)
status=0
cargo fuzz run $FLAGS "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 "$@" || status=$?
echo "fuzz target $target ran $(( $(date +%s) - start )) s, exit status $status" >&2
exit $status
