"""Record a live stream to an AEDAT4 file while it is being recognised.

The events are written by a background thread through dv-processing's ``MonoCameraWriter``
(the same writer as :func:`asa_live.events.aedat4.write_aedat4`), so the ingest thread only
appends packets to a bounded queue. If the disk cannot keep up, whole packets are dropped and
counted in ``packets_dropped`` rather than letting memory grow.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.aedat4 import events_to_store


class Aedat4Recorder:
    """Append EVENT_DTYPE packets (source coordinates) to an events-only AEDAT4 file.

    Args:
        path: the output ``.aedat4`` file (its folder must exist).
        sensor_size: (width, height) of the source.
        max_queued_packets: packets waiting for the writer before new ones are dropped.
    """

    def __init__(
        self, path: str | os.PathLike, sensor_size: tuple[int, int], max_queued_packets: int = 1024
    ) -> None:
        import dv_processing as dv  # heavy native module: loaded only when recording starts

        self.path = Path(path)
        if self.path.suffix.lower() != ".aedat4":
            raise InputFileError(
                f"The recording name '{self.path.name}' does not end in .aedat4: "
                "choose a name like capture.aedat4."
            )
        self.sensor_size = (int(sensor_size[0]), int(sensor_size[1]))
        config = dv.io.MonoCameraWriter.EventOnlyConfig("asa-live", self.sensor_size)
        try:
            self._writer = dv.io.MonoCameraWriter(str(self.path), config)
        except RuntimeError:
            raise InputFileError(
                f"Cannot create the recording '{self.path}': check that its folder exists "
                "and is writable."
            ) from None
        self._dv = dv
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(max_queued_packets)
        self.events_written = 0
        self.packets_dropped = 0
        self._last_t: int | None = None
        self._thread = threading.Thread(target=self._run, name="asa-recorder", daemon=True)
        self._thread.start()

    def write(self, events: np.ndarray) -> None:
        """Queue a time-sorted packet (never blocks)."""
        if len(events) == 0:
            return
        try:
            self._queue.put_nowait(events)
        except queue.Full:
            self.packets_dropped += 1

    def _run(self) -> None:
        while True:
            events = self._queue.get()
            if events is None:
                break
            # AEDAT4 needs non-decreasing time: a replay that loops starts over, and its
            # second pass is not recorded into the same file.
            if self._last_t is not None:
                events = events[events["t"] >= self._last_t]
            if len(events) == 0:
                continue
            width, height = self.sensor_size
            events = events[(events["x"] < width) & (events["y"] < height)]
            self._writer.writeEvents(events_to_store(events))
            self.events_written += len(events)
            self._last_t = int(events["t"][-1])

    def close(self) -> None:
        """Write what is queued and complete the file (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        # The file gets its index and trailer only once the writer is destroyed.
        self._writer = None


class RecordingTap:
    """A tap on the source's event stream that records while a recorder is attached.

    The ingest thread calls the tap with every packet; ``start`` and ``stop`` come from any
    other thread (the GUI's Record button).
    """

    def __init__(self) -> None:
        self._recorder: Aedat4Recorder | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._recorder is not None

    @property
    def recorder(self) -> Aedat4Recorder | None:
        """The recorder writing now (its ``events_written`` grows), or None."""
        return self._recorder

    def __call__(self, events: np.ndarray) -> None:
        recorder = self._recorder
        if recorder is not None:
            recorder.write(events)

    def start(self, path: str | os.PathLike, sensor_size: tuple[int, int]) -> Aedat4Recorder:
        """Record to ``path`` from now on (a recording already running is finished first)."""
        recorder = Aedat4Recorder(path, sensor_size)
        with self._lock:
            old, self._recorder = self._recorder, recorder
        if old is not None:
            old.close()
        return recorder

    def stop(self) -> Aedat4Recorder | None:
        """Finish the recording; returns the recorder (its ``path``, ``events_written``)."""
        with self._lock:
            recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.close()
        return recorder
