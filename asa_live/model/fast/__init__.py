"""Inference backends for the streaming network: ``make_runner(model, backend)``.

    eager   the model itself (the reference: float convs with BN and pooling folded in)
    fast    ``FastSnn``: int8 convs on binary spikes, sparse fully connected layers, chunked and
            sliding ASA and LIF / PLIF in place on the conv output (runner.py, attention.py,
            sliding.py, neurons.py); equal predictions on >= 99.5 % of windows (tested)
    auto    (default) whichever measured faster for this network: "fast" for sliding ASA (its
            fused step: 1.2-1.5x faster than the eager one at K = 8, both widths) and when at least one conv is
            large enough to run int8 (paper widths: 1.1-1.7x), else "eager" (the shipped
            16/32/32 net with chunked ASA, where "fast" measured 0.90-0.98x;
            docs/benchmarks.md)

Both return an object with the model contract: ``initial_state(batch)``, ``forward(x, state) ->
ForwardOutput``, ``config``, ``layer_names``; ``StreamingSession`` takes either as its model.
"""

from __future__ import annotations

from torch import nn

from asa_live.errors import ConfigError
from asa_live.model.fast.int8conv import Int8SpikeConv, int8_conv_available
from asa_live.model.fast.runner import FastSnn
from asa_live.model.fast.sparse_linear import SparseSpikeLinear
from asa_live.model.networks import AsaSnn

BACKENDS = ("auto", "eager", "fast")
DEFAULT_BACKEND = "auto"


def make_runner(model: AsaSnn, backend: str = DEFAULT_BACKEND) -> nn.Module:
    """The network ``model`` run by ``backend`` ("auto", "eager" or "fast"); same ``forward``
    contract."""
    if backend == "eager":
        return model
    if backend == "fast":
        return FastSnn(model)
    if backend == "auto":
        fast = FastSnn(model)
        sliding = getattr(model.config, "asa_mode", "chunk") == "sliding"
        return fast if sliding or fast.int8_layers() else model
    raise ConfigError(f"Unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "FastSnn",
    "Int8SpikeConv",
    "SparseSpikeLinear",
    "int8_conv_available",
    "make_runner",
]
