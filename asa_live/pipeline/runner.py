"""The live pipeline: source -> adaptation (+ noise filter) -> streaming binner -> session -> reports.

Two ways to run it, on the same stages:

* :func:`run_stream`: a plain generator, everything in the caller's thread (headless runs,
  tests, and the "naive" baseline of benchmarks/bench_replay.py).
* :class:`PipelineWorker`: two threads, ingest (read, pace, adapt, filter, bin) and inference
  (session), joined by a bounded window queue; results go to a bounded buffer that the GUI or
  the headless printer drains. The worker never waits for the GUI.

Overload policy (when inference falls behind a real-time source). The window queue holds at
most ``max_pending_windows`` windows. When a new window arrives and the queue is full:

* ``"drop"`` (default for cameras and paced replays): the oldest pending window is discarded
  and counted in ``dropped_windows``; the network skips it, keeping latency bounded by
  ``max_pending_windows`` inference times;
* ``"merge"``: the new window is folded into the newest pending one (event counts summed, the
  span extended), counted in ``merged_windows``; no event is lost, time resolution is;
* ``"block"`` (default for unpaced file replay, where there is no real time to fall behind):
  the ingest thread waits, so every window is inferred.

The result buffer holds at most ``result_capacity`` reports; for the GUI it drops its oldest
report when full (the GUI only draws the latest state), for headless output it is lossless and
back-pressures inference instead.

Idle reset: when the gap between two consecutive events is ``idle_reset_ms`` or longer, the
binner is flushed and restarted at the next event and the network state and readout are reset
before the next window, so a new gesture after a pause starts from rest. A jump backwards in
source time (a looping replay starting over) does the same.

Latency: ``t_known`` is the wall-clock time at which the packet holding the first event at or
past a window's end was handed to the pipeline (for a paced replay: the moment the pacer
released it, i.e. when the window closed in replay time). ``latency_ms`` runs from there to
the moment the window's scores exist, so it includes adaptation, filtering, binning, queueing
and inference (and, for chunks of K > 1 windows, the wait for the rest of the chunk).

Batching (unpaced replay only): when no pacer runs, the windows that are ready together (all
those one file packet closes, or those waiting in the worker's queue) go to the network in one
forward call of up to ``BATCH_WINDOWS`` windows (``InferenceStage.infer_many``), which gives the
same predictions as one call per window. All windows of a batch share the batch's completion
time, so each window's latency includes the inference of the whole batch. Paced replays and
cameras keep one window per call, so their latency is unchanged.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from asa_live.errors import AsaLiveError, ConfigError
from asa_live.pipeline.display import EventAccumulator
from asa_live.pipeline.labels import GroundTruth
from asa_live.pipeline.pacing import Pacer
from asa_live.pipeline.report import WindowReport
from asa_live.pipeline.stats import PipelineStats, RunCounters

POLICIES = ("drop", "merge", "block")
DEFAULT_IDLE_RESET_MS = 1000.0
# Most windows handed to the network in one forward call in an unpaced replay. 32 spread torch's
# fixed per-call cost (about 0.7 ms at K = 1) so that the shipped model's network time falls from
# 0.8 to 0.2 ms per window (benchmarks/bench_replay.py), and bound the memory of one call.
BATCH_WINDOWS = 32


@dataclass
class PendingWindow:
    """A binned window on its way to the network.

    ``frame`` is float32 ``[2, H, W]`` event counts; ``t_known`` is a ``time.perf_counter()``
    value (seconds); ``merged`` counts the source windows it stands for.
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
    """

    def __init__(
        self,
        source_size: tuple[int, int],
        binning: Any,
        noise_filter: bool = False,
        idle_reset_ms: float | None = DEFAULT_IDLE_RESET_MS,
        truth: GroundTruth | None = None,
    ) -> None:
        from asa_live.events.adapt import SensorAdapter
        from asa_live.events.binning import StreamingBinner

        self.source_size = (int(source_size[0]), int(source_size[1]))
        self.binning = binning
        self.adapter = SensorAdapter(
            self.source_size, target_size=tuple(binning.sensor_size), mode=binning.adapt_mode
        )
        self.binner = StreamingBinner(
            binning.window_us, tuple(binning.sensor_size), downsample=binning.downsample
        )
        self.noise_enabled = bool(noise_filter)
        self._noise = None
        self.idle_reset_us = int(idle_reset_ms * 1000) if idle_reset_ms else None
        self.truth = truth
        self._last_event_us: int | None = None
        self._reset_next = False
        self.windows_emitted = 0
        self.idle_resets = 0

    def _filter(self, events: np.ndarray) -> np.ndarray:
        if not self.noise_enabled or len(events) == 0:
            return events
        if self._noise is None:
            from asa_live.events.adapt import NoiseFilter

            self._noise = NoiseFilter(self.source_size)
        return self._noise(events)

    def restart(self) -> list[PendingWindow]:
        """Start over (new source or user restart): flush nothing, forget everything."""
        self.binner.reset()
        self._last_event_us = None
        self._reset_next = True
        self._noise = None
        return []

    def _wrap(self, windows: Iterable[Any], t_known: float) -> list[PendingWindow]:
        out = []
        for w in windows:
            truth = self.truth.for_window(w.t_start_us, w.t_end_us) if self.truth else None
            out.append(
                PendingWindow(
                    number=self.windows_emitted,
                    t_start_us=int(w.t_start_us),
                    t_end_us=int(w.t_end_us),
                    frame=w.frame,
                    n_events=int(w.n_events),
                    t_known=t_known,
                    truth=truth,
                    state_reset=self._reset_next,
                )
            )
            self._reset_next = False
            self.windows_emitted += 1
        return out

    def process(self, packet: np.ndarray, t_known: float) -> tuple[np.ndarray, list[PendingWindow]]:
        """One time-sorted packet (source coordinates) -> (adapted events, closed windows)."""
        if len(packet) == 0:
            return packet, []
        if self.idle_reset_us is not None and len(packet) > 1:
            # An idle gap may also lie inside a packet (big file packets): split there.
            cuts = np.flatnonzero(np.diff(packet["t"]) >= self.idle_reset_us) + 1
            if len(cuts):
                parts = [self._process(p, t_known) for p in np.split(packet, cuts)]
                events = np.concatenate([e for e, _ in parts])
                return events, [w for _, ws in parts for w in ws]
        return self._process(packet, t_known)

    def _process(
        self, packet: np.ndarray, t_known: float
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
        self._last_event_us = int(packet["t"][-1])
        events = self.adapter(self._filter(packet))
        windows += self._wrap(self.binner.push(events), t_known)
        return events, windows

    def flush(self, t_known: float) -> list[PendingWindow]:
        """The last, partly filled window at the end of the stream."""
        return self._wrap(self.binner.flush(), t_known)


class InferenceStage:
    """Windows -> reports, through a StreamingSession that carries the network state.

    Args:
        checkpoint: a loaded Checkpoint (model, binning, class names).
        readout: the decision readout (default: the checkpoint's, see ``readout_for``).
        torch_threads: torch intra-op threads for the whole process (None: leave as is).
    """

    def __init__(self, checkpoint: Any, readout: Any = None, torch_threads: int | None = 1) -> None:
        from asa_live.model.session import StreamingSession
        from asa_live.pipeline.models import readout_for

        if torch_threads is not None:
            import torch

            # One intra-op thread: the ingest thread and the GUI need the other core, and on a
            # busy 2-core machine two torch threads spin against each other (measured here:
            # p95 per window 368 ms with 2 threads vs 7.8 ms with 1 under load).
            torch.set_num_threads(int(torch_threads))

        self.class_names = tuple(checkpoint.class_names)
        if readout is None:
            readout = readout_for(checkpoint)
        self.session = StreamingSession(checkpoint.model, readout=readout)
        self.layer_names = tuple(self.session.layer_names)
        self._waiting: deque[PendingWindow] = deque()
        self.discarded = 0  # windows lost from a partly filled chunk by a reset
        self._warm_up()

    def _warm_up(self) -> None:
        # The first forward call initialises torch's kernels (tens to hundreds of ms); doing
        # it here keeps that stall out of the first windows of a live stream, where it
        # would fill the queue and drop windows.
        zeros = np.zeros(self.session.frame_shape, dtype=np.float32)
        for _ in range(2 * self.session.chunk_windows):
            self.session.push(zeros)
        self.session.reset()

    def reset(self) -> None:
        self.discarded += len(self._waiting)
        self._waiting.clear()
        self.session.reset()

    def infer(self, pending: PendingWindow) -> list[WindowReport]:
        """Push one window; returns the reports of the chunk it completed (maybe none)."""
        if pending.state_reset:
            self.reset()
        self._waiting.append(pending)
        return self._reports(self.session.push(pending.frame))

    def infer_many(self, pending: list[PendingWindow]) -> list[WindowReport]:
        """Push consecutive windows together; the same reports as ``infer`` on each in turn.

        The windows between two state resets go to the session in one ``push_many`` call, so
        all the chunks they complete run as one forward call. Every report of such a call
        gets the same completion time, so a window's latency also covers the inference of the
        windows batched after it (see the module doc); use it where no one waits on a single
        window (unpaced replay).
        """
        reports: list[WindowReport] = []
        start = 0
        while start < len(pending):
            stop = start + 1
            while stop < len(pending) and not pending[stop].state_reset:
                stop += 1
            run = pending[start:stop]
            if run[0].state_reset:
                self.reset()
            self._waiting.extend(run)
            frames = np.stack([p.frame for p in run])
            reports += self._reports(self.session.push_many(frames))
            start = stop
        return reports

    def _reports(self, results: list[Any]) -> list[WindowReport]:
        """Pair the session's results with the oldest waiting windows, in order."""
        if not results:
            return []
        done = time.perf_counter()
        reports = []
        for result in results:
            p = self._waiting.popleft()
            cid = int(result.predicted)
            reports.append(
                WindowReport(
                    window=p.number,
                    t_start_us=p.t_start_us,
                    t_end_us=p.t_end_us,
                    events=p.n_events,
                    class_id=cid,
                    prediction=self.class_names[cid] if cid >= 0 else None,
                    confidence=float(result.confidence),
                    scores=np.asarray(result.probs, dtype=np.float32),
                    spikes=tuple(int(s) for s in result.layer_spikes),
                    latency_ms=(done - p.t_known) * 1e3,
                    truth=p.truth,
                    truth_name=self.class_names[p.truth] if p.truth is not None else None,
                    state_reset=p.state_reset,
                    merged=p.merged,
                    reason=result.reason,
                )
            )
        return reports


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


def _check_batch(batch_windows: int) -> int:
    if int(batch_windows) != batch_windows or batch_windows < 1:
        raise ConfigError(
            f"batch_windows must be a whole number of windows >= 1, got {batch_windows}; use 1 "
            f"to run one window per forward call."
        )
    return int(batch_windows)


def _as_truth(labels: Any) -> GroundTruth | None:
    if labels is None or isinstance(labels, GroundTruth):
        return labels
    if isinstance(labels, np.ndarray):
        return GroundTruth(labels)
    return GroundTruth.from_csv(labels)


def run_stream(
    source: Iterable[np.ndarray],
    checkpoint: Any,
    *,
    sensor_size: tuple[int, int] | None = None,
    speed: float | None = None,
    noise_filter: bool = False,
    idle_reset_ms: float | None = DEFAULT_IDLE_RESET_MS,
    labels: Any = None,
    max_seconds: float | None = None,
    readout: Any = None,
    torch_threads: int | None = 1,
    event_tap: Callable[[np.ndarray], None] | None = None,
    counters: RunCounters | None = None,
    stop: threading.Event | None = None,
    batch_windows: int = BATCH_WINDOWS,
) -> Iterator[WindowReport]:
    """Run the whole pipeline in the caller's thread and yield one report per window.

    Args:
        source: an EventSource (or any iterable of time-sorted EVENT_DTYPE packets).
        checkpoint: a loaded Checkpoint; its ``binning`` sets window, geometry, downsampling.
        sensor_size: (width, height) of the source; default ``source.sensor_size``.
        speed: pace the replay at this factor of real time; None = as fast as possible.
        noise_filter: apply the background-activity filter.
        idle_reset_ms: reset the state after a gap of this many ms without events (None: off).
        labels: a GroundTruth, a LABEL_DTYPE array or a labels CSV path; None for no truth.
        max_seconds: stop after this much source time (seconds).
        readout: the session's readout (default: the checkpoint's).
        torch_threads: torch intra-op threads (None: leave torch's setting alone).
        event_tap: called with every adapted packet (network geometry), e.g. for drawing.
        counters: RunCounters to update (for a summary); a fresh one when None.
        stop: set it to end the run early.
        batch_windows: without pacing, the most windows run in one forward call (1: one call
            per window); paced runs always use one window per call.
    """
    batch_windows = _check_batch(batch_windows)
    if sensor_size is None:
        sensor_size = getattr(source, "sensor_size", None)
        if sensor_size is None:
            raise ValueError("run_stream: give sensor_size for a source without .sensor_size")
    stop = stop or threading.Event()
    counters = counters or RunCounters()
    pacer = Pacer(speed, stop)
    ingest = IngestStage(
        sensor_size, checkpoint.binning, noise_filter, idle_reset_ms, _as_truth(labels)
    )
    inference = InferenceStage(checkpoint, readout, torch_threads)
    limit = StreamLimit(max_seconds)
    reached_limit = False

    def emit(pending: list[PendingWindow]) -> Iterator[WindowReport]:
        # Unpaced, a big file packet closes many windows at once: run up to batch_windows of
        # them in one forward call. Paced, windows arrive one by one and each goes alone, so
        # its latency does not include the inference of later windows.
        step = batch_windows if speed is None else 1
        for start in range(0, len(pending), step):
            batch = pending[start : start + step]
            reports = inference.infer_many(batch) if step > 1 else inference.infer(batch[0])
            for report in reports:
                counters.on_window(report.latency_ms, report.truth, report.correct)
                yield report

    for packet in source:
        for part in pacer.pace(packet):
            part, reached_limit = limit.clip(part)
            if len(part) == 0:
                break
            t_known = time.perf_counter()
            counters.on_events(len(part), int(part["t"][0]), int(part["t"][-1]))
            events, pending = ingest.process(part, t_known)
            if event_tap is not None:
                event_tap(events)
            yield from emit(pending)
            if reached_limit:
                break
        if stop.is_set() or reached_limit:
            break
    yield from emit(ingest.flush(time.perf_counter()))
    with counters.lock:
        counters.resets = ingest.idle_resets


class WindowQueue:
    """A bounded FIFO of PendingWindow with the overload ``policy`` (see the module doc)."""

    def __init__(self, capacity: int, policy: str, stop: threading.Event) -> None:
        if policy not in POLICIES:
            raise ConfigError(f"The overload policy '{policy}' is unknown: use one of {POLICIES}.")
        if capacity < 1:
            raise ConfigError(f"The window queue needs room for at least 1 window, got {capacity}.")
        self.capacity = capacity
        self.policy = policy
        self._items: deque[PendingWindow] = deque()
        self._cond = threading.Condition()
        self._stop = stop
        self._closed = False
        self.dropped = 0
        self.merged = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: PendingWindow) -> None:
        with self._cond:
            if len(self._items) >= self.capacity:
                if self.policy == "block":
                    while len(self._items) >= self.capacity and not self._stop.is_set():
                        self._cond.wait(0.05)
                elif self.policy == "drop":
                    old = self._items.popleft()
                    # A reset carried by the dropped window must still happen.
                    if old.state_reset:
                        item.state_reset = True
                    self.dropped += old.merged
                else:  # merge into the newest pending window
                    last = self._items[-1]
                    if not item.state_reset:
                        self._items[-1] = replace(
                            last,
                            t_end_us=item.t_end_us,
                            frame=last.frame + item.frame,
                            n_events=last.n_events + item.n_events,
                            t_known=item.t_known,
                            merged=last.merged + item.merged,
                        )
                        self.merged += item.merged
                        self._cond.notify_all()
                        return
                    self._items.popleft()  # cannot merge across a reset: drop instead
                    self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()

    def close(self) -> None:
        """No more windows will come; get() returns None once the queue is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
            self._cond.notify_all()

    def take_ready(self, max_items: int) -> list[PendingWindow]:
        """Up to ``max_items`` windows that are queued now (never waits; maybe none)."""
        with self._cond:
            n = min(max_items, len(self._items))
            out = [self._items.popleft() for _ in range(n)]
            if out:
                self._cond.notify_all()
            return out

    def get(self, timeout: float = 0.1) -> PendingWindow | None | bool:
        """The next window; None if none came within ``timeout``; False once closed and empty."""
        with self._cond:
            if not self._items:
                if self._closed:
                    return False
                self._cond.wait(timeout)
                if not self._items:
                    return False if self._closed else None
            item = self._items.popleft()
            self._cond.notify_all()
            return item


class ResultBuffer:
    """Bounded buffer of reports. ``lossless``: put() waits when full; else the oldest goes."""

    def __init__(self, capacity: int, lossless: bool, stop: threading.Event) -> None:
        self._items: deque[WindowReport] = deque()
        self.capacity = capacity
        self.lossless = lossless
        self._cond = threading.Condition()
        self._stop = stop
        self.discarded = 0
        self.latest: WindowReport | None = None

    def put(self, report: WindowReport) -> None:
        with self._cond:
            while self.lossless and len(self._items) >= self.capacity and not self._stop.is_set():
                self._cond.wait(0.05)
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.discarded += 1
            self._items.append(report)
            self.latest = report
            self._cond.notify_all()

    def drain(self, max_items: int | None = None) -> list[WindowReport]:
        with self._cond:
            n = len(self._items) if max_items is None else min(max_items, len(self._items))
            out = [self._items.popleft() for _ in range(n)]
            self._cond.notify_all()
            return out

    def wait(self, timeout: float) -> None:
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)

    def notify(self) -> None:
        with self._cond:
            self._cond.notify_all()


class PipelineWorker:
    """The pipeline in two background threads with bounded queues (see the module doc).

    Args:
        open_source: a callable returning a fresh EventSource; called once by ``start()``
            (in the caller's thread, so a bad file or a missing camera raises there) and again
            by ``restart()``.
        checkpoint: a loaded Checkpoint.
        speed: replay speed (None: as fast as the pipeline goes, or a live camera).
        live: the source produces events in real time by itself (a camera): never paced, and
            its events are read and discarded while paused so that its buffers do not fill.
        policy: "drop", "merge" or "block"; default "block" for an unpaced replay, else "drop".
        max_pending_windows: capacity of the window queue.
        noise_filter, idle_reset_ms, labels, max_seconds, readout, torch_threads: as for
            :func:`run_stream`.
        result_capacity: capacity of the result buffer.
        lossless_results: True for headless printing (back-pressure), False for the GUI.
        display_span_us: how much recent event history the display accumulator keeps.
        batch_windows: in an unpaced replay, the most queued windows run in one forward call
            (1: one call per window); paced replays and cameras always use one per call.
    """

    def __init__(
        self,
        open_source: Callable[[], Any],
        checkpoint: Any,
        *,
        speed: float | None = None,
        live: bool = False,
        policy: str | None = None,
        max_pending_windows: int = 8,
        noise_filter: bool = False,
        idle_reset_ms: float | None = DEFAULT_IDLE_RESET_MS,
        labels: Any = None,
        max_seconds: float | None = None,
        readout: Any = None,
        torch_threads: int | None = 1,
        result_capacity: int = 2048,
        lossless_results: bool = False,
        display_span_us: int = 2_000_000,
        batch_windows: int = BATCH_WINDOWS,
    ) -> None:
        self.batch_windows = _check_batch(batch_windows)
        self._open_source = open_source
        self.checkpoint = checkpoint
        self.live = live
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self.pacer = Pacer(None if live else speed, self._stop)
        if policy is None:
            policy = "block" if (speed is None and not live) else "drop"
        self.window_queue = WindowQueue(max_pending_windows, policy, self._stop)
        self.results = ResultBuffer(result_capacity, lossless_results, self._stop)
        self.counters = RunCounters()
        self.truth = _as_truth(labels)
        self.max_seconds = max_seconds
        self.readout = readout
        self._noise_filter = bool(noise_filter)
        self.idle_reset_ms = idle_reset_ms
        self.accumulator = EventAccumulator(checkpoint.binning.sensor_size, display_span_us)
        self.source: Any = None
        self.ingest: IngestStage | None = None
        self.inference = InferenceStage(checkpoint, readout, torch_threads)
        self.layer_names = self.inference.layer_names
        self.class_names = self.inference.class_names
        self.error: BaseException | None = None
        self._reset_requested = threading.Event()
        self._restart_requested = threading.Event()
        self._finished = threading.Event()
        self._threads: list[threading.Thread] = []
        self._recorder: Any = None
        self._recorder_lock = threading.Lock()
        self.on_error: Callable[[BaseException], None] | None = None
        self.on_finished: Callable[[], None] | None = None
        self.user_resets = 0
        self._earlier_drops = [0, 0]  # (dropped, merged) of window queues before a restart

    # ----------------------------------------------------------------- control (any thread)
    def start(self) -> None:
        """Open the source (raising AsaLiveError here if that fails) and start the threads."""
        if self._threads:
            raise RuntimeError("PipelineWorker.start() called twice")
        self._attach(self._open_source())
        self._launch()

    def _launch(self) -> None:
        self._threads = [
            threading.Thread(target=self._guard(self._ingest_loop), name="asa-ingest", daemon=True),
            threading.Thread(target=self._guard(self._infer_loop), name="asa-infer", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Cooperative cancel: ask both threads to finish and wait for them."""
        self._stop.set()
        self._resume.set()
        self.results.notify()
        # Close the source first: an idle camera would keep the ingest thread waiting for its
        # next packet, and a closed source ends its iteration.
        self._close_source()
        for t in self._threads:
            t.join(timeout)
        self.stop_recording()

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._finished.is_set()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def pause(self) -> None:
        self._resume.clear()
        self.counters.set_paused(True)

    def resume(self) -> None:
        self.pacer.reanchor()
        self.counters.set_paused(False)
        self._resume.set()

    def reset_state(self) -> None:
        """Reset the network state and readout before the next window."""
        self._reset_requested.set()

    def restart(self) -> None:
        """Reopen the source from its start, with fresh state (errors go to ``on_error``).

        Works while running and after the stream ended (or failed).
        """
        self.counters.set_paused(False)
        if self.running:
            self._restart_requested.set()
            self._resume.set()
            return
        for t in self._threads:
            t.join(2.0)
        self._stop.clear()
        self._finished.clear()
        self.error = None
        self._earlier_drops[0] += self.window_queue.dropped
        self._earlier_drops[1] += self.window_queue.merged
        self.window_queue = WindowQueue(
            self.window_queue.capacity, self.window_queue.policy, self._stop
        )
        self._restart_requested.set()
        self._resume.set()
        self._launch()

    def set_speed(self, speed: float | None) -> None:
        if not self.live:
            self.pacer.set_speed(speed)

    @property
    def speed(self) -> float | None:
        return self.pacer.speed

    @property
    def noise_filter(self) -> bool:
        return self._noise_filter

    def set_noise_filter(self, enabled: bool) -> None:
        self._noise_filter = bool(enabled)
        if self.ingest is not None:
            self.ingest.noise_enabled = self._noise_filter

    @property
    def sensor_size(self) -> tuple[int, int] | None:
        return None if self.source is None else tuple(self.source.sensor_size)

    def start_recording(self, path: Any) -> None:
        """Record the raw source events (source coordinates) to an AEDAT4 file."""
        from asa_live.pipeline.recorder import Aedat4Recorder

        if self.source is None:
            raise ConfigError("Nothing to record: start a camera or a replay first.")
        recorder = Aedat4Recorder(path, tuple(self.source.sensor_size))
        with self._recorder_lock:
            old, self._recorder = self._recorder, recorder
        if old is not None:
            old.close()

    def stop_recording(self) -> Any:
        """Finish the recording; returns the recorder (its ``path``, ``events_written``)."""
        with self._recorder_lock:
            recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.close()
        return recorder

    @property
    def recording(self) -> bool:
        return self._recorder is not None

    def stats(self, recent: bool = True) -> PipelineStats:
        """A snapshot of the counters (``recent``: latency percentiles of the last ~1000)."""
        with self.counters.lock:
            q = self.window_queue
            self.counters.dropped = self._earlier_drops[0] + q.dropped + self.inference.discarded
            self.counters.merged = self._earlier_drops[1] + q.merged
            idle = self.ingest.idle_resets if self.ingest else 0
            self.counters.resets = idle + self.user_resets
        return self.counters.snapshot(self.running, recent)

    def drain(self, max_items: int | None = None) -> list[WindowReport]:
        """Take the reports produced since the last call (never blocks)."""
        return self.results.drain(max_items)

    def iter_results(self) -> Iterator[WindowReport]:
        """Yield reports until the stream ends (blocking); re-raises a worker error."""
        while True:
            batch = self.results.drain()
            if batch:
                yield from batch
                continue
            if self._finished.is_set():
                batch = self.results.drain()
                if not batch:
                    break
                yield from batch
                continue
            self.results.wait(0.1)
        if self.error is not None:
            raise self.error

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the stream has ended; True if it did."""
        return self._finished.wait(timeout)

    # ----------------------------------------------------------------- threads
    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                loop()
            except BaseException as err:  # noqa: BLE001 - reported to the owner, not swallowed
                if not isinstance(err, AsaLiveError):
                    traceback.print_exc()
                if self.error is None:
                    self.error = err
                    if self.on_error is not None:
                        self.on_error(err)
                self._stop.set()
                self.window_queue.close()
                self.results.notify()

        return run

    def _attach(self, source: Any) -> None:
        self.source = source
        self.ingest = IngestStage(
            tuple(source.sensor_size),
            self.checkpoint.binning,
            self._noise_filter,
            self.idle_reset_ms,
            self.truth,
        )

    def _close_source(self) -> None:
        source, self.source = self.source, None
        if source is not None and hasattr(source, "close"):
            # closing a dead camera must not mask the error that brought us here
            with contextlib.suppress(Exception):
                source.close()

    def _do_restart(self) -> Iterator[np.ndarray]:
        self._restart_requested.clear()
        numbering = self.ingest.windows_emitted if self.ingest else 0
        resets = self.ingest.idle_resets if self.ingest else 0
        self._close_source()
        self.window_queue.clear()
        self.accumulator.clear()
        self.pacer.reanchor()
        self._attach(self._open_source())
        self.ingest.windows_emitted = numbering  # window numbers keep rising across restarts
        self.ingest.idle_resets = resets
        self.ingest.restart()
        return iter(self.source)

    def _ingest_loop(self) -> None:
        packets: Iterator[np.ndarray] = iter(()) if self.source is None else iter(self.source)
        limit = StreamLimit(self.max_seconds)
        reached_limit = False
        while not self._stop.is_set() and not reached_limit:
            if self._restart_requested.is_set():
                packets = self._do_restart()
                limit = StreamLimit(self.max_seconds)
            if not self._resume.is_set() and not self.live:
                self._resume.wait(0.1)
                continue
            packet = next(packets, None)
            if packet is None:
                break
            if not self._resume.is_set():
                continue  # a live camera keeps being read while paused; its events are dropped
            for part in self.pacer.pace(packet):
                part, reached_limit = limit.clip(part)
                if len(part) == 0:
                    break
                t_known = time.perf_counter()
                self.counters.on_events(len(part), int(part["t"][0]), int(part["t"][-1]))
                recorder = self._recorder
                if recorder is not None:
                    recorder.write(part)
                events, pending = self.ingest.process(part, t_known)
                self.accumulator.push(events)
                for p in pending:
                    self.window_queue.put(p)
                if self._restart_requested.is_set() or self._stop.is_set() or reached_limit:
                    break
                while not self._resume.is_set() and not self._stop.is_set():
                    self._resume.wait(0.1)  # pause mid-packet: hold the rest
        if not self._restart_requested.is_set():
            for p in self.ingest.flush(time.perf_counter()):
                self.window_queue.put(p)
        self.window_queue.close()

    def _infer_loop(self) -> None:
        try:
            while True:
                item = self.window_queue.get(0.1)
                if item is False:
                    break
                if self._reset_requested.is_set():
                    self._reset_requested.clear()
                    self.inference.reset()
                    self.user_resets += 1
                if item is None:
                    if self._stop.is_set() and len(self.window_queue) == 0:
                        break
                    continue
                if self.pacer.speed is None and not self.live and self.batch_windows > 1:
                    # unpaced replay: take whatever else is ready and run it in one call
                    batch = [item, *self.window_queue.take_ready(self.batch_windows - 1)]
                    reports = self.inference.infer_many(batch)
                else:
                    reports = self.inference.infer(item)
                for report in reports:
                    self.counters.on_window(report.latency_ms, report.truth, report.correct)
                    self.results.put(report)
        finally:
            self._finished.set()
            self.results.notify()
            callback = self.on_finished
            if callback is not None:
                callback()
