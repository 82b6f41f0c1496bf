"""The fast backend's fused inference ops equal the model's reference modules."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from asa_live.model import ModelConfig, build_model
from asa_live.model.asa import ASA
from asa_live.model.fast import FastSnn
from asa_live.model.fast.attention import fused_asa_
from asa_live.model.fast.neurons import spike_inplace_, supports_inplace
from asa_live.model.fast.pool import max_pool2
from asa_live.model.fast.rates import tune_firing_rates
from asa_live.model.neurons import LIF, PLIF


@pytest.mark.parametrize(
    ("n", "t", "c", "size", "reduction", "lam"),
    [(1, 1, 16, 12, 4, 0.5), (2, 4, 8, 6, 1, 0.5), (3, 5, 6, 5, 2, 0.3), (1, 3, 4, 4, 4, 0.0),
     (2, 2, 5, 7, 4, 1.0)],
)  # fmt: skip
def test_fused_asa_equals_reference(n, t, c, size, reduction, lam) -> None:
    torch.manual_seed(n * 100 + t * 10 + c)
    attn = ASA(t, c, reduction, lam).eval()
    with torch.no_grad():  # trained-looking weights: the two maps differ clearly
        attn.conv1.weight.normal_(0, 0.5)
        attn.conv2.weight.normal_(0, 0.5)
        attn.alpha.fill_(0.3)
    x = torch.randn(n, t, c, size, size) * 2
    x[0, 0, 0] = -1.0  # a plane below zero everywhere: the zeroed planes decide its max
    with torch.inference_mode():
        ref = attn(x)
        got = fused_asa_(attn, x.clone())
        mask = attn.importance_mask(x)
    assert torch.allclose(got, ref, rtol=1e-6, atol=1e-6)
    # identical masks: every plane is scaled by the map of the group the reference put it in
    with torch.inference_mode():
        f_im = x * mask[..., None, None]
        map_im, map_sub = attn.spatial_maps(f_im, x - f_im)
    expect = torch.where(mask[..., None, None], x * map_im, x * map_sub)
    assert torch.allclose(got, expect, rtol=1e-6, atol=1e-6)


def test_fused_asa_works_in_place_and_checks_its_input() -> None:
    attn = ASA(2, 4).eval()
    x = torch.randn(1, 2, 4, 5, 5)
    with torch.inference_mode():
        assert fused_asa_(attn, x).data_ptr() == x.data_ptr()
        with pytest.raises(ValueError, match="contiguous"):
            fused_asa_(attn, torch.randn(1, 2, 4, 5, 10)[..., ::2])
        with pytest.raises(ValueError, match="T=2, C=4"):
            fused_asa_(attn, torch.randn(1, 3, 4, 5, 5))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("size", [(8, 8), (6, 10), (7, 9)])
def test_max_pool2_equals_torch(dtype, size) -> None:
    torch.manual_seed(2)
    x = (torch.rand(3, 4, *size) < 0.2).to(dtype)
    if dtype == torch.float32:
        x = x * torch.randn(3, 4, *size)  # any values, not only spikes
    got = max_pool2(x)
    assert got.dtype == dtype and torch.equal(got, F.max_pool2d(x, 2))


@pytest.mark.parametrize("neuron", [LIF(), PLIF(tau0=1.7)], ids=["lif", "plif"])
@pytest.mark.parametrize(("n", "t"), [(1, 1), (2, 3)])
def test_inplace_neurons_equal_reference_bit_for_bit(neuron, n, t) -> None:
    torch.manual_seed(3)
    x = torch.randn(n, t, 4, 6, 6) * 1.5
    state = torch.rand(n, 4, 6, 6) * 0.5
    before = state.clone()
    with torch.inference_mode():
        ref_spikes, ref_mem = neuron(x, state)
        spikes, mem = spike_inplace_(neuron, x.clone(), state)
    assert spikes.dtype == torch.bool and torch.equal(spikes.float(), ref_spikes)
    assert torch.equal(mem, ref_mem) and mem.is_contiguous()
    assert torch.equal(state, before)  # the caller's state is left alone
    assert ref_spikes.sum() > 0 and (ref_spikes == 0).any()  # both outcomes exercised
    assert supports_inplace(neuron)
    assert not supports_inplace(type("MyLIF", (LIF,), {})())


@pytest.mark.parametrize(("arch", "attention", "k"), [("5layer", "asa", 1), ("3layer", "asa", 2)])
def test_fused_runner_equals_unfused(arch, attention, k) -> None:
    """Float convs: the fused runner and the model's own modules give the same spikes."""
    torch.manual_seed(4)
    channels = (8,) * 5 if arch == "5layer" else (8, 16, 16)
    cfg = ModelConfig(arch=arch, attention=attention, chunk_windows=k, input_size=(32, 32),
                      channels=channels, hidden=32, num_classes=4)  # fmt: skip
    model = build_model(cfg)
    x = torch.poisson(torch.full((2, 3 * k, 2, 32, 32), 0.5))
    tune_firing_rates(model, x, rate=0.1, iterations=5)  # an untrained net is silent
    with torch.inference_mode():
        ref = FastSnn(model, int8=False, fused=False)(x)
        got = FastSnn(model, int8=False, inplace_min_neurons=0)(x)  # every neuron in place
        default = FastSnn(model, int8=False)(x)  # in place only from inplace_min_neurons up
        eager = model(x)
    rates = ref.layer_spikes.sum((0, 1)) / (
        x.shape[0] * x.shape[1] * torch.tensor(model.layer_neurons)
    )
    assert bool((rates > 0.005).all() and (rates < 0.5).all()), rates
    assert torch.equal(got.layer_spikes, ref.layer_spikes)
    assert torch.equal(got.layer_spikes, eager.layer_spikes)
    assert torch.equal(default.layer_spikes, eager.layer_spikes)
    assert got.layer_spikes.dtype == eager.layer_spikes.dtype
    for a, b in zip(got.state.membranes, eager.state.membranes, strict=True):
        assert a.shape == b.shape and a.is_contiguous()
        assert torch.allclose(a, b, atol=1e-5)
