"""Reused scratch memory for the fast backend's in-place ops, one set per thread.

A buffer that only lives within one call (ASA's per-plane maps, the neuron's reset term) is
taken from here instead of being allocated per window: at the 5-layer net's first block such
a buffer is 8 MB, and fresh memory of that size costs page faults, not arithmetic. Nothing of
the stream is kept here (every call overwrites what it reads), so two threads must not share
a ``Scratch``: the runner keeps one per thread.
"""

from __future__ import annotations

import torch


class Scratch:
    """Named buffers, remade when the shape, dtype, device or inference mode changes (a
    tensor made inside ``torch.inference_mode`` cannot be written outside it)."""

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """An uninitialised contiguous tensor of ``shape`` with ``like``'s dtype and device."""
        buf = self._buffers.get(name)
        if (
            buf is None
            or buf.shape != shape
            or buf.dtype != like.dtype
            or buf.device != like.device
            or buf.is_inference() != torch.is_inference_mode_enabled()
        ):
            buf = torch.empty(shape, dtype=like.dtype, device=like.device)
            self._buffers[name] = buf
        return buf
