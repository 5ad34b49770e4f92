#!/usr/bin/env bash
# Builds the libFuzzer targets (preset "fuzz", clang++-14) and runs the token fuzzer for about a
# minute on a scratch copy of the seed corpus. Exits non-zero if the fuzzer finds a crash, a leak,
# a sanitizer report or a broken invariant; the reproducer is kept in build/fuzz/artifacts/.
#   FUZZ_SECONDS=600 bash tests/fuzz/run.sh    # a longer run
set -euo pipefail

cd "$(dirname "$0")/../.."
seconds="${FUZZ_SECONDS:-60}"

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target token_fuzzer

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp tests/fuzz/corpus/* "$work/"
artifacts="build/fuzz/artifacts"
mkdir -p "$artifacts"
# The preset builds UBSan in recover mode; make any report fatal here so it fails the run.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

# -timeout: one input taking 10 s is a hang worth reporting (an RSA operation takes ~1 ms).
# -max_len: a little over the 16 KiB token limit, so the size check itself is exercised.
build/fuzz/tests/fuzz/token_fuzzer "$work" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=17000 \
  -artifact_prefix="$artifacts/" -print_final_stats=1
echo "token_fuzzer: no crash in ${seconds}s"
