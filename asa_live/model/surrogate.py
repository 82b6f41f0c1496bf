"""Spike functions with surrogate gradients.

Forward (both):   S = Heaviside(x) = 1 if x >= 0 else 0,   with x = U - V_th.
Backward, box:    dS/dx = 1 / (2a)  where |x| < a, else 0           (3-layer LIF, a = 0.25)
Backward, ATan:   dS/dx = (alpha / 2) / (1 + (pi / 2 * alpha * x)^2)  (5-layer PLIF, alpha = 2,
                  SpikingJelly's ``surrogate.ATan``)

Outside autograd (eval, inference) the plain hard step is used: the forward values are identical,
only the backward pass differs.
"""

from __future__ import annotations

import math

import torch


class _SurrogateSpike(torch.autograd.Function):
    """The Heaviside forward both spike functions share; ``width`` (a or alpha) is kept for
    the subclass's surrogate backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, width: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.width = width
        return heaviside(x)


class _BoxSpike(_SurrogateSpike):
    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        a = ctx.width
        return grad_output * (x.abs() < a).to(grad_output.dtype) / (2.0 * a), None


class _ATanSpike(_SurrogateSpike):
    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        alpha = ctx.width
        grad = (alpha / 2.0) / (1.0 + (math.pi / 2.0 * alpha * x).square())
        return grad_output * grad, None


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """Hard step ``x >= 0`` as the dtype of ``x`` (no gradient)."""
    return (x >= 0).to(x.dtype)


def box_spike(x: torch.Tensor, half_width: float = 0.25) -> torch.Tensor:
    """Heaviside forward, box surrogate backward (half-width ``a``, height ``1 / (2a)``)."""
    return _BoxSpike.apply(x, float(half_width))


def atan_spike(x: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """Heaviside forward, SpikingJelly ATan surrogate backward."""
    return _ATanSpike.apply(x, float(alpha))
