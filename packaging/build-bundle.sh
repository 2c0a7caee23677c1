#!/usr/bin/env bash
# Builds the self-contained bundle OUT_DIR/memo-desktop/ (PyInstaller, one folder): its `memo-desktop` executable
# runs on a Linux x86_64 machine without Python, embedded Redis and object store, GUI and transcription included.
#
# Usage: packaging/build-bundle.sh OUT_DIR [--wheel FILE]
#   --wheel FILE   freeze this wheel (default: build one from this checkout with `python -m build`)
#   PYTHON=...     the interpreter to build with (default python3; 3.11+, with venv and a shared libpython)
#
# The build files go to OUT_DIR/build (a venv holding only the wheel, its [transcribe] extra and PyInstaller, and
# PyInstaller's work dir) and are reused by the next build; OUT_DIR/memo-desktop is replaced. Needs objdump
# (binutils) and, on the build machine, the runtime libraries scripts/install.sh installs.
set -euo pipefail

usage() { echo "usage: $0 OUT_DIR [--wheel FILE]" >&2; exit 2; }
(($# >= 1)) || usage
out=$1; shift
wheel=""
while (($#)); do
  case $1 in
    --wheel) (($# >= 2)) || usage; wheel=$(realpath "$2"); shift 2 ;;
    *) usage ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
build=$out/build
venv=$build/venv
started=$(date +%s)
unset PYTHONPATH  # nothing of the checkout may leak into what is frozen: only the installed wheel

# pip's output goes to a log, shown when it fails
pip() { "$venv/bin/python" -m pip --disable-pip-version-check "$@" >>"$build/pip.log" 2>&1 \
  || { tail -40 "$build/pip.log" >&2; echo "build-bundle: pip $1 failed (log: $build/pip.log)" >&2; exit 1; }; }

mkdir -p "$build"
[[ -x $venv/bin/python ]] || "${PYTHON:-python3}" -m venv "$venv"
pip install "build>=1.2" "pyinstaller>=6.10"

if [[ -z $wheel ]]; then
  rm -rf "$build/dist"
  "$venv/bin/python" -m build --outdir "$build/dist" "$repo" >"$build/wheel.log" 2>&1 \
    || { cat "$build/wheel.log" >&2; exit 1; }
  wheel=$(ls "$build/dist"/memo_desktop-*.whl)
fi
# a reused venv may hold an older build of the same version: replace it
pip uninstall -y memo-desktop
pip install "$wheel[transcribe]"

cd "$build"
"$venv/bin/pyinstaller" --noconfirm --log-level WARN --distpath "$out" --workpath "$build/pyinstaller" \
  "$repo/packaging/memo-desktop.spec"

"$out/memo-desktop/memo-desktop" --version
echo "bundle: $out/memo-desktop ($(du -sh "$out/memo-desktop" | cut -f1), built in $(($(date +%s) - started)) s)"
