#!/bin/sh
# Prints the last OPSBOOK_PARAM_LINES journal lines of OPSBOOK_PARAM_UNIT, when a unit is given.
set -u
if [ -z "${OPSBOOK_PARAM_UNIT:-}" ]; then
  echo "no unit given: journal skipped"
elif command -v journalctl >/dev/null 2>&1; then
  journalctl --no-pager -n "$OPSBOOK_PARAM_LINES" -u "$OPSBOOK_PARAM_UNIT"
else
  echo "journalctl is not available on this host"
fi
