"""Live Prophesee cameras through eventcv's stream(), against a fake eventcv module: every
failure is one CameraError sentence. No Prophesee camera is attached here: the real device
path is untested (test_real_eventcv_without_a_camera checks only the no-camera answer)."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.errors import CameraError
from asa_live.events import open_source
from asa_live.events.prophesee_camera import PropheseeCameraSource


class FakeStream:
    def __init__(self, columns):
        self._columns = np.asarray(columns, np.uint64).reshape(-1, 4)

    def numpy(self):
        return self._columns


class FakeCamera:
    def __init__(self, windows, sensor_size=(1280, 720), name="EVK4"):
        self._windows = list(windows)
        self.sensor_size = sensor_size
        self.name = name
        self.closed = False
        self.timeouts = []

    def read(self, timeout_ms=None):
        self.timeouts.append(timeout_ms)
        if self.closed:
            raise RuntimeError("camera is closed")
        item = self._windows.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def close(self):
        self.closed = True


class FakeEventcv:
    def __init__(self, cameras=(), camera=None, open_error=None, list_error=None):
        self.cameras = [{"kind": "prophesee_evk4", "name": "EVK4", "serial": s} for s in cameras]
        self.camera = camera
        self.open_error = open_error
        self.list_error = list_error
        self.opened = []

    def list_cameras(self):
        if self.list_error:
            raise self.list_error
        return self.cameras

    def stream(self, serial=None, dt_ms=None):
        if self.open_error:
            raise self.open_error
        self.opened.append((serial, dt_ms))
        return self.camera


def test_no_camera_one_sentence():
    with pytest.raises(CameraError, match="No Prophesee .* camera found") as info:
        PropheseeCameraSource(camera_api=FakeEventcv())
    assert "\n" not in str(info.value)


def test_listing_fails():
    with pytest.raises(CameraError, match="Looking for cameras failed \\(usb gone\\)"):
        PropheseeCameraSource(camera_api=FakeEventcv(list_error=RuntimeError("usb gone")))


def test_wrong_serial_lists_those_found():
    api = FakeEventcv(["00050567", "00000307"], camera=FakeCamera([]))
    with pytest.raises(CameraError, match="found: 00050567, 00000307"):
        PropheseeCameraSource("123", camera_api=api)


def test_busy_camera():
    api = FakeEventcv(["00050567"], open_error=RuntimeError("Other error"))
    with pytest.raises(CameraError, match="could not be opened \\(Other error\\)"):
        PropheseeCameraSource(camera_api=api)


def test_streams_windows_skips_idle_and_stops_on_unplug():
    windows = [
        FakeStream([[5, 6, 1000, 1], [7, 8, 1001, 0]]),
        None,  # idle: read timed out
        FakeStream([]),
        FakeStream([[9, 10, 1500, 1]]),
        RuntimeError("device disconnected"),
    ]
    camera = FakeCamera(windows)
    api = FakeEventcv(["00050567"], camera=camera)
    source = PropheseeCameraSource("00050567", camera_api=api, packet_ms=5)
    assert api.opened == [("00050567", 5.0)]
    assert source.sensor_size == (1280, 720) and source.name == "EVK4"
    packets = []
    with pytest.raises(CameraError, match="stopped delivering events after 3 events"):
        for packet in source:
            packets.append(packet)
    assert [p.tolist() for p in packets] == [
        [(1000, 5, 6, 1), (1001, 7, 8, 0)],
        [(1500, 9, 10, 1)],
    ]
    assert set(camera.timeouts) == {100}


def test_close_releases_the_camera_and_ends_iteration():
    camera = FakeCamera([FakeStream([[1, 1, 10, 1]])] * 3)
    with PropheseeCameraSource(camera_api=FakeEventcv(["1"], camera=camera)) as source:
        for _ in source:
            source.close()
    assert camera.closed


def test_open_source_prophesee_spec(monkeypatch):
    import asa_live.events.prophesee_camera as module

    def fake_init(self, serial=None, **kw):
        self.serial = serial

    monkeypatch.setattr(module.PropheseeCameraSource, "__init__", fake_init)
    assert open_source("prophesee").serial is None
    assert open_source("prophesee:00050567").serial == "00050567"


def test_real_eventcv_without_a_camera():
    """eventcv itself, on this camera-less machine: list_cameras() is empty, so one sentence."""
    with pytest.raises(CameraError, match="No Prophesee"):
        PropheseeCameraSource()
