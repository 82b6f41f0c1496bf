"""Opening the app's sources: a replay file (optionally looping) or a camera.

Replays are opened unpaced (``speed=None``): the pipeline's :class:`~asa_live.pipeline.pacing.Pacer`
paces every file type the same way and lets the speed change while running. A looping replay
reopens the file after each pass and keeps its timestamps, so each pass starts back in time;
the pipeline treats that jump as a restart (fresh binner and network state) and the labels
of the file still apply.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from asa_live.errors import InputFileError

REPLAY_SUFFIXES = (".aedat4", ".aedat", ".npy")


def open_replay(path: str | os.PathLike, loop: bool = False) -> Any:
    """Open an AEDAT4, IBM AEDAT 3.1 (.aedat) or tonic .npy recording as an EventSource."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"The recording '{path}' does not exist: check the path.")
    if path.suffix.lower() not in REPLAY_SUFFIXES:
        raise InputFileError(
            f"'{path.name}' is not a recording asa-live can replay: give an .aedat4, "
            "an IBM .aedat or a tonic .npy file."
        )
    if loop:
        return LoopingSource(lambda: _open_once(path))
    return _open_once(path)


def _open_once(path: Path) -> Any:
    from asa_live.events import sources

    if path.suffix.lower() == ".aedat4":
        return sources.Aedat4FileSource(path, speed=None, loop=False)
    return sources.open_source(str(path))


def open_camera(serial: str | None = None) -> Any:
    """Open a live camera (the first one found, or the one with ``serial``)."""
    from asa_live.events.sources import CameraSource

    return CameraSource(serial)


class LoopingSource:
    """Replays a file source over and over: ``open_once()`` is called for every pass.

    A pass that yields no events ends the loop (an empty file would otherwise spin).
    """

    def __init__(self, open_once: Callable[[], Any]) -> None:
        self._open_once = open_once
        self._current = open_once()
        self.sensor_size = tuple(self._current.sensor_size)
        self.name = f"{getattr(self._current, 'name', 'replay')} (looping)"
        self.passes = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            got_events = False
            for packet in self._current:
                got_events = got_events or len(packet) > 0
                yield packet
            self.passes += 1
            if not got_events:
                return
            self._current.close()
            self._current = self._open_once()

    def close(self) -> None:
        self._current.close()

    def __enter__(self) -> LoopingSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
