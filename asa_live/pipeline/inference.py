"""The inference stage: binned windows -> WindowReports, through a StreamingSession.

Batching: the windows ready together go to the network in one ``push_many`` call (up to
``max_batch`` windows, split at state resets), which gives the same predictions as one call
per window. An unpaced replay has many ready windows per file packet; a paced replay or a
camera has one at a time while inference keeps up, and a backlog only when it falls behind,
which one batched call then clears (adaptive batching). All windows of a call share its
completion time, so a window's latency also covers the windows batched after it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from asa_live.errors import ConfigError
from asa_live.model.readout import Readout
from asa_live.model.session import StreamingSession, WindowResult
from asa_live.pipeline.ingest import PendingWindow
from asa_live.pipeline.models import readout_for
from asa_live.pipeline.report import WindowReport

# Most windows handed to the network in one forward call. 32 spread torch's fixed per-call cost
# (about 0.7 ms at K = 1) so that the shipped model's network time falls from 0.8 to 0.2 ms per
# window (benchmarks/bench_replay.py), and bound the memory of one call.
BATCH_WINDOWS = 32


class InferenceStage:
    """Windows -> reports, through a StreamingSession that carries the network state.

    Args:
        checkpoint: a loaded Checkpoint (model, binning, class names).
        readout: the decision readout (default: the checkpoint's, see ``readout_for``).
        torch_threads: torch intra-op threads for the whole process (None: leave as is).
        clock: the clock of the windows' ``t_known`` (seconds).
    """

    def __init__(
        self,
        checkpoint: Any,
        readout: Readout | None = None,
        torch_threads: int | None = 1,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if torch_threads is not None:
            # One intra-op thread: the ingest thread and the GUI need the other core, and on a
            # busy 2-core machine two torch threads spin against each other (measured here:
            # p95 per window 368 ms with 2 threads vs 7.8 ms with 1 under load).
            torch.set_num_threads(int(torch_threads))
        self.class_names = tuple(checkpoint.class_names)
        self.session = StreamingSession(
            checkpoint.model, readout=readout_for(checkpoint) if readout is None else readout
        )
        self.layer_names = tuple(self.session.layer_names)
        self.clock = clock
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

    def run(
        self, pending: list[PendingWindow], max_batch: int = BATCH_WINDOWS
    ) -> list[WindowReport]:
        """All ``pending`` windows, ``max_batch`` at most per forward call (1: one by one)."""
        reports: list[WindowReport] = []
        for start in range(0, len(pending), max_batch):
            batch = pending[start : start + max_batch]
            reports += self.infer(batch[0]) if len(batch) == 1 else self.infer_many(batch)
        return reports

    def infer(self, pending: PendingWindow) -> list[WindowReport]:
        """Push one window; returns the reports of the chunk it completed (maybe none)."""
        if pending.state_reset:
            self.reset()
        self._waiting.append(pending)
        return self._reports(self.session.push(pending.frame))

    def infer_many(self, pending: list[PendingWindow]) -> list[WindowReport]:
        """Push consecutive windows together; the same reports as ``infer`` on each in turn.

        The windows between two state resets go to the session in one ``push_many`` call, so
        all the chunks they complete run as one forward call.
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
            reports += self._reports(self.session.push_many(np.stack([p.frame for p in run])))
            start = stop
        return reports

    def _reports(self, results: list[WindowResult]) -> list[WindowReport]:
        """Pair the session's results with the oldest waiting windows, in order."""
        if not results:
            return []
        done = self.clock()
        return [self._report(self._waiting.popleft(), r, done) for r in results]

    def _report(self, p: PendingWindow, result: WindowResult, done: float) -> WindowReport:
        cid = int(result.predicted)
        names = self.class_names
        return WindowReport(
            window=p.number,
            t_start_us=p.t_start_us,
            t_end_us=p.t_end_us,
            events=p.n_events,
            class_id=cid,
            prediction=names[cid] if cid >= 0 else None,
            confidence=float(result.confidence),
            scores=np.asarray(result.probs, dtype=np.float32),
            spikes=tuple(int(s) for s in result.layer_spikes),
            latency_ms=(done - p.t_known) * 1e3,
            truth=p.truth,
            truth_name=names[p.truth] if p.truth is not None else None,
            state_reset=p.state_reset,
            merged=p.merged,
            reason=result.reason,
        )


def check_batch(batch_windows: int) -> int:
    """Validate the most windows per forward call (a whole number >= 1)."""
    if int(batch_windows) != batch_windows or batch_windows < 1:
        raise ConfigError(
            f"batch_windows must be a whole number of windows >= 1, got {batch_windows}; use 1 "
            f"to run one window per forward call."
        )
    return int(batch_windows)
