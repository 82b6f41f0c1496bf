"""The pipeline in two background threads: :class:`PipelineWorker` owns threads and controls.

* ingest thread: :func:`~asa_live.pipeline.drive.drive` puts windows into a bounded WindowQueue;
* inference thread: takes every queued window (adaptive batching: one per call while it keeps
  up, the whole backlog in one call when it fell behind) and puts the reports into a bounded
  ResultBuffer that the GUI or the headless printer drains; it never waits for the GUI.

Windows are dropped (policy "drop") only when even batched inference cannot keep up; they are
counted in ``stats()`` and reported to ``on_dropped(total)``. Controls work from any thread.
"""

from __future__ import annotations

import contextlib
import math
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from asa_live.errors import AsaLiveError, ConfigError
from asa_live.pipeline.display import EventAccumulator
from asa_live.pipeline.drive import drive
from asa_live.pipeline.inference import BATCH_WINDOWS, InferenceStage, check_batch
from asa_live.pipeline.ingest import DEFAULT_IDLE_RESET_MS, IngestStage, StreamLimit, as_truth
from asa_live.pipeline.pacing import Pacer
from asa_live.pipeline.queues import ResultBuffer, WindowQueue
from asa_live.pipeline.recorder import Aedat4Recorder, RecordingTap
from asa_live.pipeline.report import WindowReport
from asa_live.pipeline.sources import SeekedSource
from asa_live.pipeline.stats import PipelineStats, RunCounters

# Queue room: MAX_BACKLOG_S of wall time at the replay speed (16 windows at 1x, 160 at 10x), the
# same latency bound at every speed; batched inference clears a backlog, so full = cannot keep up.
MAX_PENDING_WINDOWS = 16
MAX_BACKLOG_S = 0.24


class PipelineWorker:
    """The pipeline in two background threads with bounded queues (see the module doc).

    Args:
        open_source: a fresh EventSource (``SourceSpec.open``), for start, restart and seek.
        checkpoint: a loaded Checkpoint. speed: replay speed (None: unpaced, or a camera).
        live: a camera: never paced; read and discarded while paused (its buffers never fill).
        policy: "drop", "merge" or "block"; default "block" for an unpaced replay, else "drop".
        max_pending_windows: the window queue's room (None: ``MAX_BACKLOG_S`` at the speed).
        noise_filter, idle_reset_ms, labels, max_seconds, readout, torch_threads: as for
            :func:`~asa_live.pipeline.stream.run_stream`.
        result_capacity, lossless_results: the result buffer's size; lossless (back-pressure)
            for headless printing, dropping its oldest for the GUI.
        display_span_us: event history kept for drawing. batch_windows: most windows per call.
        pacer: a ready pacer (e.g. with a test clock); overrides ``speed``.
    """

    def __init__(
        self,
        open_source: Callable[[], Any],
        checkpoint: Any,
        *,
        speed: float | None = None,
        live: bool = False,
        policy: str | None = None,
        max_pending_windows: int | None = None,
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
        pacer: Pacer | None = None,
    ) -> None:
        self.batch_windows = check_batch(batch_windows)
        self._open_source = open_source
        self.checkpoint = checkpoint
        self.live = live
        self._stop, self._resume, self._finished = (threading.Event() for _ in range(3))
        self._reset_requested, self._restart_requested = threading.Event(), threading.Event()
        self._seek_to: int | None = None  # set by seek(), taken by the next reopen
        self._resume.set()
        self.pacer = pacer or Pacer(None if live else speed, self._stop)
        if policy is None:
            policy = "block" if (self.pacer.speed is None and not live) else "drop"
        self._auto_capacity = max_pending_windows is None
        capacity = self._capacity() if max_pending_windows is None else max_pending_windows
        self.window_queue = WindowQueue(capacity, policy, self._stop, self._dropped)
        self.results = ResultBuffer(result_capacity, lossless_results, self._stop)
        self.counters = RunCounters()
        self.truth = as_truth(labels)
        self.max_seconds, self.idle_reset_ms = max_seconds, idle_reset_ms
        self._noise_filter = bool(noise_filter)
        self.accumulator = EventAccumulator(checkpoint.binning.sensor_size, display_span_us)
        self.recording_tap = RecordingTap()
        self.source: Any = None
        self.ingest: IngestStage | None = None
        self.inference = InferenceStage(checkpoint, readout, torch_threads, self.pacer.clock)
        self.layer_names, self.class_names = self.inference.layer_names, self.inference.class_names
        self.error: BaseException | None = None
        self.user_resets, self.packets_skipped = 0, 0  # skipped: camera packets while paused
        self._held = threading.Event()  # the ingest thread waits on a pause
        self._threads: list[threading.Thread] = []
        self._control = threading.Lock()  # restart() against the ingest thread's exit
        self._ingest_open = False  # the ingest thread runs and will see a restart request
        self.on_error: Callable[[BaseException], None] | None = None  # callbacks: any thread
        self.on_finished: Callable[[], None] | None = None
        self.on_dropped: Callable[[int], None] | None = None  # total dropped so far

    # ----------------------------------------------------------------- control (any thread)
    def start(self, record_to: Any = None) -> None:
        """Open the source (AsaLiveError if that fails), record to ``record_to``, start threads."""
        if self._threads:
            raise RuntimeError("PipelineWorker.start() called twice")
        self._attach(self._open_source())
        if record_to is not None:
            try:
                self.start_recording(record_to)
            except AsaLiveError:
                self._close_source()
                raise
        self._launch()

    def _launch(self) -> None:
        self._ingest_open = True
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
        # close the source first: an idle camera would keep the ingest thread waiting for it
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

    @property
    def settled(self) -> bool:
        """Paused and quiet: ingest holds (a camera: discards), nothing queued or inferred."""
        ingest_quiet = self.packets_skipped > 0 if self.live else self._held.is_set()
        return self.paused and ingest_quiet and self.window_queue.idle

    def pause(self) -> None:
        self._resume.clear()
        self.counters.set_paused(True)

    def resume(self) -> None:
        self.pacer.reanchor()
        self.packets_skipped = 0
        self.counters.set_paused(False)
        self._resume.set()

    def reset_state(self) -> None:
        """Reset the network state and readout before the next window."""
        self._reset_requested.set()

    def restart(self) -> None:
        """Reopen the source from its start with fresh state (errors go to ``on_error``);
        works while running and after the stream ended (or failed)."""
        self.counters.set_paused(False)
        with self._control:
            self._restart_requested.set()
            self._resume.set()
            if self._ingest_open:
                return  # the ingest thread reopens the source
        for t in self._threads:
            t.join(2.0)
        self._stop.clear()
        self._finished.clear()
        self.error = None
        self.window_queue.reopen()
        self._launch()

    def seek(self, t_us: int) -> None:
        """Go on from source time ``t_us`` (files): reopen, skip what is earlier (unpaced), reset
        the network state; the counters go on. ConfigError for a camera."""
        if self.live:
            raise ConfigError("A live camera cannot seek: only a recording can.")
        self._seek_to = int(t_us)
        self.restart()

    def set_speed(self, speed: float | None) -> None:
        if not self.live:
            self.pacer.set_speed(speed)
            if self._auto_capacity:
                self.window_queue.capacity = self._capacity()

    def _capacity(self) -> int:
        windows_per_s = 1e6 / self.checkpoint.binning.window_us * (self.pacer.speed or 1.0)
        return max(MAX_PENDING_WINDOWS, math.ceil(MAX_BACKLOG_S * windows_per_s))

    @property
    def speed(self) -> float | None:
        return self.pacer.speed

    @property
    def noise_filter(self) -> bool:
        return self._noise_filter

    def set_noise_filter(self, enabled: bool) -> None:
        self._noise_filter = bool(enabled)
        if self.ingest is not None:
            self.ingest.set_noise_filter(self._noise_filter)

    @property
    def sensor_size(self) -> tuple[int, int] | None:
        return None if self.source is None else tuple(self.source.sensor_size)

    def start_recording(self, path: Any) -> Aedat4Recorder:
        """Record the raw source events (source coordinates) to an AEDAT4 file."""
        if self.source is None:
            raise ConfigError("Nothing to record: start a camera or a replay first.")
        return self.recording_tap.start(path, tuple(self.source.sensor_size))

    def stop_recording(self) -> Aedat4Recorder | None:
        """Finish the recording; returns the recorder (its ``path``, ``events_written``)."""
        return self.recording_tap.stop()

    @property
    def recording(self) -> bool:
        return self.recording_tap.active

    def stats(self, recent: bool = True) -> PipelineStats:
        """A snapshot of the counters (``recent``: latency percentiles of the last ~1000)."""
        q, ingest = self.window_queue, self.ingest
        return self.counters.snapshot(
            self.running,
            recent,
            dropped=q.dropped + self.inference.discarded,
            merged=q.merged,
            resets=(ingest.idle_resets if ingest else 0) + self.user_resets,
        )

    def drain(self, max_items: int | None = None) -> list[WindowReport]:
        """Take the reports produced since the last call (never blocks)."""
        return self.results.drain(max_items)

    def iter_results(self) -> Iterator[WindowReport]:
        """Yield reports until the stream ends (blocking); re-raises a worker error."""
        yield from self.results.until(self._finished)
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

    def _dropped(self, total: int) -> None:
        callback = self.on_dropped
        if callback is not None:
            callback(total + self.inference.discarded)

    def _attach(self, source: Any) -> None:
        size, binning = tuple(source.sensor_size), self.checkpoint.binning
        if self.ingest is not None:
            self.ingest = self.ingest.reopened(size)
        else:
            self.ingest = IngestStage(
                size, binning, self._noise_filter, self.idle_reset_ms, self.truth
            )
        self.source = source

    def _close_source(self) -> None:
        source, self.source = self.source, None
        if source is not None and hasattr(source, "close"):
            with contextlib.suppress(Exception):  # a dead camera must not mask the first error
                source.close()

    def _reopen(self) -> None:
        self._restart_requested.clear()
        self._close_source()
        self.window_queue.clear()
        self.accumulator.clear()
        self.pacer.reanchor()
        self._attach(self._open_source())
        target, self._seek_to = self._seek_to, None
        if target is not None:
            self.source = SeekedSource(self.source, target)

    def _interrupted(self) -> bool:
        return self._stop.is_set() or self._restart_requested.is_set()

    def _hold(self) -> None:
        """Block while paused (returns at once on stop or restart)."""
        while not self._resume.is_set() and not self._interrupted():
            self._held.set()
            self._resume.wait(0.1)
        self._held.clear()

    def _gated(self, packets: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """The source's packets, held while paused (a camera's are read and discarded)."""
        while not self._interrupted():
            if not self.live:
                self._hold()
                if self._interrupted():
                    return
            packet = next(packets, None)
            if packet is None:
                return
            if self._resume.is_set():
                yield packet
            else:
                self.packets_skipped += 1

    def _ingest_loop(self) -> None:
        try:
            while True:
                if self._stop.is_set():
                    break
                if self._restart_requested.is_set():
                    self._reopen()
                self._ingest_pass()
                with self._control:
                    if self._stop.is_set() or not self._restart_requested.is_set():
                        self._ingest_open = False
                        break
        finally:
            with self._control:
                self._ingest_open = False
            self.window_queue.close()

    def _ingest_pass(self) -> None:
        """The source from its current position to its end (or a stop or restart request)."""
        # a camera is never held: its packets are read and dropped while paused (_gated)
        windows = drive(
            self._gated(iter(self.source)), self.ingest, self.pacer,
            limit=StreamLimit(self.max_seconds), counters=self.counters,
            source_taps=[self.recording_tap], event_taps=[self.accumulator.push],
            interrupted=self._interrupted, hold=None if self.live else self._hold,
        )  # fmt: skip
        for pending in windows:
            for p in pending:
                self.window_queue.put(p)

    def _infer_loop(self) -> None:
        try:
            while True:
                item = self.window_queue.get(0.1)
                if self._reset_requested.is_set():
                    self._reset_requested.clear()
                    self.inference.reset()
                    self.user_resets += 1
                if item is None:
                    if self.window_queue.exhausted or self._stop.is_set():
                        break
                    continue
                # adaptive batching: whatever queued up meanwhile goes in the same call
                batch = [item, *self.window_queue.take_ready(self.batch_windows - 1)]
                for report in self.inference.run(batch, self.batch_windows):
                    self.counters.on_window(report.latency_ms, report.truth, report.correct)
                    self.results.put(report)
                self.window_queue.done()
        finally:
            self._finished.set()
            self.results.notify()
            callback = self.on_finished
            if callback is not None:
                callback()
