"""Keyboard shortcuts: one table, applied to the window's actions and shown in the Help.

Every shortcut also appears in its action's tooltip ("Pause (Space)"), and the Help menu
(F1 or ?) lists them all.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtGui import QAction, QKeySequence

# (window attribute of the QAction, keys, what it does)
SHORTCUTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("act_pause", ("Space",), "pause / resume"),
    ("act_reset", ("R",), "reset the network state"),
    ("act_restart", ("Shift+R",), "restart the source from its beginning (all counters to 0)"),
    ("act_open", ("O",), "open a recording"),
    ("act_model", ("M",), "open a model"),
    ("act_camera", ("C",), "open the first camera"),
    ("act_faster", ("Right", "Up"), "replay faster"),
    ("act_slower", ("Left", "Down"), "replay slower"),
    ("act_fullscreen", ("F",), "full screen on / off"),
    ("act_model_input", ("I",), "show the model's input (binned frames) / the events"),
    ("act_aps", ("G",), "grey (APS) frames under the events, when the recording has them"),
    ("act_help", ("F1", "?"), "this list"),
)

# Shortcuts whose actions are added by a panel of their own (gui/teach.py), listed in the Help.
PANEL_SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("T", "the Teach panel: record your own gestures, then fine-tune"),
)

# Replay speeds the arrow keys step through.
SPEED_STEPS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0)


def next_speed(speed: float, faster: bool) -> float:
    """The next step of SPEED_STEPS above (``faster``) or below the current speed."""
    if faster:
        return next((s for s in SPEED_STEPS if s > speed + 1e-9), SPEED_STEPS[-1])
    return next((s for s in reversed(SPEED_STEPS) if s < speed - 1e-9), SPEED_STEPS[0])


def apply_shortcuts(window: Any) -> None:
    """Give each action of SHORTCUTS its keys and a tooltip naming them."""
    for attr, keys, _ in SHORTCUTS:
        action: QAction = getattr(window, attr)
        action.setShortcuts([QKeySequence(k) for k in keys])
        label = action.text().replace("&", "").rstrip(".")
        action.setToolTip(f"{label} ({' or '.join(keys)})")


def help_html() -> str:
    """The shortcut list as an HTML table (the Help dialog)."""
    rows = "".join(
        f"<tr><td><b>{' / '.join(keys)}</b></td><td>&nbsp;&nbsp;{text}</td></tr>"
        for _, keys, text in SHORTCUTS
    ) + "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{t}</td></tr>" for k, t in PANEL_SHORTCUTS)
    return (
        f"<h3>Keyboard shortcuts</h3><table>{rows}</table>"
        "<p>Drag the prediction box to move it off the person.</p>"
    )
