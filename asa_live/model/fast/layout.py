"""Layout changes between NCHW and channels-last (NHWC) as per-sample 2-D transposes.

The int8 conv (oneDNN) reads and writes channels-last; ASA's per-plane reductions and the
neuron's in-place loop want NCHW (measured: 73 -> 58 ms per window with the NCHW copy). A
sample's (C, H*W) plane stack and its (H*W, C) pixel stack are transposes of each other:
    NCHW -> NHWC:  out[b].view(HW, C) <- x[b].view(C, HW).t()
    NHWC -> NCHW:  out[b].view(C, HW) <- y[b] (HW, C strides).t()
torch copies a transposed 2-D matrix with a blocked kernel, but a 3-D or 4-D transposing
copy (``contiguous(memory_format=...)``, ``contiguous()``) element by element: on the 5-layer
net's 128 x 64 x 64 spikes 0.29 against 1.6 ms (uint8), on 128 x 128 x 128 float currents
about 1.3 against 4.2 ms (1 thread). On smaller planes (the 3-layer nets' 32 x 32 and
below) the per-sample calls cost more than they save (128 x 8 x 8, 60 samples: 0.75 against
0.15 ms), so below ``MIN_PIXELS`` pixels per plane the 4-D copy stays. Values are copied,
never computed: exact.
"""

from __future__ import annotations

import torch

MIN_PIXELS = 4096  # H * W from which the per-sample 2-D transposes pay (64 x 64 up)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x [B, C, H, W]`` as a channels-last tensor (``x`` itself when it already is)."""
    if x.is_contiguous(memory_format=torch.channels_last):
        return x
    b, c, h, w = x.shape
    if not x.is_contiguous() or h * w < MIN_PIXELS:
        return x.contiguous(memory_format=torch.channels_last)
    out = torch.empty((b, h, w, c), dtype=x.dtype, device=x.device)
    for src, dst in zip(x.view(b, c, h * w), out.view(b, h * w, c), strict=True):
        dst.copy_(src.t())
    return out.permute(0, 3, 1, 2)


def to_nchw(y: torch.Tensor) -> torch.Tensor:
    """``y [B, C, H, W]`` as a contiguous (NCHW) tensor (``y`` itself when it already is)."""
    if y.is_contiguous():
        return y
    b, c, h, w = y.shape
    if not y.is_contiguous(memory_format=torch.channels_last) or h * w < MIN_PIXELS:
        return y.contiguous()
    out = torch.empty((b, c, h, w), dtype=y.dtype, device=y.device)
    pixels = y.permute(0, 2, 3, 1).reshape(b, h * w, c)  # a view: y is channels-last
    for src, dst in zip(pixels, out.view(b, c, h * w), strict=True):
        dst.copy_(src.t())
    return out
