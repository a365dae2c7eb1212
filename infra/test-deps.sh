#!/usr/bin/env bash
# Installs what the test suite needs outside PyPI: Debian's Chromium (browser tests drive it
# through Playwright) and poppler-utils (pdftoppm turns PDF pages into PNG). Only when missing,
# and only where we can (root or passwordless sudo); otherwise the browser tests say why they skip.
set -u
need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
  echo "test-deps: cannot install ${need[*]} (not root, no sudo); those tests will skip" >&2
  exit 0
fi
echo "test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
