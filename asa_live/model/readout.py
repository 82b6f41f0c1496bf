"""The decision readout over time, shared by evaluation and the live app.

Given output spikes o[t] (per window, per class), the class scores are either
    "mean":   y[t] = (1 / n_t) * sum_{i = t - n_t + 1}^{t} o[i],   n_t = min(W, t + 1)
              (running mean over the last W windows; W = 60 reproduces the paper's mean over a
              60-window clip at the clip's last window), or
    "leaky":  y[t] = d * y[t-1] + (1 - d) * o[t],  y[-1] = 0   (leaky integrator, decay d).

The readout state is a value (``ReadoutState``) and the same ``update`` serves a whole offline
sequence or one window at a time, so offline scores equal streaming scores bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from asa_live.errors import ConfigError

READOUT_KINDS = ("mean", "leaky")


class ReadoutState(NamedTuple):
    """``history [N, W-1, C]``: the last W-1 windows (zeros before the stream began);
    ``level [N, C]``: the leaky integrator; ``seen``: windows consumed so far."""

    history: torch.Tensor
    level: torch.Tensor
    seen: int


@dataclass(frozen=True)
class Readout:
    """Class scores from output spikes: running mean over ``windows`` windows or leaky integrator.

    Use ``init`` / ``update`` for streams (state as a value), ``scores`` for a whole offline
    tensor, or :class:`ReadoutTracker` for a small stateful object with ``reset()``.
    """

    kind: str = "mean"
    windows: int = 60
    decay: float = 0.9

    def __post_init__(self) -> None:
        if self.kind not in READOUT_KINDS:
            raise ConfigError(f"Readout kind must be one of {READOUT_KINDS}, got {self.kind!r}.")
        if int(self.windows) != self.windows or self.windows < 1:
            raise ConfigError(f"Readout windows must be an integer >= 1, got {self.windows}.")
        if not 0.0 <= self.decay < 1.0:
            raise ConfigError(f"Readout decay must be in [0, 1), got {self.decay}.")

    def init(
        self, batch: int, num_classes: int, device: torch.device | str | None = None
    ) -> ReadoutState:
        """Empty state for ``batch`` streams of ``num_classes`` outputs."""
        history = torch.zeros(batch, self.windows - 1, num_classes, device=device)
        return ReadoutState(history, torch.zeros(batch, num_classes, device=device), 0)

    def update(
        self, spikes: torch.Tensor, state: ReadoutState
    ) -> tuple[torch.Tensor, ReadoutState]:
        """``spikes [N, K, C]`` (K >= 1 windows) -> ``(scores [N, K, C], new state)``."""
        if spikes.dim() != 3:
            raise ValueError(f"Readout expects spikes [N, K, C], got {tuple(spikes.shape)}")
        spikes = spikes.to(state.history.dtype)
        k = spikes.shape[1]
        if self.kind == "mean":
            seq = torch.cat([state.history, spikes], dim=1)  # [N, W-1+K, C]
            # Each window's sum runs over the same W values in the same order however the stream
            # was chunked, so chunked and whole sequences give identical scores.
            sums = seq.unfold(1, self.windows, 1).sum(-1)  # [N, K, C]
            counts = torch.clamp(
                torch.arange(state.seen + 1, state.seen + k + 1, device=spikes.device),
                max=self.windows,
            ).to(sums.dtype)
            scores = sums / counts[None, :, None]
            history = seq[:, seq.shape[1] - (self.windows - 1) :]
            return scores, ReadoutState(history, state.level, state.seen + k)
        level = state.level
        out = []
        for o_t in spikes.unbind(1):
            level = self.decay * level + (1.0 - self.decay) * o_t
            out.append(level)
        return torch.stack(out, 1), ReadoutState(state.history, level, state.seen + k)

    def scores(self, spikes: torch.Tensor) -> torch.Tensor:
        """Offline: ``spikes [N, T, C]`` -> ``scores [N, T, C]`` (each window's score)."""
        state = self.init(spikes.shape[0], spikes.shape[2], device=spikes.device)
        return self.update(spikes, state)[0]

    def final_scores(self, spikes: torch.Tensor) -> torch.Tensor:
        """Offline decision of a clip: the score at its last window, ``[N, C]``."""
        return self.scores(spikes)[:, -1]


def readout_from_provenance(provenance: Mapping[str, Any] | None) -> Readout:
    """The one readout of a checkpoint: the live app, evaluation and training all call this.

    Looked up in the checkpoint's provenance: ``readout`` (``{"kind", "windows", "decay"}``,
    written by every current checkpoint); else, for older checkpoints, the training config's
    ``readout_windows`` / ``readout_kind`` / ``readout_decay`` (what the streaming evaluation
    used); else the documented default ``Readout()`` (running mean over 60 windows).
    """
    provenance = provenance if isinstance(provenance, Mapping) else {}
    spec = provenance.get("readout")
    if isinstance(spec, Mapping):
        return Readout(**{k: spec[k] for k in ("kind", "windows", "decay") if k in spec})
    config = provenance.get("config")
    if isinstance(config, Mapping) and "readout_windows" in config:
        kw: dict[str, Any] = {"windows": int(config["readout_windows"])}
        if "readout_kind" in config:
            kw["kind"] = str(config["readout_kind"])
        if "readout_decay" in config:
            kw["decay"] = float(config["readout_decay"])
        return Readout(**kw)
    return Readout()


class ReadoutTracker:
    """A readout with its own state, for one or more live streams; ``reset()`` forgets them."""

    def __init__(self, readout: Readout, num_classes: int, batch: int = 1) -> None:
        self.readout = readout
        self.num_classes = num_classes
        self.batch = batch
        self.state = readout.init(batch, num_classes)

    def reset(self) -> None:
        self.state = self.readout.init(self.batch, self.num_classes, self.state.history.device)

    def update(self, spikes: torch.Tensor) -> torch.Tensor:
        """``spikes [N, K, C]`` -> ``scores [N, K, C]``."""
        if spikes.device != self.state.history.device:
            self.state = ReadoutState(
                self.state.history.to(spikes.device),
                self.state.level.to(spikes.device),
                self.state.seen,
            )
        scores, self.state = self.readout.update(spikes, self.state)
        return scores
