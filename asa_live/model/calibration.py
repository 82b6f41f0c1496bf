"""Calibrating the "no gesture" decision of a readout on validation windows.

Inputs are readout scores ``y [M, C_out]`` (``Readout.scores`` of the network's output spikes)
with per-window labels (gesture index, or -1 = no gesture). Three things are fitted, in order:

1. temperature T (Guo et al., ICML 2017): minimises the validation negative log-likelihood
       NLL(T) = -(1/M') sum_i log softmax(y_i / T)[l_i]
   over the M' windows that have output, with l_i the background index for "no gesture"
   (a checkpoint without background output leaves those windows out). NLL is convex in 1/T,
   so it is unimodal in log T and a golden-section search finds its minimum.
2. threshold tau: on validation negative streams (no person, or idle), the smallest tau such
   that for every tau' >= tau the false alarms per minute stay <= the target rate (a false
   alarm is a maximal run of consecutive windows that show a gesture). The rate is not
   monotone in tau (removing a window can split a run), hence "for every tau' >= tau".
3. no_output_confidence: P(no gesture | the output is silent) on the validation windows,
   (silent and no gesture + 1) / (silent + 2) (Laplace).
4. confidence maps: the decision's confidence against "its outcome is the label", on the same
   validation windows, by isotonic regression (pool adjacent violators over 20 equal-count
   bins, each block's rate Laplace-smoothed; Zadrozny & Elkan, KDD 2002), one map for shown gestures and one for abstentions with
   output. Why: T calibrates the softmax, but the shown confidence is read after the threshold
   and the background offset, where it is not calibrated (validation ECE 0.12 for the shipped
   model). The maps are monotone, so no decision changes.

The validation data must be a split of its own: never the test data, never ../shared/data/real.
``calibrate`` returns the calibrated Readout and a JSON record of the fit, which
``asa_live.model.checkpoint.store_readout`` writes into the checkpoint's provenance["readout"].
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from asa_live.classes import NO_GESTURE_ID
from asa_live.model.metrics import expected_calibration_error
from asa_live.model.readout import REASON_NONE, Readout

TEMPERATURE_RANGE = (1e-3, 1e2)
DEFAULT_FA_PER_MINUTE = 0.5


def _with_output(scores: torch.Tensor) -> torch.Tensor:
    return (scores > 0).any(-1)


def temperature_nll(
    scores: torch.Tensor, labels: torch.Tensor, temperature: float, background: bool
) -> float:
    """Mean NLL of the windows with output at ``temperature`` (see module doc)."""
    y, target = _fit_set(scores, labels, background)
    if target.numel() == 0:
        return math.nan
    return float(torch.nn.functional.cross_entropy(y / temperature, target))


def _fit_set(
    scores: torch.Tensor, labels: torch.Tensor, background: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.as_tensor(scores, dtype=torch.float64)
    scores = scores.reshape(-1, scores.shape[-1])
    labels = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    if labels.shape[0] != scores.shape[0]:
        raise ValueError(f"{scores.shape[0]} score rows but {labels.shape[0]} labels")
    n_gestures = scores.shape[-1] - int(background)
    if labels.numel() and int(labels.max()) >= n_gestures:
        raise ValueError(f"labels must be -1 or < {n_gestures} (gesture classes)")
    keep = _with_output(scores)
    if background:
        labels = torch.where(labels == NO_GESTURE_ID, torch.full_like(labels, n_gestures), labels)
    else:
        keep &= labels >= 0
    return scores[keep], labels[keep]


def fit_temperature(
    scores: torch.Tensor, labels: torch.Tensor, background: bool, iterations: int = 50
) -> float:
    """The temperature minimising the validation NLL (``scores [..., C_out]``, ``labels
    [...]``, -1 = no gesture); 1.0 when no window has output."""
    y, target = _fit_set(scores, labels, background)
    if target.numel() == 0:
        return 1.0

    def nll(log_t: float) -> float:
        return float(torch.nn.functional.cross_entropy(y / math.exp(log_t), target))

    lo, hi = (math.log(v) for v in TEMPERATURE_RANGE)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(iterations):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(math.exp((lo + hi) / 2.0))


def shown_gesture_probability(readout: Readout, scores: torch.Tensor) -> np.ndarray:
    """``[...]`` probability of the shown gesture where the readout at threshold 0 shows one,
    else -inf (a window the threshold can never turn into a false alarm)."""
    raw = dataclasses.replace(readout, threshold=0.0, confidence_shown=(), confidence_abstain=())
    decision = raw.decide(scores)  # the threshold compares the unmapped probability
    shown = decision.reason == REASON_NONE
    return np.where(shown, decision.confidence.astype(np.float64), -np.inf)


def false_alarm_curve(
    values: Sequence[np.ndarray], window_us: int
) -> tuple[np.ndarray, np.ndarray]:
    """False alarms per minute at every candidate threshold, exactly, in O(M log M).

    ``values``: per negative stream ``v [T]`` (``shown_gesture_probability``); a window shows a
    gesture at threshold t iff v >= t. Runs at t = #{i: v_i >= t} - #{i: min(v_i, v_i-1) >= t}.
    Returns (ascending candidate thresholds, false alarms per minute at each).
    """
    singles = np.concatenate([np.asarray(v, np.float64).reshape(-1) for v in values] or [[]])
    pairs = np.concatenate(
        [np.minimum(v[1:], v[:-1]) for v in map(np.asarray, values) if v.size > 1] or [[]]
    )
    finite = singles[np.isfinite(singles)]
    top = np.float32(finite.max()) if finite.size else np.float32(0.0)
    # just above the largest value, in float32: the precision the decision compares in
    above = float(np.nextafter(top, np.float32(np.inf)))
    candidates = np.unique(np.r_[0.0, finite, above])
    singles, pairs = np.sort(singles), np.sort(pairs)
    runs = (singles.size - np.searchsorted(singles, candidates, "left")) - (
        pairs.size - np.searchsorted(pairs, candidates, "left")
    )
    minutes = singles.size * window_us / 60e6
    return candidates, runs / minutes if minutes > 0 else np.zeros_like(candidates)


def pick_threshold(
    readout: Readout,
    negative_scores: Sequence[torch.Tensor],
    window_us: int,
    target_fa_per_minute: float = DEFAULT_FA_PER_MINUTE,
) -> tuple[float, float]:
    """The smallest threshold at or above which the validation negatives give at most
    ``target_fa_per_minute`` (module doc); returns (threshold, false alarms per minute there).

    ``negative_scores``: readout scores ``[T_i, C_out]`` of each negative stream. A threshold
    above 1 is never needed by a softmax short of 1.0; if it would be, 1.0 is returned with
    its (higher) rate.
    """
    if not negative_scores:
        raise ValueError("pick_threshold needs at least one negative stream")
    values = [shown_gesture_probability(readout, s) for s in negative_scores]
    candidates, rates = false_alarm_curve(values, window_us)
    worst_above = np.maximum.accumulate(rates[::-1])[::-1]
    ok = np.flatnonzero(worst_above <= target_fa_per_minute)
    index = int(ok[0]) if ok.size else candidates.size - 1
    threshold = min(float(candidates[index]), 1.0)
    return threshold, float(rates[np.searchsorted(candidates, threshold, "right") - 1])


#: Candidate background offsets (logit units after the temperature): a prior shift of up to
#: e^8 ~ 3000x against the background output.
OFFSET_GRID = tuple(np.round(np.arange(0.0, 8.01, 0.25), 2))


def balanced_accuracy(readout: Readout, scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean of the gesture windows' accuracy and the "no gesture" windows' abstention rate."""
    scores = torch.as_tensor(scores)
    labels = torch.as_tensor(labels).reshape(-1).numpy()
    decided = readout.decide(scores.reshape(-1, scores.shape[-1])).class_id
    parts = [
        float(np.mean(decided[mask] == labels[mask]))
        for mask in (labels >= 0, labels == NO_GESTURE_ID)
        if mask.any()
    ]
    return float(np.mean(parts)) if parts else 0.0


def fit_background_offset(
    readout: Readout,
    scores: torch.Tensor,
    labels: torch.Tensor,
    negative_scores: Sequence[torch.Tensor],
    window_us: int,
    target_fa_per_minute: float = DEFAULT_FA_PER_MINUTE,
) -> tuple[float, float, float]:
    """The background prior shift with the best validation balanced accuracy, each candidate
    with its own threshold at the false-alarm target; returns (offset, threshold, FA/min).

    Why: the background output is trained on many more windows than any gesture (idle gaps,
    negative streams), so its logit carries a prior that makes the network abstain on real
    gestures; shifting it is the classic prior correction, fitted on validation data only.
    """
    best: tuple[float, float, float, float] | None = None
    for offset in OFFSET_GRID:
        shifted = dataclasses.replace(readout, background_offset=float(offset), threshold=0.0)
        threshold, rate = pick_threshold(shifted, negative_scores, window_us, target_fa_per_minute)
        if rate > target_fa_per_minute:
            continue
        score = balanced_accuracy(dataclasses.replace(shifted, threshold=threshold), scores, labels)
        if best is None or score > best[0] + 1e-9:
            best = (score, float(offset), threshold, rate)
    if best is None:
        threshold, rate = pick_threshold(readout, negative_scores, window_us, target_fa_per_minute)
        return 0.0, threshold, rate
    return best[1], best[2], best[3]


def no_output_confidence(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """P(no gesture | silent output), Laplace-smoothed, on the validation windows."""
    scores = torch.as_tensor(scores)
    silent = ~_with_output(scores.reshape(-1, scores.shape[-1]))
    idle = torch.as_tensor(labels).reshape(-1) == NO_GESTURE_ID
    return float((int((silent & idle).sum()) + 1) / (int(silent.sum()) + 2))


#: Equal-count bins of the isotonic confidence map, and the fewest windows to fit one on.
CONFIDENCE_BINS = 20
CONFIDENCE_MIN_WINDOWS = 200


def isotonic_knots(
    confidence: np.ndarray, hit: np.ndarray, bins: int = CONFIDENCE_BINS
) -> tuple[tuple[float, float], ...]:
    """Knots (x, y) of the isotonic map confidence -> P(hit): pool adjacent violators over
    ``bins`` equal-count bins; () with fewer than CONFIDENCE_MIN_WINDOWS windows."""
    conf = np.asarray(confidence, np.float64).reshape(-1)
    hit = np.asarray(hit, np.float64).reshape(-1)
    if conf.size < CONFIDENCE_MIN_WINDOWS:
        return ()
    order = np.argsort(conf, kind="stable")
    blocks = []  # [x sum, y sum, count], merged while x ties or y decreases
    for part in np.array_split(order, min(bins, conf.size)):
        blocks.append([conf[part].sum(), hit[part].sum(), float(part.size)])
        while len(blocks) > 1 and (
            blocks[-1][1] / blocks[-1][2] <= blocks[-2][1] / blocks[-2][2]
            or blocks[-1][0] / blocks[-1][2] <= blocks[-2][0] / blocks[-2][2]
        ):
            last = blocks.pop()
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last, strict=True)]
    # Laplace: a block of all hits maps to (n + 1) / (n + 2), never to a certain 1.0; blocks
    # differ in size, so the smoothed rates are made non-decreasing again
    xs = [float(np.clip(x / n, 0, 1)) for x, _, n in blocks]
    ys = np.maximum.accumulate([(y + 1) / (n + 2) for _, y, n in blocks])
    return tuple(zip(xs, (float(v) for v in ys), strict=True))


def fit_confidence_maps(readout: Readout, scores: torch.Tensor, labels: torch.Tensor) -> Readout:
    """``readout`` with isotonic maps for shown and abstained confidences (module doc, 4)."""
    plain = dataclasses.replace(readout, confidence_shown=(), confidence_abstain=())
    scores = torch.as_tensor(scores)
    decision = plain.decide(scores.reshape(-1, scores.shape[-1]))
    hit = decision.class_id == torch.as_tensor(labels).reshape(-1).numpy()
    shown = decision.reason == REASON_NONE
    abstained = (decision.class_id == NO_GESTURE_ID) & _with_output(
        scores.reshape(-1, scores.shape[-1])
    ).numpy()
    return dataclasses.replace(
        plain,
        confidence_shown=isotonic_knots(decision.confidence[shown], hit[shown]),
        confidence_abstain=isotonic_knots(decision.confidence[abstained], hit[abstained]),
    )


def calibrate(
    readout: Readout,
    scores: torch.Tensor,
    labels: torch.Tensor,
    negative_scores: Sequence[torch.Tensor],
    window_us: int,
    target_fa_per_minute: float = DEFAULT_FA_PER_MINUTE,
) -> tuple[Readout, dict[str, Any]]:
    """Fit temperature, threshold and no-output confidence (module doc) on validation data.

    Args:
        readout: the checkpoint's readout (kind, windows, background are kept).
        scores, labels: validation windows ``[..., C_out]`` / ``[...]`` (-1 = no gesture),
            gesture recordings with their idle gaps, negatives included or not.
        negative_scores: per validation negative stream ``[T_i, C_out]``.
        window_us: window length, for the per-minute rate.

    Returns:
        (the calibrated readout, the JSON record of the fit).
    """
    background = readout.background
    # a recalibration starts from the plain softmax: old maps would skew the threshold's fit
    readout = dataclasses.replace(readout, confidence_shown=(), confidence_abstain=())
    temperature = fit_temperature(scores, labels, background)
    calibrated = dataclasses.replace(readout, temperature=temperature, threshold=0.0)
    if background:
        offset, threshold, fa_rate = fit_background_offset(
            calibrated, scores, labels, negative_scores, window_us, target_fa_per_minute
        )
        calibrated = dataclasses.replace(calibrated, background_offset=offset)
    else:
        threshold, fa_rate = pick_threshold(
            calibrated, negative_scores, window_us, target_fa_per_minute
        )
    calibrated = dataclasses.replace(
        calibrated, threshold=threshold, no_output_confidence=no_output_confidence(scores, labels)
    )
    ece_before = _decision_ece(calibrated, scores, labels)
    calibrated = fit_confidence_maps(calibrated, scores, labels)
    scores = torch.as_tensor(scores)
    gestures = torch.as_tensor(labels).reshape(-1) >= 0
    decided = calibrated.decide(scores.reshape(-1, scores.shape[-1])).class_id
    record = {
        "method": "temperature (NLL) + background prior shift (balanced accuracy) + threshold "
        "at a false-alarm rate",
        "background_offset": calibrated.background_offset,
        "target_fa_per_minute": float(target_fa_per_minute),
        "val_fa_per_minute": fa_rate,
        "val_windows": int(gestures.numel()),
        "val_negative_minutes": sum(int(s.shape[0]) for s in negative_scores) * window_us / 60e6,
        "val_nll_before": temperature_nll(scores, labels, 1.0, background),
        "val_nll_after": temperature_nll(scores, labels, temperature, background),
        "val_gesture_windows_shown": float((decided[gestures.numpy()] >= 0).mean())
        if gestures.any()
        else None,
        "val_ece_before_maps": ece_before,
        # in-sample: the maps were fitted on these windows (held-out ECE: the evaluation)
        "val_ece_in_sample": _decision_ece(calibrated, scores, labels),
    }
    return calibrated, record


def _decision_ece(readout: Readout, scores: torch.Tensor, labels: torch.Tensor) -> float | None:
    """ECE of the decision's confidence against "its outcome is the label" (None: no window)."""
    scores = torch.as_tensor(scores)
    decision = readout.decide(scores.reshape(-1, scores.shape[-1]))
    hit = decision.class_id == torch.as_tensor(labels).reshape(-1).numpy()
    value = expected_calibration_error(decision.confidence, hit)
    return None if math.isnan(value) else value
