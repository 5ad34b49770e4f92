#!/usr/bin/env bash
# Source coverage of each fuzz target (clang-14 source-based coverage): builds the targets with
# -fprofile-instr-generate -fcoverage-mapping (and libFuzzer's guidance, without sanitizers) in
# build/fuzz-cov, runs each for COVERAGE_SECONDS (default 60) from a scratch copy of its seed
# corpus, and prints llvm-cov-14's lines, functions and regions covered of the files that target
# is about, as the Markdown table docs/security.md shows.
#   bash tests/fuzz/coverage.sh                 # every target
#   COVERAGE_SECONDS=300 bash tests/fuzz/coverage.sh http_fuzzer
#   FUZZ_JOBS=1 bash tests/fuzz/coverage.sh     # build with one job (default: one per core)
set -euo pipefail

cd "$(dirname "$0")/../.."
seconds="${COVERAGE_SECONDS:-60}"
all=(token_fuzzer token_edit_fuzzer http_fuzzer body_fuzzer key_import_fuzzer config_fuzzer peer_jwks_fuzzer)
targets=("${@:-${all[@]}}")

# The files each target is about (paths from the source root).
files() {
  case "$1" in
    token_fuzzer | token_edit_fuzzer)
      echo jose/base64url.cc jose/compact.cc jose/content_cipher.cc jose/json_strict.cc \
        jose/jwe.cc jose/jws.cc jose/token.cc ;;
    http_fuzzer)
      echo ipc/http_parse.cc ipc/http_types.cc ipc/router.cc api/service.cc \
        api/token_handlers.cc api/keys_handlers.cc api/status_handlers.cc api/request_body.cc ;;
    body_fuzzer)
      echo api/request_body.cc api/token_handlers.cc api/keys_handlers.cc api/caller_claims.cc ;;
    key_import_fuzzer) echo jose/rsa_key.cc keystore/store_keyring.cc ;;
    config_fuzzer) echo daemon/config.cc ;;
    peer_jwks_fuzzer) echo peers/jwks_parse.cc ;;
  esac
}

build=build/fuzz-cov
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
  -DINSTACCESS_FUZZ=ON -DINSTACCESS_TESTS=OFF -DINSTACCESS_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link -fprofile-instr-generate -fcoverage-mapping" \
  >/dev/null
cmake --build "$build" -j "${FUZZ_JOBS:-$(nproc)}" --target "${targets[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "| target | files | lines | functions | regions |"
echo "|---|---|---|---|---|"
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  cp tests/fuzz/corpus/"$target"/* "$work/$target/"
  LLVM_PROFILE_FILE="$work/$target.profraw" "$build/tests/fuzz/$target" "$work/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" \
    >"$work/$target.log" 2>&1 || { tail -n 40 "$work/$target.log"; exit 1; }
  llvm-profdata-14 merge -sparse "$work/$target.profraw" -o "$work/$target.profdata"
  # The rows of the target's files, summed. Columns: file, regions, missed, cover, functions,
  # missed, executed, lines, missed, cover, ...
  read -r regions missed_regions functions missed_functions lines missed_lines < <(
    llvm-cov-14 report "$build/tests/fuzz/$target" -instr-profile="$work/$target.profdata" |
      awk -v files=" $(files "$target") " '
        { name = $1; sub(/^.*\.\.\//, "", name) }
        index(files, " " name " ") > 0 { r += $2; mr += $3; f += $5; mf += $6; l += $8; ml += $9 }
        END { print r, mr, f, mf, l, ml }')
  cover() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%d/%d (%.1f%%)", n - m, n, 100 * (n - m) / n }'; }
  echo "| $target | $(files "$target" | sed 's/ /, /g') | $(cover "$lines" "$missed_lines") |" \
    "$(cover "$functions" "$missed_functions") | $(cover "$regions" "$missed_regions") |"
done
