"""The user-facing sentences both live-camera sources share (dv-processing and eventcv).

A camera error must name what the user can do; on Linux the usual cause of "found but cannot
be opened" is a missing udev rule, so each hint ends with the vendor's rules to install.
"""

from __future__ import annotations

import sys

from asa_live.errors import CameraError

__all__ = ["pick_serial", "usb_permission_hint"]


def usb_permission_hint(rules: str) -> str:
    """``"; on Linux, <rules>, then unplug and replug the camera"`` on Linux, else ``""``."""
    if sys.platform.startswith("linux"):
        return f"; on Linux, {rules}, then unplug and replug the camera"
    return ""


def pick_serial(serial: str | None, serials: list[str]) -> str:
    """The serial to open: ``serial`` if it was found, else the first camera's.

    ``serials`` must not be empty; a ``serial`` not in it is a :class:`CameraError` that lists
    the serials found.
    """
    if serial is None:
        return serials[0]
    if serial not in serials:
        raise CameraError(
            f"No camera with serial number '{serial}' (found: {', '.join(serials)}): "
            "give one of those serials, or none to use the first camera."
        )
    return serial
