#!/bin/bash
# The shipped bash completion, without bash-completion loaded: COMPREPLY for typical lines.
set -u
source "$1" || exit 1
fail=0
expect() {  # expect "LINE" WORD...: completing the last word of LINE offers each WORD
  local line=$1
  shift
  read -ra COMP_WORDS <<<"$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _instaccessctl
  for w in "$@"; do
    if [[ " ${COMPREPLY[*]} " != *" $w "* ]]; then
      echo "FAIL: '$line' offers (${COMPREPLY[*]}), not $w"
      fail=1
    fi
  done
}
expect "instaccessctl " issue decrypt jwks keys status backup audit schedule --json --socket
expect "instaccessctl --json k" keys
expect "instaccessctl keys " list rotate import export revoke
expect "instaccessctl keys import --purpose sig --" --kid --issuer --allow-own-issuer --max-lifetime --pin
expect "instaccessctl keys import --max-lifetime " 15m 1h
expect "instaccessctl keys export some-kid --" --pem --jwk
expect "instaccessctl keys rotate " sig enc both
expect "instaccessctl --socket /x keys import --purpose " sig enc
expect "instaccessctl keys import --alg RSA-" RSA-OAEP RSA-OAEP-256
expect "instaccessctl issue --" --sub --acct --claim --ttl
expect "instaccessctl issue --claim masq" masq_sub= masq_shard=
expect "instaccessctl audit " verify
expect "instaccessctl schedule " accept-clock
[[ $(complete -p instaccessctl) == *_instaccessctl* ]] || { echo "FAIL: not registered"; fail=1; }
exit $fail
