"""The one ingest loop: packets -> pacer -> stream limit -> taps -> ingest stage -> windows.

Both :func:`~asa_live.pipeline.stream.run_stream` (everything in the caller's thread) and the
ingest thread of :class:`~asa_live.pipeline.worker.PipelineWorker` run this loop; they differ
only in what they do with the windows it yields.

Taps see the events on their way: ``source_taps`` get every packet in source coordinates
(recording to a file), ``event_taps`` the adapted events in network geometry (drawing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from asa_live.pipeline.ingest import IngestStage, PendingWindow, StreamLimit
from asa_live.pipeline.pacing import Pacer
from asa_live.pipeline.stats import RunCounters

Tap = Callable[[np.ndarray], None]


def _never() -> bool:
    return False


def drive(
    packets: Iterable[np.ndarray],
    ingest: IngestStage,
    pacer: Pacer,
    *,
    limit: StreamLimit | None = None,
    counters: RunCounters | None = None,
    source_taps: Sequence[Tap] = (),
    event_taps: Sequence[Tap] = (),
    interrupted: Callable[[], bool] = _never,
    hold: Callable[[], None] | None = None,
) -> Iterator[list[PendingWindow]]:
    """Yield the windows each released slice of events closes, then the last partial one.

    Args:
        packets: time-sorted EVENT_DTYPE packets (an EventSource).
        ingest: adapts and bins; numbers the windows.
        pacer: releases the events in (scaled) real time, or at once when unpaced.
        limit: stop after this much source time.
        counters: event counts and source time for the stats.
        interrupted: polled after every slice; True ends the loop without the final flush
            (stop or restart).
        hold: called after every slice; blocks while the run is paused.
    """
    limit = limit or StreamLimit(None)
    reached = False
    for packet in packets:
        for part in pacer.pace(packet):
            part, reached = limit.clip(part)
            if len(part) == 0:
                break
            if counters is not None:
                counters.on_events(len(part), int(part["t"][0]), int(part["t"][-1]))
            for tap in source_taps:
                tap(part)
            if event_taps:
                events, pending = ingest.process(part, pacer.clock())
                for tap in event_taps:
                    tap(events)
            else:  # only the windows: adaptation fused with binning
                pending = ingest.process_windows(part, pacer.clock())
            if pending:
                yield pending
            if reached or interrupted():
                break
            if hold is not None:
                hold()
        if reached or interrupted():
            break
    if not interrupted():
        yield ingest.flush(pacer.clock())
