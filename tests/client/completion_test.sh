#!/bin/bash
# The shipped completions against the binary: every command and option that instaccessctl's
# --help prints is offered by the bash completion (run without bash-completion loaded) and named
# in the zsh completion's function for that command, so neither can drift from the binary; zsh
# loads its file both ways (autoloaded from fpath by compinit, and sourced). Then COMPREPLY for
# typical bash lines.
# Usage: completion_test.sh BASH_FILE ZSH_FILE INSTACCESSCTL
set -u
bash_file=$1 zsh_file=$2 ctl=$3
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

zsh_function() {  # the body of a function the zsh file defines, or nothing
  zsh -fc "source '$zsh_file' 2>/dev/null; (( \$+functions[$1] )) && functions $1"
}
defines() {  # defines TEXT OPTION: TEXT has an _arguments spec for OPTION ('--x[', '*--x[', {--x,-y}'[)
  grep -qE -- "['){,*]$2[[,}]" <<<"$1"
}

globals=$(help_of "" | awk '$1 == "opt" && $2 != "--help" && $2 != "--version" { print $2 }')
[[ $globals == *--socket* && $globals == *--json* ]] || say "no global options in --help: $globals"
zsh_main=$(zsh_function _instaccessctl)
for g in $globals; do
  defines "$zsh_main" "$g" || say "zsh: the global option $g is not in _instaccessctl"
done

# Every command path, depth first: "", "issue", "keys", "keys list", ...
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
  # bash: the subcommands after "PATH ", the options after "PATH -" (and the globals).
  if ((${#subs[@]})); then
    expect "instaccessctl $path${path:+ }" "${subs[@]}"
  fi
  if [[ -n $path ]] && ((${#subs[@]} == 0)); then
    # shellcheck disable=SC2086
    expect "instaccessctl $path -" "${opts[@]}" $globals
  fi
  # zsh: the command list of the root or a group, the function of a command.
  if ((${#subs[@]})); then
    list=$(zsh_function "_instaccessctl${path:+_}${path}_commands")
    [[ -n $list ]] || say "zsh: no _instaccessctl${path:+_}${path}_commands"
    for s in "${subs[@]}"; do
      grep -q "'$s:" <<<"$list" || say "zsh: '$path' does not list $s"
      paths+=("$path${path:+ }$s")
    done
  elif [[ -n $path ]]; then
    fn=_instaccessctl_cmd_${path// /_}
    fn=${fn//-/_}
    body=$(zsh_function "$fn")
    [[ -n $body ]] || say "zsh: no $fn for '$path'"
    [[ $body == *'$globals'* ]] || say "zsh: $fn does not take the global options"
    for o in "${opts[@]}"; do
      [[ $o == --help ]] && continue  # in $globals
      defines "$body" "$o" || say "zsh: $fn does not offer $o"
    done
  fi
done
((checked >= 15)) || say "only $checked commands found in --help"

# zsh loads the file: from fpath under its installed name (compinit reads #compdef), and sourced.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$zsh_file" "$tmp/_instaccessctl"
got=$(HOME=$tmp zsh -fc "fpath=('$tmp' \$fpath); autoload -U compinit; compinit -u -D;
  print -r -- \$_comps[instaccessctl]" 2>&1)
[[ $got == _instaccessctl ]] || say "zsh compinit from fpath: '$got'"
got=$(HOME=$tmp zsh -fc "autoload -U compinit; compinit -u -D; source '$zsh_file';
  print -r -- \$_comps[instaccessctl]" 2>&1)
[[ $got == _instaccessctl ]] || say "zsh source after compinit: '$got'"
zsh -n "$zsh_file" || say "zsh -n $zsh_file"

# Typical lines: values of options, global options before and after the command.
expect "instaccessctl " issue decrypt jwks keys status backup audit schedule --json --socket
expect "instaccessctl --json k" keys
expect "instaccessctl keys " list show rotate import export revoke
expect "instaccessctl keys import --purpose sig --" --kid --issuer --allow-own-issuer --max-lifetime --pin
expect "instaccessctl keys import --max-lifetime " 15m 1h
expect "instaccessctl keys export some-kid --" --pem --jwk --json --socket
expect "instaccessctl keys rotate " sig enc both
expect "instaccessctl --socket /x keys import --purpose " sig enc
expect "instaccessctl keys import --alg RSA-" RSA-OAEP RSA-OAEP-256
expect "instaccessctl keys list --state " pending active retired destroyed revoked
expect "instaccessctl keys list --purpose " sig enc
expect "instaccessctl status --" --json --socket --timeout --quiet
expect "instaccessctl decrypt " -
expect "instaccessctl decrypt --" --file --json
expect "instaccessctl issue --" --sub --acct --claim --ttl --json
expect "instaccessctl issue --claim masq" masq_sub= masq_shard=
expect "instaccessctl audit " verify
expect "instaccessctl schedule " accept-clock
[[ $(complete -p instaccessctl) == *_instaccessctl* ]] || say "bash: not registered"
exit $fail
