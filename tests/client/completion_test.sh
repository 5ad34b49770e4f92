#!/bin/bash
# The shipped completions against the binary: every command and option that instaccessctl's
# --help prints, command by command, is offered by the bash completion (its function run without
# bash-completion loaded) and by the zsh completion (typed with Tab into an interactive zsh that
# loaded it through compinit: zsh_complete.zsh), so neither can drift from the binary. Then
# typical lines (option values, global options after the command), and zsh loading the file
# when sourced after compinit.
# Usage: completion_test.sh BASH_FILE ZSH_FILE INSTACCESSCTL
set -u
bash_file=$1 zsh_file=$2 ctl=$3
here=$(dirname "$0")
source "$bash_file" || exit 1
fail=0
say() {
  echo "FAIL: $*"
  fail=1
}

complete_line() {  # complete_line "LINE": COMPREPLY for the last word of LINE
  read -ra COMP_WORDS <<<"$1"
  [[ $1 == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _instaccessctl
}
expect() {  # expect "LINE" WORD...: completing the last word of LINE offers each WORD
  local line=$1
  shift
  complete_line "$line"
  for w in "$@"; do
    [[ " ${COMPREPLY[*]} " == *" $w "* ]] || say "'$line' offers (${COMPREPLY[*]}), not $w"
  done
}

# What --help of "instaccessctl PATH" lists: "sub NAME" and "opt NAME" lines (-h aside).
help_of() {
  # shellcheck disable=SC2086
  "$ctl" $1 --help | awk '
    /^Options:/ { s = "opt"; next }
    /^Subcommands:/ { s = "sub"; next }
    /^[^ ]/ { s = "" }
    s == "opt" && /^  -/ { n = split($1, names, ","); for (i = 1; i <= n; i++) if (names[i] != "-h") print "opt", names[i] }
    s == "sub" && /^  [a-z]/ { print "sub", $1 }'
}

# zsh: lines to complete and the words each must offer, run in one zsh at the end.
zsh_lines=() zsh_wants=()
zsh_expect() {  # zsh_expect "LINE" WORD...
  zsh_lines+=("$1")
  shift
  zsh_wants+=("$*")
}

globals=$(help_of "" | awk '$1 == "opt" && $2 != "--help" && $2 != "--version" { print $2 }')
[[ $globals == *--socket* && $globals == *--json* ]] || say "no global options in --help: $globals"

# Every command path, breadth first: "", "issue", ..., "keys", "keys list", ...
paths=("")
checked=0
while ((${#paths[@]})); do
  path=${paths[0]}
  paths=("${paths[@]:1}")
  subs=() opts=()
  while read -r kind name; do
    if [[ $kind == sub ]]; then subs+=("$name"); else opts+=("$name"); fi
  done < <(help_of "$path")
  checked=$((checked + 1))
  if ((${#subs[@]})); then
    # The root and the groups: their commands after "PATH ".
    expect "instaccessctl $path${path:+ }" "${subs[@]}"
    zsh_expect "instaccessctl $path${path:+ }" "${subs[@]}"
    for s in "${subs[@]}"; do paths+=("$path${path:+ }$s"); done
  elif [[ -n $path ]]; then
    # A command: its options and the global ones after "PATH -".
    # shellcheck disable=SC2086
    expect "instaccessctl $path -" "${opts[@]}" $globals
    # shellcheck disable=SC2086
    zsh_expect "instaccessctl $path -" "${opts[@]}" $globals
  fi
done
((checked >= 15)) || say "only $checked commands found in --help"
[[ " ${zsh_lines[*]} " == *"instaccessctl keys show -"* ]] || say "keys show not walked"

# Typical lines: values of options, global options before and after the command.
typical() {  # typical "LINE" WORD...: both shells offer each WORD
  expect "$@"
  zsh_expect "$@"
}
typical "instaccessctl keys import --purpose sig --" --kid --issuer --allow-own-issuer --max-lifetime --pin
typical "instaccessctl keys import --max-lifetime " 15m 1h
typical "instaccessctl keys export some-kid --" --pem --jwk --json --socket
typical "instaccessctl keys rotate " sig enc both
typical "instaccessctl --socket /x keys import --purpose " sig enc
typical "instaccessctl keys import --alg RSA-" RSA-OAEP RSA-OAEP-256
typical "instaccessctl keys list --state " pending active retired destroyed revoked
typical "instaccessctl keys list --purpose " sig enc
typical "instaccessctl keys list --socket /x --" --purpose --state --json
typical "instaccessctl status --" --json --socket --timeout --quiet
typical "instaccessctl decrypt --" --file --json
typical "instaccessctl issue --claim masq" masq_sub= masq_shard=
typical "instaccessctl --json k" keys
expect "instaccessctl " --json --socket
zsh_expect "instaccessctl -" --json --socket --timeout --version
expect "instaccessctl decrypt " -

# zsh: the completion as compinit loads it from fpath, line by line.
mapfile -t got < <(zsh -f "$here/zsh_complete.zsh" "$zsh_file" "${zsh_lines[@]}")
((${#got[@]} == ${#zsh_lines[@]})) || say "zsh answered ${#got[@]} of ${#zsh_lines[@]} lines"
for i in "${!zsh_lines[@]}"; do
  for w in ${zsh_wants[i]}; do
    [[ " ${got[i]:-} " == *" $w "* ]] || say "zsh: '${zsh_lines[i]}' offers (${got[i]:-}), not $w"
  done
done

# zsh also takes the file sourced after compinit (not from fpath), and parses it cleanly.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
loaded=$(HOME=$tmp zsh -fc "autoload -U compinit; compinit -u -D; source '$zsh_file';
  print -r -- \$_comps[instaccessctl]" 2>&1)
[[ $loaded == _instaccessctl ]] || say "zsh source after compinit: '$loaded'"
zsh -n "$zsh_file" || say "zsh -n $zsh_file"

[[ $(complete -p instaccessctl) == *_instaccessctl* ]] || say "bash: not registered"
exit $fail
