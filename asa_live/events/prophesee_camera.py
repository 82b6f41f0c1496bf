"""Live Prophesee cameras (EVK3 / EVK4 and others eventcv lists) through eventcv's ``stream``.

``PropheseeCameraSource(serial=None)`` has the EventSource surface: ``sensor_size``, ``name``,
``close()``, context manager, and iterating yields EVENT_DTYPE packets (one per eventcv window
of ``packet_ms``). Every failure a user can cause is one :class:`CameraError` sentence: eventcv
not installed, no camera, a wrong serial (listing those found), a camera that cannot be opened,
and one that stops mid-stream. The eventcv module is injectable (``camera_api``), so all of
this is tested against a fake; with no Prophesee camera here, the real device path is untested.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from asa_live.errors import CameraError
from asa_live.events.camera_errors import pick_serial, usb_permission_hint
from asa_live.events.prophesee import from_eventcv_columns

__all__ = ["PropheseeCameraSource"]


def _hint() -> str:
    return usb_permission_hint("install the udev rules of neuromorphic-drivers (see its README)")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__


class PropheseeCameraSource:
    """Events from a live camera found by eventcv: the first one, or the one with ``serial``."""

    def __init__(
        self,
        serial: str | None = None,
        camera_api: Any = None,
        packet_ms: float = 5.0,
        idle_timeout_ms: int = 100,
    ) -> None:
        if camera_api is None:
            try:
                import eventcv as camera_api  # optional [prophesee] extra
            except ImportError:
                raise CameraError(
                    "Prophesee cameras need eventcv, which is not installed: "
                    "run `pip install 'asa-live[prophesee]'`."
                ) from None
        self._api = camera_api
        self.serial = serial
        self._idle_timeout_ms = int(idle_timeout_ms)
        self._closed = False
        self.events_read = 0
        self._camera = self._open(float(packet_ms))
        width, height = self._camera.sensor_size
        self.sensor_size: tuple[int, int] = (int(width), int(height))
        self.name: str = str(getattr(self._camera, "name", "Prophesee camera"))

    def _open(self, packet_ms: float) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                found = list(self._api.list_cameras())
            except RuntimeError as err:
                raise CameraError(
                    f"Looking for cameras failed ({_first_line(err)}): "
                    f"check the USB connection{_hint()}."
                ) from None
        serials = [str(c.get("serial", "?")) for c in found]
        if not found:
            why = f" ({_first_line(caught[0].message)})" if caught else ""
            raise CameraError(
                f"No Prophesee (or other eventcv-supported) camera found on USB{why}: "
                f"plug one in{_hint()}."
            )
        wanted = pick_serial(self.serial, serials)
        try:
            return self._api.stream(wanted, dt_ms=packet_ms)
        except (RuntimeError, OSError) as err:
            raise CameraError(
                f"The camera '{wanted}' was found but could not be opened ({_first_line(err)}): "
                f"close any other program using it (Metavision Studio, another asa-live){_hint()}."
            ) from None

    def __iter__(self) -> Iterator[np.ndarray]:
        while not self._closed:
            try:
                window = self._camera.read(timeout_ms=self._idle_timeout_ms)
            except (RuntimeError, OSError) as err:
                if self._closed:
                    return
                raise CameraError(
                    f"The camera '{self.name}' stopped delivering events after "
                    f"{self.events_read} events ({_first_line(err)}): "
                    "check that it is still plugged in, then restart."
                ) from None
            if window is None:  # an idle scene: nothing within the timeout
                continue
            events = from_eventcv_columns(np.asarray(window.numpy()).reshape(-1, 4))
            if len(events) == 0:
                continue
            self.events_read += len(events)
            yield events

    def close(self) -> None:
        """Stop iterating and release the camera."""
        self._closed = True
        camera, self._camera = self._camera, None
        if camera is not None:
            camera.close()

    def __enter__(self) -> PropheseeCameraSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
