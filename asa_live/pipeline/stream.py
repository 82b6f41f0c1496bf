"""The pipeline in the caller's thread: :func:`run_stream` yields one report per window.

For headless runs, tests and the "naive" baseline of benchmarks/bench_replay.py. The windows
each slice of events closes go to the network together (``batch_windows`` at most per call):
unpaced, a file packet closes many; paced, one while inference keeps up and the whole backlog
when it falls behind (the pacer then releases everything already due at once).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from asa_live.pipeline.drive import drive
from asa_live.pipeline.inference import BATCH_WINDOWS, InferenceStage, check_batch
from asa_live.pipeline.ingest import DEFAULT_IDLE_RESET_MS, IngestStage, StreamLimit, as_truth
from asa_live.pipeline.pacing import Pacer
from asa_live.pipeline.report import WindowReport
from asa_live.pipeline.stats import RunCounters


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
    pacer: Pacer | None = None,
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
        batch_windows: the most windows run in one forward call (1: one call per window).
        pacer: a ready pacer (e.g. with a test clock); overrides ``speed`` and ``stop``.
    """
    batch_windows = check_batch(batch_windows)
    if sensor_size is None:
        sensor_size = getattr(source, "sensor_size", None)
        if sensor_size is None:
            raise ValueError("run_stream: give sensor_size for a source without .sensor_size")
    stop = stop or threading.Event()
    pacer = pacer or Pacer(speed, stop)
    counters = counters or RunCounters()
    ingest = IngestStage(
        sensor_size, checkpoint.binning, noise_filter, idle_reset_ms, as_truth(labels)
    )
    inference = InferenceStage(checkpoint, readout, torch_threads, clock=pacer.clock)
    windows = drive(
        source, ingest, pacer, limit=StreamLimit(max_seconds), counters=counters,
        event_taps=[event_tap] if event_tap else [], interrupted=stop.is_set,
    )  # fmt: skip
    for pending in windows:
        for report in inference.run(pending, batch_windows):
            counters.on_window(report.latency_ms, report.truth, report.correct)
            yield report
    with counters.lock:
        counters.resets = ingest.idle_resets
