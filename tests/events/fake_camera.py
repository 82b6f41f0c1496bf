"""A stand-in for ``dv_processing.io.camera`` that fails the way dv-processing 2.0.4 does."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CPP_TRACE = (
    "/project/include/dv-processing/io/camera/discovery.hpp(88): "
    "dv::io::camera::CameraPtr dv::io::camera::open(std::string_view, ...)()\n"
    "RuntimeError: {message}\n"
    "Stacktrace:\n"
    " 0# 0x00000000003ABBDA in /venv/lib/python3.11/site-packages/dv_processing.so\n"
    " 1# 0x0000000000632583 in /venv/lib/python3.11/site-packages/dv_processing.so\n"
)
RAW_DTYPE = np.dtype([("timestamp", "<i8"), ("x", "<i2"), ("y", "<i2"), ("polarity", "i1")])


@dataclass
class FakeDescriptor:
    serialNumber: str  # noqa: N815 - dv's attribute name
    cameraModel: str = "DAVIS"  # noqa: N815


class FakeBatch:
    """Like dv.EventStore: ``size()`` and ``numpy()`` with dv's field names."""

    def __init__(self, t, x, y, p):
        self._raw = np.zeros(len(t), RAW_DTYPE)
        self._raw["timestamp"], self._raw["x"], self._raw["y"], self._raw["polarity"] = t, x, y, p

    def size(self) -> int:
        return len(self._raw)

    def numpy(self) -> np.ndarray:
        return self._raw.copy()


@dataclass
class FakeCamera:
    serial: str
    resolution: tuple[int, int] = (346, 260)
    batches: list = field(default_factory=list)  # FakeBatch, None (no data yet) or Exception
    stop_after: int | None = None  # isRunning() turns False after this many reads

    reads: int = 0

    def getEventResolution(self):  # noqa: N802 - dv's method name
        return self.resolution

    def getCameraName(self):  # noqa: N802
        return f"DAVIS346_{self.serial}"

    def isRunning(self):  # noqa: N802
        return self.stop_after is None or self.reads < self.stop_after

    def getNextEventBatch(self):  # noqa: N802
        self.reads += 1
        if not self.batches:
            return None
        item = self.batches.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class FakeCameraApi:
    """``discover()`` and ``open()`` / ``open(serial)`` as in dv.io.camera."""

    def __init__(self, cameras: list[FakeCamera] | None = None, busy: set[str] | None = None):
        self.cameras = cameras or []
        self.busy = busy or set()

    def discover(self):
        return [FakeDescriptor(c.serial) for c in self.cameras]

    def open(self, serial: str | None = None):
        if serial is None:
            if not self.cameras:
                raise IndexError(
                    "vector::_M_range_check: __n (which is 0) >= this->size() (which is 0)"
                )
            camera = self.cameras[0]
        else:
            matches = [c for c in self.cameras if c.serial == serial]
            if not matches:
                raise RuntimeError(
                    CPP_TRACE.format(message="Could not find device with given serial number")
                )
            camera = matches[0]
        if camera.serial in self.busy:
            raise RuntimeError(CPP_TRACE.format(message="Failed to open device: LIBUSB_ERROR_BUSY"))
        return camera
