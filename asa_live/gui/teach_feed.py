"""A guided recording session fed by the window's live stream, off the GUI thread.

The pipeline's ingest thread hands every paced source packet (source coordinates) to the
worker's RecordingTap; :class:`SessionFeed` stands in that tap's recorder slot and queues the
packets. :class:`LiveSession` feeds them to a GuidedSession in a thread of its own, because
writing AEDAT4 through dv-processing costs about 1.5 us per event (0.7 M events/s here),
more than the GUI thread can spare for a busy camera. The GUI thread only reads the
schedule (under ``lock``) to draw the prompt, and calls ``redo_last``.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np

from asa_live.errors import AsaLiveError, ConfigError
from asa_live.teach.record import GuidedSession, Take

# A camera always sends noise events; a longer silence is a pause (or a stall), not a scene.
MAX_GAP_US = 1_000_000
POLL_S = 0.05


class SessionFeed:
    """Takes the source packets the ingest thread hands to the worker's RecordingTap.

    It stands where an Aedat4Recorder would (``write``/``close``, ``path``,
    ``events_written``), so the window shows "recording" while a session runs and the
    worker's stop closes it. Time is kept increasing and without holes: a looping replay (or
    a restart) that jumps back, and a paused camera (whose packets are dropped while paused)
    that jumps ahead, continue right after the last event, so a pause pauses the session and a
    session can outlast one pass of a replay.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events_written = 0
        self.closed = False
        self._queue: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        self._shift = 0
        self._last_t: int | None = None
        self._tap: Any = None

    def write(self, events: np.ndarray) -> None:  # the ingest thread
        if len(events) == 0 or self.closed:
            return
        first = int(events["t"][0]) + self._shift
        if self._last_t is not None and not 0 <= first - self._last_t <= MAX_GAP_US:
            self._shift += self._last_t + 1 - first
        events = events.copy()  # the pipeline keeps using its packet
        events["t"] += self._shift
        self._last_t = int(events["t"][-1])
        self.events_written += len(events)
        self._queue.put(events)

    def close(self) -> None:
        self.closed = True

    def get(self, timeout: float) -> np.ndarray | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list[np.ndarray]:
        packets = []
        while (packet := self.get(0)) is not None:
            packets.append(packet)
        return packets

    @property
    def empty(self) -> bool:
        return self._queue.empty()

    # The RecordingTap has no public "attach a sink" (it builds its own Aedat4Recorder), so the
    # feed takes the recorder's place under the tap's lock; the pipeline is not changed.
    def attach(self, tap: Any) -> None:
        with tap._lock:
            if tap._recorder is not None:
                raise ConfigError(
                    "The window is recording to a file: stop that recording before teaching."
                )
            tap._recorder = self
        self._tap = tap

    def detach(self) -> None:
        tap, self._tap = self._tap, None
        if tap is not None:
            with tap._lock:
                if tap._recorder is self:
                    tap._recorder = None
        self.closed = True


class LiveSession:
    """Runs ``session`` on the packets of a :class:`SessionFeed` in its own thread.

    ``prompts`` collects the session's prompt lines (the GUI logs them); ``error`` holds the
    AsaLiveError that ended it (a full disk); ``now_us`` is the last event fed.
    """

    def __init__(self, session: GuidedSession, path: Path) -> None:
        self.session = session
        self.feed = SessionFeed(path)
        self.prompts: queue.SimpleQueue[str] = queue.SimpleQueue()
        session.on_prompt = self.prompts.put
        self.lock = threading.Lock()  # the session's state: this thread feeds, the GUI reads
        self.now_us: int | None = None
        self.error: AsaLiveError | None = None
        self._stop, self._drain = threading.Event(), threading.Event()
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="asa-teach", daemon=True)

    def start(self, tap: Any) -> None:
        self.feed.attach(tap)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def caught_up(self) -> bool:
        """Everything the stream brought so far is fed."""
        return self.feed.empty and not self._busy

    def _run(self) -> None:
        while not self._stop.is_set():
            packet = self.feed.get(POLL_S)
            if packet is None:
                if self._drain.is_set():
                    break
                continue
            with self.lock:
                self._busy = True
                try:
                    self.session.feed(packet)
                except AsaLiveError as err:
                    self.error = err
                    break
                finally:
                    self._busy = False
                self.now_us = int(packet["t"][-1])
                if self.session.done:
                    break
        self.feed.detach()

    def redo_last(self) -> Take | None:
        """Forget the last finished take and prompt it again; returns it (None: none yet)."""
        with self.lock:
            if self.session.completed == 0:
                return None
            take = self.session.takes[self.session.completed - 1]
            self.session.redo_last()
            return take

    def end_with_stream(self) -> None:
        """The stream is gone: feed what it brought, then end."""
        self._drain.set()

    def close(self) -> None:
        """Stop feeding now and complete the file (the labels are already on disk)."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()
        self.feed.detach()
        self.session.writer.close()

    def take_prompts(self) -> list[str]:
        lines = []
        while True:
            try:
                lines.append(self.prompts.get_nowait())
            except queue.Empty:
                return lines
