"""A fully connected layer over binary spikes that reads only the weight rows of active inputs.

For spikes S [R, F] in {0, 1} (R = windows of a call) and weight W [O, F]:
    y = b + S W^T = b + S[:, A] W^T[A]                  A = {f : S[r, f] = 1 for some r}
Every other row of W^T multiplies a column of zeros. At 2-5 % density this reads 2-5 % of W
(fc1 of the paper's 3-layer net is 8 MB of float32, larger than L2): the layer goes from
memory-bound to nearly free. Exact up to the order of the float additions. Above
``max_density`` the plain dense matmul is cheaper (a gather costs more than a streamed read).
"""

from __future__ import annotations

import torch


class SparseSpikeLinear:
    """``__call__(spikes [..., F]) -> [..., O]`` float; dense matmul above ``max_density``."""

    def __init__(
        self, weight: torch.Tensor, bias: torch.Tensor | None, max_density: float = 0.25
    ) -> None:
        if not 0.0 <= max_density <= 1.0:
            raise ValueError(f"max_density must be in [0, 1], got {max_density}")
        self.weight_t = weight.detach().t().contiguous()  # [F, O]: one contiguous row per input
        self.bias = None if bias is None else bias.detach()
        self.max_density = float(max_density)
        self.last_density = 0.0

    def __call__(self, spikes: torch.Tensor) -> torch.Tensor:
        lead = spikes.shape[:-1]
        rows = spikes.reshape(-1, spikes.shape[-1])
        active = rows.any(0).nonzero().squeeze(1)
        self.last_density = active.numel() / max(1, rows.shape[1])
        if self.last_density > self.max_density:
            out = rows.to(self.weight_t.dtype) @ self.weight_t
        elif rows.shape[0] == 1:
            # one window: all selected rows are active, the sum of the rows is the product
            out = self.weight_t.index_select(0, active).sum(0, keepdim=True)
        else:
            sub = rows.index_select(1, active).to(self.weight_t.dtype)
            out = sub @ self.weight_t.index_select(0, active)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*lead, out.shape[-1])
