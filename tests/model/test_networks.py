"""Networks: sizes, shapes, spike counts, streaming parity, dropout masks, BPTT across chunks."""

from __future__ import annotations

import pytest
import torch

from asa_live.model import ASA, ModelConfig, NetState, build_model
from asa_live.model.networks import SpikingConv
from asa_live.model.neurons import lif_step, plif_step

from .reference import asa_reference


def _small(arch: str = "3layer", attention: str = "asa", k: int = 3, **kw) -> ModelConfig:
    if arch == "3layer":
        base = dict(input_size=(16, 16), channels=(6, 8, 8), hidden=16)
    else:
        base = dict(input_size=(32, 32), channels=(6, 6, 6, 6, 6), hidden=16)
    base.update(kw)
    return ModelConfig(arch=arch, attention=attention, chunk_windows=k, **base)


def _events(n: int, t: int, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    # sparse event counts, like binned DVS windows
    return torch.poisson(torch.full((n, t, 2, *size), 0.6), generator=gen)


def _settle_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and ASA parameters so eval-mode tests exercise them."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.copy_(torch.randn(mod.num_features, generator=gen) * 0.1)
                mod.running_var.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
                mod.weight.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
            if isinstance(mod, ASA):
                for p in mod.parameters():
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.5)


def test_paper_3layer_parameter_count() -> None:
    model = build_model(ModelConfig(attention="none"))
    assert sum(p.numel() for p in model.parameters()) == 2_323_531
    with_asa = build_model(ModelConfig(attention="asa", chunk_windows=60, reduction=4))
    # each of the 3 ASA blocks adds alpha, beta, fc (60*15 + 15*60) and two 3x3x2 convs
    assert sum(p.numel() for p in with_asa.parameters()) == 2_323_531 + 3 * (2 + 1800 + 36)


def test_paper_5layer_structure() -> None:
    model = build_model(ModelConfig(arch="5layer", attention="none"))
    fc1 = model.layers[5].fc
    fc2 = model.layers[6].fc
    assert (fc1.in_features, fc1.out_features) == (2048, 512)
    assert (fc2.in_features, fc2.out_features) == (512, 110)
    assert all(model.layers[i].conv.bias is None for i in range(5))
    assert model.layer_names == ("conv1", "conv2", "conv3", "conv4", "conv5", "fc1", "fc2")
    assert model.layer_neurons == (128 * 128 * 128, 128 * 64 * 64, 128 * 32**2, 128 * 16**2,
                                   128 * 8 * 8, 512, 110)  # fmt: skip
    taus = [1.0 / torch.sigmoid(m.neuron.w).item() for m in model.layers]
    assert taus == pytest.approx([2.0] * 7)


def test_paper_3layer_layers() -> None:
    model = build_model(ModelConfig(attention="asa"))
    assert model.layer_neurons == (64 * 32 * 32, 128 * 16 * 16, 128 * 8 * 8, 256, 11)
    assert model.layer_thresholds == (0.3,) * 5
    assert [m.attn.time_steps for m in model.layers[:3]] == [60, 60, 60]


@pytest.mark.parametrize(("arch", "attention"), [("3layer", "asa"), ("3layer", "none"),
                                                 ("5layer", "asa"), ("5layer", "none")])  # fmt: skip
def test_shapes_and_spike_counts(arch: str, attention: str) -> None:
    cfg = _small(arch, attention, k=4, num_classes=5)
    torch.manual_seed(0)  # unseeded, some random inits left the 5-layer net silent
    model = build_model(cfg).eval()
    x = _events(2, 4, cfg.input_size) * 3
    with torch.no_grad():
        out = model(x, collect_currents=True)
    assert out.output_spikes.shape == (2, 4, 5)
    assert out.layer_spikes.shape == (2, 4, len(model.layer_names))
    assert len(out.state.membranes) == len(model.layer_names)
    assert out.currents is not None and len(out.currents) == len(model.layer_names)
    for cur, neurons in zip(out.currents, model.layer_neurons, strict=True):
        assert cur.shape[:2] == (2, 4) and cur[0, 0].numel() == neurons
    assert out.layer_spikes.sum() > 0
    # counts are integers and bounded by the layer size
    assert torch.equal(out.layer_spikes, out.layer_spikes.round())
    assert (out.layer_spikes <= torch.tensor(model.layer_neurons, dtype=torch.float32)).all()
    if arch == "3layer":
        assert torch.equal(out.output_spikes.sum(-1), out.layer_spikes[..., -1])
    else:  # voting: mean of groups of 10 output neurons
        assert torch.allclose(out.output_spikes.sum(-1) * 10, out.layer_spikes[..., -1])


def test_first_layer_spikes_follow_the_lif_equations() -> None:
    cfg = _small("3layer", "none", k=5)
    model = build_model(cfg).eval()
    _settle_bn(model)
    x = _events(1, 5, cfg.input_size) * 2
    with torch.no_grad():
        out = model(x, collect_currents=True)
        h = torch.zeros_like(out.currents[0][:, 0])
        for t in range(5):
            u = h + out.currents[0][:, t]
            s = (u >= 0.3).float()
            h = 0.3 * u * (1 - s)
            assert out.layer_spikes[0, t, 0] == s.sum()
        torch.testing.assert_close(out.state.membranes[0], h, rtol=0, atol=0)


def _reference_forward(model, chunks: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """A loop over chunks, layers and time steps built from the step functions and the slow ASA
    reference; returns (output spikes [N, T, C], layer spikes [N, T, L])."""
    cfg = model.config
    n = chunks[0].shape[0]
    membranes = [m.clone() for m in model.initial_state(n).membranes]
    outs, counts = [], []
    for x in chunks:
        k = x.shape[1]
        h = x
        per_layer = []
        for i, layer in enumerate(model.layers):
            if i == len(cfg.channels):
                if model.head_pool is not None:
                    h = model.head_pool(h.flatten(0, 1)).reshape(n, k, -1)
                else:
                    h = h.flatten(2)
            if hasattr(layer, "conv"):
                y = h.flatten(0, 1)
                if layer.pre_pool is not None:
                    y = layer.pre_pool(y)
                y = layer.bn(layer.conv(y))
                if layer.post_pool is not None:
                    y = layer.post_pool(y)
                y = y.reshape(n, k, *y.shape[1:])
                if layer.attn is not None:
                    y = asa_reference(layer.attn, y)
            else:
                y = layer.fc(h)
            steps = []
            for t in range(k):
                if cfg.arch == "3layer":
                    s, membranes[i] = lif_step(y[:, t], membranes[i])
                else:
                    s, membranes[i] = plif_step(y[:, t], membranes[i], layer.neuron.w)
                steps.append(s)
            h = torch.stack(steps, 1)
            per_layer.append(h.flatten(2).sum(-1))
        out = h if cfg.arch == "3layer" else h.reshape(n, k, cfg.num_classes, 10).mean(-1)
        outs.append(out)
        counts.append(torch.stack(per_layer, -1))
    return torch.cat(outs, 1), torch.cat(counts, 1)


@pytest.mark.parametrize("arch", ["3layer", "5layer"])
def test_asa_chunk_by_chunk_equals_reference_loop(arch: str) -> None:
    cfg = _small(arch, "asa", k=3)
    model = build_model(cfg).eval()
    _settle_bn(model, seed=1)
    x = _events(2, 12, cfg.input_size, seed=3) * 2
    chunks = list(x.split(3, dim=1))
    with torch.no_grad():
        state = None
        outs, counts = [], []
        for chunk in chunks:
            res = model(chunk, state)
            state = res.state
            outs.append(res.output_spikes)
            counts.append(res.layer_spikes)
        ref_out, ref_counts = _reference_forward(model, chunks)
    got_counts = torch.cat(counts, 1)
    assert ref_counts.sum() > 0
    torch.testing.assert_close(torch.cat(outs, 1), ref_out, rtol=0, atol=0)
    # the slow ASA rounds differently (float64 sums); allow a handful of threshold flips
    assert (got_counts - ref_counts).abs().sum() <= 1e-3 * ref_counts.sum() + 2


@pytest.mark.parametrize("arch", ["3layer", "5layer"])
def test_chunked_equals_whole_without_attention(arch: str) -> None:
    cfg = _small(arch, "none", k=1)
    model = build_model(cfg).eval()
    _settle_bn(model, seed=2)
    x = _events(2, 13, cfg.input_size, seed=4) * 2
    with torch.no_grad():
        whole = model(x)
        for sizes in ([1] * 13, [5, 8], [3, 1, 4, 5], [13]):
            state = model.initial_state(2)
            outs, counts = [], []
            for chunk in x.split(sizes, dim=1):
                res = model(chunk, state)
                state = res.state
                outs.append(res.output_spikes)
                counts.append(res.layer_spikes)
            assert torch.equal(torch.cat(outs, 1), whole.output_spikes)
            assert torch.equal(torch.cat(counts, 1), whole.layer_spikes)
            # GEMMs of another batch size may round differently in the last bit
            for a, b in zip(state.membranes, whole.state.membranes, strict=True):
                torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_training_path_equals_inference_path() -> None:
    # eval + autograd runs conv, BN, pool and the autograd neurons one by one; inference folds
    # BN and AvgPool into the conv and uses the fused in-place neurons: equal up to rounding
    for arch in ("3layer", "5layer"):
        cfg = _small(arch, "asa", k=3, dropout=(0.0,) * (5 if arch == "3layer" else 7))
        model = build_model(cfg).eval()
        _settle_bn(model, seed=5)
        x = _events(2, 3, cfg.input_size, seed=6) * 2
        with_grad = model(x, collect_currents=True)
        with torch.inference_mode():
            without = model(x, collect_currents=True)
        for a, b in zip(with_grad.currents, without.currents, strict=True):
            torch.testing.assert_close(a.detach(), b, rtol=1e-5, atol=1e-5)
        flips = (with_grad.layer_spikes.detach() - without.layer_spikes).abs().sum()
        assert flips <= 1e-3 * without.layer_spikes.sum()


def _unfolded(layer, h: torch.Tensor) -> torch.Tensor:
    y = layer.bn(layer.conv(h.flatten(0, 1)))  # the layer is in eval mode: running stats
    if layer.post_pool is not None:
        y = layer.post_pool(y)
    return y.reshape(h.shape[0], h.shape[1], *y.shape[1:])


@pytest.mark.parametrize("arch", ["3layer", "5layer"])
def test_folded_conv_equals_conv_bn_pool(arch: str) -> None:
    cfg = _small(arch, "none", k=2)
    model = build_model(cfg).eval()
    _settle_bn(model, seed=7)
    h = torch.rand(2, 2, cfg.in_channels, *cfg.input_size).round()
    with torch.no_grad():
        for layer in model.layers[: len(cfg.channels)]:
            x = layer.pre_pool(h.flatten(0, 1)).unflatten(0, (2, 2)) if layer.pre_pool else h
            torch.testing.assert_close(layer.currents(h), _unfolded(layer, x), rtol=1e-5, atol=1e-5)
            h = (torch.rand(2, 2, layer.conv.out_channels, *x.shape[-2:]) < 0.2).float()
            if layer.post_pool is not None:
                h = h[..., ::2, ::2].contiguous()


def test_folded_conv_follows_weight_changes() -> None:
    cfg = _small("3layer", "none", k=2)
    model = build_model(cfg).eval()
    _settle_bn(model, seed=7)
    layer = model.layers[1]
    h = torch.rand(1, 2, cfg.channels[0], 16, 16).round()
    with torch.no_grad():
        first = layer.currents(h)
        layer.conv.weight.mul_(2.0)  # an optimiser step changes weights in place like this
        layer.bn.running_mean.add_(0.5)
        second = layer.currents(h)
        torch.testing.assert_close(second, _unfolded(layer, h), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(first, second)
    reloaded = build_model(cfg).eval()
    with torch.no_grad():
        reloaded(torch.zeros(1, 2, 2, 16, 16))  # fills its cache with the fresh weights
    reloaded.load_state_dict(model.state_dict())
    x = _events(1, 2, cfg.input_size) * 2
    with torch.no_grad():
        torch.testing.assert_close(reloaded(x, collect_currents=True).currents[1],
                                   model(x, collect_currents=True).currents[1])  # fmt: skip


def test_state_is_not_modified_in_place() -> None:
    cfg = _small("3layer", "asa", k=3)
    model = build_model(cfg).eval()
    x = _events(1, 3, cfg.input_size) * 3
    with torch.no_grad():
        first = model(x)
        saved = [m.clone() for m in first.state.membranes]
        second = model(x, first.state)
        again = model(x, first.state)
    for a, b in zip(first.state.membranes, saved, strict=True):
        assert torch.equal(a, b)
    assert torch.equal(second.layer_spikes, again.layer_spikes)


def test_dropout_masks_live_in_the_state_and_stay_fixed() -> None:
    cfg = _small("3layer", "none", k=2, dropout=(0.0, 0.0, 0.5, 0.5, 0.5))
    model = build_model(cfg).train()
    x = _events(3, 2, cfg.input_size) * 3
    state = model.initial_state(3)
    assert state.dropout_masks is None
    first = model(x, state)
    masks = first.state.dropout_masks
    assert masks is not None and masks[0] is None and masks[1] is None
    assert masks[3].shape == (3, cfg.channels[2] * 4 * 4)
    assert set(masks[3].unique().tolist()) == {0.0, 2.0}
    second = model(x, first.state)
    assert second.state.dropout_masks is masks  # the same masks for the next chunk
    fresh = model(x, model.initial_state(3))
    assert not torch.equal(fresh.state.dropout_masks[3], masks[3])
    # eval mode ignores the masks
    model.eval()
    with torch.no_grad():
        a = model(x, first.state)
        b = model(x, NetState(first.state.membranes, None))
    assert torch.equal(a.layer_spikes, b.layer_spikes)


def test_dropout_mask_is_the_same_for_every_window() -> None:
    cfg = _small("3layer", "none", k=4, dropout=(0.0, 0.0, 0.0, 0.0, 0.5))
    model = build_model(cfg).train()
    state = model.initial_state(2)
    state = NetState(state.membranes, model.sample_dropout_masks(2))
    mask = state.dropout_masks[4]
    # constant input to fc2 through all windows: drive fc1 hard so it spikes in every window
    with torch.no_grad():
        model.layers[3].fc.bias.fill_(10.0)
        model.layers[4].fc.weight.fill_(0.0)
        model.layers[4].fc.bias.fill_(0.0)
        model.layers[4].fc.weight[0].fill_(1.0)
    out = model(_events(2, 4, cfg.input_size), state, collect_currents=True)
    # fc2's neuron 0 gets the sum of the kept (scaled) fc1 spikes: the same in every window
    expected = mask.sum(-1)
    for t in range(4):
        torch.testing.assert_close(out.currents[4][:, t, 0], expected)


def test_gradients_flow_across_chunks() -> None:
    cfg = _small("3layer", "asa", k=2, dropout=(0.0,) * 5)
    model = build_model(cfg).train()
    x = (_events(2, 4, cfg.input_size) * 3).requires_grad_(True)
    first = model(x[:, :2])
    second = model(x[:, 2:], first.state)
    # a loss on the second chunk alone reaches the first chunk's input through the membranes
    loss = second.layer_spikes[..., 0].sum() * 0 + (second.state.membranes[0] ** 2).sum()
    loss.backward()
    assert x.grad is not None and x.grad[:, :2].abs().sum() > 0
    asa = model.layers[0].attn
    assert asa.conv1.weight.grad is not None
    assert asa.alpha.grad is None and asa.beta.grad is None
    detached = first.state.detach()
    assert all(not m.requires_grad for m in detached.membranes)


def test_surrogate_gradient_reaches_weights() -> None:
    for arch in ("3layer", "5layer"):
        cfg = _small(arch, "asa", k=3)
        model = build_model(cfg).train()
        out = model(_events(2, 3, cfg.input_size) * 3)
        target = torch.zeros_like(out.output_spikes.mean(1))
        target[:, 0] = 1
        torch.nn.functional.mse_loss(out.output_spikes.mean(1), target).backward()
        first_conv = model.layers[0].conv.weight.grad
        assert first_conv is not None and first_conv.abs().sum() > 0
        if arch == "5layer":
            assert model.layers[0].neuron.w.grad is not None


def test_bad_inputs_raise() -> None:
    cfg = _small("3layer", "asa", k=3)
    model = build_model(cfg)
    for t in (2, 4, 7):  # not whole chunks of K = 3
        with pytest.raises(ValueError, match=rf"whole chunks of K=3 .*got T={t}; pass a multiple"):
            model(torch.zeros(1, t, 2, 16, 16))
    with pytest.raises(ValueError, match="expects input"):
        model(torch.zeros(1, 3, 2, 32, 32))
    with pytest.raises(ValueError, match="batch"):
        model(torch.zeros(2, 3, 2, 16, 16), model.initial_state(1))


def _run_per_chunk(model, x: torch.Tensor, state: NetState, k: int, **kw):
    """One forward call per chunk of K windows, the state carried: the reference."""
    outs, counts, currents = [], [], []
    for chunk in x.split(k, dim=1):
        res = model(chunk, state, **kw)
        state = res.state
        outs.append(res.output_spikes)
        counts.append(res.layer_spikes)
        currents.append(res.currents)
    return torch.cat(outs, 1), torch.cat(counts, 1), state, currents


@pytest.mark.parametrize("attention", ["asa", "none"])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("mode", ["train", "eval-autograd", "eval-folded", "eval-unfolded"])
def test_many_chunks_in_one_call_equal_one_call_per_chunk(
    attention: str, k: int, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = 4
    cfg = _small("3layer", attention, k=k, dropout=(0.0, 0.1, 0.1, 0.2, 0.1))
    torch.manual_seed(k)
    model = build_model(cfg)
    _settle_bn(model, seed=11)
    with torch.no_grad():  # make every layer fire now and then (ASA shrinks currents)
        for layer in model.layers[:3]:
            layer.bn.bias.fill_(0.3)
        model.layers[3].fc.bias.fill_(0.2)
        model.layers[4].fc.bias.fill_(0.25)
    if mode == "eval-unfolded":
        monkeypatch.setattr(SpikingConv, "fold_in_inference", False)
    model.train(mode == "train")
    x = _events(2, m * k, cfg.input_size, seed=12) * 2
    masks = model.sample_dropout_masks(2)  # the same masks for both runs (train mode)
    start = NetState(tuple(mem + 0.1 for mem in model.initial_state(2).membranes), masks)
    bn_before = [b.clone() for b in model.buffers()]
    grad = torch.enable_grad() if mode in ("train", "eval-autograd") else torch.inference_mode()
    with grad:
        ref_out, ref_counts, ref_state, ref_cur = _run_per_chunk(
            model, x, start, k, collect_currents=True
        )
        bn_after_chunks = [b.clone() for b in model.buffers()]
        with torch.no_grad():
            for b, old in zip(model.buffers(), bn_before, strict=True):
                b.copy_(old)  # training BN moved its running stats: start the second run alike
        whole = model(x, start, collect_currents=True)
    assert (ref_counts.sum((0, 1)) > 0).all()  # every layer spikes: the test has teeth
    assert whole.output_spikes.shape == (2, m * k, cfg.num_classes)
    assert torch.equal(whole.output_spikes.detach(), ref_out.detach())
    assert torch.equal(whole.layer_spikes.detach(), ref_counts.detach())
    for a, b in zip(whole.state.membranes, ref_state.membranes, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-5, atol=1e-5)
    for layer, cur in enumerate(whole.currents):
        ref = torch.cat([c[layer] for c in ref_cur], 1)
        torch.testing.assert_close(cur.detach(), ref.detach(), rtol=1e-5, atol=1e-5)
    # training BN updates its running statistics once per chunk, as the separate calls did
    for a, b in zip(model.buffers(), bn_after_chunks, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    if mode == "train":
        assert whole.state.dropout_masks is masks


def test_many_chunks_in_training_keep_batch_norm_per_chunk() -> None:
    # BN over all m*K windows at once would differ from per-chunk statistics: make sure it is
    # per chunk (chunks with very different activity)
    cfg = _small("3layer", "none", k=2, dropout=(0.0,) * 5)
    torch.manual_seed(0)
    model = build_model(cfg).train()
    x = torch.cat([_events(1, 2, cfg.input_size, seed=1), 6 * _events(1, 2, cfg.input_size)], 1)
    layer = model.layers[0]
    per_chunk = layer.currents(x, 2)
    pooled = layer.currents(x, None)
    separate = torch.cat([layer.currents(c, 2) for c in x.split(2, dim=1)], 1)
    torch.testing.assert_close(per_chunk, separate)
    assert not torch.allclose(per_chunk, pooled, atol=1e-3)
