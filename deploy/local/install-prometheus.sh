#!/usr/bin/env bash
# Install Debian's prometheus (server + promtool) for `make promtool` and the real-Prometheus
# integration test (tests/integration/test_prometheus.py).
# Why Debian's package: release tarballs come from a download site that is not reachable here,
# and the package puts both binaries on PATH. Only the binaries are used: the test starts its
# own server on a free port with a temporary config, so the package's service is stopped.
# Idempotent and quiet: does nothing when both binaries are already on PATH.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
# policy-rc.d 101 = "do not start services": the package would otherwise start a server on :9090
# (where one can start at all), which nothing here uses.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
echo "installed: $(prometheus --version 2>&1 | head -1)"
