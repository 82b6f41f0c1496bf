"""The streaming loss: labelled windows only, and the weight of "no gesture" targets."""

from __future__ import annotations

import pytest
import torch

from asa_live.errors import ConfigError
from asa_live.train.loop import stream_loss
from asa_live.train.recipes import TrainConfig

BG = 2  # two gesture classes, then the "no gesture" output


def _batch():
    # Sample 0: a gesture (class 0) the network misses; sample 1: idle time it gets right.
    out = torch.zeros(2, 4, 3)
    out[0, :, 1] = 1.0
    out[1, :, BG] = 1.0
    labels = torch.tensor([[0, 0, 0, -1], [BG, BG, BG, BG]])
    return out, labels


# Only the gesture windows have an error, 2/3 each (MSE over 3 outputs). Window loss: 3 gesture
# windows and 4 idle ones; segment loss: one gesture sample and one idle sample.
@pytest.mark.parametrize(
    ("kind", "full", "light"),
    [("window", 2 / 7, 2 / (3 + 4 * 0.25)), ("segment", 1 / 3, (2 / 3) / 1.25)],
)
def test_background_weight_shifts_the_loss_towards_gestures(kind, full, light):
    out, labels = _batch()
    assert stream_loss(out, labels, 3, kind, BG, 1.0)[0].item() == pytest.approx(full)
    assert stream_loss(out, labels, 3, kind, BG, 0.25)[0].item() == pytest.approx(light)


@pytest.mark.parametrize("kind", ["window", "segment"])
def test_without_background_the_weight_changes_nothing(kind):
    out, labels = _batch()
    labels = labels.clamp(max=1)
    a, pred_a, maj_a = stream_loss(out, labels, 3, kind)
    b, pred_b, maj_b = stream_loss(out, labels, 3, kind, None, 0.1)
    assert a.item() == pytest.approx(b.item())
    assert torch.equal(pred_a, pred_b) and torch.equal(maj_a, maj_b)


def test_unlabelled_windows_carry_no_loss():
    out, labels = _batch()
    out[0, 3] = 5.0  # garbage in the unlabelled window
    loss, _, majority = stream_loss(out, labels, 3, "window", BG, 1.0)
    assert loss.item() == pytest.approx(2 / 7)
    assert majority.tolist() == [0, BG]


@pytest.mark.parametrize("weight", [0.0, 1.5])
def test_background_weight_is_validated(weight):
    with pytest.raises(ConfigError, match="background_weight"):
        TrainConfig(background_weight=weight)
