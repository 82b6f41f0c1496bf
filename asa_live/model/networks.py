"""The paper's spiking networks as stateless modules: ``forward(x, state) -> (out, state)``.

Every spiking layer l computes, for the T = m*K windows of a call (m whole chunks of K) at once,
    X_l = ASA( Pool( BN( Conv( D_l * S_{l-1} ) ) ) )       (conv blocks; ASA only with "asa")
    X_l = Linear( D_l * S_{l-1} )                          (fully connected layers)
and then runs its neuron over the T windows in order (neurons.py), starting from the membrane in
the state and returning the membrane after the last window. D_l is the layer's dropout mask, one
per sample, fixed over all windows of the sample. Conv, BN, pooling and ASA hold no state across
windows, so they run on all T windows in one go: ASA sees each chunk of K consecutive windows as
its own sample (the time axis reshaped to (N*m, K)), and in training BatchNorm normalises over the
K*N windows of each chunk separately (the paper's "BN over T*N"). One call on m chunks therefore
equals m calls of one chunk with the state carried (tested). Without attention T may be any
length; in training the last chunk is then shorter than K. Sliding ASA (asa_mode "sliding",
K = 1 chunk): window t attends over its trailing asa_window windows, whose pre-attention currents
come from the call itself and from ``NetState.asa_history``; any T, any split (tested).

3layer (paper, 32x32 input):  [Conv 2->64, BN, ASA, LIF], [Conv 64->128, BN, AvgPool2, ASA, LIF],
    [Conv 128->128, BN, AvgPool2, ASA, LIF], [Linear 8192->256, LIF], [Linear 256->C, LIF].
5layer (paper, 128x128 input): 5 x [(MaxPool2 from block 2) Conv 128ch no bias, BN, ASA, PLIF],
    MaxPool2, [Linear 2048->512, PLIF], [Linear 512->10C, PLIF], voting (mean of groups of 10).

Streaming design: the module holds weights only. ``NetState`` carries every layer's membrane, the
dropout masks of the current samples and, for sliding ASA, each layer's window history. In training, a state without masks gets fresh masks on
its first forward and returns them in the new state, so BPTT over consecutive chunks of the same
samples keeps one mask per sample (a new sample = a new state from ``initial_state``). Masks are
ignored in eval mode.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from asa_live.model.asa import ASA, AsaHistory
from asa_live.model.config import ModelConfig
from asa_live.model.neurons import LIF, PLIF, LIFParameters, PLIFParameters


class NetState(NamedTuple):
    """The streaming state of a network for a batch of N independent streams.

    Attributes:
        membranes: one tensor per spiking layer, ``[N, *layer_shape]`` (membrane after the last
            window processed).
        dropout_masks: per layer ``[N, *input_shape]`` scaled keep-masks (or None for p = 0);
            ``None`` until the first training-mode forward samples them.
        asa_history: sliding ASA only: per layer the ``AsaHistory`` (the last K - 1
            pre-attention currents and their scores; None for layers without ASA). ``None``
            for chunked ASA and no attention.
    """

    membranes: tuple[torch.Tensor, ...]
    dropout_masks: tuple[torch.Tensor | None, ...] | None = None
    asa_history: tuple[AsaHistory | None, ...] | None = None

    @property
    def batch_size(self) -> int:
        return int(self.membranes[0].shape[0])

    def detach(self) -> NetState:
        """Cut the autograd graph (truncated BPTT); values are unchanged."""
        history = self.asa_history
        if history is not None:
            history = tuple(None if h is None else h.detach() for h in history)
        return NetState(tuple(m.detach() for m in self.membranes), self.dropout_masks, history)


class ForwardOutput(NamedTuple):
    """Result of one call on T windows (m chunks of K).

    Attributes:
        output_spikes: ``[N, T, num_classes]`` output spikes per window (5layer: the voted mean of
            each class's 10 output neurons, in [0, 1]).
        state: the state after the last window.
        layer_spikes: ``[N, T, L]`` spike count of each spiking layer in each window.
        currents: when asked, the input current X of every spiking layer, ``[N, T, *layer_shape]``.
        hidden_spikes: ``[N, T, hidden]`` spikes of the layer under the output layer (fc1), which
            a readout's presence head reads (model/readout.py).
    """

    output_spikes: torch.Tensor
    state: NetState
    layer_spikes: torch.Tensor
    currents: tuple[torch.Tensor, ...] | None = None
    hidden_spikes: torch.Tensor | None = None


class SpikingConv(nn.Module):
    """``[pre-pool] -> Conv3x3 -> BN -> [post-pool] -> [ASA] -> neuron`` over ``[N, K, C, H, W]``.

    ``fold_in_inference`` (default True): in eval mode without autograd, run conv, BN and
    AvgPool as one folded conv (see ``folded_conv``); set it False to run them one by one.
    """

    fold_in_inference: bool = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        bias: bool,
        pre_pool: bool,
        post_pool: bool,
        attn: ASA | None,
        neuron: nn.Module,
    ) -> None:
        super().__init__()
        self.pre_pool = nn.MaxPool2d(2) if pre_pool else None
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)
        self.bn = nn.BatchNorm2d(out_channels)
        self.post_pool = nn.AvgPool2d(2) if post_pool else None
        self.attn = attn
        self.neuron = neuron
        self._folded: tuple[tuple, torch.Tensor, torch.Tensor] | None = None

    def folded_conv(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Weights of one conv equal to ``[AvgPool2](BN(Conv(.)))`` with BN's running stats.

        BN in eval is a per-channel affine map, so it folds into the conv's weight and bias.
        AvgPool2 after a 3x3 conv with padding 1 equals a 4x4 conv with stride 2 and padding 1
        whose kernel is the 3x3 kernel convolved with a 2x2 box of 1/4: 4/9 of the multiply-adds
        for the same output. Returns ``(weight, bias, stride)``; cached until a parameter or
        buffer changes (in-place optimiser steps and ``load_state_dict`` bump tensor versions).
        """
        conv, bn = self.conv, self.bn
        tensors = [conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var]
        if conv.bias is not None:
            tensors.append(conv.bias)
        key = tuple((t._version, t.data_ptr()) for t in tensors)
        stride = 2 if self.post_pool is not None else 1
        if self._folded is None or self._folded[0] != key:
            with torch.no_grad():
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                weight = conv.weight * scale[:, None, None, None]
                bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
                bias = (bias - bn.running_mean) * scale + bn.bias
                if stride == 2:
                    padded = F.pad(weight, (1, 1, 1, 1))
                    weight = 0.25 * (
                        padded[..., :-1, :-1]
                        + padded[..., 1:, :-1]
                        + padded[..., :-1, 1:]
                        + padded[..., 1:, 1:]
                    )
                if conv.weight.is_contiguous(memory_format=torch.channels_last):
                    weight = weight.contiguous(memory_format=torch.channels_last)
                self._folded = (key, weight, bias)
        return self._folded[1], self._folded[2], stride

    def currents(self, x: torch.Tensor, chunk_windows: int | None = None) -> torch.Tensor:
        """``x [N, T, C_in, H, W]`` -> neuron input current ``[N, T, C_out, H', W']``.

        ``chunk_windows`` = K cuts the T windows into consecutive chunks of K (None: one chunk
        of T). Chunked ASA runs on each chunk on its own, so T must then be a multiple of K.
        A sliding ASA needs its history: use ``pre_attention`` and ``attn.sliding`` instead.
        """
        y = self.pre_attention(x, chunk_windows)
        if self.attn is not None:
            n, t = y.shape[:2]
            k = t if chunk_windows is None else min(int(chunk_windows), t)
            if t % k != 0:
                raise ValueError(
                    f"ASA runs on whole chunks of K={k} windows, got {t} windows; pass a "
                    f"multiple of K"
                )
            # each chunk is an independent ASA sample: ASA's FC mixes exactly K time steps
            y = self.attn(y.reshape(n * (t // k), k, *y.shape[2:])).reshape(n, t, *y.shape[2:])
        return y

    def pre_attention(self, x: torch.Tensor, chunk_windows: int | None = None) -> torch.Tensor:
        """``[pre-pool] -> Conv -> BN -> [post-pool]`` over ``x [N, T, C_in, H, W]``.

        Training-mode BatchNorm takes its statistics per chunk of ``chunk_windows`` windows
        (the last one may be shorter). In eval mode without autograd, conv, BN and AvgPool run
        as one folded conv (equal up to float rounding); training and any autograd use the
        layers one by one.
        """
        n, t = x.shape[:2]
        k = t if chunk_windows is None else min(int(chunk_windows), t)
        y = x.reshape(n * t, *x.shape[2:])
        if self.pre_pool is not None:
            y = self.pre_pool(y)
        if self.fold_in_inference and not self.training and not torch.is_grad_enabled():
            weight, bias, stride = self.folded_conv()
            y = F.conv2d(y, weight, bias, stride=stride, padding=1)
        else:
            y = self.conv(y)
            # eval BN is a per-window affine map, so only training BN needs the chunks
            per_chunk = self.bn.training and k < t
            y = self._batch_norm_per_chunk(y, n, t, k) if per_chunk else self.bn(y)
            if self.post_pool is not None:
                y = self.post_pool(y)
        return y.reshape(n, t, *y.shape[1:])

    def _batch_norm_per_chunk(self, y: torch.Tensor, n: int, t: int, k: int) -> torch.Tensor:
        """Training BN on ``y [N*T, C, H, W]`` with statistics over the N*K windows of each
        chunk, updating the running statistics chunk by chunk in time order, exactly as
        separate calls on the chunks would."""
        per_sample = y.unflatten(0, (n, t))
        parts = [
            self.bn(per_sample[:, start : start + k].flatten(0, 1)).unflatten(0, (n, -1))
            for start in range(0, t, k)
        ]
        return torch.cat(parts, 1).flatten(0, 1)


class SpikingLinear(nn.Module):
    """``Linear -> neuron`` over ``[N, T, F]``."""

    def __init__(self, in_features: int, out_features: int, neuron: nn.Module) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)
        self.neuron = neuron

    def currents(self, x: torch.Tensor, chunk_windows: int | None = None) -> torch.Tensor:
        """``x [N, T, F]`` -> ``[N, T, out_features]``; per window, so chunks do not matter."""
        return self.fc(x)


class AsaSnn(nn.Module):
    """The 3-layer LIF net or the 5-layer PLIF net, with or without ASA (see module docstring).

    ``forward(x [N, T, in_channels, H, W], state | None) -> ForwardOutput`` with T = m*K
    (m >= 1 whole chunks; any T >= 1 without attention). Input frames are event counts per
    polarity (channel 0 = OFF, 1 = ON), not normalised.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        cfg = config
        h, w = cfg.input_size
        k = cfg.asa_time_steps
        use_asa = cfg.attention == "asa"
        layers: list[nn.Module] = []
        shapes: list[tuple[int, ...]] = []
        in_shapes: list[tuple[int, ...]] = []
        in_ch = cfg.in_channels
        three = cfg.arch == "3layer"
        if three:
            lif = LIFParameters(cfg.v_threshold, cfg.leak, cfg.surrogate_half_width)
            neuron_factory = lambda: LIF(lif)  # noqa: E731
            out_features = cfg.num_classes
        else:
            plif = PLIFParameters(cfg.plif_v_threshold, cfg.plif_surrogate_alpha)
            neuron_factory = lambda: PLIF(cfg.plif_tau0, plif)  # noqa: E731
            out_features = cfg.num_classes * cfg.voting
        for i, out_ch in enumerate(cfg.channels):
            in_shapes.append((in_ch, h, w))
            if i > 0:
                h, w = h // 2, w // 2
            attn = ASA(k, out_ch, cfg.reduction, cfg.lam) if use_asa else None
            # 3-layer: biased convs, AvgPool2 after BN; 5-layer: no bias, MaxPool2 before the conv.
            layers.append(
                SpikingConv(
                    in_ch, out_ch, bias=three, pre_pool=not three and i > 0,
                    post_pool=three and i > 0, attn=attn, neuron=neuron_factory(),
                )
            )  # fmt: skip
            shapes.append((out_ch, h, w))
            in_ch = out_ch
        if not three:
            h, w = h // 2, w // 2  # the MaxPool2 before the fully connected head
        flat = in_ch * h * w
        self.head_pool = nn.MaxPool2d(2) if cfg.arch == "5layer" else None
        layers.append(SpikingLinear(flat, cfg.hidden, neuron_factory()))
        in_shapes.append((flat,))
        shapes.append((cfg.hidden,))
        layers.append(SpikingLinear(cfg.hidden, out_features, neuron_factory()))
        in_shapes.append((cfg.hidden,))
        shapes.append((out_features,))
        self.layers = nn.ModuleList(layers)
        self._n_conv = len(cfg.channels)
        self._sliding = use_asa and cfg.asa_mode == "sliding"
        self._state_shapes = tuple(shapes)
        self._input_shapes = tuple(in_shapes)
        names = [f"conv{i + 1}" for i in range(self._n_conv)] + ["fc1", "fc2"]
        self.layer_names: tuple[str, ...] = tuple(names)
        self.layer_neurons: tuple[int, ...] = tuple(int(torch.Size(s).numel()) for s in shapes)
        self.layer_thresholds: tuple[float, ...] = tuple(
            cfg.v_threshold if cfg.arch == "3layer" else cfg.plif_v_threshold for _ in shapes
        )

    @property
    def chunk_windows(self) -> int:
        return self.config.chunk_windows

    def initial_state(
        self, batch: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> NetState:
        """All membranes at rest (0) for ``batch`` streams; no dropout masks yet; a sliding
        ASA's history holds K - 1 windows of zero current (the stream has not begun)."""
        if batch < 1:
            raise ValueError(f"initial_state needs batch >= 1, got {batch}")
        ref = next(self.parameters())
        device = ref.device if device is None else torch.device(device)
        dtype = ref.dtype if dtype is None else dtype
        membranes = tuple(
            torch.zeros((batch, *s), device=device, dtype=dtype) for s in self._state_shapes
        )
        history = None
        if self.config.attention == "asa" and self.config.asa_mode == "sliding":
            history = tuple(
                layer.attn.initial_history(batch, shape[1:], device=device, dtype=dtype)
                if isinstance(layer, SpikingConv) and layer.attn is not None
                else None
                for layer, shape in zip(self.layers, self._state_shapes, strict=True)
            )
        return NetState(membranes, None, history)

    def sample_dropout_masks(
        self, batch: int, device: torch.device | str | None = None
    ) -> tuple[torch.Tensor | None, ...]:
        """One scaled keep-mask per layer and sample (``None`` where p = 0)."""
        ref = next(self.parameters())
        device = ref.device if device is None else torch.device(device)
        masks: list[torch.Tensor | None] = []
        for p, shape in zip(self.config.dropout, self._input_shapes, strict=True):
            if p <= 0.0:
                masks.append(None)
                continue
            keep = torch.full((batch, *shape), 1.0 - p, device=device, dtype=ref.dtype)
            masks.append(torch.bernoulli(keep) / (1.0 - p))
        return tuple(masks)

    def _check_input(self, x: torch.Tensor, state: NetState | None) -> None:
        cfg = self.config
        expected = (cfg.in_channels, *cfg.input_size)
        if x.dim() != 5 or tuple(x.shape[2:]) != expected:
            raise ValueError(
                f"the network expects input [N, K, {expected[0]}, {expected[1]}, {expected[2]}], "
                f"got {tuple(x.shape)}"
            )
        if x.shape[1] < 1 or x.shape[0] < 1:
            raise ValueError(f"empty input batch or chunk: shape {tuple(x.shape)}")
        if cfg.attention == "asa" and x.shape[1] % cfg.chunk_windows != 0:
            raise ValueError(
                f"a network with ASA consumes whole chunks of K={cfg.chunk_windows} windows "
                f"(T = m*K), got T={x.shape[1]}; pass a multiple of {cfg.chunk_windows} windows"
            )
        if state is not None:
            if len(state.membranes) != len(self.layers):
                raise ValueError(
                    f"state has {len(state.membranes)} layers, the network {len(self.layers)}"
                )
            if state.batch_size != x.shape[0]:
                raise ValueError(
                    f"state is for batch {state.batch_size}, input batch is {x.shape[0]}"
                )
            if self._sliding and state.asa_history is None:
                raise ValueError(
                    "a sliding-ASA network needs a state with its ASA history: start from "
                    "initial_state(batch) or pass None"
                )

    def forward(
        self, x: torch.Tensor, state: NetState | None = None, collect_currents: bool = False
    ) -> ForwardOutput:
        """Run m >= 1 consecutive chunks of K windows (T = m*K) in one call.

        Equals m calls on the single chunks with the state carried (spikes identical,
        membranes up to float rounding): only the neurons carry state, and they step through
        all T windows in order.

        Args:
            x: ``[N, T, in_channels, H, W]`` event counts; T a multiple of K with chunked
                ASA, any T >= 1 with sliding ASA or without attention.
            state: from ``initial_state`` or a previous call; ``None`` = at rest.
            collect_currents: also return every layer's input current (for the distributions).
        """
        self._check_input(x, state)
        n = x.shape[0]
        if state is None:
            state = self.initial_state(n, device=x.device, dtype=x.dtype)
        masks = state.dropout_masks
        if self.training and masks is None and any(p > 0 for p in self.config.dropout):
            masks = self.sample_dropout_masks(n, device=x.device)
        membranes: list[torch.Tensor] = []
        counts: list[torch.Tensor] = []
        currents: list[torch.Tensor] = []
        histories: list[AsaHistory | None] = []
        h = x
        hidden = None
        for i, layer in enumerate(self.layers):
            if i == self._n_conv:
                if self.head_pool is not None:
                    k = h.shape[1]
                    h = self.head_pool(h.reshape(n * k, *h.shape[2:])).reshape(n, k, -1)
                else:
                    h = h.flatten(2)
            if self.training and masks is not None and masks[i] is not None:
                h = h * masks[i].unsqueeze(1)
            hist = state.asa_history[i] if state.asa_history is not None else None
            if hist is not None:
                cur, hist = layer.attn.sliding(
                    layer.pre_attention(h, self.config.chunk_windows), hist
                )
            else:
                cur = layer.currents(h, self.config.chunk_windows)
            histories.append(hist)
            if collect_currents:
                currents.append(cur)
            h, mem = layer.neuron(cur, state.membranes[i])
            membranes.append(mem)
            counts.append(h.flatten(2).sum(-1))
            if i == len(self.layers) - 2:
                hidden = h
        out = h
        if self.config.arch == "5layer":
            out = h.reshape(*h.shape[:2], self.config.num_classes, self.config.voting).mean(-1)
        return ForwardOutput(
            output_spikes=out,
            state=NetState(tuple(membranes), masks, tuple(histories) if self._sliding else None),
            layer_spikes=torch.stack(counts, -1),
            currents=tuple(currents) if collect_currents else None,
            hidden_spikes=hidden,
        )


def build_model(config: ModelConfig) -> AsaSnn:
    """Build the network a config describes (fresh weights, PyTorch's default init, as the release)."""
    return AsaSnn(config)
