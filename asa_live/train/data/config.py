"""DataConfig: what the loaders need to know, typed and frozen (no ``cfg: Any``).

A training run derives it from its TrainConfig (:meth:`DataConfig.from_train`); evaluation
derives it from a checkpoint's BinningConfig (:meth:`DataConfig.from_binning`), so the frames it
reads are binned exactly as the live binner bins them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.model.config import BinningConfig
from asa_live.train.recipes import TrainConfig

__all__ = ["DATA_KINDS", "DataConfig"]

#: Values of ``--data``.
DATA_KINDS = ("synthetic", "ibm", "tonic", "folder")


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from and how it is binned (units in the names)."""

    data: str = "synthetic"
    data_root: str | None = None
    cache_dir: str | None = ".cache/asa-live-frames"
    window_us: int = 15_000
    sensor_size: tuple[int, int] = (128, 128)
    downsample: int = 4
    #: Worker processes for generating / binning (0 or 1 = in this process).
    data_workers: int = 0
    synth_train_per_class: int = 100
    synth_test_per_class: int = 20
    synth_duration_ms: int = 2000
    synth_gestures_per_recording: int = NUM_GESTURE_CLASSES
    #: "folder" data: share of each class's takes held out when there are no trial lists.
    holdout_fraction: float = 0.2
    #: How recordings of another resolution are mapped onto ``sensor_size`` (the live path's).
    adapt_mode: str = "crop_scale"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.data not in DATA_KINDS:
            raise ValueError(f"data must be one of {', '.join(DATA_KINDS)}, not {self.data!r}")
        if self.window_us <= 0 or self.downsample < 1:
            raise ValueError("window_us must be positive and downsample at least 1")
        object.__setattr__(self, "sensor_size", tuple(int(v) for v in self.sensor_size))

    @property
    def binning_key(self) -> dict[str, Any]:
        """The binning parameters that are part of every cache key."""
        return {
            "window_us": int(self.window_us),
            "sensor_size": [int(v) for v in self.sensor_size],
            "downsample": int(self.downsample),
        }

    @classmethod
    def from_train(cls, cfg: TrainConfig) -> DataConfig:
        """The data fields of a run's TrainConfig."""
        return cls(
            data=cfg.data,
            data_root=cfg.data_root,
            cache_dir=cfg.cache_dir,
            window_us=cfg.window_us,
            sensor_size=tuple(cfg.sensor_size),
            downsample=cfg.downsample,
            data_workers=cfg.data_workers,
            synth_train_per_class=cfg.synth_train_per_class,
            synth_test_per_class=cfg.synth_test_per_class,
            synth_duration_ms=cfg.synth_duration_ms,
            synth_gestures_per_recording=cfg.synth_gestures_per_recording,
            holdout_fraction=cfg.holdout_fraction,
            seed=cfg.seed,
        )

    @classmethod
    def from_binning(cls, binning: BinningConfig, **fields: Any) -> DataConfig:
        """A config binning exactly as a checkpoint's BinningConfig says (evaluation)."""
        return cls(
            window_us=binning.window_us,
            sensor_size=tuple(binning.sensor_size),
            downsample=binning.downsample,
            adapt_mode=binning.adapt_mode,
            **fields,
        )
