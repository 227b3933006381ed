#!/bin/sh
# Lists failed units; says so plainly on hosts without a running systemd (containers).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl --failed --no-legend --no-pager --plain
  echo "$(systemctl --failed --no-legend --plain | wc -l) failed unit(s)"
else
  echo "systemd is not running on this host: no unit states to report"
fi
