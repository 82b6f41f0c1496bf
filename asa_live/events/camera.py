"""Live event cameras through dv-processing 2.x ``dv.io.camera`` (DAVIS346, DAVIS240,
DVXplorer, DVS128).

Every failure a user can cause becomes one :class:`~asa_live.errors.CameraError` sentence:
no camera, a wrong serial number (listing the serials found), a camera that cannot be opened
(busy in another program, or no USB permission), and a camera unplugged mid-stream. dv's raw
errors (``IndexError('vector::_M_range_check ...')`` from ``open()`` with no camera, a
``RuntimeError`` with a C++ stack trace from ``open(serial)``) never reach the user.

The camera API is injectable (``camera_api``), so the logic is tested against a fake object
that behaves like ``dv.io.camera``; no camera is needed for the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from asa_live.errors import CameraError
from asa_live.events.aedat4 import _dv_reason, store_to_events
from asa_live.events.camera_errors import pick_serial, usb_permission_hint

__all__ = ["CameraSource", "udev_hint"]

_IDLE_SLEEP_S = 0.001  # a live camera delivers a batch about every millisecond or more


def udev_hint() -> str:
    """The permission hint appended to camera errors (Linux only)."""
    return usb_permission_hint(
        "also check USB permissions: install iniVation's udev rules "
        "(https://docs.inivation.com, 'udev rules')"
    )


def _serial_of(descriptor: Any) -> str:
    serial = getattr(descriptor, "serialNumber", None)
    if callable(serial):
        serial = serial()
    return str(serial) if serial is not None else "?"


def _has_frame_stream(camera: Any) -> bool:
    """Whether a dv camera delivers APS frames (DAVIS: yes; DVXplorer, DVS128: no)."""
    check = getattr(camera, "isFrameStreamAvailable", None)
    try:
        return bool(check()) if callable(check) else False
    except (RuntimeError, IndexError):
        return False


class CameraSource:
    """Events from a live camera: the first one found, or the one with ``serial``.

    Iterating yields EVENT_DTYPE packets (one per dv event batch, t in microseconds of the
    camera clock). ``sensor_size`` is (width, height); ``name`` is the camera's name.
    """

    def __init__(
        self,
        serial: str | None = None,
        camera_api: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if camera_api is None:
            try:
                import dv_processing as dv  # heavy native module, only loaded for a live camera
            except ImportError:
                raise CameraError(
                    "Live cameras need dv-processing, which is not installed: "
                    "run `pip install 'asa-live[camera]'`."
                ) from None
            camera_api = dv.io.camera
        self._api = camera_api
        self._sleep = sleep
        self._closed = False
        self.serial = serial
        self._camera = self._open()
        try:
            resolution = self._camera.getEventResolution()
            name = self._camera.getCameraName()
        except (RuntimeError, IndexError) as err:
            raise CameraError(
                f"The camera opened but did not report its sensor ({_dv_reason(err)}): "
                f"unplug and replug it{udev_hint()}."
            ) from None
        if resolution is None:
            raise CameraError(
                f"The camera '{name}' has no event stream (a frame-only device?): "
                "use an event camera (DAVIS, DVXplorer, DVS128)."
            )
        self.sensor_size: tuple[int, int] = (int(resolution[0]), int(resolution[1]))
        self.name: str = str(name)
        self.events_read = 0
        #: The newest grey (APS) frame of a DAVIS, ``[H, W]`` uint8 in sensor pixels, or None
        #: (a DVS-only camera, or no frame yet): the GUI draws it under the events.
        self.latest_frame: np.ndarray | None = None
        self._has_frames = _has_frame_stream(self._camera)

    def _open(self) -> Any:
        api = self._api
        try:
            found = list(api.discover())
        except (RuntimeError, IndexError) as err:
            raise CameraError(
                f"Looking for cameras failed ({_dv_reason(err)}): "
                f"check the USB connection{udev_hint()}."
            ) from None
        serials = [_serial_of(d) for d in found]
        if not found:
            raise CameraError(
                "No event camera found (looked for iniVation DAVIS, DVXplorer and DVS128 "
                f"cameras on USB): plug one in{udev_hint()}."
            )
        wanted = pick_serial(self.serial, serials)
        try:
            return api.open(self.serial) if self.serial is not None else api.open()
        except IndexError:
            # dv's open() indexes an empty device list when the camera vanished after discover
            raise CameraError(
                f"The camera '{wanted}' disappeared before it could be opened: "
                f"check the cable and try again{udev_hint()}."
            ) from None
        except RuntimeError as err:
            raise CameraError(
                f"The camera '{wanted}' was found but could not be opened ({_dv_reason(err)}): "
                f"close any other program using it (DV, another asa-live){udev_hint()}."
            ) from None

    def __iter__(self) -> Iterator[np.ndarray]:
        camera = self._camera
        while not self._closed:
            try:
                running = camera.isRunning()
                batch = camera.getNextEventBatch() if running else None
            except (RuntimeError, IndexError) as err:
                raise CameraError(
                    f"The camera '{self.name}' stopped delivering events after "
                    f"{self.events_read} events ({_dv_reason(err)}): "
                    "check that it is still plugged in, then restart."
                ) from None
            if not running:
                raise CameraError(
                    f"The camera '{self.name}' stopped after {self.events_read} events "
                    "(unplugged or lost power): plug it back in and restart."
                )
            if self._has_frames:
                self._poll_frame(camera)
            if batch is None or batch.size() == 0:
                self._sleep(_IDLE_SLEEP_S)
                continue
            events = store_to_events(batch)
            self.events_read += len(events)
            yield events

    def _poll_frame(self, camera: Any) -> None:
        """Keep the newest APS frame (frames are optional: a failure only stops the underlay)."""
        try:
            frame = camera.getNextFrame()
        except (RuntimeError, IndexError):
            self._has_frames = False
            return
        if frame is not None:
            image = np.asarray(frame.image)
            self.latest_frame = (image[..., 0] if image.ndim == 3 else image).astype(np.uint8)

    def close(self) -> None:
        """Stop iterating and release the camera (dv closes it when the object goes)."""
        self._closed = True
        self._camera = None

    def __enter__(self) -> CameraSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
