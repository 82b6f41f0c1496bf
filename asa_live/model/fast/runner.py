"""The fast inference backend: the same network, the same state, cheaper arithmetic.

Per spiking layer l, for the T = m*K windows of a call (see networks.py for the model):
    X_1 = ASA( Conv_folded( counts ) )                   float: the first conv sees event counts
    X_l = ASA( s_l * (Q_l (*) Pool(S_{l-1})) + b_l )     int8 weights, exact {0, 1} activations
    X_fc = b + S[:, A] W^T[A]                            only the rows A of active inputs
                                                         (large layers; small ones: the model's)
    S_l, V_l = neuron_l( X_l, V_l )                      the model's own LIF / PLIF modules
Conv_folded is the eager path's folded conv (BN and AvgPool2 inside, ``SpikingConv.folded_conv``);
Q_l, s_l its per-output-channel int8 quantisation (int8conv.py; by default two int8 terms). ASA
and the neurons are the model's own module objects (so the state, ``NetState``, stays the
model's, the sliding ASA's history included); for the model's plain ``ASA``, chunked or
sliding, and its LIF / PLIF (large layers) the runner computes the same thing in place on the
conv output (attention.py, sliding.py, neurons.py: same masks, same spikes), and Pool is two
strided maxima on uint8 spikes (pool.py); any other module (a subclass, a new ASA mode with an
``attend`` hook) is called as it is. The only approximation is the weight rounding of
the convs after the first; ``int8=False`` keeps float convs (then the outputs equal the eager
path up to float rounding).

``FastSnn`` is an ``nn.Module`` with the ``AsaSnn`` contract (``config``, ``layer_names``,
``initial_state``, ``forward(x, state) -> ForwardOutput``), so ``StreamingSession`` takes it as
its model. It runs inference only: in training or with autograd on it calls the model itself.
"""

from __future__ import annotations

import threading

import torch
from torch import nn

from asa_live.model.asa import ASA
from asa_live.model.fast.attention import fused_asa_
from asa_live.model.fast.int8conv import FloatConv, Int8SpikeConv, int8_conv_available
from asa_live.model.fast.layout import to_nchw
from asa_live.model.fast.neurons import spike_inplace_, supports_inplace
from asa_live.model.fast.pool import max_pool2
from asa_live.model.fast.scratch import Scratch
from asa_live.model.fast.sliding import SlidingWorkspace, sliding_asa_
from asa_live.model.fast.sparse_linear import SparseSpikeLinear
from asa_live.model.networks import AsaSnn, ForwardOutput, NetState, SpikingConv


def attend(
    layer: SpikingConv,
    y: torch.Tensor,
    chunk_windows: int,
    fused: bool = True,
    scratch: Scratch | None = None,
) -> tuple[torch.Tensor, bool]:
    """Apply the layer's own ASA to currents ``y [N, T, C, H, W]``, chunk by chunk.

    Returns the refined currents and whether the runner owns them (a fresh tensor or ``y``
    itself, so the neuron may overwrite them). Uses ``layer.attend(y, k)`` when the model
    provides one (so a new attention mode needs no change here); otherwise mirrors
    ``SpikingConv.currents``: each chunk of K windows is one ASA sample, refined in place by
    ``fused_asa_`` (attention.py) when the module is the model's plain ``ASA`` (its buffers
    from ``scratch``).
    """
    hook = getattr(layer, "attend", None)
    if hook is not None:
        return hook(y, chunk_windows), False
    if layer.attn is None:
        return y, True
    n, t = y.shape[:2]
    k = min(int(chunk_windows), t)
    if t % k != 0:
        raise ValueError(
            f"ASA runs on whole chunks of K={k} windows, got {t} windows; pass a multiple of K"
        )
    chunks = y.reshape(n * (t // k), k, *y.shape[2:])
    if fused and type(layer.attn) is ASA and y.is_contiguous():
        return fused_asa_(layer.attn, chunks, scratch).reshape(y.shape), True
    return layer.attn(chunks).reshape(y.shape), True


def attend_sliding(
    layer: SpikingConv, y: torch.Tensor, history, space: SlidingWorkspace | None, fused: bool
) -> tuple[torch.Tensor, object, bool]:
    """Sliding ASA on currents ``y [N, T, C, H, W]`` with the layer's ``AsaHistory``: in place
    by ``sliding_asa_`` (sliding.py; CPU, its top-k runs in numpy) for the model's plain
    ``ASA``, else the model's own ``attn.sliding``. Returns the refined currents, the next
    history and ownership (both paths give the runner a tensor it may overwrite)."""
    if fused and type(layer.attn) is ASA and y.is_contiguous() and y.device.type == "cpu":
        out, history = sliding_asa_(layer.attn, y, history, space)
        return out, history, True
    out, history = layer.attn.sliding(y, history)
    return out, history, True


def spike_counts(spikes: torch.Tensor) -> torch.Tensor:
    """``spikes [N, T, F]`` uint8 in {0, 1} -> int64 counts ``[N, T]``. A sum with a dtype
    converts every spike first (the 5-layer net's first block: 8 MB written per window as
    float); ``count_nonzero`` over a whole row reads the bytes only, so rows go one by one
    when there are few (a call's windows), and as an int32 sum otherwise."""
    rows = spikes.reshape(-1, spikes.shape[-1])
    if rows.shape[0] > 64:
        return spikes.sum(-1, dtype=torch.int32).to(torch.int64)
    return torch.stack([torch.count_nonzero(r) for r in rows.unbind(0)]).view(spikes.shape[:2])


class FastSnn(nn.Module):
    """Inference-only runner over an ``AsaSnn``'s weights (see module docstring).

    Args:
        model: the network; its weights are read (and re-read after any in-place change).
        int8: int8 convs after the first layer; None = wherever this torch build has them.
        int8_terms: 2 (default) adds an int8 residual term, W ~ s1 Q1 + s2 Q2 (~15-bit weights,
            one conv with 2x output channels): 1 term flipped 2.5-5 % of the shipped model's
            predictions (ties in the readout), 2 terms none; both beat the float conv here.
        fc_max_density: the fully connected layers gather active rows below this input density
            and run dense above it (decided per call from the measured density).
        fc_sparse_min_weights: a fully connected layer with fewer weights runs as the model's
            own dense ``Linear`` (the shipped net's fc1, 2048 x 128, and every fc2: measuring
            the density costs more there than reading the whole weight).
        int8_min_macs: a conv runs int8 only from this many multiply-adds per window up; below
            it the fixed cost of the quantised call (packing, layout) exceeds the saving (the
            shipped 16/32/32 net: 1-2 M per conv, 0.9x as fast; paper width 17-34 M, 1.4x).
        fused: chunked and sliding ASA and the LIF / PLIF neurons of conv blocks run in place
            on the conv output (attention.py, sliding.py, neurons.py: the same masks and
            spikes, fewer passes and no layer-sized allocations); False calls the model's own
            modules.
        inplace_min_neurons: a conv block's neuron runs in place from this many neurons per
            window up (what it saves is the page faults of large new tensors; below it, the
            3-layer nets' blocks, the model's own loop measured 5-20 % faster), and in every
            block after one that did (the 5-layer net's small blocks: no float spikes and no
            conversion back to uint8 for the next int8 conv).
    """

    def __init__(
        self,
        model: AsaSnn,
        *,
        int8: bool | None = None,
        int8_terms: int = 2,
        fc_max_density: float = 0.25,
        fc_sparse_min_weights: int = 1_000_000,
        int8_min_macs: float = 5e6,
        fused: bool = True,
        inplace_min_neurons: int = 262_144,
    ) -> None:
        super().__init__()
        self.model = model
        self.config = model.config
        self.layer_names = model.layer_names
        self.layer_neurons = model.layer_neurons
        self.layer_thresholds = model.layer_thresholds
        self.int8 = int8_conv_available() if int8 is None else bool(int8)
        self.int8_terms = int(int8_terms)
        self.int8_min_macs = float(int8_min_macs)
        self.fc_max_density = float(fc_max_density)
        self.fc_sparse_min_weights = int(fc_sparse_min_weights)
        self.fused = bool(fused)
        self.inplace_min_neurons = int(inplace_min_neurons)
        self._n_conv = len(model.config.channels)
        self._convs: dict[int, tuple[torch.Tensor, object]] = {}
        self._linears: dict[int, tuple[tuple, SparseSpikeLinear]] = {}
        # scratch memory per conv block and thread: the sliding ASA's workspace and the
        # fused ops' buffers (no stream state: every call overwrites it, so two threads must
        # not share it)
        self._scratch: dict[int, list[tuple[SlidingWorkspace, Scratch]]] = {}

    @property
    def chunk_windows(self) -> int:
        return self.model.chunk_windows

    def initial_state(self, batch: int, device=None, dtype=None) -> NetState:
        return self.model.initial_state(batch, device=device, dtype=dtype)

    def _conv(self, i: int, layer: SpikingConv | None = None):
        """The conv of block i (``layer``, when the caller has it), rebuilt whenever the
        folded weights change."""
        layer = self.model.layers[i] if layer is None else layer
        weight, bias, stride = layer.folded_conv()
        cached = self._convs.get(i)
        if cached is None or cached[0] is not weight:
            use_int8 = (
                self.int8
                and i > 0
                and weight.dtype == torch.float32
                and self._macs_per_window(i, weight) >= self.int8_min_macs
            )
            if use_int8:
                conv = Int8SpikeConv(weight, bias, stride, terms=self.int8_terms)
            else:
                conv = FloatConv(weight, bias, stride)
            self._convs[i] = (weight, conv)
        return self._convs[i][1]

    def _spaces(self) -> list[tuple[SlidingWorkspace, Scratch]]:
        """This thread's sliding ASA workspaces and scratch buffers, one per conv block."""
        key = threading.get_ident()
        spaces = self._scratch.get(key)
        if spaces is None:
            if len(self._scratch) >= 8:  # threads come and go: forget the old ones'
                self._scratch.clear()
            spaces = [(SlidingWorkspace(), Scratch()) for _ in range(self._n_conv)]
            self._scratch[key] = spaces
        return spaces

    def int8_layers(self) -> tuple[int, ...]:
        """Indices of the conv blocks that run int8 (empty when none is large enough)."""
        return tuple(i for i in range(self._n_conv) if isinstance(self._conv(i), Int8SpikeConv))

    def _macs_per_window(self, i: int, weight: torch.Tensor) -> float:
        h, w = self.model._state_shapes[i][1:]
        return float(weight.numel() * h * w)

    def _linear(self, i: int, layer: nn.Module | None = None) -> SparseSpikeLinear:
        fc = (self.model.layers[i] if layer is None else layer).fc
        key = tuple((p._version, p.data_ptr()) for p in (fc.weight, fc.bias))
        cached = self._linears.get(i)
        if cached is None or cached[0] != key:
            self._linears[i] = (key, SparseSpikeLinear(fc.weight, fc.bias, self.fc_max_density))
        return self._linears[i][1]

    def forward(self, x: torch.Tensor, state: NetState | None = None) -> ForwardOutput:
        """``x [N, T, in_channels, H, W]`` event counts, T = m*K -> ``ForwardOutput``."""
        model = self.model
        if model.training or torch.is_grad_enabled():
            return model(x, state)  # the reference path carries autograd and training BN
        model._check_input(x, state)
        n, t = x.shape[:2]
        if state is None:
            state = model.initial_state(n, device=x.device, dtype=x.dtype)
        membranes: list[torch.Tensor] = []
        counts: list[torch.Tensor] = []
        histories = list(state.asa_history) if state.asa_history is not None else None
        layers = list(model.layers)  # one call; indexing an nn.ModuleList costs more than a list
        spaces = self._spaces()
        h = x
        for i in range(self._n_conv):
            layer = layers[i]
            y = h.reshape(n * t, *h.shape[2:])
            conv = self._conv(i, layer)
            if isinstance(conv, Int8SpikeConv):
                y = y.to(torch.uint8)  # before the pool: a quarter of the bytes to scan
            if layer.pre_pool is not None:
                y = max_pool2(y)  # max of {0, 1} stays in {0, 1}
            # NCHW for ASA and the neuron: their reductions and in-place loop over an NHWC
            # tensor cost more than this copy (5-layer net: 73 -> 58 ms per window, 1 thread)
            cur = to_nchw(conv(y))
            cur = cur.reshape(n, t, *cur.shape[1:])
            if histories is not None and histories[i] is not None:  # sliding ASA
                cur, histories[i], owned = attend_sliding(
                    layer, cur, histories[i], spaces[i][0], self.fused
                )
            else:
                cur, owned = attend(
                    layer, cur, model.config.chunk_windows, self.fused, spaces[i][1]
                )
            # in place from inplace_min_neurons up, and after a block that ran in place: its
            # spikes are bool already (the model's loop would make float spikes, and the next
            # int8 conv turn them back into uint8)
            chained = h.dtype == torch.uint8 and i > 0
            large = model.layer_neurons[i] >= self.inplace_min_neurons
            inplace = self.fused and (large or chained)
            if owned and inplace and supports_inplace(layer.neuron):
                h, mem = spike_inplace_(layer.neuron, cur, state.membranes[i], spaces[i][1])
            else:
                h, mem = layer.neuron(cur, state.membranes[i])
            membranes.append(mem)
            if h.dtype == torch.bool:
                h = h.view(torch.uint8)  # the next conv's int8 input, no copy
                counts.append(spike_counts(h.view(n, t, -1)).to(cur.dtype))
            else:
                counts.append(h.sum(dim=(2, 3, 4), dtype=cur.dtype))
        if model.head_pool is not None:
            h = max_pool2(h.reshape(n * t, *h.shape[2:])).reshape(n, t, -1)
        else:
            h = h.reshape(n, t, -1)  # logical (C, H, W) order, whatever the strides
        hidden = None
        for i in range(self._n_conv, len(layers)):
            fc = layers[i].fc
            if fc.weight.numel() < self.fc_sparse_min_weights:
                # the model's own dense layer (bool / uint8 spikes as floats: the same values)
                cur = fc(h if h.dtype == fc.weight.dtype else h.to(fc.weight.dtype))
            else:
                cur = self._linear(i, layers[i])(h)
            h, mem = layers[i].neuron(cur, state.membranes[i])
            membranes.append(mem)
            counts.append(h.sum(-1))
            if i == len(layers) - 2:
                hidden = h
        out = h
        if model.config.arch == "5layer":
            out = h.reshape(n, t, model.config.num_classes, model.config.voting).mean(-1)
        return ForwardOutput(
            output_spikes=out,
            state=NetState(
                tuple(membranes),
                state.dropout_masks,
                tuple(histories) if histories is not None else None,
            ),
            layer_spikes=torch.stack(counts, -1),
            hidden_spikes=hidden,
        )
