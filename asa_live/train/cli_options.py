"""The options of asa-live-train: one per TrainConfig field, each with a checked type, its
unit, what it does and its real default (the recipes' values)."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

from asa_live.options import float_in, int_in
from asa_live.train.data import DATA_KINDS
from asa_live.train.recipes import RECIPES, TrainConfig, recipe_names

__all__ = ["FIELD_OPTIONS", "add_field_options", "recipe_default"]

_BIG = 1_000_000_000


def _int_list(low: int, high: int) -> Callable[[str], tuple[int, ...]]:
    item = int_in(low, high)

    def convert(text: str) -> tuple[int, ...]:
        return tuple(item(v.strip()) for v in text.split(",") if v.strip())

    convert.__name__ = "list of integers"
    return convert


def _float_list(low: float, high: float) -> Callable[[str], tuple[float, ...]]:
    item = float_in(low, high)

    def convert(text: str) -> tuple[float, ...]:
        return tuple(item(v.strip()) for v in text.split(",") if v.strip())

    convert.__name__ = "list of numbers"
    return convert


def on_off(text: str) -> bool:
    """``on`` / ``off`` (also yes/no, true/false, 1/0) -> bool."""
    value = text.strip().lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got '{text}'")


on_off.__name__ = "on/off"

#: bool fields given as ``--flag on|off`` (the others are --flag / --no-flag).
_ON_OFF_FIELDS = frozenset({"no_gesture", "augment"})


def _rate_or_auto(text: str) -> float | None:
    """``auto`` (None: the recipe decides by the network) or a rate in [0, 1)."""
    if text.strip().lower() == "auto":
        return None
    return float_in(0.0, 1.0, high_open=True)(text)


_rate_or_auto.__name__ = "auto or a number"


def _choices(*values: str) -> dict[str, Any]:
    return {"choices": list(values)}


#: field -> (argparse keywords: type or choices, help text with the unit).
FIELD_OPTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "data": (_choices(*DATA_KINDS), "which dataset: generated synthetic gestures, raw IBM "
             "DVS128 Gesture files, or tonic's DVSGesture .npy folders"),
    "data_root": ({"metavar": "DIR"}, "dataset folder (IBM: holds trials_to_train.txt; tonic: "
                  "holds DVSGesture/); for synthetic, a folder written by asa-live-synth"),
    "cache_dir": ({"metavar": "DIR"}, "folder for the binned-frame cache"),
    "synth_train_per_class": ({"type": int_in(1, _BIG)}, "synthetic training gestures per class"),
    "synth_test_per_class": ({"type": int_in(1, _BIG)}, "synthetic test gestures per class"),
    "synth_duration_ms": ({"type": int_in(100, 600_000)}, "length of one synthetic gesture, ms"),
    "synth_test_recordings": ({"type": int_in(1, _BIG)},
                              "synthetic continuous test recordings (streaming evaluation)"),
    "synth_gestures_per_recording": ({"type": int_in(1, 10_000)},
                                     "gestures per synthetic recording"),
    "data_workers": ({"type": int_in(0, 1024)}, "processes generating / binning data "
                     "(0 = this process)"),
    "val_fraction": ({"type": float_in(0.0, 1.0, high_open=True)},
                     "training sequences held out to pick the best epoch (not for --data "
                     "folder, which holds out takes); the test split is never read in training"),
    "holdout_fraction": ({"type": float_in(0.0, 1.0, high_open=True)},
                         "folder data without trial lists: share of each class's takes held "
                         "out for validation (at least one take of a class with >= 2 takes)"),
    "negatives": ({"metavar": "DIR"}, "folder of recordings with no gesture in them (.aedat4, "
                  ".aedat, .npy; labels ignored): every window trains 'no gesture'"),
    "negative_fraction": ({"type": float_in(0.0, 1.0, high_open=True)},
                          "share of the training items drawn from --negatives"),
    "augment": ({"type": on_off, "metavar": "on|off"}, "event-level augmentation of the "
                "training data (mirror, scale, shift, time stretch, polarity, noise, hot pixels)"),
    "augment_fraction": ({"type": float_in(0.0, 1.0)}, "share of the training items that "
                         "are augmented (the rest stay as recorded)"),
    "augment_invert_polarity": ({"type": float_in(0.0, 1.0), "metavar": "P"}, "probability "
                                "that an augmented item has ON and OFF swapped (the clothes' "
                                "contrast against the wall reversed)"),
    "background": ({"metavar": "DIR"}, "folder of real recordings mixed into training samples "
                   "as background (needs --augment on)"),
    "max_train_items": ({"type": int_in(0, _BIG)}, "use at most this many training items "
                        "(0 = all; for smoke runs)"),
    "max_test_items": ({"type": int_in(0, _BIG)}, "evaluate at most this many test segments "
                       "(0 = all)"),
    "window_us": ({"type": int_in(100, 10_000_000)}, "length of one time window, microseconds"),
    "sensor_size": ({"type": _int_list(1, 65_535), "metavar": "W,H"},
                    "sensor width,height in pixels"),
    "downsample": ({"type": int_in(1, 1024)}, "pixel blocks summed into one input pixel "
                   "(4: 128x128 -> 32x32)"),
    "init": ({"metavar": "CKPT"}, "start from this checkpoint's weights (a new output layer "
             "when the classes differ); network and binning come from it"),
    "no_gesture": ({"type": on_off, "metavar": "on|off"}, "a 'no gesture' output trained on "
                   "the windows outside gestures (stream mode)"),
    "no_gesture_grace_ms": ({"type": float_in(0.0, 1e7)}, "no loss this long before each "
                            "gesture onset and after each end, ms"),
    "calibrate": ({"type": on_off, "metavar": "on|off"}, "at the end, fit the 'no gesture' "
                  "decision of best/last on the validation split"),
    "background_weight": ({"type": float_in(0.0, 1.0, low_open=True)}, "loss weight of the "
                          "'no gesture' targets relative to gestures (idle time outnumbers "
                          "gestures)"),
    "arch": (_choices("3layer", "5layer"), "network: the paper's 3-layer LIF or 5-layer PLIF"),
    "attention": (_choices("asa", "none"), "ASA attention on, or the baseline without it"),
    "channels": ({"type": _int_list(1, 65_536), "metavar": "C1,C2,..."},
                 "conv channels per layer (default: the model's; paper 64,128,128)"),
    "hidden": ({"type": int_in(1, 1_000_000)}, "neurons of the hidden FC layer "
               "(default: the model's; paper 256)"),
    "dropout": ({"type": _float_list(0.0, 0.99), "metavar": "P1,P2,..."},
                "dropout probability per spiking layer"),
    "reduction": ({"type": int_in(1, 100_000)}, "r of ASA's FC over time (T -> T/r -> T)"),
    "lam": ({"type": float_in(0.0, 1.0, low_open=True)},
            "ASA's lambda: fraction of channels / time steps kept as important"),
    "asa_mode": (_choices("chunk", "sliding"), "ASA over time: chunk (K windows per call) or "
                 "sliding (causal, per window, over the last --asa-window windows)"),
    "asa_window": ({"type": int_in(1, 1024)}, "sliding ASA: K, the trailing windows attended"),
    "mode": (_choices("clip", "stream"), "clip: random crops from a fresh state (the paper); "
             "stream: truncated BPTT over consecutive chunks"),
    "clip_windows": ({"type": int_in(1, 1_000_000)}, "windows per training / test clip"),
    "chunk_windows": ({"type": int_in(1, 1_000_000)}, "K: windows per forward call (ASA's T)"),
    "bptt_chunks": ({"type": int_in(1, 1_000_000)}, "stream: chunks per truncated-BPTT segment"),
    "segments_per_sample": ({"type": int_in(1, 1_000_000)},
                            "stream: BPTT segments (optimiser steps) per sample"),
    "burn_in_windows": ({"type": int_in(0, 1_000_000)},
                        "stream: windows run without loss before the first segment"),
    "stream_loss": (_choices("window", "segment"), "stream: loss per window, or on the mean "
                    "rate of each BPTT segment"),
    "stream_samples_per_epoch": ({"type": int_in(0, _BIG)},
                                 "stream: items per epoch (0 = one per training segment)"),
    "batch_size": ({"type": int_in(1, 1_000_000)}, "global batch, samples (split over ranks)"),
    "epochs": ({"type": int_in(1, 1_000_000)}, "training epochs"),
    "lr": ({"type": float_in(0.0, 10.0, low_open=True)}, "Adam learning rate"),
    "weight_decay": ({"type": float_in(0.0, 10.0)}, "Adam weight decay"),
    "lr_min": ({"type": float_in(0.0, 10.0)}, "final learning rate of the cosine schedule"),
    "head_lr_scale": ({"type": float_in(0.0, 1e4, low_open=True)},
                      "the output layer's learning rate is --lr times this"),
    "rate_init": ({"type": _rate_or_auto}, "fresh networks: scale each silent fully connected "
                  "layer until it fires at this rate per window on the first batch (0 = off; "
                  "auto = 0.05 for 5layer, off for 3layer)"),
    "schedule": (_choices("cosine", "constant"), "learning-rate schedule over the epochs"),
    "grad_clip": ({"type": float_in(0.0, 1e9)}, "gradient-norm clip (0 = none)"),
    "seed": ({"type": int_in(0, 2**32 - 1)}, "seed of every random draw of the run"),
    "device": ({"metavar": "DEV"}, "auto (CUDA when present), cpu, cuda or cuda:N"),
    "amp": ({}, "bfloat16/float16 autocast, only ever on CUDA"),
    "num_workers": ({"type": int_in(0, 1024)}, "DataLoader worker processes"),
    "torch_threads": ({"type": int_in(0, 4096)}, "torch CPU threads (0 = torch's default)"),
    "out_dir": ({"metavar": "DIR"}, "folder for checkpoints, logs and the resume state"),
    "eval_every": ({"type": int_in(1, 1_000_000)}, "evaluate every N epochs (and the last)"),
    "test_clips": ({"type": int_in(1, 10_000)}, "paper protocol: clips per test segment"),
    "readout_windows": ({"type": int_in(1, 1_000_000)},
                        "streaming evaluation: windows of the running-mean readout"),
    "onset_grace_ms": ({"type": float_in(0.0, 1e7)},
                       "streaming evaluation: grace after a gesture's onset, ms"),
    "max_steps_per_epoch": ({"type": int_in(0, _BIG)},
                            "stop each epoch after this many steps (0 = whole epoch)"),
    "time_limit_min": ({"type": float_in(0.0, 1e7)}, "wall-clock budget, minutes (0 = none): "
                       "no new epoch starts once it is spent"),
    "tensorboard": ({}, "write TensorBoard scalars to <out-dir>/tb when installed"),
    "progress": ({}, "show a progress bar"),
}  # fmt: skip


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return "the model's" if value is None else str(value)


_MODEL_FIELDS = frozenset({"channels", "hidden", "dropout", "reduction", "lam", "asa_window"})


def _show_field(name: str, value: Any) -> str:
    if name in _ON_OFF_FIELDS:
        return "on" if value else "off"
    if value is None and name == "rate_init":
        return "auto"
    if value is None and name not in _MODEL_FIELDS:
        return "none"
    return _show(value)


def recipe_default(name: str) -> str:
    """``default: X`` when every recipe agrees, else each recipe's value."""
    values = {r: _show_field(name, getattr(RECIPES[r], name)) for r in recipe_names()}
    if len(set(values.values())) == 1:
        return f"default: {next(iter(values.values()))}"
    return "default: the recipe's value; " + ", ".join(f"{r} {v}" for r, v in values.items())


def add_field_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field (default None = keep the recipe's value)."""
    group = parser.add_argument_group("hyper-parameters (each overrides the recipe's value)")
    for f in dataclasses.fields(TrainConfig):
        if f.name == "recipe":
            continue
        kwargs, text = FIELD_OPTIONS[f.name]
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{text} ({recipe_default(f.name)})".replace("%", "%%")
        if f.type in ("bool", bool) and f.name not in _ON_OFF_FIELDS:
            group.add_argument(flag, dest=f.name, default=None, help=help_text,
                               action=argparse.BooleanOptionalAction)  # fmt: skip
        else:
            group.add_argument(flag, dest=f.name, default=None, help=help_text, **kwargs)
