"""Readout: values by hand; offline scores == streaming scores however the stream is chunked."""

from __future__ import annotations

import pytest
import torch

from asa_live.errors import ConfigError
from asa_live.model import Readout, ReadoutTracker


def _spikes(n: int = 2, t: int = 23, c: int = 4, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, t, c, generator=gen) < 0.3).float()


def test_running_mean_by_hand() -> None:
    spikes = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]])  # [1, 4, 2]
    scores = Readout("mean", windows=2).scores(spikes)
    expected = torch.tensor([[[1.0, 0.0], [0.5, 0.5], [0.5, 1.0], [0.5, 0.5]]])
    torch.testing.assert_close(scores, expected)


def test_mean_over_a_whole_clip_is_the_paper_readout() -> None:
    spikes = _spikes(t=60)
    final = Readout("mean", windows=60).final_scores(spikes)
    torch.testing.assert_close(final, spikes.mean(1))


def test_leaky_by_hand() -> None:
    spikes = torch.tensor([[[1.0], [0.0], [1.0]]])
    scores = Readout("leaky", decay=0.5).scores(spikes)
    torch.testing.assert_close(scores[0, :, 0], torch.tensor([0.5, 0.25, 0.625]))


@pytest.mark.parametrize("readout", [Readout("mean", 1), Readout("mean", 5), Readout("mean", 60),
                                     Readout("leaky", decay=0.8)])  # fmt: skip
def test_offline_equals_online(readout: Readout) -> None:
    spikes = _spikes()
    offline = readout.scores(spikes)
    for sizes in ([1] * 23, [4, 7, 12], [23]):
        state = readout.init(2, 4)
        parts = []
        for chunk in spikes.split(sizes, dim=1):
            scores, state = readout.update(chunk, state)
            parts.append(scores)
        assert torch.equal(torch.cat(parts, 1), offline)
    tracker = ReadoutTracker(readout, num_classes=4, batch=2)
    online = torch.cat([tracker.update(s[:, None]) for s in spikes.unbind(1)], 1)
    assert torch.equal(online, offline)
    tracker.reset()
    assert torch.equal(tracker.update(spikes), offline)


def test_invalid_readout() -> None:
    with pytest.raises(ConfigError):
        Readout("median")
    with pytest.raises(ConfigError):
        Readout("mean", windows=0)
    with pytest.raises(ConfigError):
        Readout("leaky", decay=1.0)
