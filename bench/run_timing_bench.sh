#!/usr/bin/env bash
# Builds the release daemon and instaccess-bench-timing, then, for the enc algs RSA1_5 and
# RSA-OAEP in turn, runs a daemon in a temp dir that issues kid-less tokens and keeps no decrypt
# cache, and times kid-less tokens failing in different ways through its socket
# (docs/security.md). Prints figures; asserts nothing about time.
#   bench/run_timing_bench.sh [--seconds N] [--warmup N]
# BUILD_DIR (default build/release) is the release build directory to use.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath -m "${BUILD_DIR:-build/release}")
cmake --preset release -B "$build" >/dev/null
cmake --build "$build" --target instaccessd instaccess-bench-timing | grep -v "^\[" || true
test -x "$build/bench/daemon/instaccess-bench-timing"
daemon=
dir=
stop() {
  if [[ -n $daemon ]]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  if [[ -n $dir ]]; then rm -rf "$dir"; fi
  daemon=''
  dir=''
}
trap stop EXIT
for alg in RSA1_5 RSA-OAEP; do
  dir=$(mktemp -d)
  # The daemon trusts ./instaccessd.toml only when group and others cannot write it.
  (umask 022 && cat >"$dir/instaccessd.toml" <<TOML
[tokens]
include_kid = false

[rotation.enc]
alg = "$alg"

[cache]
entries = 0
TOML
  )
  (cd "$dir" && exec "$build/daemon/instaccessd" 2>"$dir/daemon.log") &
  daemon=$!
  for _ in $(seq 200); do [[ -S "$dir/var/instaccessd.sock" ]] && break; sleep 0.05; done
  if [[ ! -S "$dir/var/instaccessd.sock" ]]; then cat "$dir/daemon.log" >&2; exit 1; fi
  echo "== $alg"
  "$build/bench/daemon/instaccess-bench-timing" --socket "$dir/var/instaccessd.sock" "$@"
  echo
  stop
done
