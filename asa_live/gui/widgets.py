"""Widgets of the main window: the event view with its prediction overlay, and the spike panel.

All drawing is pull-based: the window's redraw timer hands each widget the newest data; the
widgets never talk to the pipeline themselves.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from asa_live.gui.overlay import PredictionOverlay

ON_COLOUR = QColor(255, 176, 32)
OFF_COLOUR = QColor(40, 140, 255)
LAYER_COLOURS = [
    (255, 176, 32),
    (40, 140, 255),
    (120, 220, 120),
    (230, 90, 200),
    (240, 240, 240),
    (255, 110, 80),
    (150, 150, 255),
]

BAR_WINDOWS = 10
SMOOTH_WINDOWS = 5

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="#141418")


def trailing_mean(values: np.ndarray, n: int) -> np.ndarray:
    """Mean over the last ``n`` rows (fewer at the start) of ``values [T, L]``; same shape."""
    csum = np.cumsum(values, axis=0)
    out = csum.copy()
    out[n:] = csum[n:] - csum[:-n]
    counts = np.minimum(np.arange(1, len(values) + 1), n)[:, None]
    return out / counts


class EventView(QWidget):
    """Events as an image (ON amber, OFF blue) with the movable prediction overlay on top.

    The ON/OFF legend and what the image shows ("events" or "model input") sit in a row
    below the image, never over it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.graphics = pg.GraphicsLayoutWidget()
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        layout.addWidget(self.graphics, 1)
        self.overlay = PredictionOverlay(self.graphics)
        self.overlay.reset_position()
        row = QHBoxLayout()
        row.setContentsMargins(6, 0, 6, 2)
        self.legend = QLabel(
            "<span style='color:#ffb020'>&#9632; ON</span>&nbsp;&nbsp;"
            "<span style='color:#288cff'>&#9632; OFF</span>"
        )
        self.mode_label = QLabel("events")
        self.mode_label.setStyleSheet("color: #999;")
        row.addWidget(self.legend)
        row.addStretch(1)
        row.addWidget(self.mode_label)
        layout.addLayout(row)
        self.set_image(np.zeros((128, 128, 3), dtype=np.uint8))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        # keep the overlay inside the view when the window shrinks
        self.overlay.move_within(self.overlay.pos())

    def set_image(self, rgb: np.ndarray) -> None:
        """``rgb [H, W, 3]`` uint8; fixed levels, so no per-frame autoscaling."""
        first = self.image.image is None or self.image.image.shape != rgb.shape
        self.image.setImage(rgb, autoLevels=False, levels=(0, 255))
        if first:
            self.view.setRange(QRectF(0, 0, rgb.shape[1], rgb.shape[0]), padding=0)


class SpikePanel(QWidget):
    """Per-layer firing rates: live bars, a scrolling history, and NASFR.

    Rates are spikes / (neurons of the layer x windows), NASFR = all spikes / (all spiking
    neurons x windows), as in the paper and :class:`asa_live.model.metrics.FiringRateMeter`.
    """

    def __init__(
        self,
        layer_names: tuple[str, ...],
        layer_neurons: tuple[int, ...],
        history: int = 400,
        parent: QWidget | None = None,
        window_us: int = 15_000,
    ) -> None:
        super().__init__(parent)
        self.layer_names = layer_names
        self.neurons = np.asarray(layer_neurons, dtype=np.float64)
        self.capacity = history
        self.window_s = window_us / 1e6
        self._spikes = np.zeros((history, len(layer_names)), dtype=np.float64)
        self._count = 0
        self._head = 0
        self._total_spikes = np.zeros(len(layer_names), dtype=np.float64)
        self._total_windows = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.nasfr_label = QLabel("NASFR: -")
        self.nasfr_label.setStyleSheet("color: #ddd; font-size: 13px;")
        layout.addWidget(self.nasfr_label)
        self.bar_plot = pg.PlotWidget(title=f"firing rate per layer (last {BAR_WINDOWS} windows)")
        # Plain numbers on the axes (pyqtgraph would rescale them to "x0.001" units).
        self.bar_plot.getAxis("left").enableAutoSIPrefix(False)
        self.bar_plot.setMouseEnabled(False, False)
        self.bar_plot.hideButtons()
        x = np.arange(len(layer_names))
        brushes = [pg.mkBrush(*LAYER_COLOURS[i % len(LAYER_COLOURS)]) for i in x]
        self.bars = pg.BarGraphItem(x=x, height=np.zeros(len(x)), width=0.7, brushes=brushes)
        self.bar_plot.addItem(self.bars)
        self.bar_plot.getAxis("bottom").setTicks([list(zip(x, layer_names, strict=True))])
        self.bar_plot.setXRange(-0.6, len(x) - 0.4, padding=0)
        self.bar_plot.setYRange(0, 0.1, padding=0)
        self.bar_plot.setLabel("left", "spikes / neuron")
        layout.addWidget(self.bar_plot, 2)
        span_s = history * self.window_s
        self.history_plot = pg.PlotWidget(
            title=f"history, {span_s:.1f} s ({SMOOTH_WINDOWS}-window mean)"
        )
        self.history_plot.getAxis("left").enableAutoSIPrefix(False)
        self.history_plot.setMouseEnabled(False, False)
        self.history_plot.hideButtons()
        self.history_plot.setLabel("left", "spikes / neuron")
        self.history_plot.setLabel("bottom", "time (s, 0 = now)")
        self.history_plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.history_plot.setXRange(-span_s, 0, padding=0)
        self.legend = self.history_plot.addLegend(offset=(-8, 4), colCount=min(3, len(layer_names)))
        self.curves = [
            self.history_plot.plot(
                pen=pg.mkPen(LAYER_COLOURS[i % len(LAYER_COLOURS)], width=1.5), name=name
            )
            for i, name in enumerate(layer_names)
        ]
        layout.addWidget(self.history_plot, 3)
        self._bar_top = 0.1
        self._hist_top = 0.1
        self.history_plot.setYRange(0, self._hist_top, padding=0)

    def clear(self) -> None:
        self._count = 0
        self._head = 0
        self._spikes[:] = 0
        self._total_spikes[:] = 0
        self._total_windows = 0

    def add(self, spikes: tuple[int, ...]) -> None:
        row = np.asarray(spikes, dtype=np.float64)
        if row.shape != self._total_spikes.shape:
            return
        self._spikes[self._head] = row
        self._head = (self._head + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)
        self._total_spikes += row
        self._total_windows += 1

    def history_rates(self) -> np.ndarray:
        """``[n, L]`` firing rates, oldest first."""
        order = np.roll(self._spikes, -self._head, axis=0)[self.capacity - self._count :]
        return order / self.neurons

    def nasfr(self) -> tuple[float, float]:
        """(NASFR over the history, NASFR over the whole run)."""
        recent = float("nan")
        if self._count:
            recent = self.history_rates().mean(0) @ self.neurons / self.neurons.sum()
        total = float("nan")
        if self._total_windows:
            total = self._total_spikes.sum() / (self.neurons.sum() * self._total_windows)
        return recent, total

    def redraw(self) -> None:
        if not self._count:
            for curve in self.curves:
                curve.setData([], [])
            self.bars.setOpts(height=np.zeros(len(self.layer_names)))
            self.nasfr_label.setText("NASFR: -")
            return
        rates = self.history_rates()
        # The deeper layers fire in bursts (0 in one window, 0.2 in the next): a short mean
        # makes bars and curves readable without hiding changes that last 100 ms or more.
        latest = rates[-BAR_WINDOWS:].mean(0)
        self.bars.setOpts(height=latest)
        # Axes are re-laid out (costly) only when the top moves by more than 25 %: it grows at
        # once when bars would be cut, and shrinks when they use less than half of it.
        want = max(0.005, float(latest.max()) * 1.3)
        if want > self._bar_top or want < 0.5 * self._bar_top:
            self._bar_top = want
            self.bar_plot.setYRange(0, want, padding=0)
        smooth = trailing_mean(rates, SMOOTH_WINDOWS)
        top = max(0.005, float(smooth.max()) * 1.4)  # headroom for the legend
        if top > self._hist_top or top < 0.5 * self._hist_top:
            self._hist_top = top
            self.history_plot.setYRange(0, top, padding=0)
        xs = np.arange(-len(rates) + 1, 1) * self.window_s
        for i, curve in enumerate(self.curves):
            curve.setData(xs, smooth[:, i])
        recent, total = self.nasfr()
        self.nasfr_label.setText(
            f"NASFR  last {self._count} windows: <b>{recent:.4f}</b>   whole run: {total:.4f}"
        )
