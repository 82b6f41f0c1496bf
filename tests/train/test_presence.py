"""Fitting the presence head (train/presence.py) and choosing its weight on validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from asa_live.errors import ConfigError
from asa_live.model.metrics import auroc
from asa_live.model.readout import Readout
from asa_live.train.presence import (
    choose_gain,
    fit_presence,
    integrate,
    presence_examples,
    presence_targets,
)

W_US = 15_000
H = 8


def test_targets_leave_out_the_edges_and_the_idle_right_after_a_gesture():
    labels = np.array([-1] * 50 + [3] * 30 + [-1] * 70)
    target = presence_targets(labels, len(labels), W_US, grace_windows=5, idle_after_ms=600.0)
    assert (target[:45] == -1).all()  # before the first gesture: no idle gap yet
    assert (target[45:55] == -1).all() and (target[55:75] == 1).all()
    assert (target[75:120] == -1).all()  # the gesture's end and the 600 ms (40 windows) after it
    assert (target[120:] == 0).all()
    assert (presence_targets(None, 7, W_US, 5, 600.0) == 0).all()  # a negative stream


def test_integrate_is_the_readouts_leaky_integral():
    hidden = (np.random.default_rng(0).random((20, 3)) < 0.4).astype(np.uint8)
    got = integrate(hidden, 0.9)
    level, want = np.zeros(3), []
    for h in hidden:
        level = 0.9 * level + 0.1 * h
        want.append(level)
    assert np.allclose(got, np.array(want))


def test_fit_separates_imbalanced_classes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2200, 5))
    y = np.r_[np.ones(200), np.zeros(2000)].astype(np.int64)
    x[y == 1, 2] += 2.5  # only feature 2 carries the class
    w, b = fit_presence(x, y)
    logit = x @ np.array(w) + b
    assert auroc(logit, y.astype(bool)) > 0.95
    assert abs(w[2]) == max(abs(v) for v in w)
    # balanced classes: both sides of the boundary are mostly right despite 10:1
    assert (logit[y == 1] > 0).mean() > 0.85 and (logit[y == 0] < 0).mean() > 0.85


def test_fit_needs_both_classes():
    with pytest.raises(ConfigError, match="both kinds"):
        fit_presence(np.zeros((5, 2)), np.ones(5, dtype=np.int64))


def _run(labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Outputs that cannot tell a gesture from none (some gesture output fires either way, the
    background output never), and a hidden unit 0 that fires only while a gesture is made."""
    t = len(labels)
    out = np.zeros((t, 4), np.float32)
    cls = np.where(labels >= 0, labels, rng.integers(0, 3, t))
    out[np.arange(t), cls] = rng.random(t) < 0.6
    hidden = (rng.random((t, H)) < 0.3).astype(np.uint8)
    hidden[:, 0] = rng.random(t) < np.where(labels >= 0, 0.9, 0.02)
    return {"output_spikes": out, "hidden_spikes": hidden}


def _recording() -> np.ndarray:
    return np.array(([-1] * 100 + [1] * 150 + [-1] * 100 + [2] * 150) * 2 + [-1] * 100)


def test_choose_gain_turns_the_head_on_when_it_helps():
    rng = np.random.default_rng(0)
    train_labels = [_recording(), None, None]
    train = [_run(lab if lab is not None else np.full(400, -1), rng) for lab in train_labels]
    x, y = presence_examples(train, train_labels, 0.9, W_US, grace_windows=5)
    weight, bias = fit_presence(x, y)
    head = Readout(
        kind="leaky", decay=0.9, background=True, presence_weight=weight, presence_bias=bias
    )
    val_labels = _recording()
    val = [_run(val_labels, rng)]
    negatives = [_run(np.full(600, -1), rng) for _ in range(2)]
    labels = [torch.from_numpy(val_labels)]
    off, _, _ = choose_gain(head, val, labels, negatives, W_US, 0.5, gains=(0.0,))
    on, record, rows = choose_gain(head, val, labels, negatives, W_US, 0.5)
    assert off.presence_gain == 0.0 and on.presence_gain > 0.0
    assert [r["gain"] for r in rows][0] == 0.0 and len(rows) > 1
    best = max(rows, key=lambda r: r["val_balanced_accuracy"])
    assert best["gain"] == on.presence_gain
    assert rows[0]["val_balanced_accuracy"] < best["val_balanced_accuracy"] - 0.1
    shown = record["val_gesture_windows_shown"]
    assert shown > 0.5 and record["val_fa_per_minute"] <= 0.5
    # the chosen readout decides the held-out gesture windows mostly right
    decided = on.decide(on.stream_scores(val[0])).class_id
    assert (decided[val_labels >= 0] == val_labels[val_labels >= 0]).mean() > 0.5
    assert dataclasses.replace(on, presence_gain=0.0).presence_weight == weight
