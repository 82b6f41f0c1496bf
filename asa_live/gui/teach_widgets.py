"""The Teach panel's widgets: its form, and the big prompt drawn over the event view.

They only show; :class:`asa_live.gui.teach.TeachPanel` owns the session and the run.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QEvent, QObject, QRectF, Qt
from PyQt6.QtGui import QColor, QFontMetrics
from PyQt6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from asa_live.gui.overlay import panel_painter, sized_font

GO_COLOUR = QColor(110, 220, 110)
WAIT_COLOUR = QColor(255, 176, 32)


class PromptOverlay(QWidget):
    """The countdown ("3…", "GO: swipe_left") in large letters, centred over the event view.

    Mouse clicks pass through to the view; it follows the view's size.
    """

    WIDTH, HEIGHT = 420, 150

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.resize(self.WIDTH, self.HEIGHT)
        self.prompt: Any = None
        parent.installEventFilter(self)
        self.hide()

    def show_prompt(self, prompt: Any) -> None:
        """Show a :class:`~asa_live.gui.teach.Prompt`; None hides the overlay."""
        self.prompt = prompt
        if prompt is None:
            self.hide()
            return
        self._centre()
        self.show()
        self.raise_()
        self.update()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize:
            self._centre()
        return False

    def _centre(self) -> None:
        parent = self.parentWidget()
        width = min(self.WIDTH, max(200, parent.width() - 20))
        self.resize(width, self.HEIGHT)
        self.move((parent.width() - width) // 2, max(0, (parent.height() - self.HEIGHT) // 2))

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        prompt = self.prompt
        if prompt is None:
            return
        p = panel_painter(self, alpha=175, radius=12)
        big = sized_font(36, bold=True)
        # a long class name shrinks to fit instead of being cut
        while big.pointSize() > 12 and QFontMetrics(big).horizontalAdvance(prompt.title) > (
            self.width() - 24
        ):
            big.setPointSize(big.pointSize() - 2)
        p.setFont(big)
        p.setPen(GO_COLOUR if prompt.go else WAIT_COLOUR)
        top = QRectF(10, 8, self.width() - 20, 80)
        p.drawText(top, Qt.AlignmentFlag.AlignCenter, prompt.title)
        small = sized_font(13)
        p.setFont(small)
        p.setPen(QColor(225, 225, 225))
        p.drawText(
            QRectF(10, 88, self.width() - 20, 28), Qt.AlignmentFlag.AlignCenter, prompt.detail
        )
        if prompt.go:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(255, 255, 255, 40))
            p.drawRect(QRectF(20, 124, self.width() - 40, 8))
            p.setBrush(GO_COLOUR)
            p.drawRect(QRectF(20, 124, (self.width() - 40) * prompt.fraction, 8))
        p.end()


class TeachForm(QWidget):
    """Class names, repeats, gesture and pause seconds, folder; the buttons, log and progress."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # the window's style greys only its toolbar's disabled inputs; these must look off too
        self.setStyleSheet(
            "QPushButton:disabled, QLineEdit:disabled, QAbstractSpinBox:disabled,"
            " QToolButton:disabled { color: #666; }"
        )
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self._session_box())
        column.addWidget(self._finetune_box())
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        self.log.setPlaceholderText("prompts and results appear here")
        column.addWidget(self.log, 1)

    def _session_box(self) -> QGroupBox:
        box = QGroupBox("Record your gestures")
        form = QFormLayout(box)
        self.classes_edit = QLineEdit()
        self.classes_edit.setPlaceholderText("swipe_left,swipe_right,thumbs_up")
        self.classes_edit.setToolTip("Comma-separated class names: letters, digits, _ - .")
        self.repeats_box = QSpinBox()
        self.repeats_box.setRange(1, 1000)
        self.repeats_box.setValue(3)
        self.gesture_box = _seconds(0.3, 2.5, "seconds recorded per take")
        self.pause_box = _seconds(0.5, 1.5, "seconds of countdown before each take")
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("my-gestures")
        browse = QToolButton()
        browse.setText("...")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.user_edit = QLineEdit("user")
        self.user_edit.setToolTip("Used in the session's file name (user_001.aedat4)")
        form.addRow("classes", self.classes_edit)
        form.addRow("repeats", self.repeats_box)
        form.addRow("gesture", self.gesture_box)
        form.addRow("pause", self.pause_box)
        form.addRow("folder", folder_row)
        form.addRow("user", self.user_edit)
        self.start_button = QPushButton("Start")
        self.redo_button = QPushButton("Redo last")
        self.stop_button = QPushButton("Stop")
        buttons = QHBoxLayout()
        for button in (self.start_button, self.redo_button, self.stop_button):
            buttons.addWidget(button)
        form.addRow(buttons)
        self.setup_widgets = (
            self.classes_edit, self.repeats_box, self.gesture_box, self.pause_box,
            self.folder_edit, browse, self.user_edit,
        )  # fmt: skip
        return box

    def _finetune_box(self) -> QGroupBox:
        box = QGroupBox("Fine-tune the model on the folder")
        column = QVBoxLayout(box)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.finetune_button = QPushButton("Fine-tune")
        self.cancel_button = QPushButton("Cancel")
        self.use_button = QPushButton("Use this model")
        buttons = QHBoxLayout()
        for button in (self.finetune_button, self.cancel_button, self.use_button):
            buttons.addWidget(button)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.status_label)
        return box

    def show_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(round(1000 * fraction))
        self.status_label.setText(text)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Recordings folder", self.folder_edit.text())
        if path:
            self.folder_edit.setText(path)


def _seconds(low: float, value: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, 60.0)
    box.setDecimals(1)
    box.setSingleStep(0.5)
    box.setValue(value)
    box.setSuffix(" s")
    box.setToolTip(tip)
    return box
