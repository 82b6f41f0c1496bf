""" "No gesture" is shown as such, top-3 bars are absolute, the overlay moves (issues 8 and 11)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from asa_live.classes import GESTURE_CLASSES  # noqa: E402
from asa_live.pipeline.display import NO_GESTURE_TITLE, describe_report  # noqa: E402
from asa_live.pipeline.report import WindowReport  # noqa: E402

pytestmark = pytest.mark.gui


def _scores(**by_id: float) -> np.ndarray:
    scores = np.zeros(len(GESTURE_CLASSES), dtype=np.float32)
    for cid, value in by_id.items():
        scores[int(cid[1:])] = value
    return scores


def _report(class_id, prediction, confidence, scores, reason="absent"):
    """A report as today (no ``reason`` field) or, with ``reason``, as after issue 8."""
    fields = dict(
        window=0, t_start_us=0, t_end_us=15_000, events=10, class_id=class_id,
        prediction=prediction, confidence=confidence, scores=scores, spikes=(1, 2, 3, 4, 5),
        latency_ms=1.0,
    )  # fmt: skip
    if reason == "absent":
        return WindowReport(**fields)
    return SimpleNamespace(**fields, reason=reason, truth=None, truth_name=None)


def test_idle_window_is_no_gesture_not_a_class_name():
    # today's idle GUI: a silent readout, "hand clapping 0.03" used to be the big title
    idle = _report(-1, None, 0.03, _scores(c0=0.03, c5=0.01))
    out = describe_report(idle, GESTURE_CLASSES)
    assert not out.gesture and out.title == NO_GESTURE_TITLE
    assert "silent" in out.detail
    assert all(name not in out.title for name in ("hand", "clapping"))


@pytest.mark.parametrize(
    "reason, words",
    [("background", "background"), ("low_confidence", "unsure"), ("no_output", "silent")],
)
def test_reject_reasons_are_named(reason, words):
    report = _report(-1, None, 0.7, _scores(c2=0.2), reason=reason)
    out = describe_report(report, GESTURE_CLASSES)
    assert out.title == NO_GESTURE_TITLE and words in out.detail
    assert out.confidence == pytest.approx(0.7)


def test_a_gesture_keeps_its_name_and_confidence():
    report = _report(3, "right_arm_clockwise", 0.81, _scores(c3=0.81, c5=0.1), reason=None)
    out = describe_report(report, GESTURE_CLASSES)
    assert out.gesture and out.title == "right arm clockwise"
    assert out.detail == "confidence 0.81"
    assert out.top[0] == ("right arm clockwise", pytest.approx(0.81))


def test_bars_are_on_an_absolute_scale(qtbot, small_ckpt):
    from asa_live.gui.overlay import PredictionOverlay
    from asa_live.gui.widgets import EventView

    view = EventView()
    qtbot.addWidget(view)
    overlay: PredictionOverlay = view.overlay
    overlay.set_report(_report(-1, None, 0.03, _scores(c0=0.03, c1=0.02)), small_ckpt.class_names)
    full = overlay.width() - 24
    widths = overlay.bar_widths()
    assert widths[0] == pytest.approx(0.03 * full)  # not a full bar for a 0.03 winner
    assert widths[1] == pytest.approx(0.02 * full)
    overlay.set_report(_report(2, "left_hand_wave", 0.9, _scores(c2=0.9)), small_ckpt.class_names)
    assert overlay.bar_widths()[0] == pytest.approx(0.9 * full)


def _title_lightness(overlay) -> int:
    image = overlay.grab().toImage()
    return max(image.pixelColor(x, y).lightness() for x in range(12, 120) for y in range(12, 34))


def test_no_gesture_title_is_greyed_out(qtbot, small_ckpt):
    from asa_live.gui.widgets import EventView

    view = EventView()
    qtbot.addWidget(view)
    overlay = view.overlay
    overlay.set_report(_report(2, "left_hand_wave", 0.9, _scores(c2=0.9)), small_ckpt.class_names)
    bright = _title_lightness(overlay)
    overlay.set_report(_report(-1, None, 0.03, _scores(c0=0.03)), small_ckpt.class_names)
    dim = _title_lightness(overlay)
    assert bright > 200 and dim < 170  # a grey dash, not a white class name


def test_overlay_can_be_dragged_and_stays_inside(qtbot):
    from PyQt6.QtCore import QPoint, QPointF, Qt
    from PyQt6.QtGui import QMouseEvent

    from asa_live.gui.widgets import EventView

    view = EventView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    overlay = view.overlay
    start = overlay.pos()

    def send(kind, local):
        pos = QPointF(local)
        overlay.event(
            QMouseEvent(
                kind, pos, overlay.mapToGlobal(pos), Qt.MouseButton.LeftButton,
                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
            )
        )  # fmt: skip

    send(QMouseEvent.Type.MouseButtonPress, QPoint(20, 20))
    send(QMouseEvent.Type.MouseMove, QPoint(220, 170))
    send(QMouseEvent.Type.MouseButtonRelease, QPoint(220, 170))
    assert overlay.pos() == start + QPoint(200, 150) and overlay.moved_by_user
    overlay.move_within(QPoint(5000, 5000))  # never pushed out of the view
    parent = overlay.parentWidget()
    assert overlay.geometry().right() < parent.width()
    assert overlay.geometry().bottom() < parent.height()
    overlay.reset_position()
    assert overlay.pos() == QPoint(overlay.MARGIN, overlay.MARGIN)


def test_on_off_legend_is_outside_the_image(qtbot):
    from asa_live.gui.widgets import EventView

    view = EventView()
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    assert view.legend.parentWidget() is view
    assert not view.legend.geometry().intersects(view.graphics.geometry())
    assert "ON" in view.legend.text() and "OFF" in view.legend.text()
