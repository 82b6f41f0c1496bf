"""The fast backend's fused inference ops equal the model's reference modules."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from asa_live.model import ModelConfig, build_model
from asa_live.model.asa import ASA
from asa_live.model.fast import FastSnn
from asa_live.model.fast.attention import fused_asa_
from asa_live.model.fast.layout import to_channels_last, to_nchw
from asa_live.model.fast.neurons import below, spike_inplace_, supports_inplace
from asa_live.model.fast.pool import max_pool2
from asa_live.model.fast.rates import tune_firing_rates
from asa_live.model.fast.runner import spike_counts
from asa_live.model.fast.scratch import Scratch
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


def _trained_looking_asa(t: int, c: int, lam: float = 0.5) -> ASA:
    attn = ASA(t, c, 4, lam).eval()
    with torch.no_grad():
        attn.conv1.weight.normal_(0, 0.5)
        attn.conv2.weight.normal_(0, 0.5)
    return attn


@pytest.mark.parametrize(
    "kind", ["zero", "constant", "tied_channels", "one_hot", "negative"]
)  # fmt: skip
def test_fused_asa_edge_cases_equal_reference(kind: str) -> None:
    """Zero and constant input (every score ties: the mask is the lower indices), channels
    with equal planes (ties inside the top-k), a single active pixel, all-negative planes
    (the zeroed planes decide both maxes)."""
    torch.manual_seed(11)
    n, t, c, size = 2, 2, 6, 5
    attn = _trained_looking_asa(t, c)
    x = {
        "zero": torch.zeros(n, t, c, size, size),
        "constant": torch.full((n, t, c, size, size), 0.75),
        "tied_channels": torch.randn(n, t, 1, size, size).repeat(1, 1, c, 1, 1),
        "one_hot": torch.zeros(n, t, c, size, size).index_put_(
            (torch.tensor([0]), torch.tensor([1]), torch.tensor([2]), torch.tensor([3]),
             torch.tensor([4])), torch.tensor([5.0])),
        "negative": -torch.rand(n, t, c, size, size) - 0.1,
    }[kind]  # fmt: skip
    with torch.inference_mode():
        ref = attn(x)
        got = fused_asa_(attn, x.clone(), Scratch())
    assert torch.allclose(got, ref, rtol=1e-6, atol=1e-7)
    with torch.inference_mode():  # each plane scaled by the map of the reference's group
        mask = attn.importance_mask(x)
        f_im = x * mask[..., None, None]
        map_im, map_sub = attn.spatial_maps(f_im, x - f_im)
    expect = torch.where(mask[..., None, None], x * map_im, x * map_sub)
    assert torch.allclose(got, expect, rtol=1e-6, atol=1e-7)
    if kind == "zero":
        assert torch.equal(got, ref)


def test_fused_asa_reuses_its_scratch_and_leaves_no_state_in_it() -> None:
    torch.manual_seed(12)
    attn = _trained_looking_asa(1, 8)
    scratch = Scratch()
    a, b = torch.randn(1, 1, 8, 6, 6), torch.randn(1, 1, 8, 6, 6) * 3
    with torch.inference_mode():
        first = fused_asa_(attn, a.clone(), scratch)
        buffer = scratch.get("asa_maps", (8, 36), a)
        fused_asa_(attn, b.clone(), scratch)
        again = fused_asa_(attn, a.clone(), scratch)
        assert scratch.get("asa_maps", (8, 36), a) is buffer  # the same memory each call
    assert torch.equal(first, again)
    with torch.no_grad():  # an inference-mode buffer cannot be written outside it: remade
        assert scratch.get("asa_maps", (8, 36), a) is not buffer
        assert torch.equal(fused_asa_(attn, a.clone(), scratch), first)


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


@pytest.mark.parametrize("neuron", [LIF(), PLIF(tau0=1.7)], ids=["lif", "plif"])
@pytest.mark.parametrize("kind", ["zero", "all_spiking", "at_threshold", "signed_zeros"])
def test_inplace_neuron_edge_cases_bit_for_bit(neuron, kind: str) -> None:
    """The threshold reset equals the reference's masked_fill: no input, every neuron
    spiking, currents exactly at, just below and just above V_th, and -0.0 (its sign kept)."""
    th = neuron.params.v_threshold
    shape = (1, 3, 2, 4, 4)
    state = torch.zeros(shape[0], *shape[2:])
    if kind == "zero":
        x = torch.zeros(shape)
    elif kind == "all_spiking":
        x, state = torch.full(shape, 50.0), torch.full(state.shape, 2.0)
    elif kind == "at_threshold":
        # PLIF scales X by sigmoid(w) first: feed values whose membrane lands on V_th
        # (V = 0, X * s = V_th) as well as the raw values
        s = 1.0 if isinstance(neuron, LIF) else float(torch.sigmoid(neuron.w.detach()))
        points = torch.tensor([th, below(th), th + 1e-6, th / s, below(th / s), th / s + 1e-6])
        x = points.repeat(shape[0] * shape[1] * 2 * 16 // 6 + 1)[: torch.Size(shape).numel()]
        x = x.view(shape).clone()
    else:
        x = torch.tensor([-0.0, 0.0, -1e-30, 1e-30]).repeat(24).view(shape).clone()
        state = -state  # -0.0 membranes
    with torch.inference_mode():
        ref_spikes, ref_mem = neuron(x, state)
        spikes, mem = spike_inplace_(neuron, x.clone(), state, Scratch())
    assert torch.equal(spikes, ref_spikes.bool())
    assert torch.equal(mem, ref_mem) and torch.equal(mem.signbit(), ref_mem.signbit())
    if kind == "all_spiking":
        assert bool(spikes.all()) and bool((mem == 0).all())
    if kind == "at_threshold":
        assert bool(spikes.any()) and not bool(spikes.all())


def test_below_is_the_next_float32_down() -> None:
    for th in (1.0, 0.3, 2.5):
        v = torch.tensor(th)
        assert below(th) < float(v)
        assert torch.nextafter(torch.tensor(below(th)), torch.tensor(9.0)) == v
        xs = torch.tensor([below(th), float(v)])
        assert torch.equal(xs > below(th), xs >= th)


@pytest.mark.parametrize(("n", "t"), [(1, 1), (2, 3), (1, 65)])
def test_spike_counts_equal_a_float_sum(n: int, t: int) -> None:
    torch.manual_seed(13)
    spikes = torch.rand(n, t, 300) < 0.3
    spikes[0, 0] = True  # a full row
    spikes[-1, -1] = False  # an empty one
    got = spike_counts(spikes.view(torch.uint8))
    assert got.dtype == torch.int64 and got.shape == (n, t)
    assert torch.equal(got.float(), spikes.sum(-1, dtype=torch.float32))


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


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize(("b", "c", "size"), [(1, 8, 64), (3, 4, 64), (2, 5, 8)])
def test_layout_changes_copy_values_exactly(dtype, b: int, c: int, size: int) -> None:
    """Both paths (per-sample 2-D transposes from 64 x 64 up, the 4-D copy below) give the
    same values in the asked layout; a tensor already in it comes back as it is."""
    torch.manual_seed(14)
    x = (torch.randn(b, c, size, size) * 3).to(dtype)
    cl = to_channels_last(x)
    assert cl.is_contiguous(memory_format=torch.channels_last) and torch.equal(cl, x)
    assert to_channels_last(cl) is cl
    back = to_nchw(cl)
    assert back.is_contiguous() and torch.equal(back, x)
    assert to_nchw(back) is back
    strided = x[..., ::2]  # neither layout: the plain copy
    assert torch.equal(to_channels_last(strided), strided)
    assert to_nchw(strided).is_contiguous() and torch.equal(to_nchw(strided), strided)
