"""Streaming training items cut from events in memory, augmented, then binned.

The cached-frames path (:class:`asa_live.train.data.StreamDataset`) cannot augment: its frames
are already binned. :class:`EventStreamDataset` keeps the training split's events in memory
(bounded: asa_live.train.data.recordings.MAX_EVENT_BYTES) and builds every item afresh:

1. draw (seeded by seed, epoch, index - so a resumed run draws the same items) a negative
   recording with probability ``negative_fraction``, else a labelled take and a start such
   that the run overlaps it, as StreamDataset does;
2. cut the events of the run's span (longer by the largest time compression, so a stretched
   sample still fills the run) and the labels inside it;
3. augment events and labels with the item's rng (asa_live.events.augment.Augmenter: mirror
   swaps classes through mirror_class_map);
4. bin ``run_windows`` windows from the span's start with asa_live.events.binning.bin_events
   (through :func:`asa_live.train.data.frames.bin_to_grid`, the counting the live binner
   matches), and derive the targets (asa_live.train.data.targets).

Items: ``(x [W, 2, H, W] float32, targets [W] int64)``, like StreamDataset's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from asa_live.errors import InputFileError
from asa_live.events.augment import Augmenter
from asa_live.train.data.config import DataConfig
from asa_live.train.data.frames import bin_to_grid
from asa_live.train.data.recordings import EventRecording
from asa_live.train.data.sequences import segments_to_windows, window_labels_from_segments
from asa_live.train.data.targets import stream_targets

__all__ = ["EventStreamDataset"]


class EventStreamDataset(Dataset):
    """Augmented streaming runs from events in memory (see the module docstring)."""

    def __init__(
        self,
        recordings: Sequence[EventRecording],
        run_windows: int,
        data_cfg: DataConfig,
        *,
        augmenter: Augmenter | None = None,
        augment_fraction: float = 1.0,
        negatives: Sequence[EventRecording] = (),
        negative_fraction: float = 0.0,
        background: int | None = None,
        grace: int = 0,
        samples_per_epoch: int = 0,
        seed: int = 0,
        max_items: int = 0,
    ) -> None:
        self.recordings = [r for r in recordings if len(r.labels) and len(r.events)]
        if max_items:
            self.recordings = self.recordings[:max_items]
        if not self.recordings:
            raise InputFileError("The dataset holds no labelled gesture to train on.")
        self.takes = [(i, j) for i, r in enumerate(self.recordings) for j in range(len(r.labels))]
        self.negatives = [r for r in negatives if len(r.events)]
        self.negative_fraction = negative_fraction if self.negatives else 0.0
        self.run_windows = run_windows
        self.cfg = data_cfg
        self.augmenter = augmenter
        self.augment_fraction = augment_fraction
        self.background = background
        self.grace = grace
        self.samples_per_epoch = samples_per_epoch or len(self.takes)
        self.seed = seed
        self.epoch = 0
        low = augmenter.config.time_stretch[0] if augmenter is not None else 1.0
        # A time compression by f needs 1/f of the run's span to fill the run.
        self.margin = max(1.0, 1.0 / low)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _pick(self, rng: np.random.Generator) -> tuple[EventRecording, int]:
        """A recording and the start (us) of the run's window grid."""
        w, run = int(self.cfg.window_us), self.run_windows
        if self.negative_fraction and rng.random() < self.negative_fraction:
            rec = self.negatives[int(rng.integers(len(self.negatives)))]
            t0, last = rec.t_range
            n = (last - t0) // w + 1
            return rec, t0 + w * int(rng.integers(0, max(1, n - run + 1)))
        rec_i, take = self.takes[int(rng.integers(len(self.takes)))]
        rec = self.recordings[rec_i]
        t0, last = rec.t_range
        n = (last - t0) // w + 1
        row = rec.labels[take]
        s = -(-(int(row["start_us"]) - t0) // w)
        e = (int(row["end_us"]) - t0) // w
        lo = max(0, s - run + 1)
        hi = max(lo, min(e - 1, n - 1))
        return rec, t0 + w * int(rng.integers(lo, hi + 1))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        rec, a = self._pick(rng)
        w, run = int(self.cfg.window_us), self.run_windows
        b = a + int(np.ceil(run * w * self.margin))
        t = rec.events["t"]
        events = rec.events[np.searchsorted(t, a, "left") : np.searchsorted(t, b, "left")]
        # Labels clipped to the cut, so the time stretch is anchored at the cut's start.
        keep = (rec.labels["end_us"] > a) & (rec.labels["start_us"] < b)
        labels = rec.labels[keep].copy()
        labels["start_us"] = np.maximum(labels["start_us"], a)
        labels["end_us"] = np.minimum(labels["end_us"], b)
        if self.augmenter is not None and rng.random() < self.augment_fraction:
            events, labels = self.augmenter(events, labels, rng)
        frames = bin_to_grid(
            events, window_us=w, sensor_size=tuple(self.cfg.sensor_size),
            downsample=int(self.cfg.downsample), t0_us=a, num_windows=run,
        )  # fmt: skip
        segments = segments_to_windows(labels[labels["class_id"] >= 0], a, w, run)
        targets = stream_targets(
            window_labels_from_segments(run, segments), segments,
            background=self.background, grace=self.grace,
        )  # fmt: skip
        # Windows past the recording's end are padding: no loss.
        past = (a + w * np.arange(run)) > rec.t_range[1]
        targets[past] = -1
        return torch.from_numpy(frames.astype(np.float32)), torch.from_numpy(targets)
