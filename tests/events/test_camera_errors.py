"""The camera sentences both live sources share (asa_live.events.camera_errors)."""

from __future__ import annotations

import pytest

from asa_live.errors import CameraError
from asa_live.events import camera_errors
from asa_live.events.camera_errors import pick_serial, usb_permission_hint


def test_pick_serial_takes_the_first_or_the_named_camera():
    assert pick_serial(None, ["A1", "B2"]) == "A1"
    assert pick_serial("B2", ["A1", "B2"]) == "B2"


def test_pick_serial_lists_the_serials_found():
    with pytest.raises(CameraError, match=r"'C3' \(found: A1, B2\)"):
        pick_serial("C3", ["A1", "B2"])


def test_usb_hint_only_on_linux(monkeypatch):
    monkeypatch.setattr(camera_errors.sys, "platform", "linux")
    assert usb_permission_hint("install X") == (
        "; on Linux, install X, then unplug and replug the camera"
    )
    monkeypatch.setattr(camera_errors.sys, "platform", "darwin")
    assert usb_permission_hint("install X") == ""
