"""The status bar's fields and the model / sensor info panel.

The status bar holds one QLabel per field (source, state, event rate, windows/s, latency,
dropped windows, accuracy, recording); the source name is elided so a long file name never
pushes the other fields off. A rise in dropped windows is highlighted for a few seconds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFontMetrics
from PyQt6.QtWidgets import QLabel, QStatusBar, QWidget

from asa_live.events.adapt import SensorAdapter
from asa_live.pipeline.display import pretty

DROP_HIGHLIGHT_S = 3.0
DROP_STYLE = "background: #a02828; color: white; padding: 0 4px;"
FIELD_STYLE = "padding: 0 4px;"


class ElidedLabel(QLabel):
    """A QLabel that elides its text in the middle instead of growing."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text = text
        self.setMinimumWidth(60)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = QFontMetrics(self.font())
        self.setText(metrics.elidedText(self.full_text, Qt.TextElideMode.ElideMiddle, self.width()))

    def sizeHint(self):  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        hint.setWidth(min(hint.width(), 260))
        return hint


class StatusFields:
    """The fields of the status bar, updated from a PipelineStats snapshot."""

    NAMES = ("state", "rate", "windows", "latency", "dropped", "accuracy", "rec")

    def __init__(self, bar: QStatusBar) -> None:
        self.source = ElidedLabel("no source: open a file or a camera")
        bar.addWidget(self.source, 1)
        self.fields: dict[str, QLabel] = {}
        for name in self.NAMES:
            label = QLabel("")
            label.setStyleSheet(FIELD_STYLE)
            bar.addPermanentWidget(label)
            self.fields[name] = label
        self.fields["dropped"].setToolTip("windows dropped because inference fell behind")
        self._last_dropped = 0
        self._highlight_until = 0.0

    def clear(self, message: str = "") -> None:
        """A new source or a restart: every field back to its empty state."""
        self.source.set_full_text(message)
        for label in self.fields.values():
            label.setText("")
            label.setStyleSheet(FIELD_STYLE)
        self._last_dropped = 0
        self._highlight_until = 0.0

    def update(self, name: str, stats: Any, recording: bool) -> None:
        s = stats
        self.source.set_full_text(name)
        state = "paused" if s.paused else ("running" if s.running else "stopped")
        p50, p95 = (_ms(s.latency_p50_ms), _ms(s.latency_p95_ms))
        acc = "" if s.accuracy is None else f"acc {100 * s.accuracy:.1f}%"
        texts = {
            "state": state,
            "rate": f"{s.event_rate / 1e3:.1f} kev/s",
            "windows": f"{s.windows_per_s:.1f} win/s",
            "latency": f"latency p50 {p50} p95 {p95} ms",
            "dropped": f"dropped {s.dropped_windows} merged {s.merged_windows}",
            "accuracy": acc,
            "rec": "REC" if recording else "",
        }
        for key, text in texts.items():
            self.fields[key].setText(text)
        now = time.monotonic()
        if s.dropped_windows > self._last_dropped:
            self._highlight_until = now + DROP_HIGHLIGHT_S
        self._last_dropped = s.dropped_windows
        self.fields["dropped"].setStyleSheet(
            DROP_STYLE if now < self._highlight_until else FIELD_STYLE
        )
        self.fields["rec"].setStyleSheet(DROP_STYLE if recording else FIELD_STYLE)

    def flag_dropped(self, total: int) -> None:
        """The worker dropped windows (``total`` so far): highlight the field now."""
        self._highlight_until = time.monotonic() + DROP_HIGHLIGHT_S
        self.fields["dropped"].setStyleSheet(DROP_STYLE)

    @property
    def dropped_highlighted(self) -> bool:
        return self.fields["dropped"].styleSheet() == DROP_STYLE

    def text(self) -> str:
        parts = [self.source.full_text] + [self.fields[n].text() for n in self.NAMES]
        return " | ".join(p for p in parts if p)


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"


def mapping_text(
    sensor_size: tuple[int, int] | None, binning: Any, input_size: Any, name: str | None = None
) -> str:
    """How the sensor maps onto the model's input, e.g. ``346x260 -> crop 260x260 -> ...``."""
    target = tuple(binning.sensor_size)
    inp = f"{input_size[1]}x{input_size[0]}" if input_size else "?"
    pooled = f"sum-pooled {binning.downsample}x{binning.downsample} -> {inp}"
    if sensor_size is None:
        return f"sensor: - (model grid {target[0]}x{target[1]}, {pooled})"
    w, h = sensor_size
    adapter = SensorAdapter(tuple(sensor_size), target, binning.adapt_mode)
    x0, y0, cw, ch = adapter.region
    if adapter.is_identity:
        how = "used as is"
    elif binning.adapt_mode == "scale":
        how = f"scaled to {target[0]}x{target[1]}"
    else:
        how = f"crop {cw}x{ch} at ({x0},{y0}), scaled to {target[0]}x{target[1]}"
    named = f" ({name})" if name else ""
    return f"sensor {w}x{h}{named}: {how}, {pooled}"


def model_text(checkpoint: Any, model_path: str | None) -> str:
    """The model's name, kind and classes (HTML)."""
    cfg = checkpoint.model_config
    name = Path(model_path).stem if model_path else "unnamed model"
    kind = f"{cfg.arch}, attention {cfg.attention}, K={cfg.chunk_windows}"
    window_ms = checkpoint.binning.window_us / 1000
    classes = ", ".join(pretty(c) for c in checkpoint.class_names)
    return (
        f"<b>{name}</b> ({kind}, {window_ms:g} ms windows)<br>"
        f"<span style='color:#999'>{len(checkpoint.class_names)} classes: {classes}</span>"
    )


class ModelInfo(QLabel):
    """Two or three lines: the model and its classes, the sensor and its mapping."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet("color: #ccc; font-size: 11px; padding: 2px 4px;")
        self.model_html = "no model loaded"
        self.sensor_line = "sensor: -"
        self._show()

    def set_model(self, checkpoint: Any, model_path: str | None) -> None:
        self.checkpoint = checkpoint
        self.model_html = model_text(checkpoint, model_path)
        self.set_sensor(None, None)

    def set_sensor(self, name: str | None, sensor_size: tuple[int, int] | None) -> None:
        ckpt = getattr(self, "checkpoint", None)
        if ckpt is None:
            return
        self.sensor_line = mapping_text(
            sensor_size, ckpt.binning, ckpt.model_config.input_size, name
        )
        self._show()

    def _show(self) -> None:
        self.setText(f"{self.model_html}<br>{self.sensor_line}")
