"""The window on the shipped 5-layer model (issue 13): the demo replays live, seven layers."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PyQt6")  # the gui extra; CI installs it (dev extra)

from asa_live.gui.main_window import MainWindow  # noqa: E402
from asa_live.model import load_checkpoint  # noqa: E402

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]


def test_5layer_model_replays_the_demo_at_1x(qtbot) -> None:
    ckpt = load_checkpoint(REPO / "models" / "gesture-5layer-asa-nogesture.safetensors")
    win = MainWindow(ckpt, redraw_hz=30)
    qtbot.addWidget(win)
    win.show()
    try:
        assert win.open_file(str(REPO / "recordings" / "demo.aedat4"), speed=1.0)
        qtbot.waitUntil(lambda: win.reports_drawn > 40, timeout=30000)
        assert win.spike_panel.layer_names == ckpt.model.layer_names
        assert len(win.spike_panel.layer_names) == 7
        stats = win.worker.stats()
        assert stats.windows > 40 and stats.dropped_windows == 0
    finally:
        win.close()
