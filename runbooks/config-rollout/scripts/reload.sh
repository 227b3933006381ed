#!/bin/sh
# Reloads OPSBOOK_PARAM_RELOAD_UNIT, when one is given.
set -eu
if [ -z "$OPSBOOK_PARAM_RELOAD_UNIT" ]; then
  echo "no unit to reload"
  exit 0
fi
systemctl reload -- "$OPSBOOK_PARAM_RELOAD_UNIT"
echo "reloaded $OPSBOOK_PARAM_RELOAD_UNIT"
