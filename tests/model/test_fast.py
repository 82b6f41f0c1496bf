"""The fast backend: its parts equal their float references, and the whole net keeps parity.

Parity (issue 13): on held-out synthetic gestures the fast backend's per-window predictions equal
the eager reference's on >= 99.5 % of windows, and every layer's spike count stays within 1 %.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from asa_live.errors import ConfigError
from asa_live.events.binning import bin_events
from asa_live.model import ModelConfig, Readout, build_model, load_checkpoint
from asa_live.model.fast import (
    FastSnn,
    Int8SpikeConv,
    SparseSpikeLinear,
    int8_conv_available,
    make_runner,
)
from asa_live.model.fast.rates import tune_firing_rates
from asa_live.synth.recording import generate_sample

from .parity import assert_session_parity

MODELS = Path(__file__).resolve().parents[2] / "models"
needs_int8 = pytest.mark.skipif(
    not int8_conv_available(), reason="this torch build has no oneDNN int8 conv"
)


@needs_int8
@pytest.mark.parametrize(("stride", "terms", "bias"), [(1, 1, True), (2, 2, True), (1, 2, False)])
def test_int8_conv_is_exact_for_its_weights(stride: int, terms: int, bias: bool) -> None:
    torch.manual_seed(0)
    weight, b = torch.randn(12, 6, 3, 3), torch.randn(12) if bias else None
    conv = Int8SpikeConv(weight, b, stride, terms=terms)
    spikes = (torch.rand(3, 6, 10, 10) < 0.1).to(torch.uint8)
    got = conv(spikes)
    ref = F.conv2d(spikes.double(), conv.dequantized_weight().double(),
                   None if b is None else b.double(), stride, 1)  # fmt: skip
    assert torch.allclose(got.double(), ref, atol=1e-5)
    # and the weight rounding is what the terms promise: s/2 per weight, ~s/254 with a residual
    err = (conv.dequantized_weight() - weight).abs().amax(dim=(1, 2, 3))
    bound = weight.abs().amax(dim=(1, 2, 3)) / 127 / (2 if terms == 1 else 200)
    assert bool((err <= bound + 1e-7).all())


@pytest.mark.parametrize(("windows", "density", "max_density"), [(1, 0.05, 0.25), (5, 0.05, 0.25),
                                                                   (4, 0.6, 0.25), (3, 0.0, 0.25)])  # fmt: skip
def test_sparse_linear_equals_dense(windows: int, density: float, max_density: float) -> None:
    torch.manual_seed(1)
    weight, bias = torch.randn(7, 300), torch.randn(7)
    spikes = (torch.rand(2, windows, 300) < density).float()
    layer = SparseSpikeLinear(weight, bias, max_density)
    assert torch.allclose(layer(spikes), F.linear(spikes, weight, bias), atol=1e-5)
    assert layer.last_density <= 1.0
    with pytest.raises(ValueError, match="max_density"):
        SparseSpikeLinear(weight, bias, 1.5)


def _net(arch: str, attention: str, k: int) -> torch.nn.Module:
    """A small net with realistic firing rates (a fresh copy of a cached one)."""
    return copy.deepcopy(_tuned_net(arch, attention, k))


@functools.cache
def _tuned_net(arch: str, attention: str, k: int) -> torch.nn.Module:
    three = arch == "3layer"
    cfg = ModelConfig(arch=arch, attention=attention, chunk_windows=k, input_size=(32, 32),
                      channels=(16, 32, 32) if three else (16,) * 5, hidden=256, num_classes=4)  # fmt: skip
    torch.manual_seed(0)
    model = build_model(cfg)
    tune_firing_rates(model, _calibration()[:, : 30 // k * k], rate=0.05, iterations=7)
    return model


def _bin(class_id: int, seed: int) -> np.ndarray:
    events = generate_sample(class_id, seed=seed, duration_us=900_000)
    return bin_events(events, 15_000, (128, 128), 4)  # 60 windows [2, 32, 32] at 15 ms


def _calibration() -> torch.Tensor:
    """A synthetic gesture that is not among the test gestures (seeds differ)."""
    return torch.from_numpy(_bin(4, 800_004))[None]


def _gestures() -> torch.Tensor:
    """Two held-out synthetic gestures, 0.9 s each, binned as the model input [1, T, 2, 32, 32]."""
    return torch.from_numpy(np.concatenate([_bin(c, 900_000 + c) for c in (2, 7)]))[None]


@pytest.fixture(scope="module")
def gestures() -> torch.Tensor:
    return _gestures()


def _compare(model: torch.nn.Module, fast: torch.nn.Module, x: torch.Tensor):
    with torch.inference_mode():
        ref, got = model(x), fast(x)
    readout = Readout("mean", windows=60)
    agree = (readout.scores(ref.output_spikes).argmax(-1) == readout.scores(got.output_spikes)
             .argmax(-1)).float().mean().item()  # fmt: skip
    ref_counts, got_counts = ref.layer_spikes.sum((0, 1)), got.layer_spikes.sum((0, 1))
    return ref, got, agree, ref_counts, got_counts


@pytest.mark.parametrize(("arch", "attention", "k"),
                         [("3layer", "asa", 1), ("3layer", "none", 4), ("5layer", "none", 2)])  # fmt: skip
def test_fast_keeps_parity_on_held_out_gestures(arch, attention, k, gestures) -> None:
    model = _net(arch, attention, k).eval()
    x = gestures[:, : gestures.shape[1] // k * k]
    ref, got, agree, ref_counts, got_counts = _compare(model, FastSnn(model, int8_min_macs=0), x)
    rates = ref_counts / (x.shape[1] * torch.tensor(model.layer_neurons))
    assert bool((rates > 0.002).all()) and bool((rates < 0.3).all()), rates  # realistic rates
    assert agree >= 0.995
    assert bool(((got_counts - ref_counts).abs() <= 0.01 * ref_counts + 1).all())
    assert ref.output_spikes.shape == got.output_spikes.shape
    for a, b in zip(ref.state.membranes, got.state.membranes, strict=True):
        assert a.shape == b.shape and a.is_contiguous() == b.is_contiguous()


@pytest.mark.parametrize("sparse_fc", [True, False])
@pytest.mark.parametrize("attention", ["asa", "none"])
def test_float_path_equals_eager(attention: str, sparse_fc: bool, gestures) -> None:
    """With int8 off, only the order of float additions differs: identical spikes (the
    fully connected layers sparse, or, below ``fc_sparse_min_weights``, the model's own)."""
    model = _net("3layer", attention, 4 if attention == "none" else 1).eval()
    x = gestures[:, :40]
    fast = FastSnn(model, int8=False, fc_sparse_min_weights=0 if sparse_fc else 10**9)
    ref, got, _, ref_counts, got_counts = _compare(model, fast, x)
    assert torch.equal(ref_counts, got_counts)
    assert torch.equal(ref.output_spikes, got.output_spikes)
    for a, b in zip(ref.state.membranes, got.state.membranes, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_chunked_calls_equal_one_call(gestures) -> None:
    model = _net("5layer", "none", 2).eval()
    fast = FastSnn(model, int8_min_macs=0)
    x = gestures[:, :12]
    with torch.inference_mode():
        whole = fast(x)
        state, parts = fast.initial_state(1), []
        for start in range(0, 12, 6):
            out = fast(x[:, start : start + 6], state)
            state, parts = out.state, parts + [out.layer_spikes]
    assert torch.equal(torch.cat(parts, 1), whole.layer_spikes)
    cfg = ModelConfig(chunk_windows=3, input_size=(32, 32), channels=(4, 4, 4), hidden=8)
    with pytest.raises(ValueError, match="K=3"), torch.inference_mode():
        make_runner(build_model(cfg).eval(), "fast")(x[:, :4])


def test_shipped_model_session_parity() -> None:
    """The shipped checkpoint in the live session: fast == eager on a held-out recording."""
    ckpt = load_checkpoint(MODELS / "gesture-3layer-asa.safetensors")
    assert_session_parity(ckpt.model, Readout("mean", windows=60), _gestures()[0].numpy())


def test_weight_changes_are_picked_up(gestures) -> None:
    model = _net("3layer", "none", 4).eval()
    # exact, so the new weights must give identical spikes; sparse fc: its cache must follow
    fast = FastSnn(model, int8=False, fc_sparse_min_weights=0)
    x = gestures[:, :10]
    with torch.inference_mode():
        before = fast(x).layer_spikes
    with torch.no_grad():
        model.layers[1].bn.bias.add_(5.0)  # every conv2 neuron now fires
        model.layers[3].fc.weight.zero_()
    with torch.inference_mode():
        after, ref = fast(x), model(x)
    assert not torch.equal(before, after.layer_spikes)
    assert torch.equal(after.layer_spikes, ref.layer_spikes)


def test_training_and_autograd_use_the_model() -> None:
    model = _net("3layer", "none", 4)
    fast = make_runner(model, "fast").train()
    x = torch.poisson(torch.full((1, 2, 2, 32, 32), 0.4))
    out = fast(x)
    assert out.output_spikes.requires_grad


def test_make_runner_backends() -> None:
    model = _net("3layer", "none", 4)
    assert make_runner(model, "eager") is model
    fast = make_runner(model, "fast")
    assert fast.config == model.config and fast.layer_names == model.layer_names
    with pytest.raises(ConfigError, match="Unknown backend 'gpu'"):
        make_runner(model, "gpu")
    assert make_runner(model, "auto") is model  # 16/32/32 convs: too small for int8 to pay
    paper = build_model(ModelConfig(attention="none", chunk_windows=1))
    auto = make_runner(paper, "auto")
    if int8_conv_available():  # paper width: conv2 and conv3 are large enough for int8
        assert isinstance(auto, FastSnn) and auto.int8_layers() == (1, 2)
    else:
        assert auto is paper


def test_sliding_models_run_on_the_fast_runner():
    """Sliding ASA has its own fused step (test_fast_sliding.py), so auto picks fast."""
    from asa_live.model import ModelConfig, build_model
    from asa_live.model.fast import make_runner

    model = build_model(ModelConfig(asa_mode="sliding", asa_window=4)).eval()
    assert isinstance(make_runner(model, "auto"), FastSnn)
    assert isinstance(make_runner(model, "fast"), FastSnn)
    assert make_runner(model, "eager") is model
