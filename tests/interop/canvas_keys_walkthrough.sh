#!/bin/bash
# The two walkthroughs of docs/operations.md, "Bringing in Canvas's existing keys", run as written
# against the real daemon (issue 26), so the commands there keep working.
#
# Usage: canvas_keys_walkthrough.sh INSTACCESSD INSTACCESSCTL JOSE_TOOL docs/operations.md
#
# The section's `sh` blocks are taken from the document and run one after the other with bash
# (-euo pipefail) in a directory holding the keys they name, with S set to the daemon's socket and
# instaccessctl on PATH; the `toml` blocks of a walkthrough are its daemon's configuration. Canvas
# is played by jose_tool, which makes tokens exactly as Canvas's inst_access gem does (--canvas).
# What the blocks should have achieved is then checked here, apart from the blocks' own output.
set -euo pipefail

DAEMON=$(realpath "$1")
CTL=$(realpath "$2")
JOSE=$(realpath "$3")
DOC=$(realpath "$4")
PATH="$(dirname "$CTL"):$PATH"
export PATH
command -v instaccessctl >/dev/null || { echo "FAIL: no instaccessctl next to $CTL"; exit 1; }

failures=0
checks=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  checks=$((checks + 1))
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}

WORK=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The blocks of one walkthrough ("### HEADING" inside the section) of kind LANG (sh, toml), each
# followed by a line "#--- end of block N".
blocks() {  # blocks HEADING LANG
  awk -v heading="### $1" -v lang="$2" '
    /^## / { in_section = ($0 == "## Bringing in Canvas'"'"'s existing keys"); sub_ok = 0; next }
    !in_section { next }
    /^### / { sub_ok = ($0 == heading); next }
    !sub_ok { next }
    in_block && /^```$/ { in_block = 0; n++; print "#--- end of block " n; next }
    in_block { print; next }
    $0 == "```" lang { in_block = 1 }
  ' "$DOC"
}

# The toml blocks of a walkthrough, as one configuration file.
config_of() {  # config_of HEADING
  blocks "$1" toml | grep -v '^#--- end of block' || true
}

# A daemon in DIR on the embedded default (socket var/instaccessd.sock) plus the configuration
# TOML; returns once /healthz answers 200 (polled, with a deadline).
start_daemon() {  # start_daemon DIR TOML
  local dir=$1
  printf '%s\n' "$2" > "$dir/instaccessd.toml"
  (cd "$dir" && exec "$DAEMON" </dev/null >/dev/null 2>"$dir/instaccessd.stderr") &
  pid=$!
  local deadline=$((SECONDS + 30))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$dir/var/instaccessd.sock" \
               http://localhost/healthz 2>/dev/null)" = 200 ]; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "FAIL daemon never became healthy:"
      cat "$dir/instaccessd.stderr"
      exit 1
    fi
    sleep 0.1  # polling the condition above, not waiting for it to hold
  done
}

stop_daemon() {
  kill -TERM "$pid"
  local st=0
  wait "$pid" || st=$?
  pid=
  check "daemon drains and exits 0 (exit $st)" test "$st" = 0
}

# Run the walkthrough's sh blocks in DIR, each with bash -euo pipefail, echoing what ran.
run_blocks() {  # run_blocks DIR HEADING
  local dir=$1 heading=$2 n=0
  local all
  all=$(blocks "$heading" sh)
  check "\"$heading\" has sh blocks in $DOC" test -n "$all"
  local block=""
  while IFS= read -r line; do
    if [[ $line == "#--- end of block "* ]]; then
      n=$((n + 1))
      echo "---- $heading, block $n:"
      printf '%s' "$block" | sed 's/^/  $ /'
      local st=0
      (cd "$dir" && bash -euo pipefail -c "$block") > "$dir/block$n.out" 2>&1 || st=$?
      sed 's/^/  > /' "$dir/block$n.out"
      check "block $n runs as written (exit $st)" test "$st" = 0
      block=""
    else
      block+="$line"$'\n'
    fi
  done <<< "$all"
}

# The keys an operator brings: Canvas's signing key, the gateway's encryption key pair.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/canvas-signing.pem" \
  2>/dev/null
openssl genrsa -traditional -out "$WORK/gateway-encryption.pem" 2048 2>/dev/null
openssl pkey -in "$WORK/gateway-encryption.pem" -pubout -out "$WORK/gateway-public.ref.pem"
openssl pkey -in "$WORK/canvas-signing.pem" -pubout -out "$WORK/canvas-public.ref.pem"
sub=Wq6Hh1ZaEV6tRsVbIoJtYXWVajG1m8y2qXQZ2cDb
claims=$(jq -nc --arg sub "$sub" '{sub: $sub, acct: "K3tCmB7tzgWnB3nHdS7PFDMmp0tIf3yHqgmXj0x1",
  canvas_domain: "canvas.example.edu", client_id: 170000000000123, instructure_service: true}')
# The JWE header of a token, decoded.
header() { cut -d. -f1 <<< "$1" | tr '_-' '/+' | { read -r h; printf '%s%s' "$h" \
  "$(printf '=%.0s' $(seq 1 $(((4 - ${#h} % 4) % 4))))"; } | base64 -d; }

# --- (a) a gateway in front of a stock Canvas -----------------------------------------------------
A="A gateway in front of a stock Canvas"
dir="$WORK/gateway"
mkdir "$dir"
cp "$WORK/canvas-signing.pem" "$WORK/gateway-encryption.pem" "$dir/"
start_daemon "$dir" "$(config_of "$A")"
export S=var/instaccessd.sock
# Canvas's token, as Canvas makes it: signed with its key, encrypted to the gateway's, no kid.
TOKEN=$("$JOSE" issue --sig "$WORK/canvas-signing.pem:RS256" \
          --enc "$WORK/gateway-public.ref.pem:RSA-OAEP" --claims "$claims" --canvas)
export TOKEN
check "Canvas's token has Canvas's JWE header" \
  test "$(header "$TOKEN")" = '{"alg":"RSA-OAEP","enc":"A128CBC-HS256"}'
run_blocks "$dir" "$A"
keys=$(curl -sS --unix-socket "$dir/$S" http://localhost/api/v1/keys)
check "gateway-enc is the active enc key, pinned, with its private part" \
  test "$(jq -c '[.keys[] | select(.purpose == "enc" and .state == "active")
                  | {kid, pin, has_private}]' <<< "$keys")" \
       = '[{"kid":"gateway-enc","pin":true,"has_private":true}]'
check "canvas-sig is a peer sig key bound to Canvas's issuer" \
  test "$(jq -c '.keys[] | select(.kid == "canvas-sig") | {purpose, origin, issuers}' \
          <<< "$keys")" = '{"purpose":"sig","origin":"peer","issuers":["instructure:inst_access"]}'
check "the listing block prints what the document shows" \
  grep -qxF "$(sed -n 's/^# \({"kid":"gateway-enc".*\)$/\1/p' < <(blocks "$A" sh))" \
  "$dir/block3.out"
check "the listing block's canvas-sig line too" \
  grep -qxF "$(sed -n 's/^# \({"kid":"canvas-sig".*\)$/\1/p' < <(blocks "$A" sh))" \
  "$dir/block3.out"
check "Canvas's token opens with canvas-sig and gateway-enc" \
  grep -qxF "{\"sub\":\"$sub\",\"sig_kid\":\"canvas-sig\",\"enc_kid\":\"gateway-enc\"}" \
  "$dir/block3.out"
check "the exported PEM is the gateway's public key" \
  cmp -s "$dir/gateway-encryption-public.pem" "$WORK/gateway-public.ref.pem"
check "the base64 line is that PEM, as Canvas's credentials hold it" \
  test "$(tail -n 1 "$dir/block4.out" | base64 -d)" = "$(cat "$WORK/gateway-public.ref.pem")"
check "the public key made from Canvas's signing key is its public key" \
  cmp -s "$dir/canvas-signing-public.pem" "$WORK/canvas-public.ref.pem"
foreign=$("$JOSE" issue --sig "$WORK/canvas-signing.pem:RS256" \
            --enc "$WORK/gateway-public.ref.pem:RSA-OAEP" --claims "$claims" --canvas \
            --issuer canvas.other.example)
check "Canvas's key with an iss outside its issuers -> invalid_token" \
  test "$(curl -sS --unix-socket "$dir/$S" -H 'Content-Type: application/json' \
            -d "{\"token\": \"$foreign\"}" http://localhost/api/v1/inst_access_tokens/decrypt |
          jq -r .error.code)" = invalid_token
stop_daemon

# --- (a), the alternative the prose gives: an issuer of our own, Canvas's accepted --------------
dir="$WORK/own-issuer"
mkdir -p "$dir"
start_daemon "$dir" '[tokens]
issuer = "gateway.example.edu"
accepted_issuers = ["gateway.example.edu", "instructure:inst_access"]'
(cd "$dir" &&
   instaccessctl -q --socket "$S" keys import --purpose enc --pem "$WORK/gateway-encryption.pem" \
     --activate --pin &&
   instaccessctl -q --socket "$S" keys import --purpose sig --pem "$WORK/canvas-public.ref.pem" \
     --issuer instructure:inst_access)
check "own issuer: Canvas's key imported without --allow-own-issuer opens Canvas's token" \
  test "$(cd "$dir" && printf '%s' "$TOKEN" | instaccessctl --json --socket "$S" decrypt | jq -r .claims.iss)" \
       = instructure:inst_access
stop_daemon

# --- (b) issuing in Canvas's place ----------------------------------------------------------------
B="Issuing in Canvas's place"
dir="$WORK/issuer"
mkdir "$dir"
cp "$WORK/canvas-signing.pem" "$dir/"
cp "$WORK/gateway-public.ref.pem" "$dir/gateway-encryption-public.pem"
start_daemon "$dir" "$(config_of "$B")"
check "the walkthrough's configuration is in effect" grep -qx 'include_kid = false' \
  "$dir/instaccessd.toml"
unset TOKEN
run_blocks "$dir" "$B"
# The last block leaves TOKEN in its shell; issue one more the same way to check it here.
TOKEN=$(cd "$dir" && instaccessctl --socket "$S" issue --sub 42 --acct 1)
check "the token has exactly Canvas's JWE header" \
  test "$(header "$TOKEN")" = '{"alg":"RSA-OAEP","enc":"A128CBC-HS256"}'
opened=$("$JOSE" open --sig "$WORK/canvas-public.ref.pem:RS256" \
           --enc "$WORK/gateway-encryption.pem:RSA-OAEP" <<< "$TOKEN" || true)
check "the gateway opens it with its key and Canvas's public signing key" \
  test "$(jq -c '[.claims.sub, .claims.acct, .claims.iss]' <<< "$opened" 2>/dev/null)" \
       = '["42","1","instructure:inst_access"]'
keys=$(curl -sS --unix-socket "$dir/$S" http://localhost/api/v1/keys)
check "canvas-sig is active and pinned, gateway-enc an active peer key" \
  test "$(jq -c '[.keys[] | select(.state == "active") | [.kid, .origin, .pin]] | sort' \
          <<< "$keys")" = '[["canvas-sig","imported",true],["gateway-enc","peer",false]]'
jwks=$(curl -sS --unix-socket "$dir/$S" http://localhost/.well-known/jwks.json)
check "JWKS publishes canvas-sig and never gateway-enc" \
  test "$(jq -c '[.keys[].kid | select(. == "canvas-sig" or . == "gateway-enc")]' <<< "$jwks")" \
       = '["canvas-sig"]'
check "the status block prints what the document shows" \
  grep -qxF "$(sed -n 's/^# \({"enc":.*\)$/\1/p' < <(blocks "$B" sh))" "$dir/block1.out"
stop_daemon

echo "$checks checks, $failures failed"
[ "$failures" = 0 ] && [ "$checks" -gt 0 ]
