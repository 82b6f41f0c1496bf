"""What a run trains and validates on: the splits, the class list and the training dataset.

* clip mode: :class:`ClipDataset` on the cached frames (the paper);
* stream mode, ``augment`` off: :class:`StreamDataset` on the cached frames;
* stream mode, ``augment`` on: :class:`EventStreamDataset` on events in memory, augmented per
  item (``background``: a BackgroundPool of real recordings mixed in).

With ``no_gesture`` the targets have a background output after the gesture classes (index =
number of classes); ``negatives`` recordings are drawn in ``negative_fraction`` of the items.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from torch.utils.data import Dataset

from asa_live.events.augment import AugmentConfig, Augmenter
from asa_live.events.background import BackgroundPool
from asa_live.train import ddp
from asa_live.train.data import (
    ClipDataset,
    DataConfig,
    DataSplit,
    EventStreamDataset,
    StreamDataset,
    grace_windows,
    load_negatives,
    load_split,
    load_splits,
    load_train_recordings,
    make_synthetic_split,
    to_sequence,
)
from asa_live.train.data.synthetic import recordings_for
from asa_live.train.recipes import TrainConfig

__all__ = ["RunData", "load_run_data"]

log = logging.getLogger(__name__)


@dataclass
class RunData:
    train: DataSplit
    #: Model selection and calibration data: held out of the training data (the test split
    #: is never read during training).
    val: DataSplit
    dataset: Dataset
    class_names: tuple[str, ...]
    #: Index of the "no gesture" output (the last), None without one.
    background: int | None = None

    @property
    def num_outputs(self) -> int:
        return len(self.class_names) + (1 if self.background is not None else 0)

    @property
    def description(self) -> str:
        return f"{self.train.description}; {self.val.description}"


def load_run_data(cfg: TrainConfig, dist_info: ddp.DistInfo) -> RunData:
    """Rank 0 fills the frame cache first; the others then read it (no duplicate binning)."""
    data_cfg = DataConfig.from_train(cfg)
    if dist_info.is_main:
        train, val = _train_and_val(cfg, data_cfg)
    ddp.barrier(dist_info)
    if not dist_info.is_main:
        train, val = _train_and_val(cfg, data_cfg)
    names = tuple(train.class_names)
    background = len(names) if cfg.no_gesture else None
    dataset = _make_dataset(cfg, data_cfg, train, background, names)
    return RunData(train, val, dataset, names, background)


def _train_and_val(cfg: TrainConfig, data_cfg: DataConfig) -> tuple[DataSplit, DataSplit]:
    """(train, validation). A recordings folder brings its own held-out takes; any other data
    set gives ``val_fraction`` of its training sequences, never its test split."""
    if cfg.data == "folder":
        return load_splits(data_cfg)
    if cfg.data == "synthetic" and cfg.data_root is None:  # generated: validation seeds of its own
        val = make_synthetic_split(
            data_cfg, train=False, validation=True,
            num_recordings=recordings_for(cfg.synth_test_per_class, cfg.synth_gestures_per_recording),
            gestures_per_recording=cfg.synth_gestures_per_recording,
        )  # fmt: skip
        return load_split(data_cfg, train=True), val
    return split_validation(load_split(data_cfg, train=True), cfg.val_fraction)


def split_validation(train: DataSplit, fraction: float) -> tuple[DataSplit, DataSplit]:
    """Hold out ``ceil(fraction * n)`` of the n training sequences for validation: the last by
    name (in IBM's layout the last users, so no user is in both), the rest in their order."""
    n = len(train.sequences)
    n_val = math.ceil(fraction * n) if fraction > 0 and n >= 2 else 0
    n_val = min(n_val, n - 1) if n_val else 0
    held = set(sorted(range(n), key=lambda i: train.sequences[i].name)[n - n_val :])
    keep = [s for i, s in enumerate(train.sequences) if i not in held]
    val = [s for i, s in enumerate(train.sequences) if i in held]
    base = train.description
    return (
        DataSplit(keep, f"{base} minus validation ({len(keep)} kept)", train.class_names),
        DataSplit(val, f"validation: {len(val)} held out of the training data", train.class_names),
    )


def _make_dataset(
    cfg: TrainConfig,
    data_cfg: DataConfig,
    train: DataSplit,
    background: int | None,
    names: tuple[str, ...],
) -> Dataset:
    if cfg.mode == "clip":
        return ClipDataset(
            train.sequences, cfg.clip_windows, train=True, seed=cfg.seed,
            max_items=cfg.max_train_items,
        )  # fmt: skip
    negatives = load_negatives(cfg.negatives, data_cfg) if cfg.negatives else []
    grace = grace_windows(cfg.no_gesture_grace_ms, cfg.window_us)
    common = {
        "samples_per_epoch": cfg.stream_samples_per_epoch, "seed": cfg.seed,
        "max_items": cfg.max_train_items, "background": background, "grace": grace,
        "negative_fraction": cfg.negative_fraction,
    }  # fmt: skip
    if negatives and background is None:
        log.warning("--negatives without --no-gesture on: negative recordings carry no loss")
    if not cfg.augment:
        return StreamDataset(
            train.sequences, cfg.stream_windows,
            negatives=[to_sequence(r, data_cfg) for r in negatives], **common,
        )  # fmt: skip
    pool = BackgroundPool.from_dir(cfg.background) if cfg.background else None
    config = AugmentConfig(p_invert_polarity=cfg.augment_invert_polarity)
    augmenter = Augmenter(config, tuple(cfg.sensor_size), names, pool)
    return EventStreamDataset(
        load_train_recordings(data_cfg), cfg.stream_windows, data_cfg, augmenter=augmenter,
        augment_fraction=cfg.augment_fraction,
        negatives=negatives if background is not None else [], **common,
    )  # fmt: skip
