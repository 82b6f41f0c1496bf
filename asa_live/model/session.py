"""The live session: owns the network state for one stream and feeds it one window at a time.

    push(frame [2, H, W]) -> list[WindowResult]
    push_many(frames [B, 2, H, W]) -> list[WindowResult]

Frames are buffered until K = ``model.config.chunk_windows`` windows are in; then one chunk runs
(every window when K = 1, as with sliding ASA, whose window history lives in the network state)
and one result per window of the chunk comes back, in order.
``push_many`` runs every chunk its frames complete in a single forward call (the network accepts
m*K windows at once), which saves the fixed per-call overhead when many windows are ready at once
(fast file replay); its results equal B calls of ``push`` (tested). Membrane
potentials and the readout carry over from chunk to chunk until ``reset()``. Inference runs under
``torch.inference_mode`` with the model in eval mode, so the session's outputs equal an offline
call on the same windows (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from asa_live.errors import ConfigError
from asa_live.model.networks import AsaSnn, NetState
from asa_live.model.readout import REASONS, Readout, ReadoutState


@dataclass(frozen=True)
class WindowResult:
    """What the network said about one window.

    Attributes:
        index: window number since the last ``reset()`` (0-based).
        scores: ``[num_classes]`` readout scores of every output (mean output spike rate, in
            [0, 1]; the background output last when the readout has one).
        predicted: the decided gesture (``Readout.decide``), or -1 (NO_GESTURE_ID) when it
            abstains: no output spike yet, the background output wins, or the top gesture's
            probability is under the readout's threshold.
        confidence: probability of the shown outcome (see ``Readout.decide``).
        layer_spikes: ``[L]`` spike count of each spiking layer in this window.
        output_spikes: ``[num_classes]`` output spikes of this window.
        probs: ``[gestures]`` calibrated probabilities of the gesture classes (background
            output excluded; the raw rates for an uncalibrated readout; 0 without output).
        reason: why it abstains: None, "background", "low_confidence" or "no_output".
    """

    index: int
    scores: np.ndarray
    predicted: int
    confidence: float
    layer_spikes: np.ndarray
    output_spikes: np.ndarray
    probs: np.ndarray
    reason: str | None = None


class StreamingSession:
    """Runs a model over a live stream of frames for a single stream (batch 1).

    Args:
        model: the network; it is switched to eval mode.
        readout: the decision readout (default: running mean over the last 60 windows).
    """

    def __init__(self, model: AsaSnn, readout: Readout | None = None) -> None:
        self.model = model.eval()
        self.readout = readout if readout is not None else Readout()
        cfg = model.config
        self.chunk_windows = cfg.chunk_windows
        self.frame_shape = (cfg.in_channels, *cfg.input_size)
        self.num_classes = cfg.num_classes
        param = next(model.parameters())
        self.device = param.device
        self.dtype = param.dtype
        self.layer_names = model.layer_names
        self.reset()

    def reset(self) -> None:
        """Forget the stream: membranes at rest, readout empty, pending windows dropped."""
        self._state: NetState = self.model.initial_state(1, device=self.device, dtype=self.dtype)
        self._readout_state: ReadoutState = self.readout.init(
            1, self.num_classes, device=self.device
        )
        self._pending: list[torch.Tensor] = []
        self._next_index = 0

    @property
    def pending(self) -> int:
        """Windows buffered but not yet run (always < K)."""
        return len(self._pending)

    @property
    def windows_seen(self) -> int:
        return self._next_index + len(self._pending)

    def push(self, frame: np.ndarray | torch.Tensor) -> list[WindowResult]:
        """Add one window ``frame [in_channels, H, W]`` (event counts); returns the results of
        the chunk it completed (K results), or an empty list while the chunk is filling."""
        tensor = torch.as_tensor(frame)
        if tuple(tensor.shape) != self.frame_shape:
            raise ConfigError(
                f"The model expects frames of shape {self.frame_shape} (channels, H, W), got "
                f"{tuple(tensor.shape)}; bin events with the checkpoint's binning config."
            )
        self._pending.append(tensor.to(self.device, self.dtype))
        if len(self._pending) < self.chunk_windows:
            return []
        chunk = torch.stack(self._pending)[None]  # [1, K, C, H, W]
        self._pending = []
        return self._run(chunk)

    def push_many(self, frames: np.ndarray | torch.Tensor) -> list[WindowResult]:
        """Add ``frames [B, in_channels, H, W]`` (B >= 0 consecutive windows) at once.

        All chunks that the pending windows and these frames complete run in one forward call
        of m*K windows; the remaining (< K) windows stay pending. Returns the same results as
        ``push`` called on each frame in turn, in window order.
        """
        tensor = torch.as_tensor(frames)
        if tensor.dim() != 4 or tuple(tensor.shape[1:]) != self.frame_shape:
            raise ConfigError(
                f"push_many expects frames of shape (B, {', '.join(map(str, self.frame_shape))}) "
                f"(windows, channels, H, W), got {tuple(tensor.shape)}; bin events with the "
                f"checkpoint's binning config."
            )
        if tensor.shape[0] == 0:
            return []
        tensor = tensor.to(self.device, self.dtype)
        if self._pending:
            tensor = torch.cat([torch.stack(self._pending), tensor])
        ready = tensor.shape[0] - tensor.shape[0] % self.chunk_windows
        self._pending = list(tensor[ready:].unbind(0))
        if ready == 0:
            return []
        return self._run(tensor[:ready][None])  # [1, m*K, C, H, W]

    def _run(self, chunk: torch.Tensor) -> list[WindowResult]:
        with torch.inference_mode():
            out = self.model(chunk, self._state)
            hidden = out.hidden_spikes if self.readout.has_presence else None
            scores, self._readout_state = self.readout.update(
                out.output_spikes, self._readout_state, hidden
            )
        self._state = out.state
        scores_np = scores[0].cpu().numpy()
        decision = self.readout.decide(scores_np)
        spikes_np = out.output_spikes[0].cpu().numpy()
        layers_np = out.layer_spikes[0].cpu().numpy().round().astype(np.int64)
        class_ids = decision.class_id.tolist()
        confidences = decision.confidence.tolist()
        reasons = decision.reason.tolist()
        probs_np = decision.probs
        results = []
        for i in range(chunk.shape[1]):
            results.append(
                WindowResult(
                    index=self._next_index + i,
                    scores=scores_np[i],
                    predicted=class_ids[i],
                    confidence=confidences[i],
                    layer_spikes=layers_np[i],
                    output_spikes=spikes_np[i],
                    probs=probs_np[i],
                    reason=REASONS[reasons[i]],
                )
            )
        self._next_index += chunk.shape[1]
        return results
