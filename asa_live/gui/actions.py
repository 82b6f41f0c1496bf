"""The window's actions, its toolbar and its menus (every control is reachable from a menu).

The toolbar holds the common controls; when the window is too narrow for it, Qt moves the
rest into the toolbar's overflow (">>") menu. The menu bar always holds every action as
well, including menu equivalents of the toolbar's spin boxes, so nothing is ever lost at
800x500.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QCheckBox, QDoubleSpinBox, QLabel, QSpinBox, QToolBar

from asa_live.gui.shortcuts import apply_shortcuts


def _action(win: Any, text: str, slot: Any, checkable: bool = False) -> QAction:
    act = QAction(text, win)
    act.setCheckable(checkable)
    (act.toggled if checkable else act.triggered).connect(slot)
    return act


def build_actions(win: Any) -> None:
    """Create ``win.act_*`` (the shortcuts table names them) and connect them to ``win``."""
    win.act_open = _action(win, "Open file...", win._ask_open_file)
    win.act_model = _action(win, "Open model...", win._ask_open_model)
    win.act_camera = _action(win, "Camera", lambda: win.open_camera(None))
    win.act_pause = _action(win, "Pause", win.set_paused, checkable=True)
    win.act_reset = _action(win, "Reset state", win.reset_state)
    win.act_restart = _action(win, "Restart", win.restart)
    win.act_record = _action(win, "Record", win._toggle_record, checkable=True)
    win.act_record.setEnabled(False)
    win.act_faster = _action(win, "Faster", lambda: win.step_speed(True))
    win.act_slower = _action(win, "Slower", lambda: win.step_speed(False))
    win.act_longer = _action(win, "Longer accumulation", lambda: win.step_accumulation(2.0))
    win.act_shorter = _action(win, "Shorter accumulation", lambda: win.step_accumulation(0.5))
    win.act_noise = _action(win, "Noise filter", win.set_noise_filter, checkable=True)
    win.act_fullscreen = _action(win, "Full screen", win.set_full_screen, checkable=True)
    win.act_model_input = _action(win, "Model input", win.set_model_input, checkable=True)
    win.act_aps = _action(win, "Grey frames (APS)", lambda _on: win.redraw(), checkable=True)
    win.act_aps.setChecked(True)
    win.act_aps.setEnabled(False)
    win.act_overlay_home = _action(
        win, "Prediction box to the corner", win.event_view.overlay.reset_position
    )
    win.act_help = _action(win, "Keyboard shortcuts", win.show_help)
    win.act_quit = _action(win, "Quit", win.close)
    apply_shortcuts(win)
    # short toolbar labels (the menus keep the long ones), so the bar fits at 1024 px
    for act, short in (
        (win.act_open, "Open"),
        (win.act_model, "Model"),
        (win.act_reset, "Reset"),
        (win.act_model_input, "Input"),
        (win.act_help, "?"),
    ):
        act.setIconText(short)


def build_toolbar(win: Any, noise_filter: bool, accumulate_ms: int) -> QToolBar:
    bar = QToolBar("controls")
    bar.setMovable(False)
    for act in (win.act_open, win.act_model, win.act_camera):
        bar.addAction(act)
    bar.addSeparator()
    for act in (win.act_pause, win.act_reset, win.act_restart, win.act_record):
        bar.addAction(act)
    bar.addSeparator()
    bar.addWidget(QLabel(" speed "))
    win.speed_box = QDoubleSpinBox()
    win.speed_box.setRange(0.1, 100.0)
    win.speed_box.setDecimals(2)
    win.speed_box.setSingleStep(0.25)
    win.speed_box.setSuffix(" x")
    win.speed_box.setValue(1.0)
    win.speed_box.setToolTip("Replay speed (Left / Right arrows)")
    win.speed_box.valueChanged.connect(win.set_speed)
    bar.addWidget(win.speed_box)
    bar.addWidget(QLabel(" accumulate "))
    win.accum_box = QSpinBox()
    win.accum_box.setRange(5, 1000)
    win.accum_box.setSingleStep(10)
    win.accum_box.setSuffix(" ms")
    win.accum_box.setValue(accumulate_ms)
    win.accum_box.setToolTip("How much event history the image shows")
    bar.addWidget(win.accum_box)
    win.noise_box = QCheckBox("noise filter")
    win.noise_box.setChecked(noise_filter)
    win.act_noise.setChecked(noise_filter)
    win.noise_box.toggled.connect(win.set_noise_filter)
    bar.addWidget(win.noise_box)
    # Keyboard focus stays off the toolbar's inputs unless clicked, so that Space and the
    # arrows reach the window's shortcuts instead of a spin box.
    for widget in (win.speed_box, win.accum_box, win.noise_box):
        widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    bar.addSeparator()
    bar.addAction(win.act_model_input)
    bar.addAction(win.act_help)
    return bar


def build_menus(win: Any) -> dict[str, Any]:
    """File / Playback / View / Help menus holding every action."""
    menus = {}
    layout = {
        "&File": (win.act_open, win.act_model, win.act_camera, win.act_record, win.act_quit),
        "&Playback": (
            win.act_pause,
            win.act_reset,
            win.act_restart,
            win.act_faster,
            win.act_slower,
            win.act_noise,
        ),
        "&View": (
            win.act_model_input,
            win.act_aps,
            win.act_longer,
            win.act_shorter,
            win.act_overlay_home,
            win.act_fullscreen,
        ),
        "&Help": (win.act_help,),
    }
    for title, actions in layout.items():
        menu = win.menuBar().addMenu(title)
        for act in actions:
            menu.addAction(act)
        menus[title.strip("&")] = menu
    return menus
