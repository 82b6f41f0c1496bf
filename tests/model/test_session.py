"""StreamingSession fed window by window equals the offline call."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asa_live.errors import ConfigError
from asa_live.model import ModelConfig, Readout, StreamingSession, build_model


def _model(k: int, attention: str = "asa"):
    cfg = ModelConfig(attention=attention, chunk_windows=k, input_size=(16, 16),
                      channels=(6, 8, 8), hidden=16, num_classes=4)  # fmt: skip
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():  # make the output layer fire now and then
        model.layers[4].fc.bias.fill_(0.25)
    return model.eval()


def _frames(t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(1.5, size=(t, 2, 16, 16)).astype(np.float32)


@pytest.mark.parametrize(("k", "attention"), [(1, "asa"), (4, "asa"), (1, "none"), (3, "none")])
def test_session_equals_offline(k: int, attention: str) -> None:
    model = _model(k, attention)
    readout = Readout("mean", windows=5)
    frames = _frames(12)
    session = StreamingSession(model, readout)
    results = []
    for i, frame in enumerate(frames):
        got = session.push(frame)
        assert len(got) == (k if (i + 1) % k == 0 else 0)
        results.extend(got)
    assert [r.index for r in results] == list(range(12))
    with torch.no_grad():
        x = torch.from_numpy(frames)[None]
        state, outs, layers = None, [], []
        for chunk in x.split(k, dim=1):
            out = model(chunk, state)
            state = out.state
            outs.append(out.output_spikes)
            layers.append(out.layer_spikes)
        spikes = torch.cat(outs, 1)
        scores = readout.scores(spikes)[0].numpy()
    layer_counts = torch.cat(layers, 1)[0].numpy()
    assert spikes.sum() > 0
    np.testing.assert_array_equal(np.stack([r.output_spikes for r in results]), spikes[0].numpy())
    np.testing.assert_array_equal(np.stack([r.scores for r in results]), scores)
    np.testing.assert_array_equal(np.stack([r.layer_spikes for r in results]), layer_counts)
    for r, row in zip(results, scores, strict=True):
        if row.max() > 0:
            assert r.predicted == int(row.argmax()) and r.confidence == pytest.approx(row.max())
        else:
            assert r.predicted == -1 and r.confidence == 0.0


def test_reset_restarts_the_stream() -> None:
    model = _model(2)
    session = StreamingSession(model)
    frames = _frames(6, seed=1)
    first = [r for f in frames for r in session.push(f)]
    session.push(frames[0])
    assert session.pending == 1
    session.reset()
    assert session.pending == 0
    second = [r for f in frames for r in session.push(torch.from_numpy(f))]
    for a, b in zip(first, second, strict=True):
        assert a.index == b.index
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.layer_spikes, b.layer_spikes)


def test_silent_network_predicts_nothing() -> None:
    model = _model(1)
    session = StreamingSession(model)
    (result,) = session.push(np.zeros((2, 16, 16), np.float32))
    assert result.output_spikes.sum() == 0
    assert result.predicted == -1 and result.confidence == 0.0


def test_wrong_frame_shape_is_a_clear_error() -> None:
    session = StreamingSession(_model(1))
    with pytest.raises(ConfigError, match=r"\(2, 16, 16\)"):
        session.push(np.zeros((2, 32, 32), np.float32))
