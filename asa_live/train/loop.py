"""One epoch of training and the quick per-epoch evaluation.

Two ways of feeding the network, both through the same ``model.forward(x, state)`` the live app
runs:

* clip mode (the paper): a batch of clips ``[N, T, 2, H, W]`` from a fresh state, cut into
  chunks of K windows (K = T in the paper, so one call), loss = MSE between the mean output
  rate over the T windows and the one-hot target.
* stream mode: a batch of runs ``[N, W, 2, H, W]`` with per-window labels. The first
  ``burn_in_windows`` windows run without gradient (the state warms up as it would mid-stream);
  then ``segments_per_sample`` truncated-BPTT segments of ``bptt_chunks`` chunks follow. Each
  segment is one optimiser step; between segments the state is detached - kept, not reset -
  so the network learns to use context older than its gradient horizon. Windows labelled ``-1``
  (idle gaps) carry no loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from asa_live.train.recipes import TrainConfig

__all__ = [
    "ChunkRunner",
    "EpochStats",
    "autocast_context",
    "clip_loss",
    "evaluate_clips",
    "stream_loss",
    "train_one_epoch",
    "unwrap",
]


@dataclass
class EpochStats:
    """Running sums of one epoch; ``loss`` and ``accuracy`` are means over samples."""

    loss_sum: float = 0.0
    correct: int = 0
    count: int = 0
    steps: int = 0
    #: True when a stop request ended the epoch before its last batch.
    stopped: bool = False
    spikes: torch.Tensor | None = field(default=None, repr=False)

    @property
    def loss(self) -> float:
        return self.loss_sum / max(1, self.count)

    @property
    def accuracy(self) -> float:
        return self.correct / max(1, self.count)

    def add(self, loss: float, correct: int, count: int) -> None:
        self.loss_sum += loss * count
        self.correct += correct
        self.count += count

    def sums(self) -> dict[str, float]:
        """The running sums, to resume an epoch mid-way (:meth:`from_sums`)."""
        return {"loss_sum": self.loss_sum, "correct": self.correct, "count": self.count,
                "steps": self.steps}  # fmt: skip

    @classmethod
    def from_sums(cls, sums: dict[str, float]) -> EpochStats:
        return cls(
            loss_sum=float(sums.get("loss_sum", 0.0)), correct=int(sums.get("correct", 0)),
            count=int(sums.get("count", 0)), steps=int(sums.get("steps", 0)),
        )  # fmt: skip


def unwrap(model: nn.Module) -> nn.Module:
    """The bare network inside DistributedDataParallel / ChunkRunner (config, saving)."""
    model = model.module if hasattr(model, "module") else model
    return model.net if isinstance(model, ChunkRunner) else model


def autocast_context(device: torch.device, enabled: bool):
    """bfloat16 autocast on CUDA when asked; nothing on CPU (CPU autocast only slows LIF loops)."""
    if enabled and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast(device_type="cuda", dtype=dtype)
    return nullcontext()


def clip_loss(output_spikes: torch.Tensor, labels: torch.Tensor, num_classes: int):
    """``output_spikes [N, T, C]``, ``labels [N]`` -> (MSE of mean rate vs one-hot, rates [N, C])."""
    rates = output_spikes.float().mean(1)
    target = F.one_hot(labels, num_classes).float()
    return F.mse_loss(rates, target), rates


def stream_loss(
    output_spikes: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    kind: str,
    background: int | None = None,
    background_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss over one BPTT segment.

    Args:
        output_spikes: ``[N, S, C]`` output spikes of the segment's S windows.
        labels: ``[N, S]`` class per window, ``-1`` = no loss.
        kind: "window" (mean over labelled windows of the per-window MSE vs one-hot) or
            "segment" (per sample: MSE between the mean rate over its labelled windows and the
            mean of their one-hot targets).
        background: index of the "no gesture" output, or None. Its windows (window loss) or
            the samples whose labelled windows are mostly "no gesture" (segment loss) weigh
            ``background_weight``; the mean is taken over the weights.

    Returns:
        (loss, per-sample predicted class [N], per-sample majority label [N] or -1 when the
        sample has no labelled window in this segment).
    """
    out = output_spikes.float()
    mask = (labels >= 0).float()  # [N, S]
    target = F.one_hot(labels.clamp(min=0), num_classes).float() * mask[..., None]
    counts = mask.sum(1)  # [N]
    has = counts > 0
    rate = (out * mask[..., None]).sum(1) / counts.clamp(min=1)[:, None]
    target_rate = target.sum(1) / counts.clamp(min=1)[:, None]
    majority = torch.where(has, target_rate.argmax(-1), torch.full_like(counts, -1).long())
    if kind == "window":
        weight = mask * _background_scale(labels, background, background_weight)
        per_window = ((out - target) ** 2).mean(-1) * weight
        loss = per_window.sum() / weight.sum().clamp(min=1e-12)
    else:
        weight = has.float() * _background_scale(majority, background, background_weight)
        per_sample = ((rate - target_rate) ** 2).mean(-1)
        loss = (per_sample * weight).sum() / weight.sum().clamp(min=1e-12)
    return loss, rate.argmax(-1), majority


def _background_scale(labels: torch.Tensor, background: int | None, weight: float) -> torch.Tensor:
    """1 for gesture targets, ``weight`` for "no gesture" targets (same shape as ``labels``)."""
    ones = torch.ones_like(labels, dtype=torch.float32)
    if background is None or weight == 1.0:
        return ones
    return torch.where(labels == background, ones * weight, ones)


class ChunkRunner(nn.Module):
    """Runs a network over ``W`` windows, K at a time, carrying the state: one ``forward``.

    DistributedDataParallel expects one forward per backward; a BPTT segment is many network
    calls, so the whole segment is this module's single forward, and DDP wraps this module.
    ``forward(x [N, W, 2, H, W], state | None) -> (output_spikes [N, W, C],
    layer_spikes [N, W, L], state)``. ``W`` must be a multiple of K (or any length without ASA).
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, state=None):
        return _run_chunks(self.net, x, state, self.net.chunk_windows)


def _run_chunks(model: nn.Module, x: torch.Tensor, state, chunk: int):
    """Feed ``x [N, W, ...]`` through the model K windows at a time, carrying the state.

    Returns (output spikes ``[N, W, C]``, layer spikes ``[N, W, L]``, final state).
    """
    outs, layers = [], []
    for start in range(0, x.shape[1], chunk):
        result = model(x[:, start : start + chunk], state)
        state = result.state
        outs.append(result.output_spikes)
        layers.append(result.layer_spikes)
    return torch.cat(outs, 1), torch.cat(layers, 1), state


def _forward(model: nn.Module, x: torch.Tensor, state):
    """A ChunkRunner (possibly inside DDP) or a bare network."""
    inner = model.module if hasattr(model, "module") else model
    if isinstance(inner, ChunkRunner):
        return model(x, state)
    return _run_chunks(model, x, state, inner.chunk_windows)


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    cfg: TrainConfig,
    device: torch.device,
    *,
    scaler: torch.amp.GradScaler | None = None,
    progress=None,
    max_steps: int = 0,
    stats: EpochStats | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> EpochStats:
    """Train for one pass over ``loader``; returns loss / accuracy of the training samples.

    ``cfg`` is a TrainConfig (mode, chunk_windows, bptt_chunks, segments_per_sample,
    burn_in_windows, stream_loss, amp, grad_clip). ``progress`` (a tqdm bar or None) gets
    ``update(1)`` per batch and a postfix with the running loss and accuracy.

    Resuming mid-epoch: ``loader`` yields the remaining batches and ``stats`` holds the sums
    of the ones before (``stats.steps`` of them). ``should_stop()`` is asked after every batch;
    when it says yes the epoch ends there with ``stopped`` set.
    """
    model.train()
    net = unwrap(model)
    num_classes = net.config.num_classes
    k = net.chunk_windows
    stats = stats if stats is not None else EpochStats()
    for x, y in loader:
        if max_steps and stats.steps >= max_steps:
            break
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        if cfg.mode == "clip":
            optimizer.zero_grad(set_to_none=True)
            with autocast_context(device, cfg.amp):
                out, _, _ = _forward(model, x, None)
                loss, rates = clip_loss(out, y, num_classes)
            _step(loss, model, optimizer, scaler, cfg.grad_clip)
            correct = int((rates.argmax(-1) == y).sum())
            stats.add(float(loss.detach()), correct, int(y.shape[0]))
        else:
            _train_stream_batch(model, x, y, optimizer, cfg, device, scaler, stats, k, num_classes)
        stats.steps += 1
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{stats.loss:.4f}", acc=f"{stats.accuracy:.3f}")
        if not math.isfinite(stats.loss):
            raise FloatingPointError("the training loss became NaN/inf; lower --lr")
        if should_stop is not None and should_stop():
            stats.stopped = True
            break
    return stats


def _train_stream_batch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    cfg: TrainConfig,
    device: torch.device,
    scaler: torch.amp.GradScaler | None,
    stats: EpochStats,
    k: int,
    num_classes: int,
) -> None:
    net = unwrap(model)
    state = net.initial_state(x.shape[0], device=device)
    burn = cfg.burn_in_windows
    if burn:
        # Warm the state up as if the stream had been running; no graph is kept. The model
        # stays in train mode so the dropout masks drawn here are the ones used below.
        with torch.no_grad(), autocast_context(device, cfg.amp):
            _, _, state = _forward(model, x[:, :burn], state)
    seg_windows = cfg.bptt_chunks * k
    for s in range(cfg.segments_per_sample):
        lo = burn + s * seg_windows
        labels = y[:, lo : lo + seg_windows]
        optimizer.zero_grad(set_to_none=True)
        with autocast_context(device, cfg.amp):
            out, _, state = _forward(model, x[:, lo : lo + seg_windows], state)
            loss, pred, majority = stream_loss(
                out, labels, num_classes, cfg.stream_loss,
                num_classes - 1 if cfg.no_gesture else None, cfg.background_weight,
            )  # fmt: skip
        # Step even when no window of this segment is labelled (loss 0, zero gradient):
        # under DDP every rank must run the same backward passes, or the all-reduce hangs.
        _step(loss, model, optimizer, scaler, cfg.grad_clip)
        state = state.detach()  # truncated BPTT: keep the values, drop the graph
        has = majority >= 0
        n = int(has.sum())
        if n:
            stats.add(float(loss.detach()), int((pred[has] == majority[has]).sum()), n)


def _step(loss, model, optimizer, scaler, grad_clip: float) -> None:
    if scaler is not None:
        scaler.scale(loss).backward()
        if grad_clip > 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        if grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()


@torch.no_grad()
def evaluate_clips(
    model: nn.Module,
    loader: Iterable,
    device: torch.device,
    *,
    amp: bool = False,
    progress=None,
) -> dict[str, torch.Tensor]:
    """Classify every clip of ``loader`` on its own (fresh state), in eval mode.

    Returns ``pred [M]`` (argmax of the mean output rate; ``-1`` for a clip whose output layer
    never fired, which never counts as correct), ``label [M]``, ``rates [M, C]`` and
    ``layer_spikes [L]`` summed over all clips and windows, plus ``windows`` (clip windows seen).
    """
    model.eval()
    net = unwrap(model)
    preds, labels, rates_all = [], [], []
    layer_total = torch.zeros(len(net.layer_names), dtype=torch.float64)
    windows = 0
    for x, y in loader:
        x = x.to(device, non_blocking=True)
        with autocast_context(device, amp):
            out, layer_spikes, _ = _forward(model, x, None)
        rates = out.float().mean(1).cpu()
        pred = rates.argmax(-1)
        pred[rates.sum(-1) == 0] = -1
        preds.append(pred)
        labels.append(torch.as_tensor(y))
        rates_all.append(rates)
        layer_total += layer_spikes.double().sum((0, 1)).cpu()
        windows += x.shape[0] * x.shape[1]
        if progress is not None:
            progress.update(1)
    return {
        "pred": torch.cat(preds),
        "label": torch.cat(labels),
        "rates": torch.cat(rates_all),
        "layer_spikes": layer_total,
        "windows": torch.tensor(windows),
    }
