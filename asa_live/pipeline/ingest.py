"""The ingest stage: event packets (source coordinates) -> binned windows for the network.

Adaptation (+ noise filter) and the streaming binner, plus the two stream events that reset
the network: an idle gap of ``idle_reset_ms`` or more, and a jump backwards in source time (a
looping replay starting over, a camera whose clock restarted). Either way the binner is
flushed and restarted at the next event, so the gap is never binned into empty windows.

Output time keeps increasing: after a jump backwards every later window is shifted by
``offset_us`` so that it starts where the last one ended, and the JSON's ``t_start_us`` /
``t_end_us`` grow across the passes of a looping replay. Ground truth is looked up on the
source's own clock, so the labels of a file apply on every pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from asa_live.events.adapt import NoiseFilter, SensorAdapter
from asa_live.events.adapt_bin import AdaptingBinner
from asa_live.events.binning import BinnedWindow, StreamingBinner
from asa_live.model.config import BinningConfig
from asa_live.pipeline.labels import GroundTruth

DEFAULT_IDLE_RESET_MS = 1000.0


@dataclass
class PendingWindow:
    """A binned window on its way to the network.

    ``frame`` is float32 ``[2, H, W]`` event counts; ``t_known`` is a clock value (seconds) of
    when the window closed; ``merged`` counts the source windows it stands for.
    """

    number: int
    t_start_us: int
    t_end_us: int
    frame: np.ndarray
    n_events: int
    t_known: float
    truth: int | None
    state_reset: bool = False
    merged: int = 1


class IngestStage:
    """Events in source coordinates -> windows for the network (one thread only).

    Args:
        source_size: (width, height) of the source.
        binning: the checkpoint's BinningConfig (window length, geometry, downsampling).
        noise_filter: run the background-activity filter (on source coordinates).
        idle_reset_ms: a gap without events this long resets state; None or 0 disables it.
        truth: ground truth for the windows, or None.
        first_number: the number of the first window (numbers keep rising across restarts).
    """

    def __init__(
        self,
        source_size: tuple[int, int],
        binning: BinningConfig,
        noise_filter: bool = False,
        idle_reset_ms: float | None = DEFAULT_IDLE_RESET_MS,
        truth: GroundTruth | None = None,
        first_number: int = 0,
    ) -> None:
        self.source_size = (int(source_size[0]), int(source_size[1]))
        self.binning = binning
        self.adapter = SensorAdapter(
            self.source_size, target_size=tuple(binning.sensor_size), mode=binning.adapt_mode
        )
        self.binner = StreamingBinner(
            binning.window_us, tuple(binning.sensor_size), downsample=binning.downsample
        )
        self._fused = AdaptingBinner(self.adapter, self.binner)
        self.noise_enabled = bool(noise_filter)
        self._noise: NoiseFilter | None = None
        self.idle_reset_us = int(idle_reset_ms * 1000) if idle_reset_ms else None
        self.truth = truth
        self._last_event_us: int | None = None
        self._reset_next = False
        self.windows_emitted = first_number
        self.idle_resets = 0
        self.offset_us = 0  # added to source time after jumps backwards
        self._end_out_us: int | None = None  # end of the last window, output time

    def reopened(self, source_size: tuple[int, int]) -> IngestStage:
        """A fresh stage for a reopened source that keeps numbering and counters going."""
        stage = IngestStage(
            source_size,
            self.binning,
            self.noise_enabled,
            self.idle_reset_us / 1000 if self.idle_reset_us else None,
            self.truth,
            first_number=self.windows_emitted,
        )
        stage.idle_resets = self.idle_resets
        stage._reset_next = True  # a restarted stream begins from rest
        return stage

    def set_noise_filter(self, enabled: bool) -> None:
        """Switch the noise filter (from any thread: it applies from the next packet)."""
        self.noise_enabled = bool(enabled)

    def _filter(self, events: np.ndarray) -> np.ndarray:
        if not self.noise_enabled or len(events) == 0:
            return events
        if self._noise is None:
            self._noise = NoiseFilter(self.source_size)
        return self._noise(events)

    def _wrap(self, windows: Iterable[BinnedWindow], t_known: float) -> list[PendingWindow]:
        out = []
        for w in windows:
            truth = self.truth.for_window(w.t_start_us, w.t_end_us) if self.truth else None
            start, end = int(w.t_start_us) + self.offset_us, int(w.t_end_us) + self.offset_us
            out.append(
                PendingWindow(
                    self.windows_emitted,
                    start,
                    end,
                    w.frame,
                    int(w.n_events),
                    t_known,
                    truth,
                    state_reset=self._reset_next,
                )  # fmt: skip
            )
            self._reset_next = False
            self._end_out_us = end
            self.windows_emitted += 1
        return out

    def process(self, packet: np.ndarray, t_known: float) -> tuple[np.ndarray, list[PendingWindow]]:
        """One time-sorted packet (source coordinates) -> (adapted events, closed windows).

        The adapted events carry output time (source time + ``offset_us``), like the windows.
        """
        return self._split(packet, t_known, True)

    def process_windows(self, packet: np.ndarray, t_known: float) -> list[PendingWindow]:
        """``process`` for when only the windows are needed: the same windows, without
        materialising the adapted events (adaptation fused with binning, events/adapt_bin)."""
        return self._split(packet, t_known, False)[1]

    def _split(
        self, packet: np.ndarray, t_known: float, adapted: bool
    ) -> tuple[np.ndarray, list[PendingWindow]]:
        if len(packet) == 0:
            return packet, []
        if self.idle_reset_us is not None and len(packet) > 1:
            # An idle gap may also lie inside a packet (big file packets): split there.
            cuts = np.flatnonzero(np.diff(packet["t"]) >= self.idle_reset_us) + 1
            if len(cuts):
                parts = [self._process(p, t_known, adapted) for p in np.split(packet, cuts)]
                events = np.concatenate([e for e, _ in parts])
                return events, [w for _, ws in parts for w in ws]
        return self._process(packet, t_known, adapted)

    def _process(
        self, packet: np.ndarray, t_known: float, adapted: bool = True
    ) -> tuple[np.ndarray, list[PendingWindow]]:
        windows: list[PendingWindow] = []
        first = int(packet["t"][0])
        if self._last_event_us is not None:
            gap = first - self._last_event_us
            went_back = gap < -int(self.binning.window_us)
            idle = self.idle_reset_us is not None and gap >= self.idle_reset_us
            if went_back or idle:
                # Close the window holding the last events, then start a fresh time grid at
                # the next event instead of binning the whole gap into empty windows.
                windows += self._wrap(self.binner.flush(), t_known)
                self.binner.reset()
                self._reset_next = True
                self.idle_resets += int(idle and not went_back)
            if went_back:
                # keep output time increasing: the new pass starts where the last window ended
                last_out = self._last_event_us + self.offset_us + 1
                self.offset_us = max(self._end_out_us or last_out, last_out) - first
        self._last_event_us = int(packet["t"][-1])
        if not adapted:
            windows += self._wrap(self._fused.push(self._filter(packet)), t_known)
            return packet[:0], windows
        events = self.adapter(self._filter(packet))
        windows += self._wrap(self.binner.push(events), t_known)
        if self.offset_us:  # taps (display, video) see the reports' time, not the source's
            # copied as opaque records: a structured copy of the packed dtype is ~50x slower
            events = events.view(f"V{events.itemsize}").copy().view(events.dtype)
            events["t"] += self.offset_us
        return events, windows

    def flush(self, t_known: float) -> list[PendingWindow]:
        """The last, partly filled window at the end of the stream."""
        return self._wrap(self.binner.flush(), t_known)


class StreamLimit:
    """Stops a stream after ``max_seconds`` of source time, counted across loops/restarts.

    ``clip(packet)`` returns the part of the packet inside the limit and whether the limit
    was reached. A packet earlier than the previous one starts a new pass (a looping replay).
    """

    def __init__(self, max_seconds: float | None) -> None:
        self.limit_us = None if max_seconds is None else int(max_seconds * 1e6)
        self.used_us = 0
        self._last_us: int | None = None

    def clip(self, packet: np.ndarray) -> tuple[np.ndarray, bool]:
        if self.limit_us is None or len(packet) == 0:
            return packet, False
        t = packet["t"]
        base = self._last_us if self._last_us is not None and t[0] >= self._last_us else int(t[0])
        room = self.limit_us - self.used_us
        reached = int(t[-1]) - base >= room
        if reached:
            packet = packet[t - base < room]
        if len(packet):
            self.used_us += int(packet["t"][-1]) - base
            self._last_us = int(packet["t"][-1])
        return packet, reached


def as_truth(labels: Any) -> GroundTruth | None:
    """A GroundTruth from a GroundTruth, a LABEL_DTYPE array or a labels CSV path (or None)."""
    if labels is None or isinstance(labels, GroundTruth):
        return labels
    if isinstance(labels, np.ndarray):
        return GroundTruth(labels)
    return GroundTruth.from_csv(labels)
