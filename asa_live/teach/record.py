"""Guided recording: prompt each gesture, record it, label it, never lose what was recorded.

The schedule runs on the *stream's* clock, not the wall clock: take ``i`` (0-based) has a
pause of ``pause_us`` (the countdown) followed by ``gesture_us`` of gesture,

    start_i = t0 + i * (pause_us + gesture_us) + pause_us,    end_i = start_i + gesture_us,

where ``t0`` is the first event's timestamp. A camera's clock runs in real time, so the user
sees the countdown in real time; a replay (``--replay FILE``) can run at any speed and the
labels still land on the same events, which is what makes the loop testable without a camera.

Every completed take is written to ``<stem>_labels.csv`` at once (atomically), and the events
are written as they arrive, so Ctrl-C, an unplugged camera or a full disk keep every take
completed so far with valid labels. A take cut short is not labelled.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.aedat4 import events_to_store
from asa_live.events.ibm import LABEL_DTYPE, write_labels_csv
from asa_live.teach.folder import labels_path


@dataclass(frozen=True)
class Take:
    """One prompted gesture: its class (0-based id into the class list) and its number."""

    class_id: int
    name: str
    number: int  # 1-based position in the session


def plan_takes(names: Sequence[str], repeats: int, seed: int) -> list[Take]:
    """Each class ``repeats`` times, in a shuffled order (seeded, so a session can be redone)."""
    order = np.repeat(np.arange(len(names)), repeats)
    np.random.default_rng(seed).shuffle(order)
    return [Take(int(c), names[int(c)], i + 1) for i, c in enumerate(order)]


class SessionWriter:
    """Events to ``<stem>.aedat4`` (written as they come) and labels to ``<stem>_labels.csv``."""

    def __init__(self, path: Path, sensor_size: tuple[int, int], num_classes: int) -> None:
        import dv_processing as dv  # heavy native module (the AEDAT4 writer): loaded only to record

        self.path = path
        self.sensor_size = (int(sensor_size[0]), int(sensor_size[1]))
        self.num_classes = num_classes
        self.labels = np.zeros(0, LABEL_DTYPE)
        self.events_written = 0
        self._last_t = -1
        config = dv.io.MonoCameraWriter.EventOnlyConfig("asa-live-record", self.sensor_size)
        try:
            self._writer: Any = dv.io.MonoCameraWriter(str(path), config)
        except RuntimeError:
            raise InputFileError(
                f"Cannot create '{path}': check that its folder is writable."
            ) from None

    def write_events(self, events: np.ndarray) -> None:
        width, height = self.sensor_size
        keep = (events["t"] >= self._last_t) & (events["x"] < width) & (events["y"] < height)
        events = events[keep]
        if len(events) == 0:
            return
        try:
            self._writer.writeEvents(events_to_store(events))
        except (RuntimeError, OSError) as err:
            raise _disk_error(self.path, err) from None
        self.events_written += len(events)
        self._last_t = int(events["t"][-1])

    def add_label(self, class_id: int, start_us: int, end_us: int) -> None:
        row = np.array([(class_id, start_us, end_us)], LABEL_DTYPE)
        self._save_labels(np.concatenate([self.labels, row]))

    def drop_last_label(self) -> None:
        if len(self.labels):
            self._save_labels(self.labels[:-1])

    def _save_labels(self, labels: np.ndarray) -> None:
        target = labels_path(self.path)
        tmp = target.with_name(target.name + ".tmp")
        try:
            write_labels_csv(tmp, labels, num_classes=self.num_classes)
            os.replace(tmp, target)
        except OSError as err:
            raise _disk_error(target, err) from None
        self.labels = labels

    def close(self) -> None:
        """Complete the file: dv-processing writes the index when the writer is destroyed."""
        self._writer = None


def _disk_error(path: Path, err: BaseException) -> InputFileError:
    return InputFileError(
        f"Writing '{path}' failed ({err}): the disk may be full or read-only; the takes "
        "completed so far are kept."
    )


class GuidedSession:
    """Consumes a stream, tracks the schedule and labels each completed take.

    ``on_prompt(text)`` is called for every countdown step and every start/end of a take; the
    CLI prints it, the GUI shows it over the event view.
    """

    def __init__(
        self,
        takes: Sequence[Take],
        writer: SessionWriter,
        gesture_us: int,
        pause_us: int,
        on_prompt: Callable[[str], None] = print,
    ) -> None:
        self.takes = list(takes)
        self.writer = writer
        self.gesture_us = int(gesture_us)
        self.pause_us = int(pause_us)
        self.on_prompt = on_prompt
        self.t0: int | None = None
        self.completed = 0  # takes labelled so far
        self._said: set[tuple[int, str]] = set()

    @property
    def done(self) -> bool:
        return self.completed >= len(self.takes)

    def window_of(self, i: int) -> tuple[int, int]:
        """(start, end) of take ``i`` in stream microseconds."""
        assert self.t0 is not None
        start = self.t0 + i * (self.pause_us + self.gesture_us) + self.pause_us
        return start, start + self.gesture_us

    def redo_last(self) -> None:
        """Forget the last completed take and schedule it again right away."""
        if self.completed == 0 or self.t0 is None:
            return
        self.writer.drop_last_label()
        self.completed -= 1
        # Shift the clock so that the redone take starts after a fresh countdown from "now".
        start, _ = self.window_of(self.completed)
        self.t0 += max(0, self._now - (start - self.pause_us))
        self._said = {k for k in self._said if k[0] < self.completed}

    def feed(self, events: np.ndarray) -> None:
        """Record a packet and advance the schedule to its last timestamp."""
        if len(events) == 0:
            return
        if self.t0 is None:
            self.t0 = int(events["t"][0])
        self.writer.write_events(events)
        self._now = int(events["t"][-1])
        while not self.done:
            i = self.completed
            start, end = self.window_of(i)
            self._announce(i, start)
            if self._now < end:
                break
            self.writer.add_label(self.takes[i].class_id, start, end)
            self.completed += 1
            self._say(i, "done", f"  done ({self.completed}/{len(self.takes)} takes saved)")

    def _announce(self, i: int, start: int) -> None:
        take = self.takes[i]
        ready = start - self.pause_us
        if self._now >= ready:
            self._say(
                i,
                "next",
                f"[{take.number}/{len(self.takes)}] next: {take.name} "
                f"(in {self.pause_us / 1e6:.1f} s, for {self.gesture_us / 1e6:.1f} s)",
            )
        for k in (3, 2, 1):
            if self._now >= start - k * 1_000_000 and start - k * 1_000_000 >= ready:
                self._say(i, f"c{k}", f"  {k}...")
        if self._now >= start:
            self._say(i, "go", f"  GO: {take.name}")

    def _say(self, i: int, key: str, text: str) -> None:
        if (i, key) not in self._said:
            self._said.add((i, key))
            self.on_prompt(text)


def run_session(packets: Iterable[np.ndarray], session: GuidedSession) -> None:
    """Feed packets until every take is labelled or the stream ends; always close the file."""
    try:
        for packet in packets:
            session.feed(packet)
            if session.done:
                break
    finally:
        session.writer.close()
