"""Screenshots of the window's main states in a real X11 window, for docs/gui.md.

Run under an X server (docs/tools/gui_screenshots.sh starts Xvfb):

    DISPLAY=:99 .venv/bin/python docs/tools/gui_screenshots.py [OUT_DIR] [MODEL]

It drives the window itself and grabs the X screen (QScreen.grabWindow(0): what X shows,
dialogs included) into OUT_DIR (default docs/img):
gui_replay.png, gui_paused.png, gui_no_gesture.png, gui_davis.png, gui_error.png,
gui_small.png. Each state is reached by waiting on a condition, not on a fixed delay.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PyQt6.QtWidgets import QApplication

from asa_live.events import make_events
from asa_live.events.sources import ArraySource
from asa_live.gui.main_window import MainWindow
from asa_live.pipeline.models import load_model

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "recordings" / "demo.aedat4"
DAVIS = (
    REPO.parent
    / "shared"
    / "data"
    / "real"
    / "aedat4"
    / "davis346_traffic_events_frames_imu.aedat4"
)


def wait_until(app: QApplication, cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"gui_screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, win: MainWindow, redraws: int = 12) -> None:
    """Let the window redraw a few times (the plots and the status line update slower)."""
    target = win.redraws + redraws
    wait_until(app, lambda: win.redraws >= target, 10, "redraws")
    win._next_status = win._next_panel = 0.0
    win.redraw()
    app.processEvents()


def shoot(app: QApplication, win: MainWindow, out: Path) -> None:
    settle(app, win)
    g = win.frameGeometry()
    if not app.primaryScreen().grabWindow(0, g.x(), g.y(), g.width(), g.height()).save(str(out)):
        raise SystemExit(f"gui_screenshots: cannot write {out}")
    print(f"wrote {out}", file=sys.stderr)


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "img"
    model = (
        sys.argv[2]
        if len(sys.argv) > 2
        else str(REPO / "models" / "gesture-3layer-asa.safetensors")
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    win = MainWindow(load_model(model), model_path=model)
    win.setGeometry(0, 0, 1180, 680)
    win.show()
    win.open_file(DEMO, speed=1.0)
    # the demo is mid-gesture ("right arm clockwise", 10.4-12.9 s) around 11.7 s
    wait_until(app, lambda: win.timeline.position_us > 11_700_000, 60, "the demo at 11.7 s")
    shoot(app, win, out_dir / "gui_replay.png")
    win.act_pause.trigger()
    shoot(app, win, out_dir / "gui_paused.png")
    # An idle scene: sensor noise only (2000 ev/s), the readout stays silent -> "no gesture".
    rng = np.random.default_rng(0)
    n = 20_000
    noise = make_events(
        np.sort(rng.integers(0, 10_000_000, n)), rng.integers(0, 128, n), rng.integers(0, 128, n),
        rng.integers(0, 2, n),
    )  # fmt: skip
    win.start_source(lambda: ArraySource(noise, (128, 128)), "idle scene (sensor noise)")
    wait_until(app, lambda: win.timeline.position_us > 3_000_000, 30, "3 s of idle scene")
    if win.latest is None or win.latest.class_id >= 0:
        raise SystemExit("gui_screenshots: the model predicts a gesture on pure noise")
    shoot(app, win, out_dir / "gui_no_gesture.png")
    if DAVIS.exists():
        win.open_file(DAVIS, loop=True, speed=1.0)
        wait_until(app, lambda: win.timeline.position_us > 1_500_000, 30, "the DAVIS file")
        shoot(app, win, out_dir / "gui_davis.png")
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "notes.aedat4"
        bad.write_text("not a recording")
        win.open_file(bad)
        wait_until(
            app, lambda: win.error_box is not None and win.error_box.isVisible(), 5, "dialog"
        )
        shoot(app, win, out_dir / "gui_error.png")
        win.error_box.close()
    win.open_file(DEMO, speed=1.0)
    win.setGeometry(0, 0, 800, 500)
    wait_until(app, lambda: win.timeline.position_us > 4_500_000, 30, "the demo at 4.5 s")
    shoot(app, win, out_dir / "gui_small.png")
    win.close()


if __name__ == "__main__":
    main()
