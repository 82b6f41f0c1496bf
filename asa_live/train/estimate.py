"""A rough duration of a training run, from its size and speeds measured on real machines.

Measured (docs/training.md, ../shared/docs/environment.md): the paper's 3-layer net at 32x32
(64/128/128 channels, FC 256) trains at 15.7 s per step of 32 clips x 60 windows on 2 CPU
cores, and at about 170 clips of 60 windows per second on one H200 GPU. Time is taken to grow
with windows x input pixels; the estimate is for planning, not a promise.
"""

from __future__ import annotations

import math

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.train.recipes import TrainConfig

__all__ = ["estimate_seconds", "items_per_epoch", "steps_per_epoch"]

#: Seconds per (clip x window) at 32x32 input, measured.
CPU_S_PER_CLIP_WINDOW = 15.7 / (32 * 60)
GPU_S_PER_CLIP_WINDOW = 1.0 / (170 * 60)

#: Training segments of the real datasets (IBM raw rows; tonic files).
_REAL_TRAIN_SEGMENTS = {"ibm": 1176, "tonic": 1077}


def items_per_epoch(cfg: TrainConfig) -> int:
    """Training items of one epoch (clips, or streaming runs)."""
    if cfg.data == "synthetic" and cfg.data_root is None:
        recordings = math.ceil(
            cfg.synth_train_per_class * NUM_GESTURE_CLASSES / cfg.synth_gestures_per_recording
        )
        segments = recordings * cfg.synth_gestures_per_recording
    else:
        segments = _REAL_TRAIN_SEGMENTS.get(cfg.data, 1176)
    if cfg.max_train_items:
        segments = min(segments, cfg.max_train_items)
    if cfg.mode == "stream" and cfg.stream_samples_per_epoch:
        return cfg.stream_samples_per_epoch
    return segments


def steps_per_epoch(cfg: TrainConfig) -> int:
    steps = max(1, items_per_epoch(cfg) // cfg.batch_size)
    return min(steps, cfg.max_steps_per_epoch) if cfg.max_steps_per_epoch else steps


def estimate_seconds(cfg: TrainConfig, gpu: bool) -> float:
    """Training time of the whole run (evaluation not included)."""
    windows = cfg.clip_windows if cfg.mode == "clip" else cfg.stream_windows
    height, width = cfg.input_size
    per_clip_window = GPU_S_PER_CLIP_WINDOW if gpu else CPU_S_PER_CLIP_WINDOW
    per_step = per_clip_window * cfg.batch_size * windows * (height * width) / (32 * 32)
    return cfg.epochs * steps_per_epoch(cfg) * per_step
