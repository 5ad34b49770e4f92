#!/usr/bin/zsh -f
# What zsh's completion offers for command lines, with a completion file: an interactive zsh on
# a pseudo-terminal (zsh/zpty) loads FILE from fpath through compinit, as an installed
# _instaccessctl is loaded; for each LINE it types LINE and Tab and prints one line: the words
# the completion added, space-separated. compadd is wrapped to report the words, and Tab is
# bound to a widget that marks the end of each completion, so the output is read up to it.
# Usage: zsh_complete.zsh FILE LINE...
zmodload zsh/zpty || exit 1
file=$1
shift
dir=$(mktemp -d) || exit 1
trap 'zpty -d z 2>/dev/null; rm -rf $dir' EXIT
cp $file $dir/_instaccessctl

zpty z zsh -f -i
zpty -w z "PS1=''; fpath=($dir \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a hits; builtin compadd -A hits "$@"; local h
  for h in $hits; do print -r -- "<<$h>>" >/dev/tty; done
  builtin compadd "$@"
}'
zpty -w z '_tab() { zle complete-word; print -r -- "<<DO""NE>>" >/dev/tty }; zle -N _tab; bindkey "^I" _tab'
zpty -w z "print -r -- REA''DY"

# Reads the pty until `marker` or 10 s; the text read in $out.
read_until() {
  local marker=$1 line
  integer deadline=$((SECONDS + 10))
  out=
  while ((SECONDS < deadline)) && [[ $out != *$marker* ]]; do
    if zpty -r -t z line; then out+=$line; else sleep 0.02; fi
  done
  [[ $out == *$marker* ]]
}

read_until READY || { print -u2 "zsh did not start"; exit 1; }
for line in "$@"; do
  zpty -w -n z "$line"$'\t'
  read_until '<<DONE>>' || { print -u2 "no completion for '$line': $out"; exit 1; }
  print -r -- ${(j: :)${(u)${(M)${(f)"$(print -r -- $out | grep -ao '<<[^>]*>>')"}:#<<*>>}//(<<|>>)/}:#DONE}
  zpty -w -n z $'\C-u'
done
