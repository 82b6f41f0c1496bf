"""Training recipes: every hyper-parameter of a run in one frozen dataclass.

A recipe is a named preset of :class:`TrainConfig`. The CLI starts from a preset and overrides
any field (``--lr 3e-4``, ``--channels 16,32,32``); the resolved config is written as
``config.json`` next to the checkpoints, so a run can always be repeated exactly.

Presets:

* ``paper-3layer``: the recipe of Yao et al. (ICCV 2023) for DVS128 Gesture, read from the
  authors' release: T = 60 windows of 15 ms (a 900 ms clip), 32x32 input (128x128 events with
  coordinates // 4), batch 32, Adam lr 1e-4 / weight decay 1e-4, cosine schedule down to 1e-6
  over 200 epochs, MSE between output rates and one-hot targets, dropout [0, 0, .1, .1, .1],
  a random 900 ms crop per sample, seed 0. The model sees each clip as one chunk (K = T = 60).
* ``paper-5layer``: the stronger 5-layer PLIF network of the paper (T = 20, 128x128 input, ASA
  with r = 1). Its frames are 15 ms windows here (the paper uses 20 frames of equal event
  counts; a live stream has no "whole sample" to split, so we keep fixed-time windows).
* ``streaming``: what the live app needs. Long labelled sequences (whole recordings with their
  gaps, or single segments) are cut into consecutive chunks of K windows. The LIF state is
  carried from chunk to chunk; gradients flow through ``bptt_chunks`` chunks and are then cut
  (truncated BPTT: the state is detached, not reset). Each sample starts at a random offset and
  runs ``burn_in_windows`` windows without loss first, so the network learns to classify from
  the middle of a stream, not only from a fresh state.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.errors import ConfigError

__all__ = ["RECIPES", "TrainConfig", "get_recipe", "recipe_names"]


@dataclass(frozen=True)
class TrainConfig:
    """All settings of a training run (units in the names: ``_us``, ``_ms``)."""

    recipe: str = "paper-3layer"
    # ---- data -------------------------------------------------------------------------
    #: "synthetic" (generated on the fly, or read from ``data_root`` when it is given),
    #: "ibm" (raw DVS128 Gesture: .aedat + labels CSV + trial lists) or "tonic" (tonic's
    #: DVSGesture folder: ibmGestureTrain / ibmGestureTest with one <label>.npy per trial).
    data: str = "synthetic"
    data_root: str | None = None
    #: Where binned frames are cached (key = binning parameters + source file identity).
    cache_dir: str = ".cache/asa-live-frames"
    #: Synthetic data made on the fly: samples per class (train / test), seeds from 0 (train)
    #: and 100_000 (test), so the test set never shares a seed with training.
    synth_train_per_class: int = 100
    synth_test_per_class: int = 20
    synth_duration_ms: int = 2000
    #: Synthetic continuous recordings for the streaming evaluation: how many, and how many
    #: gestures each (seeds from 100_000, held out).
    synth_test_recordings: int = 6
    synth_gestures_per_recording: int = NUM_GESTURE_CLASSES
    #: Worker processes for generating / binning data (0 = in the main process).
    data_workers: int = 2
    #: "folder" data: share of each class's takes held out for validation when the folder
    #: has no trial lists (at least one take of every class with >= 2 takes).
    holdout_fraction: float = 0.2
    #: Data sets other than a recordings folder: this fraction of the training sequences (the
    #: last by name: in IBM's layout the last users) is the validation split that picks the
    #: best epoch. The test split is never read during training.
    val_fraction: float = 0.1
    #: Recordings whose every window is "no gesture" (any format open_source reads), drawn in
    #: ``negative_fraction`` of the training items (stream mode).
    negatives: str | None = None
    negative_fraction: float = 0.2
    #: Event-level augmentation (asa_live.events.augment, AugmentConfig defaults) in the
    #: training data path, and a folder of real recordings mixed in as background.
    augment: bool = False
    #: Share of the training items that are augmented (the rest stay as recorded).
    augment_fraction: float = 1.0
    #: Probability that an augmented item has ON and OFF swapped (AugmentConfig's
    #: p_invert_polarity): an edge's sign is the clothes' contrast against the wall, not the
    #: gesture - unless one user teaches the model in their own clothes (finetune recipe).
    augment_invert_polarity: float = 0.5
    background: str | None = None
    #: Use at most this many training items (0 = all); handy for smoke runs.
    max_train_items: int = 0
    max_test_items: int = 0
    # ---- binning (stored in the checkpoint, used verbatim by the live binner) ---------
    window_us: int = 15_000
    sensor_size: tuple[int, int] = (128, 128)
    downsample: int = 4
    # ---- model (fields of asa_live.model.ModelConfig; None = that class's default) ----
    #: Start from this checkpoint's weights (the output layer is new when the class list
    #: differs or a background output is added); the network must have the same shape.
    init: str | None = None
    #: A "no gesture" output after the gesture classes (stream mode): windows outside any
    #: gesture are trained towards it, except ``no_gesture_grace_ms`` before each onset and
    #: after each end (a gesture eases in and out: no loss there).
    no_gesture: bool = False
    no_gesture_grace_ms: float = 300.0
    #: Loss weight of the "no gesture" targets relative to gestures. Idle time and negative
    #: streams outnumber gesture windows and are the easier answer: at weight 1 a small net
    #: settles on "no gesture" everywhere before it has learnt the gestures.
    background_weight: float = 1.0
    #: At the end of the run, fit the "no gesture" decision (temperature, background prior
    #: shift, reject threshold) of best/last on the validation split (asa_live.train.autocal).
    calibrate: bool = False
    arch: str = "3layer"
    attention: str = "asa"
    channels: tuple[int, ...] | None = None
    hidden: int | None = None
    dropout: tuple[float, ...] | None = None
    reduction: int | None = None
    lam: float | None = None
    #: ASA over time: "chunk" (K windows per call, the paper) or "sliding" (causal, per
    #: window, over the trailing ``asa_window`` windows; chunk_windows must then be 1).
    asa_mode: str = "chunk"
    asa_window: int | None = None
    # ---- what the model sees -----------------------------------------------------------
    #: "clip": one random crop of ``clip_windows`` windows per sample, fresh state, loss on
    #: the mean output rate (the paper). "stream": truncated BPTT over consecutive chunks.
    mode: str = "clip"
    clip_windows: int = 60
    #: K: windows per chunk (ASA's T). In "clip" mode it must equal clip_windows.
    chunk_windows: int = 60
    #: Streaming: chunks per truncated-BPTT segment, segments per training sample, and
    #: windows run without loss before the first segment (state warm-up).
    bptt_chunks: int = 20
    segments_per_sample: int = 2
    burn_in_windows: int = 20
    #: Streaming loss: "window" = MSE of each window's output spikes vs one-hot; "segment" =
    #: MSE of the mean rate over the labelled windows of a BPTT segment (the paper's loss on
    #: a shorter span). Windows outside any labelled gesture never count.
    stream_loss: str = "segment"
    #: Streaming: items drawn per epoch (0 = one per training sequence).
    stream_samples_per_epoch: int = 0
    # ---- optimisation ------------------------------------------------------------------
    batch_size: int = 32
    epochs: int = 200
    lr: float = 1e-4
    weight_decay: float = 1e-4
    lr_min: float = 1e-6
    #: The output layer's learning rate is ``lr * head_lr_scale`` (fine-tuning: a fresh
    #: output layer learns fast while the trained features below move slowly).
    head_lr_scale: float = 1.0
    #: Fresh networks only: scale each silent fully connected layer until it fires at this
    #: rate on the first training batch (rate_init.py). None = auto: 0.05 for the 5-layer net
    #: (its FC layers are silent at init on 15 ms windows), off for the 3-layer; 0 = off.
    rate_init: float | None = None
    #: "cosine" (to lr_min over all epochs) or "constant".
    schedule: str = "cosine"
    grad_clip: float = 0.0
    seed: int = 0
    # ---- machinery ---------------------------------------------------------------------
    #: "auto" (CUDA when present), "cpu", "cuda", "cuda:1", ...
    device: str = "auto"
    #: Mixed precision (bfloat16/float16 autocast); only ever used on CUDA.
    amp: bool = True
    num_workers: int = 0
    torch_threads: int = 0
    out_dir: str = "runs/paper-3layer"
    eval_every: int = 1
    #: Paper protocol: clips per test segment.
    test_clips: int = 10
    #: Streaming evaluation: the Readout's window (running mean over this many windows) and
    #: the grace period after a gesture's onset excluded from "accuracy after onset".
    readout_windows: int = 10
    onset_grace_ms: float = 300.0
    #: Stop after this many optimiser steps per epoch (0 = whole epoch); for smoke tests.
    max_steps_per_epoch: int = 0
    #: Wall-clock budget in minutes (0 = none): no new epoch starts once it is spent; the
    #: run then ends normally (checkpoints, summary) at the epoch reached.
    time_limit_min: float = 0.0
    tensorboard: bool = True
    progress: bool = True

    # ------------------------------------------------------------------------------------
    @property
    def rate_init_target(self) -> float:
        """The rate_init target this run uses (0 = off), with "auto" resolved."""
        if self.rate_init is not None:
            return self.rate_init
        return 0.05 if self.arch == "5layer" else 0.0

    def __post_init__(self) -> None:
        checks = [
            (self.data in ("synthetic", "ibm", "tonic", "folder"),
             "data must be synthetic, ibm, tonic or folder"),
            (self.mode in ("clip", "stream"), "mode must be clip or stream"),
            (self.stream_loss in ("window", "segment"), "stream_loss must be window or segment"),
            (self.schedule in ("cosine", "constant"), "schedule must be cosine or constant"),
            (self.attention in ("asa", "none"), "attention must be asa or none"),
            (self.arch in ("3layer", "5layer"), "arch must be 3layer or 5layer"),
            (self.window_us > 0, "window_us must be positive"),
            (self.downsample >= 1, "downsample must be at least 1"),
            (self.clip_windows >= 1 and self.chunk_windows >= 1, "window counts must be >= 1"),
            (self.batch_size >= 1 and self.epochs >= 1, "batch_size and epochs must be >= 1"),
            (self.lr > 0 and self.lr_min >= 0, "lr must be positive and lr_min >= 0"),
            (self.bptt_chunks >= 1 and self.segments_per_sample >= 1, "bptt counts must be >= 1"),
            (self.burn_in_windows >= 0, "burn_in_windows must be >= 0"),
            (self.test_clips >= 1, "test_clips must be >= 1"),
            (0.0 <= self.holdout_fraction < 1.0, "holdout_fraction must be in [0, 1)"),
            (0.0 <= self.val_fraction < 1.0, "val_fraction must be in [0, 1)"),
            (0.0 <= self.negative_fraction < 1.0, "negative_fraction must be in [0, 1)"),
            (self.no_gesture_grace_ms >= 0, "no_gesture_grace_ms must be >= 0"),
            (0 < self.background_weight <= 1, "background_weight must be in (0, 1]"),
            (self.head_lr_scale > 0, "head_lr_scale must be positive"),
            (self.rate_init is None or 0.0 <= self.rate_init < 1.0,
             "rate_init must be in [0, 1)"),
            (0.0 <= self.augment_fraction <= 1.0, "augment_fraction must be in [0, 1]"),
            (0.0 <= self.augment_invert_polarity <= 1.0,
             "augment_invert_polarity must be in [0, 1]"),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"Invalid training option: {message}.")
        # Clip mode trains on these clips; stream mode validates on them (paper protocol). A
        # chunked network consumes whole chunks of K windows either way.
        if self.clip_windows % self.chunk_windows != 0:
            raise ConfigError(
                f"Invalid training option: clip_windows ({self.clip_windows}) must be a multiple "
                f"of chunk_windows ({self.chunk_windows}): the network reads whole chunks of K "
                "windows (give --clip-windows as a multiple of K)."
            )

        stream_only = [
            ("no_gesture", self.no_gesture),
            ("augment", self.augment),
            ("negatives", self.negatives),
            ("background", self.background),
        ]
        for name, value in stream_only:
            if value and self.mode != "stream":
                raise ConfigError(
                    f"Invalid training option: {name.replace('_', '-')} needs --mode stream "
                    "(the streaming or finetune recipe)."
                )
        if self.background and not self.augment:
            raise ConfigError("Invalid training option: --background needs --augment on.")

    # ------------------------------------------------------------------------------------
    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) of the network input after downsampling."""
        width, height = self.sensor_size
        return (height // self.downsample, width // self.downsample)

    @property
    def stream_windows(self) -> int:
        """Windows per streaming training item: burn-in + all BPTT segments."""
        return (
            self.burn_in_windows + self.segments_per_sample * self.bptt_chunks * self.chunk_windows
        )

    def model_overrides(self) -> dict[str, Any]:
        """The ModelConfig fields this run sets (None fields keep the model's defaults)."""
        values = {
            "arch": self.arch,
            "attention": self.attention,
            "input_size": self.input_size,
            "chunk_windows": self.chunk_windows,
            "channels": self.channels,
            "hidden": self.hidden,
            "dropout": self.dropout,
            "reduction": self.reduction,
            "lam": self.lam,
            "asa_mode": self.asa_mode,
            "asa_window": self.asa_window,
        }
        return {k: v for k, v in values.items() if v is not None}

    def replace(self, **changes: Any) -> TrainConfig:
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(
                f"Unknown training option(s) {sorted(unknown)}: see asa-live-train --help."
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for key, value in data.items():
            if key not in known:
                continue  # written by a newer version: ignore rather than refuse to resume
            if isinstance(value, list):
                value = tuple(value)
            kwargs[key] = value
        return cls(**kwargs)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as err:
            raise ConfigError(
                f"Cannot read the training config '{path}' ({err}): pass a config.json "
                "written by asa-live-train."
            ) from None


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


_PAPER_3LAYER = TrainConfig(
    recipe="paper-3layer",
    arch="3layer",
    mode="clip",
    clip_windows=60,
    chunk_windows=60,
    window_us=15_000,
    downsample=4,
    batch_size=32,
    epochs=200,
    lr=1e-4,
    weight_decay=1e-4,
    lr_min=1e-6,
    schedule="cosine",
    dropout=(0.0, 0.0, 0.1, 0.1, 0.1),
    reduction=4,
    lam=0.5,
    seed=0,
    out_dir="runs/paper-3layer",
)

RECIPES: dict[str, TrainConfig] = {
    "paper-3layer": _PAPER_3LAYER,
    "paper-5layer": _PAPER_3LAYER.replace(
        recipe="paper-5layer",
        arch="5layer",
        clip_windows=20,
        chunk_windows=20,
        downsample=1,
        batch_size=16,
        dropout=None,
        reduction=1,
        out_dir="runs/paper-5layer",
    ),
    # The streaming recipe keeps the paper's network, windows and optimiser, but trains on
    # consecutive chunks with carried state. K = 1 gives the lowest live latency: a window's
    # prediction exists as soon as that window is binned.
    "streaming": _PAPER_3LAYER.replace(
        recipe="streaming",
        mode="stream",
        chunk_windows=1,
        bptt_chunks=20,
        segments_per_sample=2,
        burn_in_windows=20,
        stream_loss="segment",
        # 5e-4, not more: at 2e-3 the baseline's (no ASA) output layer died within 3 epochs
        # (all FC2 currents below the surrogate window; see models/README.md).
        lr=5e-4,
        lr_min=5e-6,
        epochs=30,
        out_dir="runs/streaming",
        no_gesture=True,
    ),
}

# Few-shot fine-tuning of a trained streaming model on a user's recordings folder, sized for a
# 2-core CPU: the network (and K, the binning) come from --init; short runs (20 burn-in + 2 x
# 30 windows), a small constant lr so the features learnt on the big dataset survive, a few
# epochs of 48 augmented items. Measured in benchmarks/bench_teach.py.
RECIPES["finetune"] = RECIPES["streaming"].replace(
    recipe="finetune",
    data="folder",
    bptt_chunks=30,
    segments_per_sample=2,
    burn_in_windows=20,
    stream_samples_per_epoch=48,
    batch_size=8,
    lr=3e-4,
    lr_min=3e-4,
    # The output layer is new: it learns 10x faster than the trained layers below it.
    head_lr_scale=10.0,
    schedule="constant",
    epochs=12,
    # The user's takes are all the data of their classes: fit the "no gesture" decision on
    # the held-out ones (few takes see far more idle time than gestures; see autocal).
    calibrate=True,
    # Half the items augmented: on 5 takes of the 4 swipes (bench_teach.py, 1.5 s takes) all
    # items augmented gave 17 % per-window accuracy on held-out users, none 0.1 % (it learnt the
    # takes by heart and said "no gesture" to new users), half 48 %. Mirroring stays.
    augment=True,
    augment_fraction=0.5,
    # No polarity inversion: a user teaches the model in their own clothes, and the edge's sign
    # is what tells swipe_up from swipe_down (same arm, same path; a K = 1 net at 32x32 cannot
    # read the direction from the motion). Per-user validation (bench_teach.py, 3 users from
    # seed 510000, 5 takes): 86.3 % off, 85.8 % at 0.5 - a tie; the cost either way: clothes of
    # the opposite contrast swap up and down (docs/teach.md, "What to expect").
    augment_invert_polarity=0.0,
    no_gesture=True,
    test_clips=3,
    # One torch thread: these small steps (batch 8, 32x32, 16-32 channels) do not gain from a
    # second one, and on a busy 2-core machine two threads spin: 1.6 s of CPU per step with
    # one thread against 35 s with two, measured here under load.
    torch_threads=1,
    data_workers=0,
    out_dir="runs/finetune",
)


def recipe_names() -> list[str]:
    return sorted(RECIPES)


def get_recipe(name: str) -> TrainConfig:
    """The preset called ``name``; ConfigError names the valid ones otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ConfigError(
            f"Unknown recipe '{name}': choose one of {', '.join(recipe_names())}."
        ) from None
