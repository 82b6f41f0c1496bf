"""The replay timeline: position / duration, and click-or-drag to request a seek.

Position comes from the reports (``t_end_us``); the duration from the recording when it can
is known (an AEDAT4 source's time range). The widget only *requests* a seek
(``seekRequested(t_us)``, source clock); the window decides whether the pipeline can do it.
While it cannot, :meth:`set_seek_available(False)` greys the slider out and says why.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

STEPS = 1000
NO_SEEK_TIP = "Seeking works in recordings once their duration is known (a camera is live)."


def source_attr(source: object, name: str) -> object:
    """``source.<name>``, looking inside a LoopingSource's current pass too (None if absent)."""
    for candidate in (source, getattr(source, "_current", None)):
        value = getattr(candidate, name, None)
        if value is not None:
            return value
    return None


def source_time_range_us(source: object) -> tuple[int, int] | None:
    """``(first_us, last_us)`` of a file source (AEDAT4 sources know it), else None."""
    span = getattr(source_attr(source, "info"), "time_range_us", None)
    if span is not None and span[1] > span[0]:
        return int(span[0]), int(span[1])
    return None


def format_s(t_s: float) -> str:
    minutes, seconds = divmod(max(0.0, t_s), 60.0)
    return f"{int(minutes)}:{seconds:04.1f}"


class Timeline(QWidget):
    """A slider with ``position / duration``; emits ``seekRequested(t_us)`` in source time."""

    seekRequested = pyqtSignal("qint64")  # noqa: N815 - Qt signal naming

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.sliderReleased.connect(
            lambda: self.seek_to_fraction(self.slider.value() / STEPS)
        )
        self.slider.actionTriggered.connect(self._on_action)
        self.label = QLabel("-")
        self.label.setMinimumWidth(110)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.start_us: int | None = None
        self.duration_us: int | None = None
        self.position_us = 0
        self.seek_available = False
        self.set_seek_available(False)

    def reset(self, time_range_us: tuple[int, int] | None = None) -> None:
        """A new (or restarted) source; ``time_range_us`` = its first and last event time."""
        self.start_us = None if time_range_us is None else int(time_range_us[0])
        self.duration_us = (
            None if time_range_us is None else int(time_range_us[1] - time_range_us[0])
        )
        self.position_us = 0
        self._show()

    def rewind(self) -> None:
        """Back to 0 (a restart): a known range is kept, an unknown start is found again."""
        if not self.duration_us:
            self.start_us = None
        self.position_us = 0
        self._show()

    def set_position(self, t_us: int) -> None:
        """The newest report's end time (source clock); a looping replay wraps around."""
        if self.start_us is None:
            self.start_us = int(t_us)
        pos = int(t_us) - self.start_us
        if self.duration_us:
            pos %= self.duration_us + 1
        self.position_us = max(0, pos)
        self._show()

    def set_seek_available(self, available: bool) -> None:
        self.seek_available = available
        self.slider.setEnabled(available and bool(self.duration_us))
        self.slider.setToolTip("Click or drag to seek" if available else NO_SEEK_TIP)

    def seek_to_fraction(self, fraction: float) -> None:
        """Ask for a seek to ``fraction`` (0-1) of the recording (needs a known duration)."""
        if self.start_us is None or not self.duration_us:
            return
        fraction = min(max(float(fraction), 0.0), 1.0)
        self.seekRequested.emit(self.start_us + round(fraction * self.duration_us))

    def _on_action(self, action: int) -> None:
        # page steps from a click beside the handle: jump there instead of paging
        if not self.slider.isSliderDown() and action in (
            QSlider.SliderAction.SliderPageStepAdd.value,
            QSlider.SliderAction.SliderPageStepSub.value,
        ):
            self.seek_to_fraction(self.slider.sliderPosition() / STEPS)

    def _show(self) -> None:
        pos_s = self.position_us / 1e6
        if self.duration_us:
            self.label.setText(f"{format_s(pos_s)} / {format_s(self.duration_us / 1e6)}")
            if not self.slider.isSliderDown():
                self.slider.blockSignals(True)
                self.slider.setValue(round(STEPS * self.position_us / self.duration_us))
                self.slider.blockSignals(False)
        else:
            self.label.setText(f"{format_s(pos_s)} / live" if self.start_us is not None else "-")
        self.slider.setEnabled(self.seek_available and bool(self.duration_us))
