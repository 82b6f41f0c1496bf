"""A Qt message handler that drops only Qt's "propagateSizeHints()" warning.

Some platform plugins (offscreen, xcb under Xvfb) print "This plugin does not support
propagateSizeHints()" 2-4 times per run; it means nothing to a user. Every other Qt
message still goes to stderr, formatted as Qt would.
"""

from __future__ import annotations

import sys

from PyQt6.QtCore import QtMsgType, qInstallMessageHandler

DROPPED = ("propagateSizeHints",)
_installed = False


def _handler(kind: QtMsgType, context: object, message: str) -> None:
    if any(d in message for d in DROPPED):
        return
    print(message, file=sys.stderr, flush=True)


def install_message_filter() -> None:
    """Install the filter once per process (later calls do nothing)."""
    global _installed
    if not _installed:
        qInstallMessageHandler(_handler)
        _installed = True
