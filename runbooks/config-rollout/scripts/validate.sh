#!/bin/sh
# Runs the checker chosen by OPSBOOK_PARAM_CHECK against the installed configuration.
set -eu
dest=$OPSBOOK_PARAM_DEST
case $OPSBOOK_PARAM_CHECK in
  none) echo "no validator requested" ;;
  nginx) nginx -t ;;
  sshd) sshd -t ;;
  haproxy) haproxy -c -f "$dest" ;;
  json) python3 -m json.tool -- "$dest" > /dev/null && echo "$dest is valid JSON" ;;
  sudoers) visudo -c -f "$dest" ;;
  *) echo "unknown validator $OPSBOOK_PARAM_CHECK" >&2; exit 2 ;;
esac
