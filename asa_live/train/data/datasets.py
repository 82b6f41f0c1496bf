"""Training samples from labelled sequences: clip sampling and the two torch datasets.

* The paper's recipe trains on random ``clip_windows`` crops of segments (:class:`ClipDataset`)
  and tests on 10 evenly spread clips per segment (asa_live.train.evaluation).
* The streaming recipe draws long runs of consecutive windows from whole sequences, gaps and
  gesture changes included (:class:`StreamDataset`).

Every random draw is seeded by (seed, epoch, index), so an item is the same with any number of
loader workers, and a resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from asa_live.errors import InputFileError
from asa_live.train.data.sequences import LabelledSequence, segments_of
from asa_live.train.data.targets import stream_targets

__all__ = ["ClipDataset", "StreamDataset", "crop", "even_clip_starts", "random_crop"]


def even_clip_starts(num_windows: int, clip_windows: int, num_clips: int = 10) -> np.ndarray:
    """Start windows of ``num_clips`` clips spread evenly over ``num_windows`` windows.

    The first clip starts at 0 and the last ends at the segment's end; a segment shorter than
    a clip gives ``num_clips`` clips starting at 0 (each padded by :func:`crop`).
    """
    last = max(0, num_windows - clip_windows)
    return np.round(np.linspace(0, last, num_clips)).astype(np.int64)


def random_crop(num_windows: int, clip_windows: int, rng: np.random.Generator) -> int:
    """Start window of a uniformly random crop (0 when the segment is shorter than a clip)."""
    return int(rng.integers(0, max(0, num_windows - clip_windows) + 1))


def crop(frames: np.ndarray, start: int, length: int) -> np.ndarray:
    """``frames[start:start+length]`` as float32, zero-padded at the end when too short."""
    part = np.asarray(frames[start : start + length], dtype=np.float32)
    if part.shape[0] < length:
        pad = np.zeros((length - part.shape[0],) + part.shape[1:], dtype=np.float32)
        part = np.concatenate([part, pad])
    return part


class ClipDataset(Dataset):
    """Segments as fixed-length clips: ``(x [T, 2, H, W] float32, label)``.

    ``train=True``: a random crop per access (seeded by ``seed``, the epoch and the index, so a
    run is reproducible with any number of loader workers). ``train=False``: clip ``clip_index``
    of :func:`even_clip_starts`, for the paper's test protocol.
    """

    def __init__(
        self,
        sequences: Sequence[LabelledSequence],
        clip_windows: int,
        *,
        train: bool,
        seed: int = 0,
        num_clips: int = 10,
        max_items: int = 0,
    ) -> None:
        self.sequences = list(sequences)
        self.segments = segments_of(self.sequences)
        if max_items:
            self.segments = self.segments[:max_items]
        if not self.segments:
            raise InputFileError("The dataset holds no labelled gesture segment to train on.")
        self.clip_windows = clip_windows
        self.train = train
        self.seed = seed
        self.num_clips = num_clips
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.segments) if self.train else len(self.segments) * self.num_clips

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if self.train:
            seq_i, label, start, end = self.segments[index]
            rng = np.random.default_rng([self.seed, self.epoch, index])
            offset = random_crop(end - start, self.clip_windows, rng)
        else:
            seq_i, label, start, end = self.segments[index // self.num_clips]
            starts = even_clip_starts(end - start, self.clip_windows, self.num_clips)
            offset = int(starts[index % self.num_clips])
        frames = self.sequences[seq_i].frames[start:end]
        return torch.from_numpy(crop(frames, offset, self.clip_windows)), label


class StreamDataset(Dataset):
    """Runs of consecutive windows from whole sequences: ``(x [W, 2, H, W], labels [W])``.

    Each item starts at a random window of a random sequence (seeded by seed, epoch, index).
    Starts are drawn so that the run ends inside or right after a labelled gesture more often
    than it would by chance: gaps carry no loss, so runs that are all gap would waste compute.
    Labels are ``-1`` where no gesture is labelled (and in the zero padding past the end);
    with a ``background`` output they are the targets of asa_live.train.data.targets
    (background outside gestures, no loss in the grace spans). ``negatives``: sequences with no
    gesture, drawn for a share ``negative_fraction`` of the items, every window background.
    """

    def __init__(
        self,
        sequences: Sequence[LabelledSequence],
        run_windows: int,
        *,
        samples_per_epoch: int = 0,
        seed: int = 0,
        max_items: int = 0,
        background: int | None = None,
        grace: int = 0,
        negatives: Sequence[LabelledSequence] = (),
        negative_fraction: float = 0.0,
    ) -> None:
        self.sequences = [s for s in sequences if len(s.segments)]
        if max_items:
            self.sequences = self.sequences[:max_items]
        if not self.sequences:
            raise InputFileError("The dataset holds no labelled gesture segment to train on.")
        self.run_windows = run_windows
        self.targets = [
            stream_targets(s.window_labels, s.segments, background=background, grace=grace)
            for s in self.sequences
        ]
        self.negatives = list(negatives) if background is not None else []
        self.negative_fraction = negative_fraction if self.negatives else 0.0
        self.background = background
        self.segments = segments_of(self.sequences)
        self.samples_per_epoch = samples_per_epoch or len(self.segments)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.negative_fraction and rng.random() < self.negative_fraction:
            return self._negative(rng)
        # Pick a gesture, then a start such that the run overlaps it; the start may lie in the
        # previous gesture or the gap before, so the net learns to switch classes mid-stream.
        seq_i, _, seg_start, seg_end = self.segments[int(rng.integers(len(self.segments)))]
        seq = self.sequences[seq_i]
        lo = max(0, seg_start - self.run_windows + 1)
        hi = max(lo, min(seg_end - 1, seq.num_windows - 1))
        start = int(rng.integers(lo, hi + 1))
        x = crop(seq.frames, start, self.run_windows)
        labels = np.full(self.run_windows, -1, dtype=np.int64)
        part = self.targets[seq_i][start : start + self.run_windows]
        labels[: len(part)] = part
        return torch.from_numpy(x), torch.from_numpy(labels)

    def _negative(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        seq = self.negatives[int(rng.integers(len(self.negatives)))]
        start = int(rng.integers(0, max(1, seq.num_windows - self.run_windows + 1)))
        x = crop(seq.frames, start, self.run_windows)
        labels = np.full(self.run_windows, -1, dtype=np.int64)
        labels[: min(self.run_windows, seq.num_windows - start)] = self.background
        return torch.from_numpy(x), torch.from_numpy(labels)
