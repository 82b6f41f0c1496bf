"""What the pipeline produces for every window: :class:`WindowReport`.

One report per binned window that reached the network. Times are in microseconds of the
source's clock (``t_start_us``, ``t_end_us``); ``latency_ms`` is wall-clock milliseconds from
the moment the window's end became known (the packet holding the first event at or past
``t_end_us`` was handed to the pipeline) to the moment its prediction existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class WindowReport:
    """The network's verdict on one window.

    Attributes:
        window: running window number of this run (gaps mean windows were dropped).
        t_start_us, t_end_us: the window's span in source microseconds, ``[start, end)``.
        events: events that fell into the window (after adaptation and noise filter).
        class_id: predicted gesture index (0..gestures-1), or -1 (NO_GESTURE_ID) when the
            decision abstains ("no gesture").
        prediction: the predicted gesture's name, or None for "no gesture".
        confidence: probability of the shown outcome, in [0, 1]: of the gesture, or of "no
            gesture" when abstaining (see ``asa_live.model.readout.Readout.decide``).
        scores: ``[gestures]`` float32 calibrated probabilities of the gesture classes, in
            [0, 1] on an absolute scale (the raw readout rates for an uncalibrated model).
        spikes: spike count of each spiking layer in this window, network order.
        latency_ms: window end known -> prediction, wall-clock milliseconds.
        truth: the labelled class index when a labels file covers this window, else None.
        truth_name: its name, else None.
        state_reset: True when the network state was reset right before this window
            (by the user, after an idle gap, or because the source restarted).
        merged: how many source windows this report covers (1 unless the merge policy
            folded late windows together).
        reason: why the decision abstains (None when it shows a gesture): "background" (the
            no-gesture output won), "low_confidence" (the top gesture is under the
            calibrated threshold) or "no_output" (the output layer has been silent).
    """

    window: int
    t_start_us: int
    t_end_us: int
    events: int
    class_id: int
    prediction: str | None
    confidence: float
    scores: np.ndarray = field(repr=False)
    spikes: tuple[int, ...]
    latency_ms: float
    truth: int | None = None
    truth_name: str | None = None
    state_reset: bool = False
    merged: int = 1
    reason: str | None = None

    @property
    def correct(self) -> bool | None:
        """Whether the prediction matches the label (None when unlabelled)."""
        return None if self.truth is None else self.class_id == self.truth

    def to_json_dict(self) -> dict:
        """The headless JSON line: the fields of the ``--headless`` contract (+ ``truth``).

        "no gesture" is ``"prediction": null, "class_id": -1`` with its ``"reason"``."""
        out = {
            "window": self.window,
            "t_start_us": self.t_start_us,
            "t_end_us": self.t_end_us,
            "events": self.events,
            "prediction": self.prediction,
            "class_id": self.class_id,
            "confidence": round(float(self.confidence), 4),
            "spikes": [int(s) for s in self.spikes],
            "latency_ms": round(float(self.latency_ms), 3),
        }
        if self.class_id < 0:
            out["reason"] = self.reason
        if self.truth is not None:
            out["truth"] = self.truth_name
            out["truth_id"] = self.truth
        if self.state_reset:
            out["state_reset"] = True
        if self.merged != 1:
            out["merged"] = self.merged
        return out
