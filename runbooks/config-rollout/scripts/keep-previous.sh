#!/bin/sh
# Keeps the current file (or records that there was none) so that rollback can restore it.
set -eu
dest=$OPSBOOK_PARAM_DEST
if [ -e "$dest" ]; then
  cp -p -- "$dest" "$dest.opsbook-prev"
  rm -f -- "$dest.opsbook-absent"
  echo "kept $dest as $dest.opsbook-prev"
else
  : > "$dest.opsbook-absent"
  echo "$dest does not exist yet; rollback will remove it"
fi
