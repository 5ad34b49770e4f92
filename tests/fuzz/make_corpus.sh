#!/usr/bin/env bash
# Regenerates the committed seed corpora, one directory per target under corpus/. The token seeds
# are issued from keys/ with jose_tool (built by the normal test build); the others are written
# here, some around those tokens:
#   bash tests/fuzz/make_corpus.sh build/debug/tests/interop/jose_tool
# Tokens are issued at the fuzzers' fixed "now" (1700000000) so they open successfully there.
set -euo pipefail
tool="$(realpath "$1")"
cd "$(dirname "$0")"
k=keys
rm -rf corpus
mkdir -p corpus/{token_fuzzer,token_edit_fuzzer,http_fuzzer,body_fuzzer,key_import_fuzzer,config_fuzzer,peer_jwks_fuzzer}

# --- token_fuzzer: valid tokens of every shape, near-misses.
out=corpus/token_fuzzer
now=1700000000
claims='{"sub":"1~42","acct":"1~1","canvas_domain":"canvas.example.edu","masq_shard":1}'
issue() { "$tool" issue --now "$now" --claims "$claims" "$@" | tr -d '\n'; }
issue --sig $k/rs256.pem:RS256 --enc $k/rsa_oaep.pem:RSA-OAEP >$out/default_oaep_cbc
issue --sig $k/rs256.pem:RS256 --enc $k/rsa_oaep.pem:RSA-OAEP --canvas >$out/canvas_oaep_cbc
issue --sig $k/rs256.pem:RS256 --enc $k/rsa1_5.pem:RSA1_5 --canvas >$out/canvas_rsa1_5_cbc
issue --sig $k/ps256.pem:PS256 --enc $k/rsa_oaep_256.pem:RSA-OAEP-256 --content A256GCM \
  >$out/ps256_oaep256_gcm
issue --sig $k/rs256.pem:RS256 --enc $k/rsa1_5.pem:RSA1_5 --content A256GCM >$out/rsa1_5_gcm
issue --sig $k/rs256.pem:RS256 --no-encrypt >$out/bare_jws
issue --sig $k/rs256.pem:RS256 --enc $k/rsa_oaep.pem:RSA-OAEP --now $((now - 7200)) >$out/expired
printf 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' >$out/alg_none
printf '{"alg":"RS256","alg":"none"}' >$out/dup_json
printf 'a.b.c.d.e' >$out/five_parts
token="$(cat $out/default_oaep_cbc)"

# --- token_edit_fuzzer: [base][part][offset lo][offset hi][delete][insert...] (see its header).
out=corpus/token_edit_fuzzer
for part in 0 1 2 3 4 5 6 7 8 9; do
  printf "\\x00\\x$(printf %02x $part)\\x05\\x00\\x01A" >$out/flip_part$part
done
for base in 0 1 2 3 4; do printf "\\x$(printf %02x $base)\\x0a\\x00\\x00\\x00" >$out/claims_as_issued$base; done
claims_edit() { printf '\x00\x0a\x00\x00\xff%s' "$2" >"$out/$1"; }
claims_edit claims_minimal '{"iss":"instructure:inst_access","sub":"1~42","acct":"1~1","iat":1700000000,"exp":1700003600}'
claims_edit claims_expired '{"iss":"instructure:inst_access","sub":"1~42","acct":"1~1","iat":1699990000,"exp":1699993600}'
claims_edit claims_not_yet '{"iss":"instructure:inst_access","sub":"1~42","acct":"1~1","iat":1700000000,"nbf":1700001000,"exp":1700003600}'
claims_edit claims_no_acct '{"iss":"instructure:inst_access","sub":"1~42","iat":1700000000,"exp":1700003600}'
claims_edit claims_other_iss '{"iss":"evil","sub":"1~42","acct":"1~1","iat":1700000000,"exp":1700003600}'
claims_edit claims_long_life '{"iss":"instructure:inst_access","sub":"1~42","acct":"1~1","iat":1700000000,"exp":1700090000}'
claims_edit claims_float '{"iss":"instructure:inst_access","sub":"1~42","acct":"1~1","iat":1.7e9,"exp":1700003600.5}'

# --- http_fuzzer: requests as a client sends them.
out=corpus/http_fuzzer
get() { printf 'GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n' "$1" "${2:-}"; }
post() {
  printf 'POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "$1" "${#2}" "$2"
}
get /healthz >$out/healthz
get /.well-known/jwks.json >$out/jwks
get /.well-known/jwks.json 'If-None-Match: W/"x", *\r\n' >$out/jwks_etag
get /api/v1/keys >$out/keys
get /api/v1/status >$out/status
get /metrics >$out/metrics
get /api/v1/audit/verify >$out/audit_verify
get /api/v1/backup >$out/backup
get /api/v1/keys/nokid 'Accept: application/jwk+json\r\n' >$out/key_by_kid
get /api/v1/auth "Authorization: Bearer $token\r\n" >$out/auth
post /api/v1/inst_access_tokens '{"claims":{"sub":"1~42","acct":"1~1"},"ttl":600}' >$out/issue
post /api/v1/inst_access_tokens/decrypt "{\"token\":\"$token\"}" >$out/decrypt
post /api/v1/inst_access_tokens/decrypt "{\"token\":\"$token\",\"include_jws\":true}" >$out/decrypt_jws
post /api/v1/keys/rotate '{"purpose":"sig"}' >$out/rotate
post /api/v1/keys/nokid/revoke '' >$out/revoke
post /api/v1/schedule/accept-clock '{}' >$out/accept_clock
{ get /healthz 'Connection: keep-alive\r\n'; get /api/v1/keys; } >$out/pipelined
printf 'POST /api/v1/inst_access_tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"cl\r\n0\r\n\r\n' \
  >$out/chunked
printf 'GET /healthz HTTP/1.0\r\n\r\n' >$out/http10
printf 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n' >$out/bad_method

# --- body_fuzzer: [endpoint][body...]; endpoints in kEndpoints' order.
out=corpus/body_fuzzer
body() { printf "\\x$(printf %02x "$1")%s" "$3" >"$out/$2"; }
body 0 issue '{"claims":{"sub":"1~42","acct":"1~1","masq_shard":1},"ttl":600}'
body 0 issue_canvas '{"claims":{"sub":"1~42","acct":"1~1"},"shape":"canvas"}'
body 1 decrypt "{\"token\":\"$token\"}"
body 1 decrypt_spaced "{ \"token\" : \"$token\", \"include_jws\": true }"
body 2 auth "Bearer $token"
body 3 import_jwk '{"purpose":"enc","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"},"activate":false}'
body 3 import_pem "{\"purpose\":\"sig\",\"pem\":\"$(openssl pkey -in $k/ps256.pem -pubout | awk '{printf "%s\\n", $0}')\",\"issuers\":[\"https://partner.example\"],\"max_lifetime\":600}"
body 4 rotate '{"purpose":"enc"}'
body 5 revoke '{}'
body 6 accept_clock '{}'
body 128 wrong_type '{"token":"x"}'

# --- key_import_fuzzer: [flags][PEM or JWK]; flags in its header.
out=corpus/key_import_fuzzer
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
field() {  # the hex of one field of `openssl rsa -text`, as base64url
  openssl rsa -in "$1" -noout -text 2>/dev/null |
    awk -v f="$2:" '$1 == f {on = 1; next} /^[a-zA-Z]/ {on = 0} on' | tr -d ' :\n' |
    sed 's/^00//' | xxd -r -p | b64url
}
flags() { printf "\\x$(printf %02x "$1")"; }
{ flags 0; cat $k/rs256.pem; } >$out/pem_private_rs256
{ flags $((2 << 1)); openssl pkey -in $k/rsa_oaep.pem -pubout; } >$out/pem_public_oaep
{ flags $((2 << 1)); openssl rsa -in $k/rsa_oaep.pem -RSAPublicKey_out 2>/dev/null; } >$out/pem_pkcs1_public
{ flags $((4 << 1)); openssl rsa -in $k/rsa1_5.pem -traditional 2>/dev/null; } >$out/pem_pkcs1_private
{ flags $((1 | 0x20 | 0x40 | 2)); openssl pkey -in $k/ps256.pem -pubout; } >$out/import_peer_sig
n="$(field $k/rs256.pem modulus)"
{ flags $((1 | 7 << 1)); printf '{"kty":"RSA","alg":"RS256","n":"%s","e":"AQAB"}' "$n"; } >$out/jwk_public
{ flags 1; printf '{"kty":"RSA","n":"%s","e":"AQAB","d":"%s","p":"%s","q":"%s","dp":"%s","dq":"%s","qi":"%s"}' \
  "$n" "$(field $k/rs256.pem privateExponent)" "$(field $k/rs256.pem prime1)" \
  "$(field $k/rs256.pem prime2)" "$(field $k/rs256.pem exponent1)" \
  "$(field $k/rs256.pem exponent2)" "$(field $k/rs256.pem coefficient)"; } >$out/jwk_private
{ flags $((1 | 0x20 | 0x10 | 0x80 | 7 << 1)); printf '{"kty":"RSA","alg":"RSA-OAEP","kid":"gw-1","n":"%s","e":"AQAB"}' \
  "$(field $k/rsa_oaep_256.pem modulus)"; } >$out/import_peer_enc_active

# --- config_fuzzer: TOML as operators write it.
out=corpus/config_fuzzer
cat >$out/full.toml <<'TOML'
[daemon]
socket = "/run/instaccessd/instaccessd.sock"
socket_mode = "0660"
socket_group = "instaccess"
workers = 2
log_level = "info"

[store]
path = "/var/lib/instaccessd/keys.db"
master_key_file = "/etc/instaccessd/master-key"

[tokens]
issuer = "instructure:inst_access"
accepted_issuers = ["instructure:inst_access", "partner"]
required_claims = ["sub", "acct"]
default_ttl = "1h"
max_lifetime = "1h"
clock_skew = "60s"
include_kid = true
allow_unencrypted = false
accept_unencrypted = false

[rotation.sig]
alg = "RS256"
bits = 2048
period = "24h"
prepublish = "1h"

[rotation.enc]
alg = "RSA-OAEP"
content = "A128CBC-HS256"
bits = 3072
period = "7d"
prepublish = "1h"

[cache]
entries = 100000

[access]
issue = ["canvas", "group:www-data"]
decrypt = ["gateway"]
admin = []
read = ["*"]

[limits]
max_body = "64KiB"
max_header = "8KiB"
max_token = "16KiB"
max_connections = 1024
max_connections_per_uid = 64
read_timeout = "10s"
idle_timeout = "1m30s"
TOML
printf '[rotation.enc]\nperiod = "off"\n' >$out/rotation_off.toml
printf '[rotation.sig]\nperiod = "2h"\nprepublish = "30m"\n' >$out/short_period.toml
printf '[tokens]\nmax_lifetime = "15m"\n' >$out/short_lifetime.toml
printf '[limits]\nmax_body = 1048576\n' >$out/size_as_integer.toml
printf 'daemon.workers = 1\n[daemon]\nlog_level = "off"\n' >$out/dotted_key.toml
printf '[tokens]\nissuer = "a"\nissuer = "b"\n' >$out/duplicate_key.toml
printf '1h30m' >$out/duration
printf '64KiB' >$out/size
du -sh corpus; find corpus -type f | wc -l

# --- peer_jwks_fuzzer: [flags][JWKS]; bit 0 of flags: use sig (else enc), bit 1: RSA1_5 allowed.
out=corpus/peer_jwks_fuzzer
mkdir -p $out
/usr/bin/python3 - "$k" "$out" <<'PY'  # Debian's python3-jwcrypto
import json, sys
from jwcrypto import jwk
keys, out = sys.argv[1], sys.argv[2]
def pub(name, alg, use, kid):
    key = jwk.JWK.from_pem(open(f"{keys}/{name}.pem", "rb").read())
    j = json.loads(key.export_public())
    j.update(alg=alg, use=use, kid=kid)
    return j
enc = pub("rsa_oaep", "RSA-OAEP", "enc", "enc-new")
old = pub("rsa1_5", "RSA-OAEP", "enc", "enc-old")
sig = pub("rs256", "RS256", "sig", "sig-1")
v15 = pub("rsa1_5", "RSA1_5", "enc", "enc-v15")
seeds = {
    "enc_daemon_jwks": (0, {"keys": [sig, enc, old]}),
    "sig_daemon_jwks": (1, {"keys": [sig, enc]}),
    "enc_rsa1_5_allowed": (2, {"keys": [v15]}),
    "enc_empty": (0, {"keys": []}),
    "sig_private_member": (1, {"keys": [dict(sig, d="AQAB")]}),
    "enc_duplicate_kid": (0, {"keys": [enc, dict(old, kid="enc-new")]}),
}
for name, (flags, doc) in seeds.items():
    with open(f"{out}/{name}", "wb") as f:
        f.write(bytes([flags]) + json.dumps(doc).encode())
PY
