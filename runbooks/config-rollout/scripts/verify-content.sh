#!/bin/sh
# The content to install must decode to the sha256 the senior approved.
set -eu
actual=$(printf '%s' "$OPSBOOK_PARAM_CONTENT_BASE64" | base64 -d | sha256sum | cut -d' ' -f1)
if [ "$actual" != "$OPSBOOK_PARAM_SHA256" ]; then
  echo "content decodes to sha256 $actual, approved $OPSBOOK_PARAM_SHA256" >&2
  exit 1
fi
echo "content sha256 $actual matches the approval"
