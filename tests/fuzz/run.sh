#!/usr/bin/env bash
# Builds the libFuzzer targets (preset "fuzz", clang++-14) and runs each for a bounded time on a
# scratch copy of its seed corpus (corpus/<target>/). Exits non-zero if any target finds a crash,
# a leak, a sanitizer report or a broken invariant; the reproducer is kept in
# build/fuzz/artifacts/<target>/ (replay it: build/fuzz/tests/fuzz/<target> <file>).
#   bash tests/fuzz/run.sh                      # CI: 30 s per target, about 4 minutes in all
#   FUZZ_SECONDS=600 bash tests/fuzz/run.sh     # longer
#   bash tests/fuzz/run.sh --long               # an hour per target, for local use
#   bash tests/fuzz/run.sh http_fuzzer ...      # only these targets
#   FUZZ_JOBS=1 bash tests/fuzz/run.sh          # build with one job (default: one per core)
set -euo pipefail

cd "$(dirname "$0")/../.."
seconds="${FUZZ_SECONDS:-30}"
if [[ "${1:-}" == "--long" ]]; then
  seconds=3600
  shift
fi
all=(token_fuzzer token_edit_fuzzer http_fuzzer body_fuzzer key_import_fuzzer config_fuzzer peer_jwks_fuzzer)
targets=("${@:-${all[@]}}")

# The longest input worth trying, per target: a little over the 16 KiB token limit where a
# token or a request carrying one is the input (so the size checks are exercised), less where the
# input is an edit, a key or a configuration file.
max_len() {
  case "$1" in
    token_edit_fuzzer) echo 2048 ;;
    key_import_fuzzer | config_fuzzer) echo 8192 ;;
    peer_jwks_fuzzer) echo 70000 ;;
    *) echo 17000 ;;
  esac
}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${FUZZ_JOBS:-$(nproc)}" --target "${targets[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The preset builds UBSan in recover mode; make any report fatal here so it fails the run.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

failed=()
for target in "${targets[@]}"; do
  mkdir -p "$work/$target" "build/fuzz/artifacts/$target"
  cp tests/fuzz/corpus/"$target"/* "$work/$target/"
  echo "== $target (${seconds}s)"
  # -timeout: one input taking 10 s is a hang worth reporting (an RSA operation takes ~1 ms).
  if build/fuzz/tests/fuzz/"$target" "$work/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
    -artifact_prefix="build/fuzz/artifacts/$target/" -print_final_stats=1 \
    >"$work/$target.log" 2>&1; then
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units)' "$work/$target.log" || true
  else
    tail -n 60 "$work/$target.log"
    failed+=("$target")
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: failed: ${failed[*]} (reproducers in build/fuzz/artifacts/)"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash in ${seconds}s each"
