#!/usr/bin/env bash
# The window's main states under Xvfb (a real X11 window), into docs/img/gui_*.png.
# Needs: apt-get install -y xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 \
#        libxkbcommon-x11-0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 \
#        libxcb-image0
# Usage: bash docs/tools/gui_screenshots.sh [OUT_DIR] [MODEL]   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
DISPLAY_NUM=99
while [[ -e /tmp/.X11-unix/X$DISPLAY_NUM || -e /tmp/.X$DISPLAY_NUM-lock ]]; do
    DISPLAY_NUM=$((DISPLAY_NUM + 1))
done
Xvfb ":$DISPLAY_NUM" -screen 0 1180x680x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
trap 'kill "$XVFB_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    [[ -e /tmp/.X11-unix/X$DISPLAY_NUM ]] && break
    sleep 0.1
done
env -u QT_QPA_PLATFORM -u WAYLAND_DISPLAY DISPLAY=":$DISPLAY_NUM" \
    "$PYTHON" docs/tools/gui_screenshots.py "$@"
