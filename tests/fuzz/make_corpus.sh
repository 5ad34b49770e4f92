#!/usr/bin/env bash
# Regenerates the committed seed corpus from keys/ with jose_tool (built by the normal test build):
#   bash tests/fuzz/make_corpus.sh build/jose/tests/interop/jose_tool
# Seeds are issued at the fuzzer's fixed "now" (1700000000) so they open successfully there.
set -euo pipefail
tool="$(realpath "$1")"
cd "$(dirname "$0")"
k=keys
out=corpus
rm -rf "$out"
mkdir -p "$out"
now=1700000000
claims='{"sub":"1~42","acct":"1~1","canvas_domain":"canvas.example.edu","masq_shard":1}'
issue() { "$tool" issue --now "$now" --claims "$claims" "$@"; }
issue --sig $k/rs256.pem:RS256 --enc $k/rsa_oaep.pem:RSA-OAEP >$out/default_oaep_cbc
issue --sig $k/rs256.pem:RS256 --enc $k/rsa_oaep.pem:RSA-OAEP --canvas >$out/canvas_oaep_cbc
issue --sig $k/rs256.pem:RS256 --enc $k/rsa1_5.pem:RSA1_5 --canvas >$out/canvas_rsa1_5_cbc
issue --sig $k/ps256.pem:PS256 --enc $k/rsa_oaep_256.pem:RSA-OAEP-256 --content A256GCM \
  >$out/ps256_oaep256_gcm
issue --sig $k/rs256.pem:RS256 --enc $k/rsa1_5.pem:RSA1_5 --content A256GCM >$out/rsa1_5_gcm
issue --sig $k/rs256.pem:RS256 --no-encrypt >$out/bare_jws
issue --sig $k/rs256.pem:RS256 --enc $k/rsa_oaep.pem:RSA-OAEP --now $((now - 7200)) \
  >$out/expired
# A few near-misses and plain structures.
printf 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' >$out/alg_none
printf '{"alg":"RS256","alg":"none"}' >$out/dup_json
printf 'a.b.c.d.e' >$out/five_parts
for f in $out/*; do tr -d '\n' <"$f" >"$f.tmp" && mv "$f.tmp" "$f"; done
ls -l $out
