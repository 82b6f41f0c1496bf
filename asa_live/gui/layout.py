"""The window's layout: toolbar and menus, the event view with its timeline on the left,
model info and spike panel on the right, the status fields below."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from asa_live.gui.actions import build_actions, build_menus, build_toolbar
from asa_live.gui.panels import ModelInfo, StatusFields
from asa_live.gui.timeline import Timeline
from asa_live.gui.widgets import EventView, SpikePanel

STYLE = (
    "QMainWindow, QWidget { background: #1b1b20; color: #ddd; }"
    "QToolBar { spacing: 6px; border: none; }"
    "QToolButton { padding: 4px 8px; } QToolButton:checked { background: #444a5a; }"
    "QToolButton:disabled, QLabel:disabled, QDoubleSpinBox:disabled { color: #666; }"
    "QMenuBar::item:selected, QMenu::item:selected { background: #444a5a; }"
)


def build_window(win: Any, noise_filter: bool, accumulate_ms: int) -> None:
    """Create every widget of the main window ``win`` and lay them out."""
    win.setStyleSheet(STYLE)
    win.event_view = EventView()
    build_actions(win)
    win.addToolBar(build_toolbar(win, noise_filter, accumulate_ms))
    win.menus = build_menus(win)
    win.timeline = Timeline()
    win.timeline.seekRequested.connect(win.seek)
    left = QWidget()
    column = QVBoxLayout(left)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(win.event_view, 1)
    column.addWidget(win.timeline)
    win.model_info = ModelInfo()
    right = QWidget()
    win.side = QVBoxLayout(right)
    win.side.setContentsMargins(0, 0, 0, 0)
    win.side.addWidget(win.model_info)
    win.side.addWidget(QWidget(), 1)  # the spike panel's place until a model is loaded
    win.spike_panel = None
    win.splitter = QSplitter(Qt.Orientation.Horizontal)
    win.splitter.addWidget(left)
    win.splitter.addWidget(right)
    win.splitter.setChildrenCollapsible(False)
    win.setCentralWidget(win.splitter)
    make_spike_panel(win)
    win.status = StatusFields(win.statusBar())
    win.event_view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    win.event_view.setFocus()


def make_spike_panel(win: Any) -> None:
    """(Re)build the spike panel and the model info for ``win.checkpoint``."""
    if win.checkpoint is None:
        return
    win.model_info.set_model(win.checkpoint, win.model_path)
    model = win.checkpoint.model
    panel = SpikePanel(
        tuple(model.layer_names),
        tuple(model.layer_neurons),
        window_us=win.checkpoint.binning.window_us,
    )
    old = win.side.itemAt(1).widget()
    win.side.replaceWidget(old, panel)
    old.hide()  # deleteLater waits for the event loop; until then it must not cover anything
    old.deleteLater()
    win.spike_panel = panel
    win.splitter.setSizes([680, 500])
