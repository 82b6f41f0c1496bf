"""The robustness protocol: how a model holds up when the scene shifts, and when there is no gesture.

For every condition of :mod:`asa_live.events.robustness` (clean, noise, hot pixels, shifts,
scale, time stretch, polarity inversion, a real background mixed in) the same held-out clean
synthetic recordings are transformed, binned exactly as the live path bins them, and streamed
through each model from one initial state. Reported per condition and model:

* ``accuracy_after_onset``: windows inside a labelled gesture, from ``onset_grace_ms`` after
  its onset on, whose *decision* (the checkpoint's readout and decision rule, as live) is the
  labelled class; abstaining counts as wrong;
* ``idle_no_gesture``: windows of the idle gaps, from ``idle_after_ms`` after a gesture ends to
  the next onset, on which the model abstains ("no gesture").

On "no gesture" streams (idle people, empty scenes, noise; :mod:`asa_live.synth.negatives`):
the fraction of windows without a gesture and the false alarms per minute (a false alarm is
a maximal run of consecutive windows that name a gesture).

The recordings and negatives are drawn from the held-out seed range (``TEST_SEEDS``) with their
own offsets, so no training, model selection or calibration ever saw them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.events.adapt import NoiseFilter
from asa_live.events.robustness import robustness_conditions
from asa_live.model.readout import Readout
from asa_live.synth import NEGATIVE_KINDS, TEST_SEEDS, generate_negative, generate_recording
from asa_live.train.data.config import DataConfig
from asa_live.train.data.frames import bin_recording
from asa_live.train.data.sequences import LabelledSequence, sequence_from_arrays
from asa_live.train.evaluation import no_gesture_report, run_sequences

#: Offsets into TEST_SEEDS, away from the IBM-layout test trials (100_000 + 0..99) and the
#: validation trials (101_000 + ...).
RECORDING_SEED0 = TEST_SEEDS.start + 2_000
NEGATIVE_SEED0 = TEST_SEEDS.start + 3_000


@dataclass(frozen=True)
class Evaluated:
    """A model under test: the network, its decision readout and its binning."""

    label: str
    model: torch.nn.Module
    readout: Readout
    data: DataConfig
    #: Run the live app's background-activity filter (``--noise-filter``) before binning.
    noise_filter: bool = False

    def filtered(self, events: np.ndarray) -> np.ndarray:
        """``events`` (sensor coordinates) as the live app passes them on to the binner."""
        if not self.noise_filter or len(events) == 0:
            return events
        return NoiseFilter(tuple(self.data.sensor_size))(events)


def held_out_recordings(
    count: int, gesture_ms: tuple[int, int] = (1500, 3000), classes: Sequence[int] | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` clean held-out recordings of every class in a shuffled order, with labels."""
    out = []
    for i in range(count):
        seed = RECORDING_SEED0 + i
        rng = np.random.default_rng([seed, 5])
        order = list(classes) if classes is not None else list(range(NUM_GESTURE_CLASSES))
        rng.shuffle(order)
        durations = rng.integers(gesture_ms[0] * 1000, gesture_ms[1] * 1000 + 1, len(order))
        events, labels = generate_recording(
            order, seed, gesture_duration_us=[int(d) for d in durations], randomize=0
        )
        out.append((events, labels))
    return out


def negative_streams(per_kind: int, duration_ms: int = 6000) -> list[tuple[str, np.ndarray]]:
    """``per_kind`` held-out streams of every negative kind (idle people, empty scenes, noise)."""
    return [
        (kind, generate_negative(kind, NEGATIVE_SEED0 + 100 * k + i, duration_ms * 1000))
        for k, kind in enumerate(NEGATIVE_KINDS)
        for i in range(per_kind)
    ]


def to_sequence(
    name: str, events: np.ndarray, labels: np.ndarray | None, data: DataConfig
) -> LabelledSequence:
    """Bin a recording on the live path's grid; ``labels=None``: every window is "no gesture"."""
    if labels is None or len(labels) == 0:
        arrays = bin_recording(events, None, data, class_id=0)
        arrays["segments"] = arrays["segments"][:0]  # no gesture anywhere
    else:
        arrays = bin_recording(events, labels, data)
    return sequence_from_arrays(name, arrays, data.window_us)


def decisions(readout: Readout, run: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-window decision (class id, or -1 for "no gesture") of one ``run_sequences`` result."""
    return readout.decide(readout.stream_scores(run)).class_id


def gesture_and_idle(
    decided: np.ndarray, segments: np.ndarray, window_ms: float, grace_ms: float, idle_ms: float
) -> tuple[np.ndarray, np.ndarray]:
    """(right-or-wrong of gesture windows after the grace, abstained-or-not of idle windows)."""
    grace, idle_skip = int(np.ceil(grace_ms / window_ms)), int(np.ceil(idle_ms / window_ms))
    hits, idle = [], []
    rows = sorted(segments, key=lambda r: int(r["start"]))
    for j, row in enumerate(rows):
        c, s, e = int(row["class_id"]), int(row["start"]), int(row["end"])
        hits.append(decided[s + grace : e] == c)
        nxt = int(rows[j + 1]["start"]) if j + 1 < len(rows) else len(decided)
        idle.append(decided[e + idle_skip : nxt] < 0)
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, bool)  # noqa: E731
    return cat(hits), cat(idle)


def false_alarms(decided: np.ndarray) -> int:
    """Maximal runs of consecutive windows that name a gesture."""
    active = np.concatenate([[False], decided >= 0])
    return int(np.count_nonzero(active[1:] & ~active[:-1]))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def evaluate_condition(
    model: Evaluated,
    recordings: Sequence[tuple[np.ndarray, np.ndarray]],
    transform: Callable,
    seed: int,
    grace_ms: float = 300.0,
    idle_ms: float = 600.0,
) -> dict[str, float]:
    """One model on one condition: accuracy after onset and idle-gap abstention."""
    sequences = []
    for i, (events, labels) in enumerate(recordings):
        rng = np.random.default_rng([seed, i])
        ev, lab = transform(events, labels, rng, sensor_size=model.data.sensor_size)
        sequences.append(to_sequence(f"rec{i}", model.filtered(ev), lab, model.data))
    runs = run_sequences(model.model, sequences)
    window_ms = model.data.window_us / 1000.0
    hits, idle = [], []
    for seq, run in zip(sequences, runs, strict=True):
        decided = decisions(model.readout, run)
        h, d = gesture_and_idle(decided, seq.segments, window_ms, grace_ms, idle_ms)
        hits.append(h)
        idle.append(d)
    return {
        "accuracy_after_onset": _mean(np.concatenate(hits)),
        "idle_no_gesture": _mean(np.concatenate(idle)),
    }


def negative_runs(
    model: Evaluated, negatives: Sequence[tuple[str, np.ndarray]]
) -> list[dict[str, np.ndarray]]:
    """The network's spikes on each negative stream (``run_sequences`` results)."""
    sequences = [
        to_sequence(kind, model.filtered(events), None, model.data) for kind, events in negatives
    ]
    return run_sequences(model.model, sequences)


def evaluate_negatives(
    model: Evaluated,
    negatives: Sequence[tuple[str, np.ndarray]],
    runs: Sequence[Mapping[str, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Fraction of "no gesture" windows and false alarms per minute, overall and per kind."""
    runs = runs if runs is not None else negative_runs(model, negatives)
    per_kind: dict[str, list[float]] = {}
    windows = abstained = alarms = 0
    for (kind, _), run in zip(negatives, runs, strict=True):
        decided = decisions(model.readout, run)
        windows += len(decided)
        abstained += int(np.count_nonzero(decided < 0))
        alarms += false_alarms(decided)
        per_kind.setdefault(kind, []).append(float(np.mean(decided < 0)))
    minutes = windows * model.data.window_us / 60e6
    return {
        "no_gesture_fraction": abstained / windows if windows else float("nan"),
        "false_alarms_per_min": alarms / minutes if minutes else float("nan"),
        "minutes": minutes,
        "per_kind": {k: float(np.mean(v)) for k, v in per_kind.items()},
    }


def detection_report(
    model: Evaluated,
    recordings: Sequence[tuple[np.ndarray, np.ndarray]],
    neg_runs: Sequence[Mapping[str, np.ndarray]],
) -> dict[str, Any]:
    """ "Gesture present" against "no gesture" on the clean recordings (gesture windows and
    idle gaps) and the negative streams: ECE, and AUROC of the decision's top-gesture
    probability against the maximum-softmax baseline, in one run (evaluation.no_gesture_report).
    """
    sequences = [
        to_sequence(f"rec{i}", model.filtered(events), labels, model.data)
        for i, (events, labels) in enumerate(recordings)
    ]
    runs = run_sequences(model.model, sequences)
    readout = model.readout
    report = no_gesture_report(
        readout,
        [(readout.stream_scores(r), s.window_labels) for r, s in zip(runs, sequences, strict=True)],
        [readout.stream_scores(r) for r in neg_runs],
        model.data.window_us,
    )
    report.pop("readout")  # the checkpoint's; the head's weights would flood the JSON
    return report


def robustness_protocol(
    models: Sequence[Evaluated],
    recordings: Sequence[tuple[np.ndarray, np.ndarray]],
    negatives: Sequence[tuple[str, np.ndarray]],
    background: str | None = None,
    conditions: Mapping[str, Callable] | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every condition for every model, plus the negatives; a JSON-ready dict."""
    conditions = conditions if conditions is not None else robustness_conditions(background)
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for name, transform in conditions.items():
        if progress is not None:
            progress(name)
        rows[name] = {m.label: evaluate_condition(m, recordings, transform, seed) for m in models}
    if progress is not None:
        progress("negatives")
    neg, detection = {}, {}
    for m in models:
        runs = negative_runs(m, negatives)
        neg[m.label] = evaluate_negatives(m, negatives, runs)
        detection[m.label] = detection_report(m, recordings, runs)
    return {
        "protocol": "robustness",
        "recordings": len(recordings),
        "negative_streams": len(negatives),
        "conditions": rows,
        "negatives": neg,
        "detection": detection,
    }


def format_robustness(result: Mapping[str, Any]) -> str:
    """The table as text: one row per condition, one column per model."""
    rows = result["conditions"]
    labels = list(next(iter(rows.values())).keys()) if rows else []
    head = "condition".ljust(20) + "".join(f"{lab:>12}" for lab in labels)
    lines = ["per-window accuracy after onset (idle-gap windows without a gesture)", head]
    for name, by_model in rows.items():
        cells = "".join(
            f"{100 * v['accuracy_after_onset']:6.1f}% ({100 * v['idle_no_gesture']:3.0f}%)"
            for v in by_model.values()
        )
        lines.append(name.ljust(20) + cells)
    lines.append("")
    lines.append("no-gesture streams: windows without a gesture, false alarms per minute")
    for label, neg in result["negatives"].items():
        lines.append(
            f"{label:>12}: {100 * neg['no_gesture_fraction']:.1f}% of "
            f"{neg['minutes']:.1f} min, {neg['false_alarms_per_min']:.2f} false alarms/min"
        )
    detection = result.get("detection", {})
    if detection:
        lines.append("")
        lines.append(
            "gesture present vs no gesture (clean recordings + negative streams): AUROC ours / "
            "max-softmax baseline, FPR at 95 % TPR ours / baseline, ECE"
        )
    for label, d in detection.items():
        au, fpr = d["auroc"], d["fpr_at_95_tpr"]
        lines.append(
            f"{label:>12}: AUROC {_fmt(au['ours'])} / {_fmt(au['msp'])}, "
            f"FPR@95 {_fmt(fpr['ours'])} / {_fmt(fpr['msp'])}, ECE {_fmt(d['ece'])}"
        )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
