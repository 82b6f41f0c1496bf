"""Screenshot of the Teach panel mid-session (a real X11 window), for docs/teach.md.

    Xvfb :99 -screen 0 1400x760x24 &
    DISPLAY=:99 .venv/bin/python docs/tools/gui_teach_screenshot.py [OUT_DIR] [MODEL]

It replays the demo, opens the Teach dock, starts a session into a temporary folder and grabs
the screen once the countdown of the second take shows, and again at its GO, into
OUT_DIR/gui_teach.png and OUT_DIR/gui_teach_go.png (default docs/img). Every state is
reached by waiting on a condition.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtWidgets import QApplication

from asa_live.gui.main_window import MainWindow
from asa_live.pipeline.models import load_model

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "recordings" / "demo.aedat4"


def wait_until(app: QApplication, cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"gui_teach_screenshot: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def shoot(app: QApplication, win: MainWindow, out: Path) -> None:
    win._next_status = win._next_panel = 0.0
    win.redraw()
    app.processEvents()
    g = win.frameGeometry()
    if not app.primaryScreen().grabWindow(0, g.x(), g.y(), g.width(), g.height()).save(str(out)):
        raise SystemExit(f"gui_teach_screenshot: cannot write {out}")
    print(f"wrote {out}", file=sys.stderr)


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "img"
    model = (
        sys.argv[2] if len(sys.argv) > 2 else str(REPO / "models/gesture-3layer-asa.safetensors")
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    win = MainWindow(load_model(model), model_path=model)
    win.setGeometry(0, 0, 1400, 760)
    win.show()
    win.open_file(DEMO, loop=True, speed=1.0)
    win.act_teach.trigger()
    panel = win.teach
    with tempfile.TemporaryDirectory() as tmp:
        f = panel.form
        f.classes_edit.setText("swipe_left,swipe_right,thumbs_up")
        f.repeats_box.setValue(3)
        f.pause_box.setValue(3.0)
        f.folder_edit.setText(str(Path(tmp) / "my-gestures"))
        wait_until(app, lambda: win.reports_drawn > 30, 30, "the demo to play")
        if not panel.start_session():
            raise SystemExit(f"gui_teach_screenshot: {win.errors_shown[-1]}")

        def second_take(title: str) -> Callable[[], bool]:
            def ready() -> bool:
                s = panel.session
                return s is not None and s.completed == 1 and panel.prompt.prompt.title == title

            return ready

        wait_until(app, second_take("2\u2026"), 60, "the countdown of take 2")
        shoot(app, win, out_dir / "gui_teach.png")
        wait_until(app, lambda: bool(panel.prompt.prompt and panel.prompt.prompt.go), 30, "GO")
        wait_until(app, lambda: panel.prompt.prompt.fraction > 0.4, 30, "GO half way")
        shoot(app, win, out_dir / "gui_teach_go.png")
        panel.finish("stopped")
    win.close()


if __name__ == "__main__":
    main()
