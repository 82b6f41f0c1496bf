"""Shared GUI fixtures (offscreen Qt; QT_QPA_PLATFORM is set by the top-level conftest)."""

from __future__ import annotations

import pytest


@pytest.fixture
def window(qtbot, small_ckpt):
    """A shown MainWindow on the small random checkpoint, closed after the test."""
    from asa_live.gui.main_window import MainWindow  # PyQt6 is the [gui] extra

    win = MainWindow(small_ckpt, redraw_hz=30)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
