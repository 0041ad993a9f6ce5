#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (tests marked `browser`).
# Why Debian's package: `playwright install` downloads browser builds from a CDN, which is not
# reachable here; Playwright drives the system binary via executable_path="/usr/bin/chromium".
# Idempotent: does nothing when /usr/bin/chromium already exists.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk
/usr/bin/chromium --version
