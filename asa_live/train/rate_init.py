"""Data-driven start: scale each silent fully connected spiking layer until it fires.

For a fully connected layer with current I = W s + b, scaling (W, b) by g scales the current:
    I_g = g * I,     rate(g) = mean over windows and neurons of neuron(g * I_[1..T]) spikes,
and g is the smallest factor (bisection on log g) with rate(g) >= target, one layer at a time
from the input up, each on the currents the layers below (already scaled) produce.

Why: the 5-layer net reads 15 ms windows of 128x128 events, about 1 % of the pixels active.
Its conv blocks fire (BatchNorm sets their scale), but its two fully connected layers have no
BatchNorm: at PyTorch's default init (|W| <= 1/sqrt(fan_in)) a handful of active inputs give
currents of about 0.1 against the PLIF threshold of 1, so fc1 and fc2 never spike. The output
is then silent, the loss sits at exactly 1/C and the surrogate gradient far below threshold is
too small to leave it (measured: a 16-channel 5-layer run stayed there for a whole epoch, and so
does the 128-channel net on these windows). The paper's net trains because its frames integrate
hundreds of milliseconds. This is LSUV (Mishkin & Matas, ICLR 2016) with the firing rate in
place of the variance. Conv blocks and layers that already fire are left as they are.
(``model.fast.rates.tune_firing_rates`` differs on purpose: it gives benchmark nets realistic
rates in eval mode by rewriting every layer's BatchNorm statistics and biases, which a training
run must not inherit.)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from asa_live.model.networks import AsaSnn, SpikingLinear

__all__ = ["RateInit", "describe", "rate_init"]

#: Bisection bounds on the scale factor, and its steps (2^-18 relative precision in log g).
_G_MAX = 1e4
_STEPS = 24


class RateInit(NamedTuple):
    """What :func:`rate_init` did to one layer."""

    layer: str
    rate_before: float
    rate_after: float
    scale: float


def _rate(layer: SpikingLinear, current: torch.Tensor, scale: float) -> float:
    rest = torch.zeros((current.shape[0], *current.shape[2:]), dtype=current.dtype)
    spikes, _ = layer.neuron(current * scale, rest)
    return float(spikes.mean())


def _smallest_scale(layer: SpikingLinear, current: torch.Tensor, target: float) -> float:
    """The smallest g in [1, _G_MAX] with rate(g) >= target (``_G_MAX`` if none reaches it)."""
    lo, hi = 0.0, math.log(_G_MAX)
    if _rate(layer, current, _G_MAX) < target:
        return _G_MAX
    for _ in range(_STEPS):
        mid = 0.5 * (lo + hi)
        if _rate(layer, current, math.exp(mid)) >= target:
            hi = mid
        else:
            lo = mid
    return math.exp(hi)


def _currents(net: AsaSnn, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    out = net(x, net.initial_state(x.shape[0]), collect_currents=True)
    assert out.currents is not None
    return out.currents


@torch.no_grad()
def rate_init(net: AsaSnn, x: torch.Tensor, target: float = 0.05) -> list[RateInit]:
    """Scale every fully connected spiking layer of ``net`` that fires below ``target`` on
    ``x`` (``[N, T, C, H, W]``, a training batch) so that it fires at ``target``; in place.

    Runs in the mode ``net`` is in (training: BatchNorm on batch statistics, as the first steps
    will see it); BatchNorm's running statistics are restored afterwards. Returns one
    :class:`RateInit` per fully connected layer (scale 1 where nothing changed).
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"rate_init target must be in (0, 1), got {target}")
    buffers = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    report: list[RateInit] = []
    try:
        for i, layer in enumerate(net.layers):
            if not isinstance(layer, SpikingLinear):
                continue
            current = _currents(net, x)[i].float()
            before = _rate(layer, current, 1.0)
            scale = 1.0 if before >= target else _smallest_scale(layer, current, target)
            if scale != 1.0:
                layer.fc.weight.mul_(scale)
                layer.fc.bias.mul_(scale)
            after = _rate(layer, current, scale)
            report.append(RateInit(net.layer_names[i], before, after, scale))
    finally:
        net.load_state_dict(buffers, strict=False)
    return report


def describe(report: list[RateInit], target: float) -> str:
    """One log line: each fully connected layer's rate before -> after and its scale."""
    parts = [
        f"{r.layer} {100 * r.rate_before:.2f} % -> {100 * r.rate_after:.2f} % (x{r.scale:.3g})"
        for r in report
    ]
    return f"rate init (target {100 * target:g} % per window): " + ", ".join(parts)
