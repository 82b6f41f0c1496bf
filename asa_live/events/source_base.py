"""The common base of the event sources: ``close()``, context manager, ``repr``.

Sources are plain unpaced readers (pacing and looping belong to the pipeline); a closed source
stops at the next packet.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class SourceBase:
    """Shared by the file, camera and array sources of asa_live.events."""

    sensor_size: tuple[int, int]
    name: str

    def __init__(self) -> None:
        self._closed = False

    def close(self) -> None:
        """Stop iteration at the next packet and release the file."""
        self._closed = True

    def _until_closed(self, packets: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """``packets`` until :meth:`close` is called (checked before each packet)."""
        for packet in packets:
            if self._closed:
                return
            yield packet

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, sensor_size={self.sensor_size})"
