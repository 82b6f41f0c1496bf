#!/usr/bin/env bash
# Screenshots of asa-live for docs/gui.md:
#   docs/img/gui_replay.png     - a real X11 window under Xvfb, grabbed with ImageMagick's `import`
#   docs/img/gui_offscreen.png  - the same window rendered offscreen by `asa-live --screenshot`
#
# Needs (Debian/Ubuntu):  apt-get update && apt-get install -y xvfb libxcb-icccm4 \
#                           libxcb-keysyms1 libxcb-cursor0 imagemagick
# Usage:  bash docs/tools/xvfb_screenshot.sh [RECORDING] [SECONDS]   (from the repository root)
# MODEL=path/to/model.safetensors picks another checkpoint (default: the shipped model).
set -euo pipefail
cd "$(dirname "$0")/../.."

RECORDING=${1:-recordings/demo.aedat4}
SECONDS_TO_RUN=${2:-13}  # the demo is mid-gesture (class 4, 10.4-12.9 s) around then
ASA_LIVE=${ASA_LIVE:-.venv/bin/asa-live}
OUT_DIR=${OUT_DIR:-docs/img}  # OUT_DIR=... writes elsewhere (the test uses a temp dir)
MODEL_ARGS=()
if [[ -n "${MODEL:-}" ]]; then MODEL_ARGS=(--model "$MODEL"); fi

for tool in Xvfb import; do
    if ! command -v "$tool" >/dev/null; then
        echo "xvfb_screenshot.sh: '$tool' is missing: apt-get install -y xvfb libxcb-icccm4" \
             "libxcb-keysyms1 libxcb-cursor0 imagemagick" >&2
        exit 2
    fi
done
mkdir -p "$OUT_DIR"

# A free display number, then a virtual screen the size of the window (1180x680).
DISPLAY_NUM=99
while [[ -e /tmp/.X11-unix/X$DISPLAY_NUM || -e /tmp/.X$DISPLAY_NUM-lock ]]; do
    DISPLAY_NUM=$((DISPLAY_NUM + 1))
done
Xvfb ":$DISPLAY_NUM" -screen 0 1180x680x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
APP_PID=""
cleanup() {
    [[ -n "$APP_PID" ]] && kill "$APP_PID" 2>/dev/null || true
    kill "$XVFB_PID" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do
    [[ -e /tmp/.X11-unix/X$DISPLAY_NUM ]] && break
    sleep 0.1
done

# 1. A real window under X11 (QT_QPA_PLATFORM unset: the xcb platform plugin).
env -u QT_QPA_PLATFORM -u WAYLAND_DISPLAY DISPLAY=":$DISPLAY_NUM" \
    "$ASA_LIVE" --replay "$RECORDING" "${MODEL_ARGS[@]}" &
APP_PID=$!
sleep "$SECONDS_TO_RUN"
if ! kill -0 "$APP_PID" 2>/dev/null; then
    echo "xvfb_screenshot.sh: asa-live exited early (see its message above)" >&2
    exit 1
fi
# The window may still be mapping on a loaded machine: grab until the screen is not blank.
for _ in $(seq 40); do
    DISPLAY=":$DISPLAY_NUM" import -window root "$OUT_DIR/gui_replay.png"
    [[ $(identify -format %k "$OUT_DIR/gui_replay.png") -gt 50 ]] && break
    sleep 0.5
done
kill "$APP_PID"
wait "$APP_PID" 2>/dev/null || true
APP_PID=""
echo "wrote $OUT_DIR/gui_replay.png"

# 2. The offscreen rendering of the same window (no X server needed); it starts about 1 s
#    sooner than the X11 window, hence one second less.
QT_QPA_PLATFORM=offscreen "$ASA_LIVE" --replay "$RECORDING" "${MODEL_ARGS[@]}" \
    --screenshot "$OUT_DIR/gui_offscreen.png" --screenshot-after "$((SECONDS_TO_RUN - 1))"
echo "wrote $OUT_DIR/gui_offscreen.png"
