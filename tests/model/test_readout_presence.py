"""The readout's presence head: the formula, streaming parity, the checkpoint round trip and
bad values; the hidden spikes it reads come out of both backends alike."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from asa_live.errors import ConfigError
from asa_live.model import ModelConfig, build_model
from asa_live.model.fast import FastSnn
from asa_live.model.readout import (
    REASON_BACKGROUND,
    REASON_NO_OUTPUT,
    Readout,
    readout_from_provenance,
)
from asa_live.model.session import StreamingSession

H, C = 6, 4


def _head(gain: float = 0.2) -> Readout:
    rng = np.random.default_rng(1)
    return Readout(
        kind="leaky",
        decay=0.9,
        background=True,
        temperature=0.2,
        presence_weight=tuple(float(v) for v in rng.normal(size=H)),
        presence_bias=-0.5,
        presence_gain=gain,
    )


def _spikes(t: int, width: int, seed: int) -> torch.Tensor:
    return (torch.rand(1, t, width, generator=torch.Generator().manual_seed(seed)) < 0.3).float()


def test_background_score_is_lowered_by_the_presence_logit():
    readout = _head()
    out, hidden = _spikes(30, C, 0), _spikes(30, H, 1)
    plain = dataclasses.replace(readout, presence_weight=(), presence_gain=0.0).scores(out)
    level, logits = torch.zeros(H), []
    for h_t in hidden[0]:
        level = 0.9 * level + 0.1 * h_t
        logits.append(float(level @ torch.tensor(readout.presence_weight)) - 0.5)
    got = readout.scores(out, hidden)
    assert torch.allclose(got[..., :-1], plain[..., :-1])  # the gestures are untouched
    want = plain[0, :, -1] - 0.2 * torch.tensor(logits)
    assert torch.allclose(got[0, :, -1], want, atol=1e-6)


def test_chunked_stream_equals_the_whole_sequence():
    readout = _head()
    out, hidden = _spikes(25, C, 2), _spikes(25, H, 3)
    whole = readout.scores(out, hidden)
    state, parts = readout.init(1, C), []
    for a, b in ((0, 1), (1, 8), (8, 9), (9, 25)):
        scores, state = readout.update(out[:, a:b], state, hidden[:, a:b])
        parts.append(scores)
    assert torch.equal(torch.cat(parts, 1), whole)


def test_gain_zero_ignores_the_head_and_needs_no_hidden_spikes():
    readout = _head(gain=0.0)
    out = _spikes(10, C, 4)
    assert not readout.has_presence
    plain = dataclasses.replace(readout, presence_weight=())
    assert torch.equal(readout.scores(out), plain.scores(out))


def test_missing_or_misshapen_hidden_spikes_are_refused():
    readout, out = _head(), _spikes(5, C, 5)
    with pytest.raises(ValueError, match="hidden spikes"):
        readout.scores(out)
    with pytest.raises(ValueError, match="hidden spikes"):
        readout.scores(out, _spikes(5, H + 1, 6))


def test_spec_round_trip_through_json_lists():
    readout = _head()
    spec = readout.to_spec()
    assert isinstance(spec["presence_weight"], list)
    assert readout_from_provenance({"readout": spec}) == readout


@pytest.mark.parametrize(
    "change",
    [
        {"presence_weight": (1.0, float("nan"))},
        {"presence_weight": (1.0, float("inf"))},
        {"presence_weight": "abc"},
        {"presence_bias": float("nan")},
        {"presence_gain": -0.1},
        {"presence_gain": float("inf")},
        {"kind": "mean"},
        {"background": False},
    ],
)
def test_bad_presence_values_are_config_errors(change):
    with pytest.raises(ConfigError):
        dataclasses.replace(_head(), **change)


def _tiny_model():
    """A small background-output net whose weights are scaled up so that every layer spikes."""
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(channels=(4, 8, 8), hidden=16, num_classes=12, chunk_windows=1)
    ).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(6.0)
    return model


def test_both_backends_return_the_same_hidden_spikes():
    model = _tiny_model()
    x = (torch.rand(1, 6, 2, 32, 32) < 0.2).float() * 3
    with torch.inference_mode():
        eager = model(x)
        fast = FastSnn(model)(x)
    assert eager.hidden_spikes.shape == (1, 6, 16)
    assert eager.hidden_spikes.sum() > 0
    assert torch.equal(eager.hidden_spikes.float(), fast.hidden_spikes.float())


def test_live_session_applies_the_head_like_the_offline_scores():
    model = _tiny_model()
    rng = np.random.default_rng(0)
    readout = Readout(
        kind="leaky",
        decay=0.95,
        background=True,
        temperature=0.1,
        presence_weight=tuple(float(v) for v in rng.normal(size=16)),
        presence_gain=0.1,
    )
    frames = (torch.rand(12, 2, 32, 32) < 0.2).float() * 3
    with torch.inference_mode():
        out = model(frames[None])
    offline = readout.scores(out.output_spikes, out.hidden_spikes)[0]
    session = StreamingSession(model, readout)
    live = [r.scores for f in frames for r in session.push(f)]
    assert np.allclose(np.stack(live), offline.numpy(), atol=1e-6)
    without = dataclasses.replace(readout, presence_gain=0.0).scores(out.output_spikes)[0]
    assert not np.allclose(offline[:, -1].numpy(), without[:, -1].numpy())  # the head acted


def test_a_silent_output_stays_no_output_with_a_head():
    """The head shifts the background score only where a gesture output has a score: a
    readout that never fired is "no_output", and one where only the background fired is
    "background", whatever the head says (its bias alone would flip both)."""
    readout = dataclasses.replace(_head(gain=5.0), presence_bias=-3.0)
    hidden = _spikes(4, H, 7)
    silent = torch.zeros(1, 4, C)
    assert (readout.decide(readout.scores(silent, hidden)).reason == REASON_NO_OUTPUT).all()
    only_background = silent.clone()
    only_background[..., -1] = 1.0
    decided = readout.decide(readout.scores(only_background, hidden))
    assert (decided.reason == REASON_BACKGROUND).all()


def test_a_head_that_does_not_fit_the_hidden_layer_is_refused(tmp_path, monkeypatch):
    from asa_live.classes import GESTURE_CLASSES
    from asa_live.errors import ModelFileError
    from asa_live.model import BinningConfig, load_checkpoint, save_checkpoint
    from asa_live.model import checkpoint as ckpt_module

    model = _tiny_model()  # hidden 16
    bad = dataclasses.replace(_head(), presence_weight=(0.1,) * 5)
    prov = {"readout": bad.to_spec()}
    with pytest.raises(ConfigError, match="5 weights for a hidden layer of 16"):
        save_checkpoint(tmp_path / "a.safetensors", model, BinningConfig(), GESTURE_CLASSES, prov)
    monkeypatch.setattr(ckpt_module, "_check_geometry", lambda *a: None)  # write one anyway
    path = save_checkpoint(
        tmp_path / "b.safetensors", model, BinningConfig(), GESTURE_CLASSES, prov
    )
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="presence head has 5 weights"):
        load_checkpoint(path)
