#!/bin/sh
# Stands in for systemd-run where systemd is not PID 1 (the tests), for the options
# docs/operations.md uses: `systemd-run --wait --pipe [--quiet] [--collect] [--unit=NAME]
# [-p User=U] [-p Group=G] [-p LoadCredentialEncrypted=ID:FILE]... COMMAND...` runs COMMAND as
# a transient service would see it: each credential decrypted by systemd-creds into
# $CREDENTIALS_ROOT/UNIT (the test's /run/credentials), readable by U alone,
# CREDENTIALS_DIRECTORY naming it, COMMAND run as U:G with the terminal's stdio, its exit code
# returned, the directory removed. Any other option or property fails, so the document cannot
# rely on one this script would ignore.
set -eu
user=root group=root unit=run-u$$ creds=
while [ $# -gt 0 ]; do
  case $1 in
    --wait | --pipe | --quiet | --collect) shift ;;
    --unit=*) unit=${1#--unit=}; shift ;;
    -p)
      case $2 in
        User=*) user=${2#User=} ;;
        Group=*) group=${2#Group=} ;;
        LoadCredentialEncrypted=*) creds="$creds ${2#LoadCredentialEncrypted=}" ;;
        *) echo "systemd-run stand-in: property $2 is not supported" >&2; exit 99 ;;
      esac
      shift 2 ;;
    -*) echo "systemd-run stand-in: option $1 is not supported" >&2; exit 99 ;;
    *) break ;;
  esac
done
dir=$CREDENTIALS_ROOT/$unit.service
mkdir -m 0700 "$dir"
for c in $creds; do
  systemd-creds decrypt --name="${c%%:*}" "${c#*:}" "$dir/${c%%:*}"
  chmod 0400 "$dir/${c%%:*}"
done
chown -R "$user:$group" "$dir"
chmod 0500 "$dir"
rc=0
CREDENTIALS_DIRECTORY=$dir setpriv --reuid="$user" --regid="$group" --clear-groups "$@" || rc=$?
rm -rf "$dir"
exit $rc
