#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian/Ubuntu machine: installs what the tests need (system packages,
# .venv with the package and its extras), then pytest. Real services (redis-server, weed mini, PulseAudio) are
# started by the tests themselves and stopped after them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test >/dev/null
export QT_QPA_PLATFORM=offscreen
# pytest exits 5 when it collected no test: that is a failure here too.
.venv/bin/python -m pytest "$@"
