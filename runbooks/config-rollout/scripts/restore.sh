#!/bin/sh
# Puts the previous file back (or removes a file that did not exist before) and reloads.
set -eu
dest=$OPSBOOK_PARAM_DEST
if [ -e "$dest.opsbook-prev" ]; then
  mv -f -- "$dest.opsbook-prev" "$dest"
  echo "restored the previous $dest"
elif [ -e "$dest.opsbook-absent" ]; then
  rm -f -- "$dest" "$dest.opsbook-absent"
  echo "removed $dest, which did not exist before"
else
  echo "nothing to restore for $dest"
fi
if [ -n "$OPSBOOK_PARAM_RELOAD_UNIT" ]; then
  systemctl reload -- "$OPSBOOK_PARAM_RELOAD_UNIT"
  echo "reloaded $OPSBOOK_PARAM_RELOAD_UNIT"
fi
