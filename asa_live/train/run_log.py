"""What a run records besides its weights: log.csv, TensorBoard scalars and provenance."""

from __future__ import annotations

import csv
import logging
import math
import sys
from pathlib import Path
from typing import Any

from asa_live.train.recipes import TrainConfig

__all__ = ["LOG_FIELDS", "RunLogger", "provenance"]

log = logging.getLogger(__name__)

LOG_FIELDS = [
    "epoch", "lr", "train_loss", "train_acc", "val_segment_acc", "val_clip_acc",
    "val_nasfr", "epoch_s", "steps",
]  # fmt: skip


class RunLogger:
    """CSV (always) and TensorBoard (when installed and enabled) scalars, rank 0 only."""

    def __init__(self, out_dir: Path, enabled: bool, tensorboard: bool) -> None:
        self.enabled = enabled
        self.csv_path = out_dir / "log.csv"
        self.writer = None
        if enabled and tensorboard:
            try:
                # tensorboard is an optional extra ([train]).
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(out_dir / "tb"))
            except ImportError:
                log.info("tensorboard is not installed: logging to log.csv only")

    def row(self, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        new = not self.csv_path.exists()
        with open(self.csv_path, "a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=LOG_FIELDS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(values)
        if self.writer is not None:
            for key, value in values.items():
                if key != "epoch" and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key, value, values["epoch"])
            self.writer.flush()
        log.info(
            "%s",
            " ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
            ),
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def provenance(cfg: TrainConfig, epoch: int, metrics: dict[str, Any], data: str) -> dict:
    """What a checkpoint records about the run that wrote it."""
    return {
        "trainer": "asa-live-train",
        "recipe": cfg.recipe,
        "epoch": epoch,
        "data": data,
        "config": cfg.to_dict(),
        "metrics": metrics,
        "command": " ".join(sys.argv),
    }
