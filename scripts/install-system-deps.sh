#!/usr/bin/env bash
# System packages the test suite needs beyond Python: a headless Chromium for the console's browser tests.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "note: /usr/bin/chromium is missing and this user cannot apt-get; browser tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
