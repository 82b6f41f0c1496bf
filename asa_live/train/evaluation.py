"""The two evaluation protocols.

Paper protocol (Yao et al., from the authors' release): every test segment gives
``num_clips`` (10) clips of ``clip_windows`` (60 x 15 ms = 900 ms) windows, spread evenly from
its start to its end. Each clip is classified on its own, from a fresh network state, by the
argmax of its mean output rate. A segment counts as correct when MORE than half of its clips
are (6 of 10; 5 of 10 is not enough). A clip whose output layer never fires has no prediction
and counts as wrong (argmax of all zeros would silently answer class 0).

Streaming protocol (ours; the paper has none): each continuous labelled recording - idle gaps
and all - runs through the network window by window from one initial state, as in the live
app, with the shared :class:`asa_live.model.readout.Readout` turning output spikes into a
decision per window. Reported:

* per-window accuracy over the windows inside labelled segments, and the same after a grace
  period (``onset_grace_ms``) that gives the network time to notice a new gesture;
* gesture-onset latency per segment: time from the segment's first whole window to the end of
  the first window whose prediction stays correct through the segment's last window (the
  prediction of window i exists at the end of window i); a segment whose last prediction is
  wrong has no latency (reported as missed);
* accuracy against time since onset, a per-window confusion matrix;
* NASFR (total spikes / (spiking neurons x windows), all spiking layers) and per-layer rates;
* "no gesture" (``no_gesture_report``): false alarms per minute on negative streams (sequences
  without any gesture segment), the no-gesture fraction of idle-gap windows, the ECE of the
  confidences, and the AUROC of "gesture present" of the calibrated decision side by side
  with the maximum-softmax-probability baseline (Hendrycks & Gimpel, ICLR 2017) on the same
  outputs. Predictions come from the checkpoint's decision (``Readout.decide``), exactly as
  in the live app.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from asa_live.model.metrics import (
    FiringRateMeter,
    auroc,
    expected_calibration_error,
    false_alarms_per_minute,
    idle_gap_mask,
    msp_score,
)
from asa_live.model.readout import Readout
from asa_live.progress import progress_bar
from asa_live.train.data import ClipDataset, LabelledSequence, grace_windows, stream_targets
from asa_live.train.loop import autocast_context, evaluate_clips, unwrap

__all__ = [
    "firing_summary",
    "no_gesture_report",
    "onset_latency_windows",
    "paper_protocol",
    "streaming_protocol",
    "vote_segments",
]


def vote_segments(clip_pred: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Majority rule of the paper: ``clip_pred [S, n]``, ``labels [S]`` -> correct ``[S]`` bool.

    A segment is correct iff strictly more than ``n / 2`` of its clips predict its label.
    """
    clip_pred = np.asarray(clip_pred)
    labels = np.asarray(labels)
    if clip_pred.ndim != 2 or labels.shape != (clip_pred.shape[0],):
        raise ValueError(
            f"vote_segments needs clip_pred [S, n] and labels [S], got {clip_pred.shape} and "
            f"{labels.shape}"
        )
    hits = (clip_pred == labels[:, None]).sum(1)
    return hits * 2 > clip_pred.shape[1]


def firing_summary(
    layer_spikes: torch.Tensor | np.ndarray,
    layer_neurons: Sequence[int],
    layer_names: Sequence[str],
    windows: int,
) -> dict[str, Any]:
    """NASFR and per-layer rates from spike totals ``[L]`` summed over ``windows`` sample-windows.

    NASFR = sum of all spikes / (sum of all spiking neurons x windows), the paper's definition
    (every spiking layer, output layer included). A layer's rate = its spikes / (its neurons x
    windows), i.e. the probability that one of its neurons fires in one window.
    """

    meter = FiringRateMeter(layer_names, layer_neurons)
    meter.update(np.asarray(layer_spikes, dtype=np.float64), n_windows=int(windows))
    rates = meter.compute()
    return {
        "nasfr": rates.nasfr,
        "layer_rates": dict(zip(rates.layer_names, rates.per_layer, strict=True)),
        "windows": int(windows),
    }


def _confusion(pred: np.ndarray, label: np.ndarray, num_classes: int) -> np.ndarray:
    """``[C, C + 1]`` counts: rows = true class, columns = predicted class, last = no output."""
    matrix = np.zeros((num_classes, num_classes + 1), dtype=np.int64)
    cols = np.where(pred < 0, num_classes, pred)
    np.add.at(matrix, (label, cols), 1)
    return matrix


def paper_protocol(
    model: torch.nn.Module,
    sequences: Sequence[LabelledSequence],
    *,
    clip_windows: int = 60,
    num_clips: int = 10,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    amp: bool = False,
    max_segments: int = 0,
    progress: bool = False,
    readout: Readout | None = None,
) -> dict[str, Any]:
    """The paper's test: ``num_clips`` clips per labelled segment, majority vote per segment.

    With a background output (``readout.background``), a clip won by it has no prediction.

    Returns segment accuracy (the paper's number), clip accuracy, the number of segments and
    clips, NASFR / per-layer rates over all clips, the segment-level confusion matrix (rows =
    true class, columns = the clips' most frequent prediction, last column = no output).
    """
    device = torch.device(device)
    net = unwrap(model)
    ds = ClipDataset(
        sequences, clip_windows, train=False, num_clips=num_clips, max_items=max_segments
    )
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False)
    bar = None
    if progress:
        bar = progress_bar(total=len(loader), desc="paper protocol", leave=False)
    result = evaluate_clips(model, loader, device, amp=amp, progress=bar)
    if bar is not None:
        bar.close()
    n_seg = len(ds.segments)
    num_classes = net.config.num_classes - int(readout is not None and readout.background)
    clip_pred = result["pred"].numpy().reshape(n_seg, num_clips)
    clip_pred = np.where(clip_pred >= num_classes, -1, clip_pred)  # the background output
    labels = np.array([seg[1] for seg in ds.segments], dtype=np.int64)
    seg_correct = vote_segments(clip_pred, labels)
    votes = np.zeros((n_seg, num_classes + 1), dtype=np.int64)
    for i in range(n_seg):
        for p in clip_pred[i]:
            votes[i, p if p >= 0 else num_classes] += 1
    seg_pred = votes.argmax(1)
    seg_pred = np.where(seg_pred == num_classes, -1, seg_pred)
    out = {
        "protocol": "paper",
        "segments": n_seg,
        "clips_per_segment": num_clips,
        "clip_windows": clip_windows,
        "segment_accuracy": float(seg_correct.mean()),
        "clip_accuracy": float((clip_pred == labels[:, None]).mean()),
        "confusion": _confusion(seg_pred, labels, num_classes).tolist(),
    }
    out.update(
        firing_summary(
            result["layer_spikes"], net.layer_neurons, net.layer_names, int(result["windows"])
        )
    )
    return out


def _quantile(values: np.ndarray, q: float) -> float | None:
    """Quantile of latencies where a missed segment is +inf; None when it lands on a miss.

    Interpolated as usual when every value is finite; with misses, the nearest rank above is
    used (interpolating towards infinity is meaningless).
    """
    if values.size == 0:
        return None
    if np.isfinite(values).all():
        return float(np.quantile(values, q))
    value = float(np.quantile(values, q, method="higher"))
    return value if math.isfinite(value) else None


def onset_latency_windows(correct: np.ndarray) -> int | None:
    """Index of the first window from which every prediction to the end is correct.

    ``correct [S]`` bool per window of one segment; None when the last window is wrong.
    """
    correct = np.asarray(correct, dtype=bool)
    if correct.size == 0 or not correct[-1]:
        return None
    wrong = np.flatnonzero(~correct)
    return 0 if wrong.size == 0 else int(wrong[-1]) + 1


@torch.no_grad()
def run_sequences(
    model: torch.nn.Module,
    sequences: Sequence[LabelledSequence],
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 8,
    amp: bool = False,
    progress: bool = False,
) -> list[dict[str, np.ndarray]]:
    """Each sequence from one initial state, chunk after chunk (eval mode).

    Sequences are batched as independent streams (zero-padded to a whole number of chunks;
    the padding is cut off again). Returns per sequence ``output_spikes [T, C]``,
    ``layer_spikes [T, L]`` and ``hidden_spikes [T, hidden]`` (uint8: what a readout's
    presence head reads).
    """
    device = torch.device(device)
    model.eval()
    net = unwrap(model)
    k = net.chunk_windows
    results: list[dict[str, np.ndarray]] = []
    order = sorted(range(len(sequences)), key=lambda i: sequences[i].num_windows)
    by_index: dict[int, dict[str, np.ndarray]] = {}
    bar = progress_bar(total=len(order), desc="streaming", unit="recording", disable=not progress)
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        length = max(sequences[i].num_windows for i in idx)
        length = math.ceil(length / k) * k
        state = net.initial_state(len(idx), device=device)
        outs, layers, hiddens = [], [], []
        for start in range(0, length, k):
            x = np.zeros((len(idx), k, *sequences[idx[0]].frames.shape[1:]), dtype=np.float32)
            for row, i in enumerate(idx):
                part = sequences[i].frames[start : start + k]
                x[row, : part.shape[0]] = part
            with autocast_context(device, amp):
                result = model(torch.from_numpy(x).to(device), state)
            state = result.state
            outs.append(result.output_spikes.float().cpu())
            layers.append(result.layer_spikes.float().cpu())
            hidden = getattr(result, "hidden_spikes", None)
            if hidden is None:  # a network without one (no presence head can read it)
                hidden = torch.zeros(*result.output_spikes.shape[:2], 0)
            hiddens.append(hidden.to(torch.uint8).cpu())
        out = torch.cat(outs, 1).numpy()
        lay = torch.cat(layers, 1).numpy()
        hid = torch.cat(hiddens, 1).numpy()
        for row, i in enumerate(idx):
            n = sequences[i].num_windows
            by_index[i] = {
                "output_spikes": out[row, :n],
                "layer_spikes": lay[row, :n],
                "hidden_spikes": hid[row, :n],
            }
        bar.update(len(idx))
    bar.close()
    for i in range(len(sequences)):
        results.append(by_index[i])
    return results


def streaming_protocol(
    model: torch.nn.Module,
    sequences: Sequence[LabelledSequence],
    *,
    readout=None,
    onset_grace_ms: float = 300.0,
    device: torch.device | str = "cpu",
    batch_size: int = 8,
    amp: bool = False,
    curve_max_ms: float = 3000.0,
    runs: list[dict[str, np.ndarray]] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Continuous recordings, window by window, as the live app sees them (see module doc).

    ``runs``: the outputs of :func:`run_sequences` for these sequences, when already computed
    (comparing readouts then costs no network pass).
    """
    net = unwrap(model)
    readout = readout if readout is not None else Readout()
    num_classes = net.config.num_classes - int(readout.background)
    if runs is None:
        runs = run_sequences(
            model, sequences, device=device, batch_size=batch_size, amp=amp, progress=progress
        )
    all_pred, all_label, after_grace = [], [], []
    latencies_ms: list[float | None] = []
    per_segment = []
    window_us = sequences[0].window_us if sequences else 15_000
    window_ms = window_us / 1000.0
    grace_windows = int(math.ceil(onset_grace_ms / window_ms))
    curve_len = int(curve_max_ms // window_ms)
    curve_hits = np.zeros(curve_len)
    curve_counts = np.zeros(curve_len)
    layer_total = None
    total_windows = 0
    streams, negatives = [], []
    hits_all: list[np.ndarray] = []
    for seq, run in zip(sequences, runs, strict=True):
        scores = readout.stream_scores(run)  # [T, C_out]
        pred = readout.decide(scores).class_id  # -1: no gesture
        hits_all.append(_all_window_hits(pred, seq, window_us))
        if len(seq.segments):
            streams.append((scores, seq.window_labels))
        else:
            negatives.append(scores)
        layer_sum = run["layer_spikes"].astype(np.float64).sum(0)
        layer_total = layer_sum if layer_total is None else layer_total + layer_sum
        total_windows += seq.num_windows
        for row in seq.segments:
            c, s, e = int(row["class_id"]), int(row["start"]), int(row["end"])
            correct = pred[s:e] == c
            all_pred.append(pred[s:e])
            all_label.append(np.full(e - s, c))
            offsets = np.arange(e - s)
            after_grace.append(offsets >= grace_windows)
            m = min(curve_len, e - s)
            curve_hits[:m] += correct[:m]
            curve_counts[:m] += 1
            onset = onset_latency_windows(correct)
            latency = None if onset is None else (onset + 1) * window_ms
            latencies_ms.append(latency)
            per_segment.append(
                {
                    "sequence": seq.name,
                    "class_id": c,
                    "start_window": s,
                    "end_window": e,
                    "accuracy": float(correct.mean()) if e > s else 0.0,
                    "onset_latency_ms": latency,
                }
            )
    pred = np.concatenate(all_pred) if all_pred else np.zeros(0, dtype=np.int64)
    label = np.concatenate(all_label) if all_label else np.zeros(0, dtype=np.int64)
    grace = np.concatenate(after_grace) if after_grace else np.zeros(0, dtype=bool)
    found = [v for v in latencies_ms if v is not None]
    # Missed segments count as infinitely late, so the median is honest about them.
    padded = np.array([v if v is not None else np.inf for v in latencies_ms])
    median = _quantile(padded, 0.5)
    p90 = _quantile(padded, 0.9)
    out: dict[str, Any] = {
        "protocol": "streaming",
        "recordings": len(sequences),
        "segments": len(latencies_ms),
        "readout": readout.to_spec(),
        "window_ms": window_ms,
        "onset_grace_ms": onset_grace_ms,
        "window_accuracy": float((pred == label).mean()) if label.size else float("nan"),
        "window_accuracy_after_grace": float((pred[grace] == label[grace]).mean())
        if grace.any()
        else float("nan"),
        "window_accuracy_with_no_gesture": float(np.concatenate(hits_all).mean())
        if readout.background and sum(h.size for h in hits_all)
        else None,
        "onset_latency_ms": {
            "median": median,
            "mean_found": float(np.mean(found)) if found else None,
            "p90": p90,
            "missed": int(sum(v is None for v in latencies_ms)),
        },
        "accuracy_vs_onset": {
            "ms": (np.arange(curve_len)[curve_counts > 0] * window_ms + window_ms).tolist(),
            "accuracy": (curve_hits[curve_counts > 0] / curve_counts[curve_counts > 0]).tolist(),
        },
        "confusion": _confusion(pred, label, num_classes).tolist(),
        "per_segment": per_segment,
        "no_gesture": no_gesture_report(readout, streams, negatives, window_us),
    }
    if layer_total is not None:
        out.update(firing_summary(layer_total, net.layer_neurons, net.layer_names, total_windows))
    return out


def _all_window_hits(pred: np.ndarray, seq: LabelledSequence, window_us: int) -> np.ndarray:
    """Per scored window, whether the decision is right, "no gesture" windows included.

    The windows the training targets score (asa_live.train.data.targets, 300 ms grace): a
    gesture window is right when its class is decided, a "no gesture" window when the decision
    abstains (-1); the grace windows around each gesture are left out.
    """
    sentinel = np.iinfo(np.int64).max
    target = stream_targets(seq.window_labels, seq.segments, background=sentinel,
                            grace=grace_windows(300.0, window_us))  # fmt: skip
    scored = target >= 0
    want = np.where(target == sentinel, -1, target)
    return (pred == want)[scored]


def _fpr_at_tpr(scores: np.ndarray, positive: np.ndarray, tpr: float = 0.95) -> float | None:
    """Fraction of negatives scored >= the highest threshold that keeps ``tpr`` of positives."""
    pos, neg = np.sort(scores[positive]), scores[~positive]
    if pos.size == 0 or neg.size == 0:
        return None
    return float((neg >= pos[int(math.floor((1.0 - tpr) * pos.size))]).mean())


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def no_gesture_report(
    readout: Readout,
    recordings: Sequence[tuple[torch.Tensor, np.ndarray]],
    negatives: Sequence[torch.Tensor],
    window_us: int,
    *,
    idle_after_ms: float = 600.0,
) -> dict[str, Any]:
    """Both sides of "no gesture" from per-window readout scores.

    Args:
        readout: the decision (``readout_from_provenance`` of the checkpoint).
        recordings: per gesture recording ``(scores [T, C_out], window_labels [T])``, labels
            -1 outside gestures.
        negatives: per negative stream (no gesture at all) ``scores [T, C_out]``.
        window_us: window length.
        idle_after_ms: idle-gap windows start this long after a gesture ends.

    Scored windows: every gesture window, every negative window, and the idle windows of the
    recordings except the ``idle_after_ms`` after a gesture (where the readout still rightly
    remembers it). ECE: the decision's confidence vs "its outcome is the label" (-1 = no
    gesture). AUROC of "gesture present": ours = calibrated top-gesture probability, MSP =
    max softmax (T = 1) of the same scores over the gesture outputs. Undefined values are None.
    """
    parts = [_score_stream(readout, s, y, window_us, idle_after_ms) for s, y in recordings]
    parts += [_score_stream(readout, s, None, window_us, idle_after_ms) for s in negatives]

    def cat(key: str) -> np.ndarray:
        arrays = [p[key] for p in parts if p[key] is not None]
        return np.concatenate(arrays) if arrays else np.zeros(0)

    positive, idle = cat("positive").astype(bool), cat("idle_abstain").astype(bool)
    active = [p["active"] for p in parts if p["active"] is not None]
    neg_windows = sum(a.size for a in active)
    ours, msp = cat("ours"), cat("msp")
    return {
        "readout": readout.to_spec(),
        "windows": {
            "gesture": int(positive.sum()),
            "no_gesture": int((~positive).sum()),
            "idle_gap": int(idle.size),
            "negative": int(neg_windows),
        },
        "negative_minutes": neg_windows * window_us / 60e6,
        "fa_per_minute": _nan_to_none(false_alarms_per_minute(active, window_us)),
        "negative_no_gesture_fraction": float(1 - cat("active").mean()) if neg_windows else None,
        "idle_gap_no_gesture_fraction": float(idle.mean()) if idle.size else None,
        "idle_after_ms": idle_after_ms,
        "ece": _nan_to_none(expected_calibration_error(cat("confidence"), cat("hit"))),
        "auroc": {
            "ours": _nan_to_none(auroc(ours, positive)),
            "msp": _nan_to_none(auroc(msp, positive)),
        },
        "fpr_at_95_tpr": {"ours": _fpr_at_tpr(ours, positive), "msp": _fpr_at_tpr(msp, positive)},
    }


def _score_stream(
    readout: Readout,
    scores: torch.Tensor,
    labels: np.ndarray | None,
    window_us: int,
    idle_after_ms: float,
) -> dict[str, np.ndarray | None]:
    """The scored windows of one stream (see ``no_gesture_report``); labels None = negative."""
    scores = torch.as_tensor(scores)
    decision = readout.decide(scores)
    plain = dataclasses.replace(readout, confidence_shown=(), confidence_abstain=())
    class_id = decision.class_id
    idle_abstain = active = None
    if labels is None:
        labels = np.full(class_id.shape, -1, dtype=np.int64)
        keep = np.ones(class_id.shape, dtype=bool)
        active = class_id >= 0
    else:
        labels = np.asarray(labels)
        gap = idle_gap_mask(labels, window_us, idle_after_ms)
        leading = np.cumsum(labels >= 0) == 0
        keep = (labels >= 0) | gap | leading
        idle_abstain = class_id[gap] < 0
    n_gestures = scores.shape[-1] - int(readout.background)
    return {
        "confidence": decision.confidence.astype(np.float64)[keep],
        "hit": (class_id == labels)[keep],
        # the detector's own score: the confidence maps rescale shown windows only, which
        # would mix two scales in one ranking
        "ours": plain.decide(scores).probs.max(-1).astype(np.float64)[keep],
        "msp": msp_score(scores, n_gestures)[keep],
        "positive": (labels >= 0)[keep],
        "idle_abstain": idle_abstain,
        "active": active,
    }
