"""Calibrating a freshly trained "no gesture" checkpoint on its own validation split.

``asa-live-calibrate`` fits the decision on validation recordings plus a folder of negative
streams. A run that ends without such a folder (``asa-live-train --recipe finetune`` on a
user's takes) still has its validation split: held-out takes with the idle time around them.
:func:`calibrate_on_validation` fits the same three things there (asa_live.model.calibration):

* the temperature, on every validation window outside the grace spans;
* the background prior shift, by balanced accuracy (gesture windows right vs idle windows
  abstaining): fine-tuning on a few takes sees far more idle windows than gesture windows, and
  without the shift such a model answers "no gesture" to most gestures of a new user;
* the reject threshold at the false-alarm target, with the idle stretches between the
  validation gestures as the negative streams.

Why both in-distribution: the validation takes are the only data of the user's classes that
training did not see. The test split, if there is one, is never read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from asa_live.model.calibration import (
    DEFAULT_FA_PER_MINUTE,
    OFFSET_GRID,
    balanced_accuracy,
    calibrate,
    fit_temperature,
)
from asa_live.model.checkpoint import load_checkpoint, store_readout
from asa_live.model.readout import Readout
from asa_live.train.data.sequences import LabelledSequence
from asa_live.train.evaluation import run_sequences

__all__ = [
    "LEFT_OUT",
    "calibrate_on_validation",
    "calibrate_without_threshold",
    "idle_stretches",
    "labels_with_grace",
]

#: Label of a window left out of the fit (within the grace span of a gesture's edge).
LEFT_OUT = -2
#: Idle stretches shorter than this many windows (150 ms) are not used as negative streams.
MIN_IDLE_WINDOWS = 10


def labels_with_grace(seq: LabelledSequence, grace_windows: int) -> np.ndarray:
    """Window labels with LEFT_OUT within ``grace_windows`` of a segment's start or end."""
    labels = seq.window_labels.copy()
    for row in seq.segments:
        s, e = int(row["start"]), int(row["end"])
        labels[max(0, s - grace_windows) : s + grace_windows] = LEFT_OUT
        labels[max(0, e - grace_windows) : e + grace_windows] = LEFT_OUT
    return labels


def idle_stretches(labels: np.ndarray, min_windows: int = MIN_IDLE_WINDOWS) -> list[slice]:
    """Maximal runs of "no gesture" windows (label -1) of at least ``min_windows``."""
    idle = np.concatenate([[False], np.asarray(labels) == -1, [False]])
    edges = np.flatnonzero(idle[1:] != idle[:-1])
    return [
        slice(int(a), int(b))
        for a, b in zip(edges[::2], edges[1::2], strict=True)
        if b - a >= min_windows
    ]


def calibrate_on_validation(
    checkpoint: str | Path,
    sequences: Sequence[LabelledSequence],
    grace_windows: int,
    target_fa_per_minute: float = DEFAULT_FA_PER_MINUTE,
) -> dict[str, Any] | None:
    """Fit the checkpoint's decision on ``sequences`` and store it in the file; the record,
    or None when the split has no gesture window or no idle stretch to fit on."""
    ckpt = load_checkpoint(checkpoint)
    readout = ckpt.readout
    labels = [labels_with_grace(s, grace_windows) for s in sequences]
    stretches = [idle_stretches(lab) for lab in labels]
    if not any((lab >= 0).any() for lab in labels) or not any((lab == -1).any() for lab in labels):
        return None
    runs = run_sequences(ckpt.model, sequences)
    scores = [readout.stream_scores(r) for r in runs]
    keep = [torch.from_numpy(lab >= -1) for lab in labels]
    flat_scores = torch.cat([s[k] for s, k in zip(scores, keep, strict=True)])
    flat_labels = torch.cat([torch.from_numpy(lab)[k] for lab, k in zip(labels, keep, strict=True)])
    negatives = [s[part] for s, parts in zip(scores, stretches, strict=True) for part in parts]
    window_us = int(ckpt.binning.window_us)
    if negatives:
        calibrated, record = calibrate(
            readout, flat_scores, flat_labels, negatives, window_us, target_fa_per_minute
        )
    else:  # held-out takes cut tight: idle windows, but no stretch long enough to count alarms
        calibrated, record = calibrate_without_threshold(readout, flat_scores, flat_labels)
    record["validation"] = {
        "data": "the run's validation split; negatives: its idle stretches",
        "sequences": len(sequences),
    }
    store_readout(checkpoint, calibrated, record)
    return record


def calibrate_without_threshold(
    readout: Readout, scores: torch.Tensor, labels: torch.Tensor
) -> tuple[Readout, dict[str, Any]]:
    """Temperature and background prior shift only (threshold 0): for validation data with
    idle windows but no idle stretch to measure false alarms on."""
    temperature = fit_temperature(scores, labels, readout.background)
    # maps fitted for an earlier decision would miscalibrate this one: start without them
    base = dataclasses.replace(
        readout, temperature=temperature, threshold=0.0, confidence_shown=(), confidence_abstain=()
    )
    offsets = OFFSET_GRID if readout.background else (0.0,)
    scored = [
        (
            balanced_accuracy(
                dataclasses.replace(base, background_offset=float(o)), scores, labels
            ),
            o,
        )
        for o in offsets
    ]
    best = max(scored, key=lambda pair: (pair[0], -pair[1]))[1]
    calibrated = dataclasses.replace(base, background_offset=float(best))
    record = {
        "method": "temperature (NLL) + background prior shift (balanced accuracy); no threshold: "
        "no idle stretch to count false alarms on",
        "background_offset": float(best),
        "target_fa_per_minute": None,
        "val_fa_per_minute": None,
        "val_windows": int(torch.as_tensor(labels).numel()),
    }
    return calibrated, record
