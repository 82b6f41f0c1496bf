"""The prediction overlay on the event view: the outcome, its confidence, top-3 bars, the truth.

It can be dragged anywhere over the image (so it never hides the person); "no gesture" shows
a grey dash with the reject reason instead of a class name, and the top-3 bars are drawn on
an absolute 0-1 scale (a 0.03 winner draws 3 % of a bar, not a full one).
"""

from __future__ import annotations

from PyQt6.QtCore import QPoint, QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter
from PyQt6.QtWidgets import QWidget

from asa_live.pipeline.display import Outcome, describe_report, pretty
from asa_live.pipeline.report import WindowReport

BAR_COLOUR = QColor(255, 176, 32)
BAR_COLOUR_2 = QColor(200, 140, 40)
NO_GESTURE_COLOUR = QColor(140, 140, 150)
TITLE_COLOUR = QColor(235, 235, 235)


def panel_painter(widget: QWidget, alpha: int, radius: float) -> QPainter:
    """A painter on ``widget`` that has drawn its translucent dark rounded background."""
    p = QPainter(widget)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(0, 0, 0, alpha))
    p.drawRoundedRect(QRectF(0, 0, widget.width(), widget.height()), radius, radius)
    return p


def sized_font(point_size: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSize(point_size)
    font.setBold(bold)
    return font


class PredictionOverlay(QWidget):
    """Outcome + confidence, top-3 bars and the ground truth; drag it with the mouse."""

    WIDTH = 300
    HEIGHT = 178
    MARGIN = 10

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.resize(self.WIDTH, self.HEIGHT)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setToolTip("Drag to move the prediction box off the person")
        self.report: WindowReport | None = None
        self.outcome: Outcome | None = None
        self.class_names: tuple[str, ...] = ()
        self.message = "waiting for events"
        self.moved_by_user = False
        self._grab: QPoint | None = None

    def set_report(self, report: WindowReport | None, class_names: tuple[str, ...]) -> None:
        self.report = report
        self.class_names = class_names
        self.outcome = None if report is None else describe_report(report, class_names)
        self.update()

    def bar_widths(self) -> list[float]:
        """Pixel widths of the top-3 bars (absolute scale: score x full width)."""
        full = self.width() - 24
        return [] if self.outcome is None else [s * full for _, s in self.outcome.top]

    # ------------------------------------------------------------------ moving
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self._grab = event.position().toPoint()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._grab is not None:
            self.move_within(self.mapToParent(event.position().toPoint()) - self._grab)
            self.moved_by_user = True

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self._grab = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def move_within(self, pos: QPoint) -> None:
        """Move to ``pos`` (parent coordinates), kept fully inside the parent."""
        parent = self.parentWidget()
        if parent is None:
            self.move(pos)
            return
        x = min(max(pos.x(), 0), max(0, parent.width() - self.width()))
        y = min(max(pos.y(), 0), max(0, parent.height() - self.height()))
        self.move(x, y)

    def reset_position(self) -> None:
        self.moved_by_user = False
        self.move(self.MARGIN, self.MARGIN)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = panel_painter(self, alpha=170, radius=8)
        big = sized_font(15, bold=True)
        p.setFont(big)
        p.setPen(TITLE_COLOUR)
        if self.outcome is None:
            p.drawText(12, 30, self.message)
        else:
            self._paint_outcome(p, big, self.outcome)
        p.end()

    def _paint_outcome(self, p: QPainter, big: QFont, out: Outcome) -> None:
        title = out.title
        # Long class names ("right arm counter clockwise") shrink to fit instead of being cut.
        while (
            big.pointSize() > 9 and QFontMetrics(big).horizontalAdvance(title) > self.width() - 24
        ):
            big.setPointSize(big.pointSize() - 1)
        p.setFont(big)
        p.setPen(TITLE_COLOUR if out.gesture else NO_GESTURE_COLOUR)
        p.drawText(12, 30, title)
        small = sized_font(9)
        p.setFont(small)
        p.setPen(QColor(190, 190, 190) if out.gesture else NO_GESTURE_COLOUR)
        p.drawText(12, 50, out.detail if out.gesture else f"{out.detail} ({out.confidence:.2f})")
        full = self.width() - 24
        for rank, ((name, score), width) in enumerate(zip(out.top, self.bar_widths(), strict=True)):
            y = 62 + rank * 26
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(255, 255, 255, 30))
            p.drawRect(QRectF(12, y, full, 9))
            colour = BAR_COLOUR if rank == 0 and out.gesture else BAR_COLOUR_2
            p.setBrush(colour if out.gesture else NO_GESTURE_COLOUR)
            p.drawRect(QRectF(12, y, width, 9))
            p.setPen(QColor(220, 220, 220))
            p.drawText(12, y + 21, f"{name}  {score:.2f}")
        r = self.report
        if r is not None and r.truth_name is not None:
            colour = QColor(110, 220, 110) if r.class_id == r.truth else QColor(255, 100, 100)
            p.setPen(colour)
            p.drawText(12, self.height() - 12, f"truth: {pretty(r.truth_name)}")
        else:
            p.setPen(QColor(150, 150, 150))
            p.drawText(12, self.height() - 12, "truth: (no label here)")
