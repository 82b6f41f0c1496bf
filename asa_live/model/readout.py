"""The decision readout over time, shared by evaluation and the live app.

Given output spikes o[t] (per window, per class), the class scores are either
    "mean":   y[t] = (1 / n_t) * sum_{i = t - n_t + 1}^{t} o[i],   n_t = min(W, t + 1)
              (running mean over the last W windows; W = 60 reproduces the paper's mean over a
              60-window clip at the clip's last window), or
    "leaky":  y[t] = d * y[t-1] + (1 - d) * o[t],  y[-1] = 0   (leaky integrator, decay d).

Presence head (optional; leaky readouts with a background output): a logistic "someone is
gesturing" detector on the hidden layer's spikes h[t] (fc1, the layer under the outputs),
integrated like the outputs and read linearly,
    g[t] = d * g[t-1] + (1 - d) * h[t],     P[t] = w . g[t] + b     (logit of "gesture present"),
and the background score becomes y_bg[t] - gamma * P[t] in the windows where a gesture output
has a score (elsewhere nothing could be shown, and an output that never fired stays
"no_output"). Why: the output layer is trained
jointly on 11 gestures and "no gesture" and separates fans, lamps and traffic from gestures
worse than the hidden layer does (validation AUROC 0.87 against 0.95 for a linear probe);
w, b are fitted on training data (asa_live/train/presence.py), gamma on validation.

The readout state is a value (``ReadoutState``) and the same ``update`` serves a whole offline
sequence or one window at a time, so offline scores equal streaming scores bit for bit.

The decision (``Readout.decide``) turns the scores y of the C gestures (+ 1 background output,
the LAST one, when ``background``) into one outcome per window:
    p = softmax(y / T)            (T = ``temperature``, fitted by model/calibration.py), or
    p = y                         (``temperature`` None: an uncalibrated checkpoint; the raw rates)
    shown = argmax_j p_j over all outputs;  abstain (class id -1, "no gesture") when
        no output spiked in the readout span ("no_output"),
        shown is the background output ("background"), or
        p_shown < ``threshold`` ("low_confidence");
    confidence = p_shown; when abstaining p_background (background checkpoints), 1 - p_top
        (checkpoints without background: the mass off the top gesture, the MSP baseline's
        no-gesture score, NOT a probability of "no gesture"), or ``no_output_confidence``
        (no output: the validation frequency of "no gesture" among silent windows);
    then, when the readout has confidence maps (isotonic fits on validation, calibration.py),
        confidence = m_shown(confidence) for a shown gesture, m_abstain(confidence) for an
        abstention with output; a shown window's gesture probabilities are scaled so that the
        top one is its confidence (the order stays; the sum stays <= 1). Why: temperature scaling
        calibrates the softmax, not the decision after its threshold (validation ECE 0.12).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from asa_live.classes import NO_GESTURE_ID
from asa_live.errors import ConfigError

READOUT_KINDS = ("mean", "leaky")
# Decision reasons, as stored in ``Decision.reason`` (codes) and reported (names).
REASONS: tuple[str | None, ...] = (None, "background", "low_confidence", "no_output")
REASON_NONE, REASON_BACKGROUND, REASON_LOW_CONFIDENCE, REASON_NO_OUTPUT = range(4)
_SPEC_KEYS = ("kind", "windows", "decay", "background", "temperature", "threshold",
              "no_output_confidence", "background_offset", "presence_weight", "presence_bias",
              "presence_gain", "confidence_shown", "confidence_abstain")  # fmt: skip
_KNOT_KEYS = ("confidence_shown", "confidence_abstain")


class Decision(NamedTuple):
    """One outcome per window (numpy); every field has the scores' leading shape ``[...]``.

    ``class_id`` (int64, -1 = no gesture), ``confidence`` (probability of the shown outcome),
    ``probs [..., C]`` (float32 calibrated probabilities of the C gestures; 0 without output),
    ``p_background`` (0 without a background output), ``reason`` (int64 codes into REASONS).
    """

    class_id: np.ndarray
    confidence: np.ndarray
    probs: np.ndarray
    p_background: np.ndarray
    reason: np.ndarray


class ReadoutState(NamedTuple):
    """``history [N, W-1, C]``: the last W-1 windows (zeros before the stream began);
    ``level [N, C]``: the leaky integrator; ``seen``: windows consumed so far;
    ``hidden [N, H]``: the presence head's integrated hidden spikes (H = 0 without a head)."""

    history: torch.Tensor
    level: torch.Tensor
    seen: int
    hidden: torch.Tensor | None = None


@dataclass(frozen=True)
class Readout:
    """Class scores from output spikes: running mean over ``windows`` windows or leaky integrator.

    Use ``init`` / ``update`` for streams (state as a value), ``scores`` for a whole offline
    tensor, or :class:`ReadoutTracker` for a small stateful object with ``reset()``.
    """

    kind: str = "mean"
    windows: int = 60
    decay: float = 0.9
    background: bool = False
    temperature: float | None = None
    threshold: float = 0.0
    no_output_confidence: float = 0.0
    #: Calibrated prior shift of the background output (logit units, subtracted before the
    #: softmax): the background class sees far more training windows than any gesture, so its
    #: raw logit is biased upwards; the offset is fitted on validation data (calibration.py).
    background_offset: float = 0.0
    #: The presence head (module doc): w (one weight per hidden neuron; empty = no head), b,
    #: and gamma, the weight of its logit in the background score (0 = the head is ignored).
    presence_weight: tuple[float, ...] = ()
    presence_bias: float = 0.0
    presence_gain: float = 0.0
    #: Confidence maps (module doc): knots ((x, y), ...) of a monotone piecewise-linear map,
    #: x increasing in [0, 1]; empty = the confidence as it comes.
    confidence_shown: tuple[tuple[float, float], ...] = ()
    confidence_abstain: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in READOUT_KINDS:
            raise ConfigError(f"Readout kind must be one of {READOUT_KINDS}, got {self.kind!r}.")
        if int(self.windows) != self.windows or self.windows < 1:
            raise ConfigError(f"Readout windows must be an integer >= 1, got {self.windows}.")
        if not 0.0 <= self.decay < 1.0:
            raise ConfigError(f"Readout decay must be in [0, 1), got {self.decay}.")
        if not isinstance(self.background, bool):
            raise ConfigError(f"Readout background must be true or false, got {self.background!r}.")
        t = self.temperature
        if t is not None and not (_is_number(t) and math.isfinite(t) and t > 0):
            raise ConfigError(f"Readout temperature must be a finite number > 0, got {t!r}.")
        b = self.background_offset
        if not (_is_number(b) and math.isfinite(b) and -50.0 <= b <= 50.0):
            raise ConfigError(
                f"Readout background_offset must be a number in [-50, 50], got {b!r}."
            )
        for name in ("threshold", "no_output_confidence"):
            value = getattr(self, name)
            if not (_is_number(value) and 0.0 <= value <= 1.0):
                raise ConfigError(f"Readout {name} must be a number in [0, 1], got {value!r}.")
        self._check_presence()
        for name in _KNOT_KEYS:
            object.__setattr__(self, name, _checked_knots(name, getattr(self, name)))

    def _check_presence(self) -> None:
        weight = self.presence_weight
        if isinstance(weight, list):  # from JSON
            object.__setattr__(self, "presence_weight", weight := tuple(weight))
        if not isinstance(weight, tuple) or not all(
            _is_number(v) and math.isfinite(v) for v in weight
        ):
            raise ConfigError("Readout presence_weight must be a list of finite numbers.")
        for name in ("presence_bias", "presence_gain"):
            value = getattr(self, name)
            if not (_is_number(value) and math.isfinite(value) and abs(value) <= 1e6):
                raise ConfigError(f"Readout {name} must be a finite number, got {value!r}.")
        if self.presence_gain < 0:
            raise ConfigError(f"Readout presence_gain must be >= 0, got {self.presence_gain}.")
        if weight and not (self.background and self.kind == "leaky"):
            raise ConfigError(
                "A readout presence head needs the leaky readout and a background output."
            )

    @property
    def has_presence(self) -> bool:
        """Whether the presence head changes the scores (it has weights and a gain > 0)."""
        return bool(self.presence_weight) and self.presence_gain > 0

    def num_outputs(self, num_gestures: int) -> int:
        """Network outputs for ``num_gestures`` gesture classes (+1 with a background output)."""
        return num_gestures + int(self.background)

    def to_spec(self) -> dict[str, Any]:
        """The JSON dict stored as ``provenance["readout"]`` (read by readout_from_provenance)."""
        spec = {k: getattr(self, k) for k in _SPEC_KEYS}
        spec["presence_weight"] = list(self.presence_weight)
        for name in _KNOT_KEYS:
            spec[name] = [list(knot) for knot in spec[name]]
        return spec

    def targets(self, labels: torch.Tensor, num_gestures: int) -> torch.Tensor:
        """Training targets: gesture labels as they are, ``-1`` (no gesture) -> the background
        index when there is a background output, else -1 (no loss)."""
        if not self.background:
            return labels
        return torch.where(labels < 0, torch.full_like(labels, num_gestures), labels)

    def probabilities(self, scores: torch.Tensor | np.ndarray) -> np.ndarray:
        """``scores [..., C_out]`` -> float32 probabilities over all outputs (the raw scores,
        clipped to [0, 1], when uncalibrated)."""
        y = _as_float32(scores)
        if self.temperature is None:
            return np.clip(y, 0.0, 1.0)
        z = y / np.float32(self.temperature)
        if self.background and self.background_offset:
            z = z.copy()
            z[..., -1] -= np.float32(self.background_offset)
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def decide(self, scores: torch.Tensor | np.ndarray) -> Decision:
        """The outcome of each window from its readout scores ``[..., C_out]`` (module doc).

        numpy on purpose: the live app decides one window at a time, and on a 12-vector these
        ops cost about a third of the same torch ops (measured here: 0.07 vs 0.19-0.26 ms).
        """
        y = _as_float32(scores)
        p = self.probabilities(y)
        n_gestures = p.shape[-1] - int(self.background)
        if n_gestures < 1:
            raise ValueError(f"decide needs at least one gesture output, got {p.shape}")
        silent = ~(y > 0).any(-1)
        shown = p.argmax(-1)
        p_shown = np.take_along_axis(p, shown[..., None], -1)[..., 0]
        p_bg = p[..., -1] if self.background else np.zeros_like(p_shown)
        reason = np.where(p_shown < np.float32(self.threshold), REASON_LOW_CONFIDENCE, REASON_NONE)
        if self.background:
            reason[shown == n_gestures] = REASON_BACKGROUND
        reason[silent] = REASON_NO_OUTPUT
        abstain = reason != REASON_NONE
        confidence = np.where(abstain, p_bg if self.background else 1.0 - p_shown, p_shown)
        probs = np.where(silent[..., None], np.float32(0.0), p[..., :n_gestures])
        if self.confidence_shown:
            mapped = _apply_knots(self.confidence_shown, confidence)
            probs = np.where(abstain[..., None], probs, _remap_top(probs, shown, p_shown, mapped))
            confidence = np.where(abstain, confidence, mapped)
        if self.confidence_abstain:
            confidence = np.where(
                abstain, _apply_knots(self.confidence_abstain, confidence), confidence
            )
        confidence[silent] = self.no_output_confidence
        return Decision(
            np.where(abstain, NO_GESTURE_ID, shown).astype(np.int64),
            confidence.astype(np.float32),
            probs.astype(np.float32),
            np.where(silent, np.float32(0.0), p_bg).astype(np.float32),
            reason.astype(np.int64),
        )

    def init(
        self, batch: int, num_classes: int, device: torch.device | str | None = None
    ) -> ReadoutState:
        """Empty state for ``batch`` streams of ``num_classes`` outputs."""
        history = torch.zeros(batch, self.windows - 1, num_classes, device=device)
        hidden = torch.zeros(batch, len(self.presence_weight), device=device)
        return ReadoutState(history, torch.zeros(batch, num_classes, device=device), 0, hidden)

    def update(
        self,
        spikes: torch.Tensor,
        state: ReadoutState,
        hidden: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, ReadoutState]:
        """``spikes [N, K, C]`` (K >= 1 windows) -> ``(scores [N, K, C], new state)``;
        ``hidden [N, K, H]``: the hidden spikes, needed when the readout has a presence head."""
        if spikes.dim() != 3:
            raise ValueError(f"Readout expects spikes [N, K, C], got {tuple(spikes.shape)}")
        scores, new = self._update_outputs(spikes, state)
        if not self.has_presence:
            return scores, new
        logit, hidden_level = self._presence(hidden, state, spikes.shape[:2])
        # only where a gesture output has a score: there the head can change the outcome, and
        # a readout with no output (or only the background's) keeps its meaning in decide
        gesturing = (scores[..., :-1] > 0).any(-1)
        scores = scores.clone()
        scores[..., -1] -= torch.where(gesturing, self.presence_gain * logit, 0.0)
        return scores, new._replace(hidden=hidden_level)

    def _presence(
        self, hidden: torch.Tensor | None, state: ReadoutState, shape: torch.Size
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The presence logit ``P [N, K]`` of each window and the integrated hidden spikes."""
        size = len(self.presence_weight)
        if hidden is None or tuple(hidden.shape) != (*shape, size):
            got = None if hidden is None else tuple(hidden.shape)
            raise ValueError(
                f"This readout's presence head needs hidden spikes {(*shape, size)}, got {got}."
            )
        level = state.hidden
        if level is None or level.shape[-1] != size:
            level = torch.zeros(shape[0], size, device=hidden.device)
        hidden = hidden.to(level.dtype)
        levels = []
        for h_t in hidden.unbind(1):
            level = self.decay * level + (1.0 - self.decay) * h_t
            levels.append(level)
        weight = self._presence_tensor
        if weight.dtype != level.dtype or weight.device != level.device:
            weight = weight.to(level)
        return torch.stack(levels, 1) @ weight + self.presence_bias, level

    @functools.cached_property
    def _presence_tensor(self) -> torch.Tensor:
        # built once: the live app asks for it every window (a frozen dataclass still has a
        # __dict__, which cached_property fills without __setattr__)
        return torch.tensor(self.presence_weight, dtype=torch.float32)

    def _update_outputs(
        self, spikes: torch.Tensor, state: ReadoutState
    ) -> tuple[torch.Tensor, ReadoutState]:
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
            return scores, state._replace(history=history, seen=state.seen + k)
        level = state.level
        out = []
        for o_t in spikes.unbind(1):
            level = self.decay * level + (1.0 - self.decay) * o_t
            out.append(level)
        return torch.stack(out, 1), state._replace(level=level, seen=state.seen + k)

    def scores(self, spikes: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """Offline: ``spikes [N, T, C]`` (and ``hidden [N, T, H]`` for a presence head) ->
        ``scores [N, T, C]`` (each window's score)."""
        state = self.init(spikes.shape[0], spikes.shape[2], device=spikes.device)
        return self.update(spikes, state, hidden)[0]

    def stream_scores(self, run: Mapping[str, np.ndarray]) -> torch.Tensor:
        """Scores ``[T, C]`` of one stream from ``run_sequences``' result (its output spikes,
        and its hidden spikes when the readout has a presence head)."""
        spikes = torch.from_numpy(np.asarray(run["output_spikes"]))[None].float()
        hidden = None
        if self.has_presence:
            hidden = torch.from_numpy(np.asarray(run["hidden_spikes"]))[None].float()
        return self.scores(spikes, hidden)[0]

    def final_scores(self, spikes: torch.Tensor) -> torch.Tensor:
        """Offline decision of a clip: the score at its last window, ``[N, C]``."""
        return self.scores(spikes)[:, -1]


def _checked_knots(name: str, knots: Any) -> tuple[tuple[float, float], ...]:
    """``knots`` as a tuple of (x, y) pairs, or ConfigError: x strictly increasing, x and y
    finite in [0, 1], y non-decreasing (a confidence map keeps the order of confidences)."""
    try:
        pairs = tuple((float(x), float(y)) for x, y in knots)
        ok = all(_is_number(v) for pair in knots for v in pair)
    except (TypeError, ValueError):
        ok, pairs = False, ()
    xs, ys = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    ok = ok and bool(np.all((xs >= 0) & (xs <= 1) & (ys >= 0) & (ys <= 1)))
    ok = ok and bool(np.all(np.diff(xs) > 0) and np.all(np.diff(ys) >= 0))
    if not ok:
        raise ConfigError(
            f"Readout {name} must be a list of [x, y] pairs in [0, 1], x increasing and y "
            "non-decreasing."
        )
    return pairs


def _remap_top(
    probs: np.ndarray, shown: np.ndarray, p_shown: np.ndarray, mapped: np.ndarray
) -> np.ndarray:
    """Every gesture probability scaled by ``mapped / p_shown``, so the top one becomes the
    confidence and the order stays; the others shrink further if the sum would pass 1."""
    out = probs * (mapped / np.maximum(p_shown, 1e-12))[..., None]
    top = np.minimum(shown, probs.shape[-1] - 1)[..., None]
    np.put_along_axis(out, top, mapped[..., None], -1)
    others = out.sum(-1) - mapped
    shrink = np.where(others > 1.0 - mapped, (1.0 - mapped) / np.maximum(others, 1e-12), 1.0)
    out = out * shrink[..., None]
    np.put_along_axis(out, top, mapped[..., None], -1)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _apply_knots(knots: tuple[tuple[float, float], ...], values: np.ndarray) -> np.ndarray:
    xs = np.array([k[0] for k in knots], dtype=np.float64)
    ys = np.array([k[1] for k in knots], dtype=np.float64)
    return np.interp(values, xs, ys).astype(values.dtype)


def _as_float32(scores: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(scores, torch.Tensor):
        scores = scores.detach().cpu().numpy()
    return np.asarray(scores, dtype=np.float32)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def readout_from_provenance(provenance: Mapping[str, Any] | None) -> Readout:
    """The one readout of a checkpoint: the live app, evaluation and training all call this.

    Looked up in the checkpoint's provenance: ``readout`` (``Readout.to_spec()``: ``kind``,
    ``windows``, ``decay`` and the decision fields ``background``, ``temperature``,
    ``threshold``, ``no_output_confidence``); else, for older checkpoints, the training config's
    ``readout_windows`` / ``readout_kind`` / ``readout_decay`` (what the streaming evaluation
    used); else the documented default ``Readout()`` (running mean over 60 windows).
    A decision field that is absent takes its default, which is how every checkpoint written
    before "no gesture" existed decides: no background output, uncalibrated (the confidence is
    the raw readout rate), threshold 0 (so it abstains only while its output is silent).
    Another ``background`` than a bool, or a value out of range, raises ConfigError.
    """
    provenance = provenance if isinstance(provenance, Mapping) else {}
    spec = provenance.get("readout")
    if isinstance(spec, Mapping):
        return Readout(**{k: spec[k] for k in _SPEC_KEYS if k in spec})
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

    def update(self, spikes: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """``spikes [N, K, C]`` (``hidden [N, K, H]`` for a presence head) -> ``scores``."""
        if spikes.device != self.state.history.device:
            st = self.state
            self.state = st._replace(
                history=st.history.to(spikes.device),
                level=st.level.to(spikes.device),
                hidden=None if st.hidden is None else st.hidden.to(spikes.device),
            )
        scores, self.state = self.readout.update(spikes, self.state, hidden)
        return scores
