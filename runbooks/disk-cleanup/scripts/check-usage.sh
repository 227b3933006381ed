#!/bin/sh
# Fails when the filesystem holding OPSBOOK_PARAM_PATH is fuller than OPSBOOK_PARAM_MAX_USED_PERCENT.
set -eu
used=$(df -P -- "$OPSBOOK_PARAM_PATH" | awk 'NR == 2 { sub("%", "", $5); print $5 }')
echo "used ${used}% (limit ${OPSBOOK_PARAM_MAX_USED_PERCENT}%) on the filesystem of $OPSBOOK_PARAM_PATH"
[ "$used" -le "$OPSBOOK_PARAM_MAX_USED_PERCENT" ]
