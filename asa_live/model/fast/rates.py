"""Give a randomly initialised network realistic firing rates (tests and benchmarks).

PyTorch's default initialisation leaves the deep layers of an untrained net silent, which
would make speed and parity numbers meaningless for a backend that exploits sparsity. Layer
by layer, in order, on calibration input x (synthetic, never recorded test data):
    conv block:  BN running mean/var := per-channel mean/var of the conv output on x,
                 BN weight := gain, BN bias := b        (normalised currents, unit spread)
    linear:      W := gain * W / std(W S),  bias := b
with b found by bisection so that the layer fires at ``rate`` spikes per neuron and window.
"""

from __future__ import annotations

import torch

from asa_live.model.networks import AsaSnn, SpikingConv


def _layer_rate(model: AsaSnn, x: torch.Tensor, i: int) -> float:
    out = model(x)
    windows = x.shape[0] * x.shape[1]
    return float(out.layer_spikes[..., i].sum()) / (windows * model.layer_neurons[i])


def _conv_output_stats(model: AsaSnn, x: torch.Tensor, i: int) -> tuple[torch.Tensor, ...]:
    layer = model.layers[i]
    captured: list[torch.Tensor] = []
    handle = layer.conv.register_forward_hook(lambda _m, _i, out: captured.append(out))
    layer.fold_in_inference = False
    try:
        model(x)
    finally:
        layer.fold_in_inference = True
        handle.remove()
    y = captured[0]
    return y.mean(dim=(0, 2, 3)), y.var(dim=(0, 2, 3)) + 1e-6


@torch.no_grad()
def tune_firing_rates(
    model: AsaSnn, x: torch.Tensor, rate: float = 0.05, gain: float = 1.0, iterations: int = 14
) -> list[float]:
    """Set BN statistics / fc scales and biases so each layer fires at about ``rate`` on
    ``x [N, T, 2, H, W]``; returns the rates reached, per layer. The model is left in eval."""
    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate must be in (0, 1), got {rate}")
    model.eval()
    reached = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, SpikingConv):
            mean, var = _conv_output_stats(model, x, i)
            layer.bn.running_mean.copy_(mean)
            layer.bn.running_var.copy_(var)
            layer.bn.weight.fill_(gain)
            bias = layer.bn.bias
        else:
            layer.fc.bias.zero_()
            cur = model(x, collect_currents=True).currents[i]
            layer.fc.weight.mul_(gain / max(float(cur.std()), 1e-6))
            bias = layer.fc.bias
        lo, hi = -8.0 * gain, 8.0 * gain
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            bias.fill_(mid)
            if _layer_rate(model, x, i) > rate:
                hi = mid
            else:
                lo = mid
        bias.fill_(0.5 * (lo + hi))
        reached.append(_layer_rate(model, x, i))
    return reached
