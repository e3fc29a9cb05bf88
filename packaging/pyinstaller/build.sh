#!/bin/sh
# Build the one-folder MMStudio with PyInstaller, then smoke-test the build (tests/test_frozen.py:
# it starts offline, answers the demo query, runs headless commands).
#
#   PYTHON=.venv/bin/python packaging/pyinstaller/build.sh [DIST [WORK]]
#
# DIST defaults to /tmp/mmstudio-dist, WORK to /tmp/mmstudio-build (outside the repository).
# Needs PyInstaller in that Python (`pip install pyinstaller`). For the CPU-only variant, build
# in an environment whose torch comes from https://download.pytorch.org/whl/cpu (see README.md).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DIST=${1:-/tmp/mmstudio-dist}
WORK=${2:-/tmp/mmstudio-build}
PYTHON=${PYTHON:-python3}

start=$(date +%s)
"$PYTHON" -m PyInstaller "$HERE/mmstudio.spec" --noconfirm --log-level WARN \
    --distpath "$DIST" --workpath "$WORK"
seconds=$(( $(date +%s) - start ))
echo "built $DIST/mmstudio in $seconds s; $(du -sh "$DIST/mmstudio" | cut -f1) on disk"
MMSTUDIO_FROZEN_DIST="$DIST/mmstudio" "$PYTHON" -m pytest "$REPO/tests/test_frozen.py" -q -p no:cacheprovider
