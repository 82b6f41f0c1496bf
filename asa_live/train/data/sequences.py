"""Labelled sequences: binned frames on a fixed window grid with a label per window.

Everything the loaders read is reduced to :class:`LabelledSequence`: a stack of binned frames
``[T, 2, H, W]`` (counts per polarity and per block, OFF plane first), a label per window
(``-1`` where no gesture is labelled) and the labelled segments in window units. A whole IBM
trial is one sequence with eleven or more segments and idle gaps; a tonic ``<label>.npy`` or a
synthetic sample is a sequence that is one segment from end to end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asa_live.classes import GESTURE_CLASSES

__all__ = [
    "SEGMENT_DTYPE",
    "DataSplit",
    "LabelledSequence",
    "segments_of",
    "segments_to_windows",
    "sequence_from_arrays",
    "window_labels_from_segments",
]

SEGMENT_DTYPE = np.dtype([("class_id", "<i4"), ("start", "<i8"), ("end", "<i8")])


@dataclass
class LabelledSequence:
    """Binned frames of one recording (or one segment) on a fixed window grid.

    Attributes:
        name: where it came from (file name, or ``synth-seed<N>``).
        frames: ``[T, 2, H, W]`` event counts (uint16, possibly a read-only memory map).
        window_labels: ``[T]`` int64 class of each window, ``-1`` outside labelled gestures.
        segments: SEGMENT_DTYPE rows (class_id, start, end) in windows, ``[start, end)``.
        t0_us: start time of window 0 in microseconds.
        window_us: window length in microseconds.
    """

    name: str
    frames: np.ndarray
    window_labels: np.ndarray
    segments: np.ndarray
    t0_us: int
    window_us: int

    @property
    def num_windows(self) -> int:
        return int(self.frames.shape[0])


@dataclass
class DataSplit:
    """One split: the sequences, a description for logs and the model card, and the names of
    the gesture classes its class ids index (the 11 DVS128 Gesture classes unless a recordings
    folder names its own)."""

    sequences: list[LabelledSequence]
    description: str
    class_names: tuple[str, ...] = GESTURE_CLASSES

    @property
    def num_segments(self) -> int:
        return sum(len(s.segments) for s in self.sequences)


def segments_of(split: DataSplit | Sequence[LabelledSequence]) -> list[tuple[int, int, int, int]]:
    """All labelled segments as ``(sequence index, class_id, start window, end window)``."""
    sequences = split.sequences if isinstance(split, DataSplit) else split
    out = []
    for i, seq in enumerate(sequences):
        for row in seq.segments:
            out.append((i, int(row["class_id"]), int(row["start"]), int(row["end"])))
    return out


def window_labels_from_segments(num_windows: int, segments: np.ndarray) -> np.ndarray:
    """``[num_windows]`` int64: the class of each window's segment, ``-1`` outside any."""
    labels = np.full(num_windows, -1, dtype=np.int64)
    for row in segments:
        labels[int(row["start"]) : int(row["end"])] = int(row["class_id"])
    return labels


def segments_to_windows(labels_us: np.ndarray, t0_us: int, window_us: int, n: int) -> np.ndarray:
    """Labelled ``[start_us, end_us)`` rows -> window rows holding only whole windows.

    A window belongs to a segment when it lies entirely inside it, so no window mixes the idle
    gap (or the previous gesture) with the labelled gesture. Rows that cover no whole window
    are dropped.
    """
    rows = []
    for row in labels_us:
        start = math.ceil((int(row["start_us"]) - t0_us) / window_us)
        end = (int(row["end_us"]) - t0_us) // window_us
        start, end = max(start, 0), min(end, n)
        if end > start:
            rows.append((int(row["class_id"]), start, end))
    return np.array(rows, dtype=SEGMENT_DTYPE)


def sequence_from_arrays(
    name: str, arrays: dict[str, np.ndarray], window_us: int
) -> LabelledSequence:
    """A sequence from the arrays a loader binned or the frame cache served."""
    segments = np.asarray(arrays["segments"]).astype(SEGMENT_DTYPE)
    frames = arrays["frames"]
    return LabelledSequence(
        name=name,
        frames=frames,
        window_labels=window_labels_from_segments(frames.shape[0], segments),
        segments=segments,
        t0_us=int(arrays["t0_us"]),
        window_us=window_us,
    )
