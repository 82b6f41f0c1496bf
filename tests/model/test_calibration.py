"""Calibration: the temperature is recovered, the false-alarm curve is exact, the threshold meets
its target, and the result round-trips through a checkpoint."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from asa_live.model import BinningConfig, ModelConfig, build_model, load_checkpoint, save_checkpoint
from asa_live.model.calibration import (
    calibrate,
    false_alarm_curve,
    fit_temperature,
    no_output_confidence,
    pick_threshold,
    shown_gesture_probability,
    temperature_nll,
)
from asa_live.model.checkpoint import store_readout
from asa_live.model.metrics import false_alarm_runs
from asa_live.model.readout import Readout

WINDOW_US = 15_000


def _sampled(n: int, c_out: int, temperature: float, seed: int):
    """Scores in [0, 1] and labels drawn from softmax(scores / temperature)."""
    gen = torch.Generator().manual_seed(seed)
    scores = torch.rand(n, c_out, generator=gen)
    labels = torch.multinomial(torch.softmax(scores / temperature, -1), 1, generator=gen)[:, 0]
    return scores, labels


@pytest.mark.parametrize("background", [True, False])
def test_fit_temperature_recovers_the_true_one(background: bool) -> None:
    scores, labels = _sampled(10_000, 5, 0.2, seed=0)
    if background:
        labels = torch.where(labels == 4, -1, labels)  # the last output is "no gesture"
    else:
        scores = scores[labels < 4][:, :4]  # a plain 4-class model
        labels = labels[labels < 4]
    t = fit_temperature(scores, labels, background)
    assert t == pytest.approx(0.2, rel=0.1)
    nll = temperature_nll(scores, labels, t, background)
    assert nll < temperature_nll(scores, labels, 1.0, background)
    assert nll <= min(temperature_nll(scores, labels, t * f, background) for f in (0.9, 1.1))


def test_silent_and_unlabelled_windows_stay_out_of_the_fit() -> None:
    scores, labels = _sampled(5000, 3, 0.3, seed=1)
    noisy_scores = torch.cat([scores, torch.zeros(3000, 3)])  # silent windows carry no logits
    noisy_labels = torch.cat([labels, torch.zeros(3000, dtype=torch.long)])
    assert fit_temperature(noisy_scores, noisy_labels, False) == pytest.approx(
        fit_temperature(scores, labels, False)
    )
    assert fit_temperature(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), False) == 1.0
    with pytest.raises(ValueError):
        fit_temperature(scores, torch.full((5000,), 3), False)  # label out of range


def _brute_rate(values: list[np.ndarray], t: float) -> float:
    runs = sum(false_alarm_runs(v >= t) for v in values)
    return runs / (sum(v.size for v in values) * WINDOW_US / 60e6)


def test_false_alarm_curve_equals_brute_force() -> None:
    rng = np.random.default_rng(2)
    values = []
    for n in (1, 7, 300):
        v = np.round(rng.uniform(0, 1, n), 2)  # ties on purpose
        v[rng.uniform(size=n) < 0.3] = -np.inf  # windows that abstain whatever the threshold
        values.append(v)
    candidates, rates = false_alarm_curve(values, WINDOW_US)
    assert candidates[0] == 0.0 and rates[-1] == 0.0  # above the largest value: no alarm
    for t, r in zip(candidates, rates, strict=True):
        assert r == pytest.approx(_brute_rate(values, t))


def test_pick_threshold_meets_the_target_on_the_negatives() -> None:
    readout = Readout(background=True, temperature=0.1)
    gen = torch.Generator().manual_seed(3)
    # 4 negative streams of 1 minute: mostly background, bursts where a gesture output wins
    streams = []
    for _ in range(4):
        s = torch.zeros(4000, 4)
        s[:, 3] = 0.5
        for start in torch.randint(0, 3990, (12,), generator=gen).tolist():
            s[start : start + 5, torch.randint(0, 3, (1,), generator=gen)] = torch.rand(
                1, generator=gen
            ).item()
        streams.append(s)
    values = [shown_gesture_probability(readout, s) for s in streams]
    assert _brute_rate(values, 0.0) > 2.0  # without a threshold: many false alarms
    for target in (0.5, 1.0, 2.0):
        threshold, rate = pick_threshold(readout, streams, WINDOW_US, target)
        assert rate <= target
        # the rate stays under the target at every higher threshold...
        grid = [threshold, *np.linspace(threshold, 1.0, 50)]
        assert max(_brute_rate(values, t) for t in grid) <= target
        # ...and the next lower threshold the data can tell apart breaks it
        lower = [v for v in np.unique(np.concatenate([[0.0], *values])) if v < threshold]
        assert lower and _brute_rate(values, lower[-1]) > target


def test_no_output_confidence() -> None:
    scores = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.3, 0.0]])
    labels = torch.tensor([-1, -1, 1, 0])
    assert no_output_confidence(scores, labels) == pytest.approx((2 + 1) / (3 + 2))


def test_calibrate_and_store_in_the_checkpoint(tmp_path: Path) -> None:
    scores, labels = _sampled(6000, 4, 0.15, seed=4)
    labels = torch.where(labels == 3, -1, labels)
    negatives = [torch.cat([torch.rand(2000, 3) * 0.4, torch.full((2000, 1), 0.6)], 1)]
    readout = Readout("mean", 30, background=True)
    calibrated, record = calibrate(readout, scores, labels, negatives, WINDOW_US, 0.5)
    assert (calibrated.kind, calibrated.windows, calibrated.background) == ("mean", 30, True)
    assert calibrated.temperature == pytest.approx(0.15, rel=0.15)
    assert record["val_fa_per_minute"] <= 0.5 and record["val_negative_minutes"] == 0.5
    assert record["val_nll_after"] < record["val_nll_before"]
    values = [shown_gesture_probability(calibrated, s) for s in negatives]
    assert _brute_rate(values, calibrated.threshold) <= 0.5
    torch.manual_seed(0)
    model = build_model(ModelConfig(input_size=(16, 16), channels=(4, 4, 4), hidden=8,
                                    num_classes=4))  # fmt: skip
    binning = BinningConfig(sensor_size=(64, 64), downsample=4)
    path = save_checkpoint(tmp_path / "m.safetensors", model, binning, ("a", "b", "c"),
                           {"readout": readout.to_spec()})  # fmt: skip
    store_readout(path, calibrated, record)
    ckpt = load_checkpoint(path)
    assert ckpt.readout == calibrated
    assert ckpt.provenance["readout"]["calibration"]["target_fa_per_minute"] == 0.5


def test_background_offset_undoes_a_biased_background_output() -> None:
    """A background logit pushed up by a constant makes the net abstain on gestures; the fitted
    prior shift recovers them, and the negatives stay within the false-alarm target."""
    from asa_live.model.calibration import balanced_accuracy, fit_background_offset

    rng = np.random.default_rng(0)
    n, c = 600, 4
    labels = torch.from_numpy(rng.integers(-1, c - 1, n))
    logits = rng.normal(0.0, 0.3, (n, c)).astype(np.float32)
    rows = np.flatnonzero(labels.numpy() >= 0)
    logits[rows, labels.numpy()[rows]] += 2.0  # the right gesture stands out...
    logits[labels.numpy() < 0, -1] += 2.0  # ...and idle windows favour the background
    logits[:, -1] += 2.5  # but the background output is biased upwards everywhere
    scores = torch.from_numpy(logits)
    negatives = [torch.from_numpy(logits[labels.numpy() < 0])]
    readout = Readout(kind="mean", background=True, temperature=1.0)
    before = balanced_accuracy(readout, scores, labels)
    offset, threshold, rate = fit_background_offset(readout, scores, labels, negatives, 15_000, 0.5)
    fitted = dataclasses.replace(readout, background_offset=offset, threshold=threshold)
    assert 1.5 <= offset <= 3.5 and rate <= 0.5
    assert balanced_accuracy(fitted, scores, labels) > before + 0.2
    assert Readout(**fitted.to_spec()) == fitted  # stored and read back
