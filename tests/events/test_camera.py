"""CameraSource against a fake dv.io.camera: every failure is one CameraError sentence."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from asa_live.errors import CameraError
from asa_live.events import EVENT_DTYPE, CameraSource, EventSource, open_source

from .fake_camera import CPP_TRACE, FakeBatch, FakeCamera, FakeCameraApi


def _one_sentence(err: CameraError) -> str:
    message = str(err)
    assert "\n" not in message and "Stacktrace" not in message and "vector::" not in message
    return message


def test_no_camera():
    with pytest.raises(CameraError, match="No event camera found") as info:
        CameraSource(camera_api=FakeCameraApi([]))
    message = _one_sentence(info.value)
    if sys.platform.startswith("linux"):
        assert "udev" in message


def test_open_of_first_camera_raising_index_error_is_translated():
    class Vanishing(FakeCameraApi):
        def open(self, serial=None):
            raise IndexError(
                "vector::_M_range_check: __n (which is 0) >= this->size() (which is 0)"
            )

    with pytest.raises(CameraError, match="'A1' disappeared") as info:
        CameraSource(camera_api=Vanishing([FakeCamera("A1")]))
    _one_sentence(info.value)


def test_wrong_serial_lists_the_serials_found():
    api = FakeCameraApi([FakeCamera("00000499"), FakeCamera("DXA00087")])
    with pytest.raises(CameraError, match=r"'12345' \(found: 00000499, DXA00087\)") as info:
        CameraSource(serial="12345", camera_api=api)
    _one_sentence(info.value)


def test_busy_camera():
    api = FakeCameraApi([FakeCamera("00000499")], busy={"00000499"})
    with pytest.raises(CameraError, match="could not be opened .*LIBUSB_ERROR_BUSY") as info:
        CameraSource(camera_api=api)
    assert "other program" in _one_sentence(info.value)


def test_serial_that_vanishes_between_discover_and_open():
    class Racy(FakeCameraApi):
        def open(self, serial=None):
            raise RuntimeError(
                CPP_TRACE.format(message="Could not find device with given serial number")
            )

    with pytest.raises(CameraError, match="could not be opened") as info:
        CameraSource(serial="X", camera_api=Racy([FakeCamera("X")]))
    _one_sentence(info.value)


def test_streams_batches_by_serial_and_skips_empty_reads():
    sleeps: list[float] = []
    batches = [FakeBatch([10, 20], [1, 2], [3, 4], [1, 0]), None, FakeBatch([30], [5], [6], [1])]
    camera = FakeCamera("B2", batches=batches, stop_after=10)
    api = FakeCameraApi([FakeCamera("A1"), camera])
    source = CameraSource(serial="B2", camera_api=api, sleep=sleeps.append)
    assert isinstance(source, EventSource)
    assert source.sensor_size == (346, 260) and source.name == "DAVIS346_B2"
    it = iter(source)
    first = next(it)
    assert first.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(first["t"], [10, 20])
    np.testing.assert_array_equal(first["p"], [1, 0])
    second = next(it)
    np.testing.assert_array_equal(second["x"], [5])
    assert sleeps == [0.001]  # one idle read slept once, no busy spin
    source.close()
    assert list(it) == []


def test_unplugged_mid_stream_is_running_false():
    camera = FakeCamera("A1", batches=[FakeBatch([1], [0], [0], [1])], stop_after=1)
    source = CameraSource(camera_api=FakeCameraApi([camera]), sleep=lambda s: None)
    it = iter(source)
    assert len(next(it)) == 1
    with pytest.raises(CameraError, match="stopped after 1 events .*unplugged") as info:
        next(it)
    _one_sentence(info.value)


def test_unplugged_mid_stream_exception_during_read():
    failure = RuntimeError(CPP_TRACE.format(message="Device disconnected"))
    camera = FakeCamera("A1", batches=[FakeBatch([1], [0], [0], [1]), failure])
    with CameraSource(camera_api=FakeCameraApi([camera]), sleep=lambda s: None) as source:
        it = iter(source)
        next(it)
        with pytest.raises(
            CameraError, match="stopped delivering events .*Device disconnected"
        ) as info:
            next(it)
    _one_sentence(info.value)


def test_open_source_camera_spec():
    api = FakeCameraApi([FakeCamera("A1"), FakeCamera("B2")])
    assert open_source("camera", camera_api=api).name == "DAVIS346_A1"
    assert open_source("camera:B2", camera_api=api).name == "DAVIS346_B2"


def test_real_dv_camera_api_without_a_camera():
    """The real dv.io.camera on this machine (no camera attached) gives the same sentence."""
    pytest.importorskip("dv_processing")
    import dv_processing as dv

    if dv.io.camera.discover():  # a camera is attached: it must open and stream
        with CameraSource() as source:
            assert min(source.sensor_size) > 0
            assert next(iter(source)).dtype == EVENT_DTYPE
        return
    with pytest.raises(CameraError, match="No event camera found"):
        CameraSource()


def test_davis_camera_keeps_its_newest_aps_frame():
    """A DAVIS delivers grey frames beside the events: the source keeps the newest one for the
    GUI's underlay; a DVS-only camera (no frame stream) keeps none."""
    from types import SimpleNamespace

    class Davis(FakeCamera):
        def __init__(self, *a, frames=(), **kw):
            super().__init__(*a, **kw)
            self.frames = list(frames)

        def isFrameStreamAvailable(self):  # noqa: N802 - dv's method name
            return True

        def getNextFrame(self):  # noqa: N802
            return self.frames.pop(0) if self.frames else None

    grey = [np.full((260, 346, 1), v, np.uint8) for v in (10, 20)]
    camera = Davis("D1", batches=[FakeBatch([1], [0], [0], [1]), FakeBatch([2], [1], [1], [0])],
                   frames=[SimpleNamespace(image=g) for g in grey])  # fmt: skip
    source = CameraSource(camera_api=FakeCameraApi([camera]))
    packets = iter(source)
    next(packets)
    assert source.latest_frame.shape == (260, 346) and source.latest_frame[0, 0] == 10
    next(packets)
    assert source.latest_frame[0, 0] == 20
    plain = CameraSource(
        camera_api=FakeCameraApi([FakeCamera("X1", batches=[FakeBatch([1], [0], [0], [1])])])
    )
    next(iter(plain))
    assert plain.latest_frame is None
