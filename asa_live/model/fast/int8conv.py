"""A conv over binary spikes with int8 weights and an exact float32 result.

For an input S in {0, 1} (every conv after the first sees spikes, or max-pooled spikes),
    y[o] = b[o] + sum_{c,k} W[o,c,k] S[c,k]
         ~ b[o] + s[o] * sum_{c,k} Q[o,c,k] S[c,k]          Q = round(W / s) in [-127, 127],
                                                            s[o] = max|W[o]| / 127
The activation is quantised with scale 1 and zero point 0, which is lossless for {0, 1}; the
sum runs in int32 (oneDNN's u8 x s8 conv, AVX512-VNNI where present) and comes back as float32,
so the only approximation is the per-output-channel rounding of the weights (|error| <= s/2 per
weight). The first conv sees event counts, not spikes, and stays float (``backend`` below).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from asa_live.model.fast.layout import to_channels_last


def quantize_per_channel(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight [O, C, kh, kw]`` float -> ``(int8 weight, float32 scale [O])`` (symmetric)."""
    amax = weight.detach().abs().amax(dim=(1, 2, 3)).to(torch.float32)
    # an all-zero channel keeps scale 1 (any scale gives Q = 0); avoids a division by zero
    scale = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
    q = torch.round(weight.detach() / scale[:, None, None, None]).clamp_(-127, 127)
    return q.to(torch.int8), scale


def int8_conv_available() -> bool:
    """True when this torch build has oneDNN's quantised conv with a float32 output."""
    try:
        conv = Int8SpikeConv(torch.ones(1, 1, 3, 3), None, stride=1)
        out = conv(torch.ones(1, 1, 4, 4, dtype=torch.uint8))
    except (RuntimeError, NotImplementedError, AttributeError):
        return False
    return bool(out.shape == (1, 1, 4, 4) and float(out[0, 0, 1, 1]) > 8.9)


class Int8SpikeConv:
    """``Conv2d(padding=1, stride)`` of int8 per-channel weights on uint8 {0, 1} inputs.

    ``__call__(spikes [B, C, H, W] uint8) -> float32 [B, O, H', W']`` (channels_last strides).
    """

    def __init__(
        self, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, terms: int = 1
    ) -> None:
        if terms not in (1, 2):
            raise ValueError(f"terms must be 1 or 2, got {terms}")
        self.out_channels = int(weight.shape[0])
        self.qweight, self.scale = quantize_per_channel(weight)
        if terms == 2:
            # residual term: W ~ s1 Q1 + s2 Q2 with s2 ~ s1 / 254, as extra output channels
            residual = weight.detach().to(torch.float32) - self.dequantized_weight()
            q2, s2 = quantize_per_channel(residual)
            self.qweight = torch.cat([self.qweight, q2])
            self.scale = torch.cat([self.scale, s2])
            if bias is not None:
                bias = torch.cat([bias.detach(), torch.zeros_like(bias)])
        self.terms = terms
        self.bias = None if bias is None else bias.detach().to(torch.float32).contiguous()
        self.stride = [int(stride)] * 2
        self.zero_points = torch.zeros(self.scale.shape[0], dtype=torch.long)
        self._packed: dict[tuple[int, ...], torch.Tensor] = {}

    def _packed_for(self, shape: tuple[int, ...]) -> torch.Tensor:
        """Weights packed for one input shape: oneDNN then picks its kernel for that shape
        (1.5x faster here than a shape-agnostic packing). A stream has one or two shapes."""
        if shape not in self._packed:
            self._packed[shape] = torch.ops.onednn.qconv_prepack(
                self.qweight, self.scale, 1.0, 0, self.stride, [1, 1], [1, 1], 1, list(shape)
            )
        return self._packed[shape]

    def dequantized_weight(self) -> torch.Tensor:
        """The float weight the int8 conv computes with exactly (for tests and references)."""
        w = self.qweight.to(torch.float32) * self.scale[:, None, None, None]
        return (
            w if getattr(self, "terms", 1) == 1 else w[: self.out_channels] + w[self.out_channels :]
        )

    def __call__(self, spikes: torch.Tensor) -> torch.Tensor:
        x = to_channels_last(spikes)  # oneDNN's layout (layout.py: a fast transpose)
        y = torch.ops.onednn.qconv2d_pointwise(
            x, 1.0, 0, self._packed_for(tuple(x.shape)), self.scale, self.zero_points, self.bias,
            self.stride, [1, 1], [1, 1], 1, 1.0, 0, torch.float32, "none", [], "",
        )  # fmt: skip
        if self.terms == 2:
            y = y[:, : self.out_channels] + y[:, self.out_channels :]
        return y


class FloatConv:
    """The folded float conv (the reference path, and the first layer: event counts)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, stride: int) -> None:
        self.weight = weight
        self.bias = bias
        self.stride = int(stride)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x.to(self.weight.dtype), self.weight, self.bias, self.stride, 1)
