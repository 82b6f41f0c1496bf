"""Bounded-memory run statistics: latency percentiles, rates, accuracy.

Everything here has a fixed size however long the stream runs: latencies go into a ring of
the most recent values (for the live p50/p95) and into a fixed histogram (for whole-run
percentiles); rates are measured over a sliding wall-clock span.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

_HIST_MAX_MS = 2000.0
_HIST_BIN_MS = 0.05


class LatencyTracker:
    """Latency percentiles in milliseconds: recent (ring of ``recent`` values) and whole run."""

    def __init__(self, recent: int = 1024) -> None:
        self._recent: deque[float] = deque(maxlen=recent)
        self._hist = np.zeros(int(_HIST_MAX_MS / _HIST_BIN_MS) + 1, dtype=np.int64)
        self.count = 0
        self.max_ms = 0.0

    def add(self, latency_ms: float) -> None:
        self._recent.append(latency_ms)
        self._hist[min(int(latency_ms / _HIST_BIN_MS), len(self._hist) - 1)] += 1
        self.count += 1
        self.max_ms = max(self.max_ms, latency_ms)

    def recent_percentile(self, q: float) -> float:
        """Percentile ``q`` (0..100) of the recent latencies; NaN when none."""
        if not self._recent:
            return float("nan")
        return float(np.percentile(np.fromiter(self._recent, dtype=np.float64), q))

    def percentile(self, q: float) -> float:
        """Percentile ``q`` (0..100) over the whole run, to 0.05 ms; NaN when none."""
        if self.count == 0:
            return float("nan")
        rank = q / 100.0 * (self.count - 1)
        index = int(np.searchsorted(np.cumsum(self._hist), rank + 1, side="left"))
        return min((index + 0.5) * _HIST_BIN_MS, self.max_ms)


class RateMeter:
    """Events (or any count) per second over the last ``span_s`` seconds of wall time."""

    def __init__(self, span_s: float = 1.0) -> None:
        self.span_s = span_s
        self._marks: deque[tuple[float, int]] = deque(maxlen=4096)

    def add(self, count: int, now: float | None = None) -> None:
        self._marks.append((time.perf_counter() if now is None else now, count))

    def rate(self, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        while self._marks and self._marks[0][0] < now - self.span_s:
            self._marks.popleft()
        if not self._marks:
            return 0.0
        span = self.span_s
        if len(self._marks) == self._marks.maxlen:  # the ring overflowed: use what it holds
            span = max(now - self._marks[0][0], 1e-6)
        return sum(c for _, c in self._marks) / span


@dataclass(frozen=True)
class PipelineStats:
    """A snapshot of a running (or finished) pipeline, for the status line and the summary.

    Times: ``source_s`` is the span of source time processed, ``wall_s`` the wall time since
    the start (pauses excluded); ``real_time_factor = source_s / wall_s``.
    """

    windows: int
    dropped_windows: int
    merged_windows: int
    labelled_windows: int
    correct_windows: int
    events: int
    event_rate: float
    windows_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    source_s: float
    wall_s: float
    state_resets: int
    running: bool
    paused: bool

    @property
    def accuracy(self) -> float | None:
        if self.labelled_windows == 0:
            return None
        return self.correct_windows / self.labelled_windows

    @property
    def real_time_factor(self) -> float:
        return self.source_s / self.wall_s if self.wall_s > 0 else float("nan")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["accuracy"] = self.accuracy
        out["real_time_factor"] = self.real_time_factor
        return out

    def summary_line(self) -> str:
        acc = "n/a (no labels)" if self.accuracy is None else f"{100 * self.accuracy:.1f} %"
        # no window (an empty recording): no latency to give, and never "nan ms"
        latency = "latency: no window"
        if math.isfinite(self.latency_p50_ms) and math.isfinite(self.latency_p95_ms):
            latency = f"latency p50 {self.latency_p50_ms:.2f} ms p95 {self.latency_p95_ms:.2f} ms"
        factor = self.real_time_factor
        factor_text = f"{factor:.1f}x" if math.isfinite(factor) else "n/a"
        return (
            f"windows {self.windows}, dropped {self.dropped_windows}, merged "
            f"{self.merged_windows}, accuracy {acc} over {self.labelled_windows} labelled "
            f"windows, {latency}, {self.source_s:.1f} s of stream in {self.wall_s:.1f} s "
            f"(real-time factor {factor_text})"
        )


class RunCounters:
    """Mutable, thread-safe counters behind :class:`PipelineStats`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency = LatencyTracker()
        self.event_rate = RateMeter()
        self.window_rate = RateMeter()
        self.windows = 0
        self.dropped = 0
        self.merged = 0
        self.labelled = 0
        self.correct = 0
        self.events = 0
        self.resets = 0
        self.first_t_us: int | None = None
        self.last_t_us: int | None = None
        self.source_us_done = 0  # source time of earlier passes (restarts, loops)
        self.wall_start = time.perf_counter()
        self.paused_s = 0.0
        self._pause_began: float | None = None

    def on_events(self, n: int, t_first_us: int, t_last_us: int) -> None:
        with self.lock:
            self.events += n
            self.event_rate.add(n)
            if self.first_t_us is None or (
                self.last_t_us is not None and t_first_us < self.last_t_us
            ):
                if self.first_t_us is not None and self.last_t_us is not None:
                    self.source_us_done += self.last_t_us - self.first_t_us
                self.first_t_us = t_first_us
            self.last_t_us = t_last_us

    def on_window(self, latency_ms: float, truth: int | None, correct: bool | None) -> None:
        with self.lock:
            self.windows += 1
            self.window_rate.add(1)
            self.latency.add(latency_ms)
            if truth is not None:
                self.labelled += 1
                self.correct += bool(correct)

    def set_paused(self, paused: bool) -> None:
        with self.lock:
            now = time.perf_counter()
            if paused and self._pause_began is None:
                self._pause_began = now
            elif not paused and self._pause_began is not None:
                self.paused_s += now - self._pause_began
                self._pause_began = None

    def snapshot(
        self,
        running: bool,
        recent: bool = True,
        *,
        dropped: int | None = None,
        merged: int | None = None,
        resets: int | None = None,
    ) -> PipelineStats:
        """A read-only snapshot; ``dropped``/``merged``/``resets`` given by the owner of the
        queues and stages replace the counters' own values (nothing is written)."""
        with self.lock:
            now = time.perf_counter()
            paused_s = self.paused_s + (now - self._pause_began if self._pause_began else 0.0)
            span = 0
            if self.first_t_us is not None and self.last_t_us is not None:
                span = self.last_t_us - self.first_t_us
            pct = self.latency.recent_percentile if recent else self.latency.percentile
            return PipelineStats(
                windows=self.windows,
                dropped_windows=self.dropped if dropped is None else dropped,
                merged_windows=self.merged if merged is None else merged,
                labelled_windows=self.labelled,
                correct_windows=self.correct,
                events=self.events,
                event_rate=self.event_rate.rate(now),
                windows_per_s=self.window_rate.rate(now),
                latency_p50_ms=pct(50),
                latency_p95_ms=pct(95),
                source_s=(self.source_us_done + span) / 1e6,
                wall_s=max(now - self.wall_start - paused_s, 0.0),
                state_resets=self.resets if resets is None else resets,
                running=running,
                paused=self._pause_began is not None,
            )
