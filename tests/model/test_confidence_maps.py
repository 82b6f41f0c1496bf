"""Confidence maps of the decision (isotonic, fitted on validation): they calibrate what is
shown, never change a decision, and bad knots are one ConfigError."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from asa_live.errors import ConfigError
from asa_live.model.calibration import calibrate, fit_confidence_maps, isotonic_knots
from asa_live.model.metrics import expected_calibration_error
from asa_live.model.readout import Readout, readout_from_provenance


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidences whose outcomes come true with probability conf ** 3 (overconfident)."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.3, 1.0, n)
    return conf, rng.random(n) < conf**3


def test_isotonic_map_is_monotone_and_calibrates_held_out_data():
    conf, hit = _overconfident(5000, 0)
    knots = isotonic_knots(conf, hit)
    xs, ys = np.array(knots).T
    assert (np.diff(xs) > 0).all() and (np.diff(ys) >= 0).all()
    test_conf, test_hit = _overconfident(5000, 1)  # fresh data from the same source
    mapped = np.interp(test_conf, xs, ys)
    before = expected_calibration_error(test_conf, test_hit)
    after = expected_calibration_error(mapped, test_hit)
    assert before > 0.1 and after < 0.03


def test_too_few_windows_fit_no_map():
    conf, hit = _overconfident(50, 2)
    assert isotonic_knots(conf, hit) == ()


def _scores(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Readout scores of 3 gestures + background with labels; the outputs are noisy."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(-1, 3, (n,), generator=g)
    scores = torch.rand(n, 4, generator=g) * 0.3
    target = torch.where(labels < 0, torch.full_like(labels, 3), labels)
    scores[torch.arange(n), target] += torch.rand(n, generator=g) * 0.6
    return scores, labels


def test_maps_change_confidences_but_no_decision():
    scores, labels = _scores(4000, 0)
    base = Readout(kind="leaky", background=True, temperature=0.05, threshold=0.5)
    mapped = fit_confidence_maps(base, scores, labels)
    assert mapped.confidence_shown and mapped.confidence_abstain
    a, b = base.decide(scores), mapped.decide(scores)
    assert np.array_equal(a.class_id, b.class_id) and np.array_equal(a.reason, b.reason)
    assert not np.allclose(a.confidence, b.confidence)
    shown = b.class_id >= 0
    top = b.probs[shown].max(-1)
    assert np.allclose(top, b.confidence[shown], atol=1e-6)  # the top bar is the confidence
    # the order of the gestures stays, and the probabilities still sum to at most 1
    assert np.array_equal(a.probs[shown].argmax(-1), b.probs[shown].argmax(-1))
    assert (b.probs.sum(-1) <= 1.0 + 1e-5).all()


def test_calibrate_reports_the_ece_before_and_after_the_maps():
    scores, labels = _scores(4000, 3)
    neg = [_scores(400, 4)[0]]
    readout = Readout(kind="leaky", background=True)
    calibrated, record = calibrate(readout, scores, labels, neg, 15_000, 60.0)
    assert record["val_ece_in_sample"] < record["val_ece_before_maps"]
    # recalibrating a mapped readout starts from the plain softmax: the same fit again
    again, _ = calibrate(calibrated, scores, labels, neg, 15_000, 60.0)
    assert again == calibrated


def test_knots_round_trip_through_json():
    readout = Readout(
        kind="leaky",
        background=True,
        confidence_shown=((0.2, 0.1), (0.9, 0.8)),
        confidence_abstain=((0.5, 0.6),),
    )
    spec = readout.to_spec()
    assert spec["confidence_shown"] == [[0.2, 0.1], [0.9, 0.8]]
    assert readout_from_provenance({"readout": spec}) == readout


@pytest.mark.parametrize(
    "knots",
    [
        ((0.5, 0.2), (0.4, 0.3)),  # x decreasing
        ((0.1, 0.5), (0.4, 0.3)),  # y decreasing
        ((0.1, float("nan")),),
        ((0.1, 1.5),),
        ((0.1,),),
        "abc",
        ((True, 0.5),),
    ],
)
def test_bad_knots_are_config_errors(knots):
    with pytest.raises(ConfigError, match="confidence_shown"):
        dataclasses.replace(Readout(), confidence_shown=knots)


def test_calibrating_without_a_threshold_drops_old_maps():
    from asa_live.train.autocal import calibrate_without_threshold

    scores, labels = _scores(500, 5)
    old = Readout(kind="leaky", background=True, confidence_shown=((0.1, 0.9), (0.9, 0.95)))
    fresh, _ = calibrate_without_threshold(old, scores, labels)
    assert fresh.confidence_shown == () and fresh.confidence_abstain == ()
