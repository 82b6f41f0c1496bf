"""Whole recordings as events in memory (for the event-level training path).

An :class:`EventRecording` holds one recording's events, already mapped onto the training
sensor (``SensorAdapter``, the live path's mapping), and its labels in microseconds. Recordings
are read through ``asa_live.events.sources.open_source`` (any format the live app replays).

Memory: 13 bytes per event (EVENT_DTYPE). :func:`check_memory` refuses a split above
``MAX_EVENT_BYTES`` (4 GiB, about 330 M events) with one sentence, before training starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asa_live.errors import ConfigError, InputFileError
from asa_live.events.adapt import SensorAdapter
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.ibm import LABEL_DTYPE
from asa_live.events.sources import open_source
from asa_live.train.data.config import DataConfig
from asa_live.train.data.frames import bin_recording
from asa_live.train.data.sequences import LabelledSequence, sequence_from_arrays

__all__ = [
    "MAX_EVENT_BYTES",
    "RECORDING_SUFFIXES",
    "EventRecording",
    "check_memory",
    "read_events",
    "to_sequence",
]

MAX_EVENT_BYTES = 4 * 1024**3
RECORDING_SUFFIXES = (".aedat4", ".aedat", ".npy")


@dataclass
class EventRecording:
    """Events (EVENT_DTYPE, time-sorted, in training sensor coordinates) and LABEL_DTYPE labels.

    ``negative``: a recording with no gesture in it (every window is "no gesture").
    """

    name: str
    events: np.ndarray
    labels: np.ndarray
    negative: bool = False

    @property
    def t_range(self) -> tuple[int, int]:
        """(first, last) time of an event or a label."""
        times = [int(self.events["t"][0]), int(self.events["t"][-1])] if len(self.events) else []
        if len(self.labels):
            times += [int(self.labels["start_us"].min()), int(self.labels["end_us"].max())]
        return min(times), max(times)

    def cut(self, start_us: int, end_us: int, name: str) -> EventRecording:
        """The part ``[start_us, end_us)``, with the labels that lie entirely inside it."""
        t = self.events["t"]
        a, b = np.searchsorted(t, start_us, "left"), np.searchsorted(t, end_us, "left")
        inside = (self.labels["start_us"] >= start_us) & (self.labels["end_us"] <= end_us)
        return EventRecording(
            name, self.events[a:b].copy(), self.labels[inside].copy(), self.negative
        )


def read_events(path: str | Path, cfg: DataConfig) -> np.ndarray:
    """All events of a recording file, time-sorted, mapped onto ``cfg.sensor_size``."""
    path = Path(path)
    with open_source(path) as source:
        adapter = SensorAdapter(tuple(source.sensor_size), tuple(cfg.sensor_size), cfg.adapt_mode)
        packets = [adapter(p) for p in source if len(p)]
    events = np.concatenate(packets) if packets else np.empty(0, dtype=EVENT_DTYPE)
    if not len(events):
        raise InputFileError(f"The recording '{path}' holds no events: record it again.")
    return events[np.argsort(events["t"], kind="stable")]


def check_memory(recordings: list[EventRecording], what: str) -> None:
    """ConfigError when the events of ``recordings`` exceed MAX_EVENT_BYTES."""
    total = sum(r.events.nbytes for r in recordings)
    if total > MAX_EVENT_BYTES:
        raise ConfigError(
            f"The {what} holds {total / 1024**3:.1f} GiB of events, more than the "
            f"{MAX_EVENT_BYTES / 1024**3:.0f} GiB augmentation keeps in memory: use "
            "--augment off (binned frames from the cache) or fewer recordings."
        )


def empty_labels() -> np.ndarray:
    return np.zeros(0, dtype=LABEL_DTYPE)


def to_sequence(rec: EventRecording, cfg: DataConfig) -> LabelledSequence:
    """Binned frames of a recording (the cached-frames path and the evaluation)."""
    labels = rec.labels if len(rec.labels) else None
    if labels is None:
        # No label: a grid from the first event; no segment (class_id None is never used).
        arrays = bin_recording(rec.events, empty_labels_grid(rec), cfg)
    else:
        arrays = bin_recording(rec.events, labels, cfg)
    return sequence_from_arrays(rec.name, arrays, cfg.window_us)


def empty_labels_grid(rec: EventRecording) -> np.ndarray:
    """A zero-length label at the first event: fixes the grid start, yields no segment."""
    t = int(rec.events["t"][0])
    return np.array([(0, t, t)], dtype=LABEL_DTYPE)
