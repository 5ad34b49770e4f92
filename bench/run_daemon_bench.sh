#!/usr/bin/env bash
# Builds the release daemon and the load generator, runs the daemon on the embedded default in
# a temp dir, loads it over its socket, and prints the figures beside `openssl speed -multi`.
#   bench/run_daemon_bench.sh [--seconds N] [--connections N] [--rounds N]
# --rounds 5 repeats the whole measurement and prints the median: on a shared 2-core machine one
# round moves by up to 10%.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target instaccessd instaccess-bench-daemon | grep -v "^\[" || true
test -x build/release/bench/daemon/instaccess-bench-daemon
dir=$(mktemp -d)
trap 'kill $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true; rm -rf "$dir"' EXIT
(cd "$dir" && exec "$OLDPWD/build/release/daemon/instaccessd" 2>"$dir/daemon.log") &
daemon=$!
for _ in $(seq 200); do [[ -S "$dir/var/instaccessd.sock" ]] && break; sleep 0.05; done
build/release/bench/daemon/instaccess-bench-daemon --socket "$dir/var/instaccessd.sock" "$@"
