"""The event view's data: recent events kept for display and rendered ON/OFF in two colours.

:class:`EventAccumulator` holds the most recent events (in the network's input geometry, i.e.
after sensor adaptation) for at most ``max_span_us`` and ``max_events``, so it never grows
without bound. :func:`render_events` turns events into an RGB image: ON in amber, OFF in
blue, pixels with both a mix, brightness rising with the count and saturating.
:func:`describe_report` decides what the overlay and the video say about one window (a gesture
or "no gesture" with its reason); :func:`model_input_counts` rebuilds the network's binned input.
:class:`ApsFrames` holds a DAVIS recording's grey frames for an underlay, as DV draws them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from asa_live.events import empty_events
from asa_live.events.binning import bin_events

ON_RGB = np.array([255, 176, 32], dtype=np.float32)
OFF_RGB = np.array([40, 140, 255], dtype=np.float32)
BACKGROUND_RGB = np.array([12, 12, 16], dtype=np.float32)


def polarity_counts(events: np.ndarray, sensor_size: tuple[int, int]) -> np.ndarray:
    """Count events per pixel and polarity: float32 ``[2, H, W]`` (channel 0 OFF, 1 ON)."""
    width, height = sensor_size
    x = events["x"].astype(np.int64)
    y = events["y"].astype(np.int64)
    p = events["p"].astype(np.int64)
    keep = (x < width) & (y < height)
    flat = (p[keep] * height + y[keep]) * width + x[keep]
    counts = np.bincount(flat, minlength=2 * height * width).astype(np.float32)
    return counts.reshape(2, height, width)


def render_counts(counts: np.ndarray, saturation: float = 3.0) -> np.ndarray:
    """``[2, H, W]`` counts -> ``[H, W, 3]`` uint8 RGB; ``saturation`` events reach ~95 %."""
    scale = 3.0 / max(saturation, 1e-6)
    off = 1.0 - np.exp(-counts[0] * scale)
    on = 1.0 - np.exp(-counts[1] * scale)
    rgb = BACKGROUND_RGB + on[..., None] * ON_RGB + off[..., None] * OFF_RGB
    return np.clip(rgb, 0, 255).astype(np.uint8)


def render_events(
    events: np.ndarray, sensor_size: tuple[int, int], saturation: float = 3.0
) -> np.ndarray:
    """Events -> ``[H, W, 3]`` uint8 RGB (ON amber, OFF blue)."""
    return render_counts(polarity_counts(events, sensor_size), saturation)


class EventAccumulator:
    """Thread-safe store of the most recent events, for drawing.

    Args:
        sensor_size: (width, height) of the coordinates pushed in.
        max_span_us: events older than this behind the newest one are discarded.
        max_events: at most this many events are kept (oldest packets go first).
    """

    def __init__(
        self,
        sensor_size: tuple[int, int],
        max_span_us: int = 2_000_000,
        max_events: int = 2_000_000,
    ) -> None:
        self.sensor_size = (int(sensor_size[0]), int(sensor_size[1]))
        self.max_span_us = int(max_span_us)
        self.max_events = int(max_events)
        self._packets: deque[np.ndarray] = deque()
        self._count = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    @property
    def latest_t_us(self) -> int | None:
        with self._lock:
            return int(self._packets[-1]["t"][-1]) if self._packets else None

    def clear(self) -> None:
        with self._lock:
            self._packets.clear()
            self._count = 0

    def push(self, events: np.ndarray) -> None:
        """Add a time-sorted packet; a packet earlier than the stored ones clears the store."""
        if len(events) == 0:
            return
        with self._lock:
            if self._packets and events["t"][0] < self._packets[-1]["t"][-1] - self.max_span_us:
                self._packets.clear()  # the source started over
                self._count = 0
            self._packets.append(events)
            self._count += len(events)
            newest = int(events["t"][-1])
            while self._packets and (
                self._count > self.max_events
                or int(self._packets[0]["t"][-1]) < newest - self.max_span_us
            ):
                self._count -= len(self._packets.popleft())

    def recent(self, span_us: int, until_us: int | None = None) -> np.ndarray:
        """The events with ``until_us - span_us < t <= until_us`` (default: up to the newest)."""
        with self._lock:
            packets = list(self._packets)
        if not packets:
            return empty_events()
        if until_us is None:
            until_us = int(packets[-1]["t"][-1])
        lo = until_us - span_us
        chosen = [p for p in packets if p["t"][-1] > lo and p["t"][0] <= until_us]
        if not chosen:
            return packets[0][:0]
        events = np.concatenate(chosen) if len(chosen) > 1 else chosen[0]
        t = events["t"]
        return events[np.searchsorted(t, lo, side="right") : np.searchsorted(t, until_us, "right")]

    def render(
        self, span_us: int, until_us: int | None = None, saturation: float = 3.0
    ) -> np.ndarray:
        """RGB ``[H, W, 3]`` uint8 of the last ``span_us`` microseconds of events."""
        return render_events(self.recent(span_us, until_us), self.sensor_size, saturation)


NO_GESTURE_TITLE = "\u2014"  # an em dash: never a class name when nothing is recognised
REASON_TEXT = {
    "background": "no gesture: background motion",
    "low_confidence": "no gesture: too unsure",
    "no_output": "no gesture: the network is silent",
    None: "no gesture",
}


@dataclass(frozen=True)
class Outcome:
    """What to show for one window.

    Attributes:
        gesture: True when a gesture class was recognised.
        title: the class name (spaces, not underscores), or an em dash for "no gesture".
        detail: "confidence 0.83", or the reject reason for "no gesture".
        confidence: the calibrated probability of the shown outcome, in [0, 1].
        top: up to three ``(class name, score)`` pairs, best first; scores on an absolute
            0-1 scale (bars are drawn as ``score`` of the full width, never rescaled).
    """

    gesture: bool
    title: str
    detail: str
    confidence: float
    top: tuple[tuple[str, float], ...]


def pretty(name: str | None) -> str:
    """``right_hand_wave`` -> ``right hand wave``; None or empty -> ``-``."""
    return "-" if not name else name.replace("_", " ")


def describe_report(report: Any, class_names: tuple[str, ...]) -> Outcome:
    """The overlay's content for a WindowReport.

    ``class_id < 0`` (or no prediction) means "no gesture"; its ``reason`` attribute (read
    with getattr: older reports have none) says why.
    """
    scores = np.clip(np.nan_to_num(np.asarray(report.scores, dtype=np.float64)), 0.0, 1.0)
    order = np.argsort(-scores, kind="stable")[:3] if scores.size else []
    top = tuple(
        (pretty(class_names[c] if c < len(class_names) else str(c)), float(scores[c]))
        for c in order
    )
    confidence = float(np.clip(np.nan_to_num(float(report.confidence)), 0.0, 1.0))
    if report.class_id < 0 or not report.prediction:
        reason = getattr(report, "reason", None)
        if reason is None and not report.prediction:
            reason = "no_output"
        detail = REASON_TEXT.get(reason, f"no gesture: {pretty(reason)}")
        return Outcome(False, NO_GESTURE_TITLE, detail, confidence, top)
    return Outcome(True, pretty(report.prediction), f"confidence {confidence:.2f}", confidence, top)


def model_input_counts(
    accumulator: EventAccumulator, t_start_us: int, t_end_us: int, downsample: int
) -> np.ndarray:
    """The network's input for the window ``[t_start_us, t_end_us)``: ``[2, H/d, W/d]`` counts.

    Built from the display store (events already in the network's geometry) with the same
    :func:`bin_events` the binner uses, so it shows exactly what the network is fed.
    """
    span = max(1, int(t_end_us) - int(t_start_us))
    events = accumulator.recent(span + 1, until_us=int(t_end_us))
    events = events[(events["t"] >= t_start_us) & (events["t"] < t_end_us)]
    frames = bin_events(events, span, accumulator.sensor_size, downsample, t0_us=int(t_start_us))
    if len(frames) == 0:
        width, height = accumulator.sensor_size
        return np.zeros((2, height // downsample, width // downsample), dtype=np.float32)
    return frames[0]


def frame_to_grid(
    grey: np.ndarray, region: tuple[int, int, int, int], target_size: tuple[int, int]
) -> np.ndarray:
    """An APS frame ``[H, W]`` (sensor pixels) -> ``[th, tw]`` uint8 on the network's grid.

    Takes the same ``region`` (x0, y0, width, height) the SensorAdapter keeps and samples it
    (nearest pixel) onto ``target_size`` (width, height), so it lines up with the events.
    """
    x0, y0, cw, ch = region
    tw, th = target_size
    ys = np.clip(y0 + (np.arange(th) * ch) // th, 0, grey.shape[0] - 1)
    xs = np.clip(x0 + (np.arange(tw) * cw) // tw, 0, grey.shape[1] - 1)
    return np.asarray(grey)[np.ix_(ys, xs)].astype(np.uint8)


def blend_underlay(rgb: np.ndarray, grey: np.ndarray, strength: float = 0.6) -> np.ndarray:
    """Events ``[H, W, 3]`` drawn over a dimmed grey frame ``[H, W]``, as DV shows them."""
    events = rgb.astype(np.float32) - BACKGROUND_RGB
    base = grey.astype(np.float32)[..., None] * strength
    return np.clip(base + np.maximum(events, 0), 0, 255).astype(np.uint8)


class ApsFrames:
    """The grey (APS) frames of a recording, looked up by time for the underlay.

    Args:
        times_us: ``[N]`` sorted frame timestamps (source clock).
        frames: N ``[H, W]`` uint8 images in sensor pixels.
        time_range_us: the recording's (first, last) time; a looping replay shifts every
            pass by ``last - first + 1`` (as the file sources do), so lookups wrap.
    """

    MAX_FRAMES = 3000  # ~270 MB of DAVIS346 frames at most; later frames are not shown

    def __init__(
        self, times_us: np.ndarray, frames: list[np.ndarray], time_range_us: tuple[int, int]
    ) -> None:
        self.times_us = np.asarray(times_us, dtype=np.int64)
        self.frames = frames
        self.start_us, self.end_us = int(time_range_us[0]), int(time_range_us[1])

    def __len__(self) -> int:
        return len(self.frames)

    @classmethod
    def from_aedat4(cls, path: Any) -> ApsFrames | None:
        """The frames of an AEDAT4 file, or None when it has none (or cannot be read)."""
        try:
            import dv_processing as dv  # optional heavy dependency, as in events/aedat4.py

            rec = dv.io.MonoCameraRecording(str(path))
            if not rec.isFrameStreamAvailable():
                return None
            times, frames = [], []
            while len(frames) < cls.MAX_FRAMES and (frame := rec.getNextFrame()) is not None:
                times.append(int(frame.timestamp))
                image = np.asarray(frame.image)
                frames.append(image if image.ndim == 2 else image.mean(-1).astype(np.uint8))
            time_range = tuple(int(t) for t in rec.getTimeRange())
        except (ImportError, RuntimeError, ValueError, OSError):
            return None  # no underlay is better than a failed replay
        return cls(np.array(times), frames, time_range) if frames else None

    def at(self, t_us: int) -> np.ndarray | None:
        """The newest frame at or before ``t_us`` (None before the first one)."""
        period = self.end_us - self.start_us + 1
        t = self.start_us + (int(t_us) - self.start_us) % period if t_us > self.end_us else t_us
        i = int(np.searchsorted(self.times_us, t, side="right")) - 1
        return None if i < 0 else self.frames[i]


def compose_picture(
    accumulator: EventAccumulator,
    latest: Any,
    *,
    downsample: int,
    accumulate_us: int,
    model_input: bool = False,
    grey: np.ndarray | None = None,
    adapter: Any = None,
) -> tuple[np.ndarray, str]:
    """The event view's RGB image and a caption saying what it shows.

    ``model_input``: the binned frame of the ``latest`` report's window (what the network
    was fed), else the last ``accumulate_us`` of events, over the ``grey`` frame (sensor
    pixels, mapped through the SensorAdapter ``adapter``) when there is one.
    """
    if model_input and latest is not None:
        counts = model_input_counts(accumulator, latest.t_start_us, latest.t_end_us, downsample)
        h, w = counts.shape[1:]
        return render_counts(counts, 3.0 * downsample), f"model input: one {w}x{h} binned window"
    rgb = accumulator.render(accumulate_us)
    if grey is not None and adapter is not None:
        rgb = blend_underlay(rgb, frame_to_grid(grey, adapter.region, adapter.target_size))
    return rgb, ("model input: waiting" if model_input else "events")
