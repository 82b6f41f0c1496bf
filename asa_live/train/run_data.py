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
    load_splits,
    load_train_recordings,
    to_sequence,
)
from asa_live.train.recipes import TrainConfig

__all__ = ["RunData", "load_run_data"]

log = logging.getLogger(__name__)


@dataclass
class RunData:
    train: DataSplit
    test: DataSplit
    dataset: Dataset
    class_names: tuple[str, ...]
    #: Index of the "no gesture" output (the last), None without one.
    background: int | None = None

    @property
    def num_outputs(self) -> int:
        return len(self.class_names) + (1 if self.background is not None else 0)

    @property
    def description(self) -> str:
        return f"{self.train.description}; {self.test.description}"


def load_run_data(cfg: TrainConfig, dist_info: ddp.DistInfo) -> RunData:
    """Rank 0 fills the frame cache first; the others then read it (no duplicate binning)."""
    data_cfg = DataConfig.from_train(cfg)
    if dist_info.is_main:
        train, test = load_splits(data_cfg)
    ddp.barrier(dist_info)
    if not dist_info.is_main:
        train, test = load_splits(data_cfg)
    names = tuple(train.class_names)
    background = len(names) if cfg.no_gesture else None
    dataset = _make_dataset(cfg, data_cfg, train, background, names)
    return RunData(train, test, dataset, names, background)


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
    augmenter = Augmenter(AugmentConfig(), tuple(cfg.sensor_size), names, pool)
    return EventStreamDataset(
        load_train_recordings(data_cfg), cfg.stream_windows, data_cfg, augmenter=augmenter,
        augment_fraction=cfg.augment_fraction,
        negatives=negatives if background is not None else [], **common,
    )  # fmt: skip
