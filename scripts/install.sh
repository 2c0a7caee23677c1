#!/usr/bin/env bash
# Installs memo-desktop on a Debian/Ubuntu machine: system libraries, a virtualenv at .venv, the package with
# its extras, and the app's menu entry for this user (memo-desktop install-desktop). Idempotent; safe to run again.
# Usage: scripts/install.sh [--test]  (--test adds what the tests need and leaves the user's desktop menu alone)
set -euo pipefail
cd "$(dirname "$0")/.."

runtime_pkgs=(libportaudio2 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0
  libxcb-xinerama0 libxcb-xkb1 fonts-dejavu-core python3-venv)
# chromium: the browser Playwright drives (never its own download); prometheus: a real scraper and promtool
test_pkgs=(pulseaudio pulseaudio-utils libasound2-plugins alsa-utils espeak-ng sox xvfb xauth redis-server
  desktop-file-utils appstream systemd binutils  # validators, systemd-analyze, objdump (PyInstaller)
  chromium prometheus)
# the bundle test freezes this Python with PyInstaller, which needs its shared library (Debian packages it apart)
if [[ $(python3 -c 'import sys; print(sys.executable)') == /usr/bin/* ]]; then
  test_pkgs+=("libpython$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')")
fi

want=("${runtime_pkgs[@]}")
extras="transcribe"
# the tests transcribe German with the multilingual base model too
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); extras="transcribe,model-base,dev"; fi

missing=()
for p in "${want[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
stamp=.venv/.installed-$extras
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  touch "$stamp"
fi
if [[ "${1:-}" != "--test" ]]; then .venv/bin/memo-desktop install-desktop; fi
echo "memo-desktop installed: .venv/bin/memo-desktop"
