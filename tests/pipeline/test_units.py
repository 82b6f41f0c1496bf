"""Unit tests of the pipeline's small parts: labels, pacing, display store, stats, queues."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from asa_live.errors import ConfigError
from asa_live.events import make_events
from asa_live.events.ibm import LABEL_DTYPE, write_labels_csv
from asa_live.pipeline.display import EventAccumulator, render_events
from asa_live.pipeline.ingest import PendingWindow
from asa_live.pipeline.labels import GroundTruth, labels_path_for
from asa_live.pipeline.pacing import Pacer, check_speed
from asa_live.pipeline.queues import ResultBuffer, WindowQueue
from asa_live.pipeline.stats import LatencyTracker, RunCounters

from .helpers import FakeClock


def _events(t, x=0, y=0, p=1):
    t = np.asarray(t, dtype=np.int64)
    n = len(t)
    return make_events(t, np.full(n, x), np.full(n, y), np.full(n, p))


def test_labels_beside_recording_and_window_truth(tmp_path):
    rec = tmp_path / "user01_natural.aedat"
    rec.write_bytes(b"")
    assert labels_path_for(rec) is None
    labels = np.array([(3, 1_000_000, 2_000_000), (7, 2_500_000, 3_000_000)], dtype=LABEL_DTYPE)
    write_labels_csv(tmp_path / "user01_natural_labels.csv", labels)
    found = labels_path_for(rec)
    assert found == tmp_path / "user01_natural_labels.csv"
    truth = GroundTruth.from_csv(found)
    assert truth.class_at(999_999) is None
    assert truth.class_at(1_000_000) == 3
    assert truth.class_at(1_999_999) == 3
    assert truth.class_at(2_000_000) is None
    assert truth.class_at(2_700_000) == 7
    # the window's midpoint decides
    assert truth.for_window(1_990_000, 2_005_000) == 3
    assert truth.for_window(1_996_000, 2_011_000) is None


def test_overlapping_segments_take_the_open_one():
    labels = np.array([(8, 0, 110), (9, 100, 200)], dtype=LABEL_DTYPE)
    truth = GroundTruth(labels)
    assert truth.class_at(50) == 8
    assert truth.class_at(105) == 9
    assert truth.class_at(150) == 9


def _paced(speed, **kw):
    clock = FakeClock()
    return Pacer(speed, clock=clock, wait=clock.wait, **kw), clock


def test_pacer_releases_every_slice_when_due_never_early():
    events = _events(np.arange(0, 400_000, 1000))  # 0.4 s of stream
    pacer, clock = _paced(4.0)
    start = clock.now
    parts = []
    for part in pacer.pace(events):
        parts.append(part)
        due = start + int(part["t"][-1]) / 4e6
        assert clock.now == pytest.approx(due)  # released exactly when its last event is due
    assert sum(len(p) for p in parts) == len(events)
    assert len(parts) > 10  # cut into slices of ~2 ms wall time
    assert clock.now - start == pytest.approx(0.399 / 4)


def test_pacer_reanchors_after_a_jump_back():
    events = _events(np.arange(0, 400_000, 1000))
    pacer, clock = _paced(4.0)
    list(pacer.pace(events))
    start = clock.now
    list(pacer.pace(events[:50]))  # a loop starts over: no wait for the old anchor, no burst
    assert clock.now - start == pytest.approx(49_000 / 4e6)


def test_pacer_releases_the_whole_backlog_at_once_when_behind():
    events = _events(np.arange(0, 1_000_000, 1000))  # 1 s at 1x
    pacer, clock = _paced(1.0)
    parts = pacer.pace(events)
    first = next(parts)  # one 2 ms slice, released when its last event (1 ms) is due
    assert list(first["t"]) == [0, 1000] and clock.waits == [pytest.approx(0.001)]
    clock.advance(0.5)  # the consumer spent 0.5 s on it: source time 501 ms is due now
    backlog = next(parts)  # everything due by now leaves in one slice, without waiting
    assert int(backlog["t"][0]) == 2000 and int(backlog["t"][-1]) in (500_000, 501_000)
    assert len(clock.waits) == 1
    following = next(parts)  # back on time: 2 ms slices again, each waited for
    assert int(following["t"][0]) == int(backlog["t"][-1]) + 1000
    assert len(following) == 2 and len(clock.waits) == 2


def test_pacer_stops_at_once_when_cancelled():
    stop = threading.Event()

    def cancelled_wait(seconds):
        stop.set()  # someone pressed stop while the pacer waited
        return True

    pacer = Pacer(0.1, stop=stop, wait=cancelled_wait)
    parts = list(pacer.pace(_events([0, 10_000_000])))
    assert sum(len(p) for p in parts) == 1


def test_unpaced_pacer_passes_packets_through():
    events = _events(np.arange(100))
    assert [len(p) for p in Pacer(None).pace(events)] == [100]


@pytest.mark.parametrize("speed", [0.0, 0.05, 101, -1, float("nan"), float("inf"), "fast"])
def test_bad_speed_is_a_config_error(speed):
    with pytest.raises(ConfigError, match="speed"):
        check_speed(speed)


def test_accumulator_is_bounded_by_span_and_count():
    acc = EventAccumulator((8, 8), max_span_us=1000, max_events=50)
    for k in range(100):
        acc.push(_events(np.arange(k * 100, k * 100 + 10)))
    assert len(acc) <= 60  # whole packets are evicted
    assert acc.recent(10_000)["t"].min() >= 9900 - 1000 - 100
    assert len(acc.recent(100)) == 10  # only the last packet lies in (9809, 9909]
    acc.push(_events([5]))  # time went far back: a replay started over
    assert len(acc) == 1


def test_render_colours_on_and_off():
    ev = make_events([0, 1, 2], [0, 1, 1], [0, 0, 0], [1, 0, 1])
    rgb = render_events(ev, (3, 2))
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    on, both, empty = rgb[0, 0], rgb[0, 1], rgb[1, 2]
    assert on[0] > on[2]  # ON is amber: red above blue
    assert both.sum() > on.sum()
    assert empty.max() < 30


def test_latency_tracker_percentiles():
    tracker = LatencyTracker(recent=100)
    values = np.random.default_rng(0).gamma(2.0, 2.0, size=5000)
    for v in values:
        tracker.add(float(v))
    assert tracker.percentile(50) == pytest.approx(np.percentile(values, 50), abs=0.1)
    assert tracker.percentile(95) == pytest.approx(np.percentile(values, 95), abs=0.1)
    assert tracker.recent_percentile(50) == pytest.approx(np.percentile(values[-100:], 50))


def test_counters_add_source_time_across_restarts():
    c = RunCounters()
    c.on_events(10, 1_000_000, 3_000_000)
    c.on_events(10, 0, 500_000)  # started over
    s = c.snapshot(running=False)
    assert s.source_s == pytest.approx(2.5)


def _pending(i, reset=False):
    frame = np.full((2, 2, 2), float(i), dtype=np.float32)
    return PendingWindow(i, i * 10, i * 10 + 10, frame, i, time.perf_counter(), None, reset)


def test_drop_policy_keeps_the_newest_and_counts():
    q = WindowQueue(2, "drop", threading.Event())
    for i in range(5):
        q.put(_pending(i))
    assert q.dropped == 3 and len(q) == 2
    assert [q.get().number, q.get().number] == [3, 4]


def test_dropping_a_reset_window_moves_the_reset_on():
    q = WindowQueue(1, "drop", threading.Event())
    q.put(_pending(0, reset=True))
    q.put(_pending(1))
    assert q.get().state_reset is True


def test_merge_policy_sums_frames_and_extends_the_span():
    q = WindowQueue(2, "merge", threading.Event())
    for i in range(4):
        q.put(_pending(i))
    assert q.merged == 2 and q.dropped == 0
    first, last = q.get(), q.get()
    assert first.number == 0 and first.merged == 1
    assert (last.t_start_us, last.t_end_us, last.merged) == (10, 40, 3)
    assert last.frame[0, 0, 0] == 1 + 2 + 3 and last.n_events == 6


def test_block_policy_waits_for_room():
    q = WindowQueue(1, "block", threading.Event())
    q.put(_pending(0))
    done = threading.Event()

    def producer():
        q.put(_pending(1))
        done.set()

    threading.Thread(target=producer, daemon=True).start()
    assert not done.wait(0.2)  # blocked: the queue is full
    assert q.get().number == 0
    assert done.wait(1.0)
    q.close()
    assert not q.exhausted  # closed, but a window is still queued
    assert q.get().number == 1
    assert q.get() is None and q.exhausted  # closed and empty


def test_bad_policy_is_a_config_error():
    with pytest.raises(ConfigError, match="policy"):
        WindowQueue(2, "skip", threading.Event())


def test_result_buffer_drops_oldest_unless_lossless():
    stop = threading.Event()
    buf = ResultBuffer(3, lossless=False, stop=stop)
    for i in range(5):
        buf.put(i)
    assert buf.drain() == [2, 3, 4] and buf.discarded == 2 and buf.latest == 4
    lossless = ResultBuffer(1, lossless=True, stop=stop)
    lossless.put(0)
    t = threading.Thread(target=lossless.put, args=(1,), daemon=True)
    t.start()
    t.join(0.2)
    assert t.is_alive()  # waits for the consumer
    assert lossless.drain() == [0]
    t.join(1.0)
    assert lossless.drain() == [1]


def test_readout_follows_the_checkpoint_provenance():
    from types import SimpleNamespace

    from asa_live.pipeline.models import readout_for

    def ck(provenance):
        return SimpleNamespace(provenance=provenance)

    assert readout_for(ck({"readout": {"kind": "leaky", "decay": 0.8}})).kind == "leaky"
    assert readout_for(ck({"config": {"readout_windows": 10}})).windows == 10
    assert readout_for(ck({})).windows == 60
