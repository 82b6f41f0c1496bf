"""Exact resume: where a run stands (:class:`Position`) and every RNG state it depends on.

A run is saved only at points it can continue from exactly: after an optimiser step (the
sampler position is the next batch), after an epoch's training (scheduler stepped, evaluation
pending) and after a whole epoch. With the RNG states (torch CPU and CUDA, numpy, Python) and
the optimiser and scheduler, the resumed run computes the same weights, step for step, as one
that was never interrupted.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["Position", "get_rng_states", "set_rng_states"]


@dataclass(frozen=True)
class Position:
    """Where a run continues.

    ``phase="train"``: epoch ``epoch`` resumes at batch ``batch`` with the running sums
    ``stats`` of the batches before it. ``phase="eval"``: its training is done (``row`` holds the
    training part of its log row); its evaluation, logging and checkpoints are next.
    """

    epoch: int = 0
    phase: str = "train"
    batch: int = 0
    stats: dict[str, float] = field(default_factory=dict)
    row: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_saved(cls, saved: dict[str, Any]) -> Position:
        """From a resume file; files without a position (older runs) hold whole epochs."""
        if "position" not in saved:
            return cls(epoch=int(saved["epoch"]))
        return cls(**json.loads(saved["position"]))


def get_rng_states() -> dict[str, Any]:
    """Every global RNG state a training step may draw from."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy_key": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
        "numpy_rest": json.dumps([np_state[0], int(np_state[2]), int(np_state[3]), np_state[4]]),
        "python": json.dumps(random.getstate()),
    }


def set_rng_states(states: dict[str, Any]) -> None:
    """Undo :func:`get_rng_states` (CUDA states only when this machine has the same GPUs)."""
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.device_count() == len(states["cuda"]):
        torch.cuda.set_rng_state_all(states["cuda"])
    if "numpy_key" in states:
        name, pos, has_gauss, cached = json.loads(states["numpy_rest"])
        key = states["numpy_key"].numpy().astype(np.uint32)
        np.random.set_state((name, key, pos, has_gauss, cached))
    if "python" in states:
        version, internal, gauss = json.loads(states["python"])
        random.setstate((version, tuple(internal), gauss))
