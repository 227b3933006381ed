#!/bin/sh
# Writes the content next to the destination, then renames it into place (atomic on one filesystem).
set -eu
dest=$OPSBOOK_PARAM_DEST
tmp=$(mktemp "$(dirname -- "$dest")/.opsbook-new.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
printf '%s' "$OPSBOOK_PARAM_CONTENT_BASE64" | base64 -d > "$tmp"
chmod "$OPSBOOK_PARAM_MODE" "$tmp"
if [ -e "$dest" ]; then chown --reference="$dest" "$tmp" 2>/dev/null || true; fi
mv -f -- "$tmp" "$dest"
trap - EXIT
echo "installed $dest ($(wc -c < "$dest") bytes, mode $OPSBOOK_PARAM_MODE)"
