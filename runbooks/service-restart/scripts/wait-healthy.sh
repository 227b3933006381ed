#!/bin/sh
# Waits up to OPSBOOK_PARAM_SETTLE_SECONDS for the unit to be active and, when
# OPSBOOK_PARAM_HEALTH_URL is set, for the URL to answer with a 2xx or 3xx status.
set -u
unit=$OPSBOOK_PARAM_UNIT
url=${OPSBOOK_PARAM_HEALTH_URL:-}
deadline=$(( $(date +%s) + OPSBOOK_PARAM_SETTLE_SECONDS ))
while :; do
  if systemctl is-active --quiet -- "$unit"; then
    if [ -z "$url" ]; then echo "$unit is active"; exit 0; fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -- "$url" || echo 000)
    case $code in
      2??|3??) echo "$unit is active and $url answered $code"; exit 0 ;;
    esac
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$unit not healthy after ${OPSBOOK_PARAM_SETTLE_SECONDS}s" >&2
    systemctl status --no-pager --lines=20 -- "$unit" >&2
    exit 1
  fi
  sleep 2
done
