"""Widgets of the main window: the event view with its prediction overlay, and the spike panel.

All drawing is pull-based: the window's redraw timer hands each widget the newest data; the
widgets never talk to the pipeline themselves.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from asa_live.pipeline.report import WindowReport

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


def pretty(name: str | None) -> str:
    return "-" if not name else name.replace("_", " ")


class PredictionOverlay(QWidget):
    """Top-left overlay on the event view: prediction + confidence, top-3 bars, ground truth."""

    WIDTH = 320
    HEIGHT = 178

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.resize(self.WIDTH, self.HEIGHT)
        self.report: WindowReport | None = None
        self.class_names: tuple[str, ...] = ()
        self.message = "waiting for events"

    def set_report(self, report: WindowReport | None, class_names: tuple[str, ...]) -> None:
        self.report = report
        self.class_names = class_names
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(QRectF(0, 0, self.width(), self.height()), 8, 8)
        big, small = QFont(), QFont()
        big.setPointSize(15)
        big.setBold(True)
        small.setPointSize(9)
        r = self.report
        p.setPen(QColor(235, 235, 235))
        p.setFont(big)
        if r is None:
            p.drawText(12, 30, self.message)
            p.end()
            return
        title = pretty(r.prediction) if r.prediction else "no gesture (silent output)"
        # Long class names ("right arm counter clockwise") shrink to fit instead of being cut.
        while (
            big.pointSize() > 9 and QFontMetrics(big).horizontalAdvance(title) > self.width() - 24
        ):
            big.setPointSize(big.pointSize() - 1)
        p.setFont(big)
        p.drawText(12, 30, title)
        p.setFont(small)
        p.setPen(QColor(190, 190, 190))
        p.drawText(12, 50, f"confidence {r.confidence:.2f}")
        scores = np.asarray(r.scores, dtype=np.float64)
        order = np.argsort(-scores)[:3] if scores.size else []
        top = float(scores[order[0]]) if len(order) else 0.0
        for rank, cid in enumerate(order):
            y = 62 + rank * 26
            frac = float(scores[cid]) / top if top > 0 else 0.0
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(255, 255, 255, 30))
            p.drawRect(QRectF(12, y, self.width() - 24, 9))
            p.setBrush(ON_COLOUR if rank == 0 else QColor(200, 140, 40))
            p.drawRect(QRectF(12, y, frac * (self.width() - 24), 9))
            p.setPen(QColor(220, 220, 220))
            name = self.class_names[cid] if cid < len(self.class_names) else str(cid)
            p.drawText(12, y + 21, f"{pretty(name)}  {scores[cid]:.2f}")
        if r.truth_name is not None:
            colour = QColor(110, 220, 110) if r.class_id == r.truth else QColor(255, 100, 100)
            p.setPen(colour)
            p.drawText(12, self.height() - 12, f"truth: {pretty(r.truth_name)}")
        else:
            p.setPen(QColor(150, 150, 150))
            p.drawText(12, self.height() - 12, "truth: (no label here)")
        p.end()


class EventView(QWidget):
    """Events as an image (ON amber, OFF blue), with the prediction overlay on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        layout.addWidget(self.graphics)
        self.overlay = PredictionOverlay(self.graphics)
        self.overlay.move(10, 10)
        legend = QLabel(
            "<span style='color:#ffb020'>&#9632; ON</span>&nbsp;&nbsp;"
            "<span style='color:#288cff'>&#9632; OFF</span>",
            self.graphics,
        )
        legend.setStyleSheet("background: rgba(0,0,0,150); color: #ddd; padding: 3px;")
        legend.adjustSize()
        self.legend = legend
        self.set_image(np.zeros((128, 128, 3), dtype=np.uint8))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.legend.move(
            self.graphics.width() - self.legend.width() - 10,
            self.graphics.height() - self.legend.height() - 10,
        )

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
    ) -> None:
        super().__init__(parent)
        self.layer_names = layer_names
        self.neurons = np.asarray(layer_neurons, dtype=np.float64)
        self.capacity = history
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
        self.bar_plot = pg.PlotWidget(
            title=f"firing rate per layer (mean of the last {BAR_WINDOWS} windows)"
        )
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
        # No legend: the curves take the colours of the bars above, which are named.
        self.history_plot = pg.PlotWidget(
            title=f"history, last {history} windows ({SMOOTH_WINDOWS}-window mean)"
        )
        self.history_plot.getAxis("left").enableAutoSIPrefix(False)
        self.history_plot.setMouseEnabled(False, False)
        self.history_plot.hideButtons()
        self.history_plot.setLabel("left", "spikes / neuron")
        self.history_plot.setLabel("bottom", "windows ago")
        self.history_plot.setXRange(-history, 0, padding=0)
        self.curves = [
            self.history_plot.plot(pen=pg.mkPen(LAYER_COLOURS[i % len(LAYER_COLOURS)], width=1.5))
            for i in range(len(layer_names))
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
        top = max(0.005, float(smooth.max()) * 1.1)
        if top > self._hist_top or top < 0.5 * self._hist_top:
            self._hist_top = top
            self.history_plot.setYRange(0, top, padding=0)
        xs = np.arange(-len(rates) + 1, 1)
        for i, curve in enumerate(self.curves):
            curve.setData(xs, smooth[:, i])
        recent, total = self.nasfr()
        self.nasfr_label.setText(
            f"NASFR  last {self._count} windows: <b>{recent:.4f}</b>   whole run: {total:.4f}"
        )
