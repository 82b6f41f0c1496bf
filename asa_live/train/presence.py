"""Fitting a readout's presence head: a logistic "gesture present" detector on hidden spikes.

With g[t] the hidden (fc1) spikes integrated like the outputs (g[t] = d g[t-1] + (1-d) h[t]),
the head's logit is P[t] = w . g[t] + b, fitted by L2-regularised logistic regression with
balanced classes on TRAINING data:

    min_{w,b}  sum_i c_i * BCE(sigmoid(P_i), y_i) / sum_i c_i  +  lambda * |w|^2

    y_i = 1: a gesture window outside the grace span around its start and end,
    y_i = 0: an idle window from ``idle_after_ms`` after a gesture, or any window of a
             negative stream (no person, fans, lamps, traffic, noise),
    c_i: 1 / (windows of its class), so both classes weigh the same.

The features are standardised for the fit and the standardisation is folded back into w, b.
Then ``choose_gain`` picks gamma, the weight of P in the background score (readout.py), on the
VALIDATION split: each candidate is calibrated as usual (temperature, background offset,
threshold at the false-alarm target) and the best validation balanced accuracy wins; gamma = 0
(the head off) is always a candidate, so a head that does not help is not used.

Why a head on the hidden layer: the output layer, trained jointly on the gestures and "no
gesture", ranks negative-stream windows against gesture windows at validation AUROC 0.87; a
linear read of the same network's hidden layer reaches 0.95 (docs/model.md, "Presence head").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from asa_live.errors import ConfigError
from asa_live.model.calibration import DEFAULT_FA_PER_MINUTE, balanced_accuracy, calibrate
from asa_live.model.readout import Readout
from asa_live.train.evaluation import idle_gap_mask

#: Candidate weights of the presence logit in the background score (rate units per logit).
GAIN_GRID = (0.0, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3)
#: Chosen on the validation split of the shipped models (1e-5 to 1e-2 tried; docs/model.md).
DEFAULT_L2 = 1e-4


def integrate(hidden: np.ndarray, decay: float) -> np.ndarray:
    """``hidden [T, H]`` spikes -> ``[T, H]`` leaky integral (float64), as the readout does."""
    hidden = np.asarray(hidden, dtype=np.float64)
    out = np.empty_like(hidden)
    level = np.zeros(hidden.shape[1])
    for t in range(hidden.shape[0]):
        level = decay * level + (1.0 - decay) * hidden[t]
        out[t] = level
    return out


def presence_targets(
    labels: np.ndarray | None, length: int, window_us: int, grace_windows: int, idle_after_ms: float
) -> np.ndarray:
    """Per window: 1 gesture, 0 no gesture, -1 left out (``labels`` None = a negative stream)."""
    if labels is None:
        return np.zeros(length, dtype=np.int64)
    labels = np.asarray(labels)
    target = np.where(
        labels >= 0, 1, np.where(idle_gap_mask(labels, window_us, idle_after_ms), 0, -1)
    )
    edges = np.flatnonzero(np.diff(np.r_[-1, labels]) != 0)
    for t in edges:
        target[max(0, t - grace_windows) : t + grace_windows] = -1
    return target


def presence_examples(
    runs: Sequence[Mapping[str, np.ndarray]],
    labels: Sequence[np.ndarray | None],
    decay: float,
    window_us: int,
    grace_windows: int = 20,
    idle_after_ms: float = 600.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Features ``X [M, H]`` and targets ``y [M]`` of every used window of ``runs``
    (``run_sequences`` results; ``labels`` per run: window labels, or None for negatives)."""
    xs, ys = [], []
    for run, lab in zip(runs, labels, strict=True):
        hidden = np.asarray(run["hidden_spikes"])
        target = presence_targets(lab, hidden.shape[0], window_us, grace_windows, idle_after_ms)
        keep = target >= 0
        xs.append(integrate(hidden, decay)[keep])
        ys.append(target[keep])
    return np.concatenate(xs), np.concatenate(ys)


def fit_presence(
    features: np.ndarray, targets: np.ndarray, l2: float = DEFAULT_L2
) -> tuple[tuple[float, ...], float]:
    """(w, b) of the balanced logistic regression (module doc) on ``features [M, H]``."""
    y = torch.as_tensor(np.asarray(targets), dtype=torch.float64)
    if y.numel() == 0 or bool((y == y[0]).all()):
        raise ConfigError(
            "The presence head needs training windows of both kinds, gesture and no gesture "
            "(gestures longer than twice the grace span, and negative streams)."
        )
    x = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    mean, std = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / std
    # each class weighs the same however many windows it has
    weight = torch.where(y > 0, 0.5 / y.sum(), 0.5 / (1 - y).sum())
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logit = z @ w + b
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logit, y, reduction="none")
        loss = (bce * weight).sum() + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    w_raw = (w / std).detach()
    b_raw = (b - (w * mean / std).sum()).detach()
    return tuple(float(v) for v in w_raw), float(b_raw)


def choose_gain(
    readout: Readout,
    val_runs: Sequence[Mapping[str, np.ndarray]],
    val_labels: Sequence[torch.Tensor],
    negative_runs: Sequence[Mapping[str, np.ndarray]],
    window_us: int,
    target_fa_per_minute: float = DEFAULT_FA_PER_MINUTE,
    gains: Sequence[float] = GAIN_GRID,
) -> tuple[Readout, dict[str, Any], list[dict[str, float]]]:
    """The calibrated readout with the best validation balanced accuracy over ``gains``.

    ``val_labels``: per validation run, window labels with -2 for windows left out of the fit.
    Returns (readout, its calibration record, one row per candidate gain).
    """
    best: tuple[float, Readout, dict[str, Any]] | None = None
    rows = []
    for gain in gains:
        candidate = dataclasses.replace(readout, presence_gain=float(gain))
        scores = [candidate.stream_scores(r) for r in val_runs]
        keep = [lab >= -1 for lab in val_labels]
        neg = [candidate.stream_scores(r) for r in negative_runs]
        flat = torch.cat([s[k] for s, k in zip(scores, keep, strict=True)] + neg)
        labels = torch.cat(
            [lab[k] for lab, k in zip(val_labels, keep, strict=True)]
            + [torch.full((len(s),), -1) for s in neg]
        )
        calibrated, record = calibrate(
            candidate, flat, labels, neg, window_us, target_fa_per_minute
        )
        score = balanced_accuracy(calibrated, flat, labels)
        rows.append(
            {
                "gain": float(gain),
                "val_balanced_accuracy": score,
                "val_gesture_windows_shown": record["val_gesture_windows_shown"],
                "val_fa_per_minute": record["val_fa_per_minute"],
            }
        )
        if best is None or score > best[0] + 1e-9:
            best = (score, calibrated, record)
    assert best is not None  # gains is never empty: GAIN_GRID or the caller's list
    return best[1], best[2], rows
